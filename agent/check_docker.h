/* The docker check: the local Docker Engine answers on its socket, which
 * swarm this node is in and in what role, and (on a manager) the health of
 * every node and service. Probe (Engine API calls) and pure evaluator are
 * separate so the decision can be tested with canned facts. */
#ifndef QR_CHECK_DOCKER_H
#define QR_CHECK_DOCKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_conf.h"
#include "check.h"
#include "docker_api.h"
#include "err.h"

/* More than this in a reply is treated as hostile/malformed. */
#define CHECK_DOCKER_MAX_NODES 512
#define CHECK_DOCKER_MAX_SERVICES 1024

typedef struct {
    char id[80];
    char hostname[256];
    char role[16];         /* Spec.Role: manager/worker */
    char availability[16]; /* Spec.Availability: active/pause/drain */
    char state[16];        /* Status.State: ready/down/unknown/disconnected */
    char reachability[16]; /* ManagerStatus.Reachability; "" on workers */
    char addr[64];         /* Status.Addr */
    char engine_version[64];
    bool leader;      /* ManagerStatus.Leader */
    uint64_t version; /* Version.Index */
    json_t *labels;   /* Spec.Labels (object of strings, owned) */
} check_docker_node_t;

typedef struct {
    char id[80];
    char name[256];
    char mode[24]; /* replicated/global/replicated-job/global-job */
    long desired;  /* -1: not evaluated (jobs) */
    long running;
} check_docker_service_t;

typedef struct {
    char socket[256];
    /* GET /version */
    int version_rc; /* 0 or QR_E* */
    char version_error[256];
    char engine_version[64];
    char api_version[16];
    /* GET /info, field Swarm */
    int info_rc;
    char info_error[256];
    char swarm_state[16]; /* LocalNodeState: inactive/pending/active/error/locked */
    char swarm_error[256];
    char node_id[80];
    char node_addr[64];
    bool control_available;
    long managers, nodes;
    size_t remote_managers;
    /* manager only: GET /nodes (probed = the call was made) */
    bool nodes_probed;
    int nodes_rc;
    char nodes_error[256];
    check_docker_node_t *node_list;
    size_t n_nodes;
    /* manager only: GET /services + GET /tasks (desired-state=running) */
    bool services_probed;
    int services_rc;
    char services_error[256];
    check_docker_service_t *services;
    size_t n_services;
} check_docker_facts_t;

/* Zeroes facts (every *_rc QR_EUNAVAIL until probed). */
void check_docker_facts_init(check_docker_facts_t *f);
/* Frees what facts own and re-initialises them. NULL-safe. */
void check_docker_facts_clear(check_docker_facts_t *f);

/* Pure parsers of Engine API 1.41 replies into facts. Return 0, or
 * QR_EPARSE/QR_ETOOBIG with a reason in err when the shape is wrong; on
 * error the part they fill is left empty. */
int check_docker_parse_version(const json_t *version, check_docker_facts_t *f, qr_err_t *err);
int check_docker_parse_info(const json_t *info, check_docker_facts_t *f, qr_err_t *err);
int check_docker_parse_nodes(const json_t *nodes, check_docker_facts_t *f, qr_err_t *err);
/* tasks: the desired-state=running tasks; running = those in state running;
 * desired = Replicas (replicated) or the desired tasks (global). */
int check_docker_parse_services(const json_t *services, const json_t *tasks,
                                check_docker_facts_t *f, qr_err_t *err);

/* Gathers facts through api (blocking, each call bounded by its timeout). */
void check_docker_probe(docker_api_t *api, check_docker_facts_t *f);
/* The same with /version's answer taken from version (may be NULL: ask). */
void check_docker_probe_cached(docker_api_t *api, check_docker_facts_t *f,
                               const check_docker_facts_t *version);

/* Pure: facts -> status, summary and values. conf may be NULL. */
void check_docker_eval(const check_docker_facts_t *f, const agent_conf_t *conf,
                       check_result_t *out);

/* check_def_t entry points; *state holds the API client between runs. */
void check_docker_run(const agent_conf_t *conf, void **state, check_result_t *out);
void check_docker_state_free(void *state);

#endif
