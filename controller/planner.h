/* The planner: from an inventory of nodes, the swarm labels (mongo.replica=1..N,
 * worker=true, minio=true), MongoDB member placement across data centres, votes
 * and priorities, a survivability table, a --lose rehearsal and a --remove
 * decommission. Pure: no I/O, no clock, no globals (DESIGN.md "Contracts"). */
#ifndef QR_PLANNER_H
#define QR_PLANNER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define PLANNER_MIN_DATADIR_GB 50.0
#define PLANNER_MIN_ROOT_FREE_GB 50.0
#define PLANNER_MAX_MEMBERS 7

#define PLANNER_LABEL_REPLICA "mongo.replica"
#define PLANNER_LABEL_WORKER "worker"
#define PLANNER_LABEL_MINIO "minio"

typedef struct {
    const char *key;
    const char *value;
} planner_label_t;

/* One server as the inventory describes it. addr (optional, NULL when
 * unknown) is compared with the S3_ENDPOINT host. */
typedef struct {
    const char *hostname;
    const char *dc;
    const char *addr;
    bool manager;
    bool healthy;
    bool ssd;
    bool datadir_separate;
    double cpus;
    double mem_gb;
    double datadir_gb;
    double root_free_gb;
    const planner_label_t *labels;
    size_t nlabels;
} planner_node_t;

struct planner_arena;

/* The planner's input. Owns copies of every string (add_node copies), so the
 * caller's buffers may go away; read the fields, change them only through
 * the functions below. */
typedef struct planner_inventory {
    planner_node_t *nodes;
    size_t nnodes;
    const char **dcs; /* declared data centres (optional; then every node's dc must be one) */
    size_t ndcs;
    const char *s3_endpoint; /* S3_ENDPOINT as configured, or NULL */
    const char *s3_host;     /* its host part, or NULL */
    struct planner_arena *arena;
    size_t cap_nodes, cap_dcs;
} planner_inventory_t;

/* Creates an empty inventory, NULL on allocation failure. */
planner_inventory_t *planner_inventory_new(void);
/* Frees the inventory and clears *self_p. NULL-safe. */
void planner_inventory_destroy(planner_inventory_t **self_p);
/* Appends a copy of node (strings and labels copied). Returns 0 or QR_ENOMEM. */
int planner_inventory_add_node(planner_inventory_t *self, const planner_node_t *node,
                               qr_err_t *err);
/* Declares a data centre (one that may have no node yet). 0 or QR_ENOMEM. */
int planner_inventory_add_dc(planner_inventory_t *self, const char *dc, qr_err_t *err);
/* Records S3_ENDPOINT and its host part (either may be NULL). 0 or QR_ENOMEM. */
int planner_inventory_set_s3(planner_inventory_t *self, const char *endpoint, const char *host,
                             qr_err_t *err);
/* Checks what the planner relies on: non-empty names made of [A-Za-z0-9._-]
 * (they end up in shell commands), unique hostnames, unique label keys per
 * node, non-negative finite numbers, every dc declared when dcs are given.
 * Returns 0 or QR_EINVAL with the offending field in err, e.g.
 * `nodes[4].hostname: duplicate hostname "ai1" (also nodes[1])`. */
int planner_inventory_validate(const planner_inventory_t *self, qr_err_t *err);

/* Eligible for MongoDB: healthy, separate data dir of >= 50 GB, >= 50 GB free on /. */
bool planner_node_eligible(const planner_node_t *node);
/* The value of label key on node, or NULL. */
const char *planner_node_label(const planner_node_t *node, const char *key);

typedef struct {
    int members;             /* 0: choose (rule 1); else odd 3..7 */
    const char *lose_dc;     /* rehearse the loss of this DC now, or NULL */
    const char *remove_node; /* decommission this node, or NULL */
} planner_opts_t;

typedef struct {
    const char *node;
    const char *dc;
    int replica;
    int votes;
    int priority;
    bool ssd;
} planner_member_t;

typedef struct {
    const char *node;
    planner_label_t *add; /* set or overwrite */
    size_t nadd;
    const char **remove; /* keys; applied before any addition */
    size_t nremove;
} planner_change_t;

typedef struct {
    const char *node;
    planner_label_t *labels;
    size_t nlabels;
} planner_node_labels_t;

typedef struct {
    const char **v;
    size_t n, cap;
} planner_strv_t;

/* What losing one data centre (dc set) or one node (node set) leaves. */
typedef struct {
    const char *lose; /* "east" or "node:ai1" */
    const char *dc;
    const char *node;
    int mongo_voters;
    int mongo_voters_left;
    bool mongo_majority;
    bool needs_forced_recovery; /* survivors exist but are a minority */
    int workers_left;
    int minio_left;
    int swarm_managers;
    int swarm_managers_left;
    bool swarm_quorum;
    planner_strv_t steps; /* what the operator would have to do, in order */
} planner_surv_t;

typedef struct {
    bool ok; /* false: no valid plan, errors say why (exit 1) */
    int target_members;
    const char *majority_dc;   /* DC holding a majority of the voters, or NULL */
    planner_member_t *members; /* by replica number */
    size_t nmembers;
    planner_change_t *changes; /* only nodes that change, in inventory order */
    size_t nchanges;
    planner_node_labels_t *final_labels; /* every node (but a removed one), inventory order */
    size_t nfinal;
    planner_strv_t commands;
    planner_surv_t *surv; /* one per DC, then one per node */
    size_t nsurv;
    planner_strv_t warnings;
    planner_strv_t errors;
    planner_surv_t *rehearsal;     /* --lose: the current layout losing that DC; else NULL */
    const char *decommission_node; /* --remove: the node; else NULL */
    bool decommission_manager;
    planner_strv_t decommission_steps;
    struct planner_arena *arena;
} planner_plan_t;

/* Plans inv under opts (NULL = defaults). Returns 0 and a new plan in *out
 * (caller destroys it; plan->ok false means no valid plan exists; the plan
 * points into inv's strings, so destroy the plan before inv), or
 * QR_EINVAL for an invalid inventory or option (unknown --lose DC or --remove
 * node, --members not odd 3..7) with the reason in err, or QR_ENOMEM. */
int planner_plan(const planner_inventory_t *inv, const planner_opts_t *opts, planner_plan_t **out,
                 qr_err_t *err);
/* Frees the plan and clears *self_p. NULL-safe. */
void planner_plan_destroy(planner_plan_t **self_p);

#endif
