/* What server.c and server_ops.c share: the server's state and the internal
 * functions (double underscore: not part of the module's API). server.c does
 * sockets, dispatch and timers; server_ops.c the operator requests that span
 * several steps (reachability rounds, apply, takeover, the state document). */
#ifndef QR_SERVER_INT_H
#define QR_SERVER_INT_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "alerting.h"
#include "inventory.h"
#include "log.h"
#include "peers.h"
#include "portmatrix.h"
#include "server.h"
#include "wire.h"
#include "zap.h"
#include "zuv.h"

#define SERVER_MAX_CMDS 64

/* Called once per command: code 0 with the agent's result (may be NULL), or a
 * negative QR_E* code with a one-line error. */
typedef void (*server_cmd_cb)(server_t *s, void *ctx, const char *node, int code,
                              const char *error, json_t *result);

struct server {
    uv_loop_t *loop;
    controller_conf_t *conf;
    zap_t *zap;
    zcert_t *cert;
    zcertstore_t *agent_store, *op_store;
    zsock_t *agents, *ops;
    zuv_t *agents_zuv, *ops_zuv;
    zsock_t *mon[2];   /* handshake-failure monitors of agents and ops */
    zuv_t *mon_zuv[2];
    uint64_t handshake_failed;
    int64_t trimmed_ms; /* last malloc_trim */
    log_limit_t hs_lim;
    inventory_t *inv;
    zhashx_t *routes; /* node name -> routing id (zframe_t *) for pings */
    uv_timer_t tick_timer, ping_timer, wd_timer, probe_timer, probe_deadline;
    portmatrix_t *ports;
    uint64_t cmd_id, probe_first_id; /* command ids of the current probe round */
    zmsg_t *ports_waiting[16];       /* operators waiting for a fresh matrix */
    size_t n_ports_waiting;
    alerting_t *alerting;            /* NULL without alerts_config */
    peers_t *peers;                  /* the election among controllers */
    json_t *audit;                   /* audit records (replicated) */
    json_t *applied;                 /* last applied labels {node: labels} (replicated) */
    struct {
        zmsg_t *to;                  /* the operator waiting */
        json_t *prep;                /* applyplan_prepare() output */
        size_t manager;              /* index into prep.managers being tried */
        uint64_t cmd_id;
        int64_t deadline_ms;
        int64_t done_ms;             /* when the last apply finished */
        zmsg_t *waiting;             /* an apply waiting for reports newer than done_ms */
        bool waiting_dry;
        int64_t waiting_since;
    } apply;
    char *last_doc;                  /* the last document proposed (leader) */
    uint64_t accept_term;            /* leading in this term, not every agent on it yet */
    int64_t accept_since_ms;         /* when this controller started leading */
    uv_timer_t alert_timer, notify_timer;
    struct {
        zmsg_t *to;
        char receiver[64];
        int64_t deadline_ms;
    } tests_waiting[8];              /* operators waiting for `alerts test` */
    size_t n_tests_waiting;
    struct {
        uint64_t id;
        char node[64];
        server_cmd_cb cb; /* NULL: a free slot */
        void *ctx;
        int64_t deadline_ms;
    } cmds[SERVER_MAX_CMDS];         /* fenced commands in flight (server_cmd.c) */
    struct recovery *rec;            /* server_recover.c */
    uint64_t seq, bad_frames, unauthorised, stale_reports, started_ms;
    log_limit_t stale_lim;
    log_limit_t bad_lim, auth_lim;
    bool started;
};

int64_t server__now_ms(server_t *s);
/* Sends env to the peer with routing id rid on z (REQ peers need req_delim). */
void server__send_to(server_t *s, zuv_t *z, zframe_t *rid, bool req_delim, wire_env_t *env);
/* Replies to an operator; `to` holds the routing frames (copied). */
void server__op_reply(server_t *s, zmsg_t *to, int code, const char *error, json_t *result);

/* server_cmd.c: a fenced command to node's agent; cb runs exactly once (result,
 * timeout, or stop). Returns 0, or QR_EUNAVAIL (not connected, table full). */
int server__command(server_t *s, const char *node, const char *kind, const json_t *args,
                    int timeout_ms, server_cmd_cb cb, void *ctx, qr_err_t *err);
/* Routes an agent's CommandResult to its callback; false if it was not ours. */
bool server__command_result(server_t *s, const char *from, const Quorate__CommandResult *cr);
void server__command_tick(server_t *s);
void server__command_cancel_all(server_t *s);

/* server_recover.c: the live forced recovery */
int server__recover_new(server_t *s);
void server__recover_destroy(server_t *s);
void server__recover_tick(server_t *s);
json_t *server__recover_status_json(server_t *s);
void server__op_recover(server_t *s, zmsg_t *to, const Quorate__OpRequest *req, const char *key);
void server__op_rejoin(server_t *s, zmsg_t *to, const Quorate__OpRequest *req, const char *key);

/* server_ops.c */
/* Appends rec (stolen) to the replicated audit log and proposes the state. */
void server__audit(server_t *s, json_t *rec);
json_t *server__ports_json(server_t *s);
void server__probe_round(server_t *s);
void server__ports_reply_waiting(server_t *s);
void server__on_probe_deadline(uv_timer_t *t);
void server__propose_state(server_t *s);
void server__load_state_doc(server_t *s);
json_t *server__op_takeover(server_t *s, const Quorate__OpRequest *req, int *code, char *errbuf,
                            size_t errlen);
void server__apply_next(server_t *s, const char *why);
void server__apply_finish(server_t *s, const Quorate__CommandResult *cr, const char *from);
bool server__reports_after_apply(server_t *s);
void server__op_apply(server_t *s, zmsg_t *to, const Quorate__OpRequest *req);
void server__op_apply_run(server_t *s, zmsg_t *to, bool dry);

/* server_decom.c: `decommission NODE [yes]` (leader only): replies the plan,
 * or with "yes" runs its steps through a manager's agent and replies the
 * per-step results. */
/* Whether a decommission is running (its commands are in flight). */
bool server__decom_running(const server_t *s);
void server__op_decommission(server_t *s, zmsg_t *to, const Quorate__OpRequest *req,
                             const char *key);

#endif
