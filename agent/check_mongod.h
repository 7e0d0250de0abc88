/* The mongod check: the local MongoDB replica-set member answers (libmongoc,
 * with the deployment's TLS options), and its view of the set: own state,
 * every member's health/state/optime/lag, config version and term. Probe
 * and pure evaluator are separate. Also the client helpers the controller
 * uses to run admin commands (replSetReconfig) on a member. */
#ifndef QR_CHECK_MONGOD_H
#define QR_CHECK_MONGOD_H

#include <jansson.h>
#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_conf.h"
#include "check.h"
#include "err.h"

#define CHECK_MONGOD_MAX_MEMBERS 64 /* MongoDB allows 50 */
#define CHECK_MONGOD_LAG_WARN_S 10.0

typedef struct {
    int id;             /* _id */
    char name[256];     /* host:port */
    int health;         /* 1 up, 0 down, -1 not reported */
    int state;          /* numeric member state (1 PRIMARY, 2 SECONDARY, ...) */
    char state_str[24]; /* stateStr */
    bool self;
    bool has_optime;
    uint32_t optime_ts;     /* optime.ts seconds */
    uint32_t optime_inc;    /* optime.ts increment */
    int64_t optime_term;    /* optime.t */
    int64_t optime_date_ms; /* optimeDate, ms since epoch */
    /* from replSetGetConfig (in_config false when not found there) */
    bool in_config;
    int votes;
    double priority;
    bool arbiter, hidden;
    json_t *tags; /* object, owned; NULL when none */
} check_mongod_member_t;

typedef struct {
    char hosts[512]; /* the URI's hosts (no credentials) */
    int timeout_ms;
    /* hello */
    int hello_rc; /* 0 or QR_E* */
    char hello_error[256];
    bool in_replset;          /* hello has setName */
    bool replset_uninitiated; /* hello.isreplicaset without setName */
    char set_name[128];
    char me[256];
    char primary[256]; /* hello.primary, "" when none known */
    /* replSetGetStatus */
    int status_rc;
    int status_code; /* server error code (94 NotYetInitialized, 13 Unauthorized) */
    char status_error[256];
    int my_state;
    char my_state_str[24];
    int64_t term;
    check_mongod_member_t members[CHECK_MONGOD_MAX_MEMBERS];
    size_t n_members;
    /* replSetGetConfig */
    int config_rc;
    char config_error[256];
    int64_t config_version;
    int64_t config_term; /* -1 when absent (pre-4.4) */
} check_mongod_facts_t;

/* Zeroes facts (every *_rc QR_EUNAVAIL until probed). */
void check_mongod_facts_init(check_mongod_facts_t *f);
/* Frees what facts own (member tags) and re-initialises them. NULL-safe. */
void check_mongod_facts_clear(check_mongod_facts_t *f);

/* Pure parsers of the command replies. 0, or QR_EPARSE/QR_ETOOBIG with a
 * reason in err (the part they fill is left empty). Parse the status before
 * the config: the config is matched onto the status members by _id. */
int check_mongod_parse_hello(const bson_t *reply, check_mongod_facts_t *f, qr_err_t *err);
int check_mongod_parse_status(const bson_t *reply, check_mongod_facts_t *f, qr_err_t *err);
int check_mongod_parse_config(const bson_t *reply, check_mongod_facts_t *f, qr_err_t *err);

/* Pure: lag of member i behind the primary in seconds; < 0 when unknown
 * (no primary, no optime, member down). */
double check_mongod_lag_s(const check_mongod_facts_t *f, size_t i);

/* Pure: facts -> status, summary, values. */
void check_mongod_eval(const check_mongod_facts_t *f, check_result_t *out);

/* Calls mongoc_init() once per process (safe from any thread). */
void check_mongod_global_init(void);
/* Calls mongoc_cleanup() if mongoc was initialised; the daemon calls it at
 * exit, after every client is destroyed. No mongod function may be used
 * afterwards. */
void check_mongod_global_cleanup(void);

/* Creates a client for conf's mongo_uri with the check's options
 * (directConnection for a single host, server selection/connect/socket
 * timeouts = mongo_timeout_ms, TLS per mongo_tls*). No I/O yet. Returns 0
 * and the client in *out (destroy with mongoc_client_destroy), or QR_EINVAL
 * with the reason. */
int check_mongod_client_new(const agent_conf_t *conf, mongoc_client_t **out, qr_err_t *err);

/* Runs cmd against database db ("admin" when NULL). Returns 0 with the reply
 * in *reply, or a negative code with the server's or driver's message in err
 * (QR_EUNAVAIL: cannot reach; QR_ETIMEOUT; QR_EREFUSED: the server said
 * ok: 0, code in *server_code when non-NULL). *reply is always initialised
 * (bson_destroy it). Blocking. */
int check_mongod_command(mongoc_client_t *client, const char *db, const bson_t *cmd, bson_t *reply,
                         int *server_code, qr_err_t *err);
/* The same with MongoDB Extended JSON in and out (relaxed; *reply_json is
 * bson_free'd by the caller; it holds the reply even when the server said
 * ok: 0). For the controller's replSetReconfig and for tools. */
int check_mongod_command_json(mongoc_client_t *client, const char *db, const char *cmd_json,
                              char **reply_json, qr_err_t *err);

/* Gathers facts with client (hello, replSetGetStatus, replSetGetConfig). */
void check_mongod_probe(mongoc_client_t *client, const agent_conf_t *conf, check_mongod_facts_t *f);

/* check_def_t entry points; *state holds the client between runs. */
void check_mongod_run(const agent_conf_t *conf, void **state, check_result_t *out);
void check_mongod_state_free(void *state);

#endif
