/* Internals shared by planner.c (rules 1-5, labels, commands),
 * planner_inventory.c (input, validation, arena) and planner_survive.c
 * (survivability, rehearsal, decommission, warnings). Not for other modules. */
#ifndef QR_PLANNER_INT_H
#define QR_PLANNER_INT_H

#include <stdarg.h>

#include "planner.h"

/* A bump allocator: a plan or an inventory is many small strings and arrays
 * freed together, and malloc per string costs more than planning itself. */
typedef struct planner_arena planner_arena_t;

planner_arena_t *planner_arena_new(void);
void planner_arena_destroy(planner_arena_t **self_p);
/* Zeroed memory, NULL on allocation failure. */
void *planner_arena_alloc(planner_arena_t *a, size_t size);
char *planner_arena_strdup(planner_arena_t *a, const char *s);
char *planner_arena_printf(planner_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s (not copied) to v; 0 or QR_ENOMEM. */
int planner_strv_push(planner_arena_t *a, planner_strv_t *v, const char *s);
/* Appends a formatted string; 0 or QR_ENOMEM. */
int planner_strv_pushf(planner_arena_t *a, planner_strv_t *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Gives each distinct DC an index: declared DCs first in their order, then
 * the others by first appearance (sorting, so a DC per node stays
 * O(n log n)). Fills node_dc[nnodes]; returns the names (malloc'd, pointing
 * into inv) and in *declared_p (malloc'd) whether each was declared; NULL on
 * ENOMEM. */
const char **planner_intern_dcs(const planner_inventory_t *inv, int *node_dc, size_t *ndc_out,
                                bool **declared_p);

/* Per-node working state of one planning run. */
typedef struct {
    int dc;         /* index into ctx->dcname */
    bool gone;      /* in the --lose DC, or the --remove node */
    bool departing; /* the --remove node: leaves the swarm */
    bool healthy;   /* healthy and not gone */
    bool eligible;  /* MongoDB-eligible and not gone */
    bool has_rep_key, has_worker_key, has_minio_key;
    int cur_rep;                /* -1 no label, 0 not a replica number, else the number */
    bool cur_worker, cur_minio; /* label value is "true" */
    int new_rep;                /* 0: not a member */
    bool kept_rep;              /* member keeping its number */
    bool new_worker, new_minio; /* worker / minio "true" after the plan */
    bool s3_match;              /* address or hostname is the S3_ENDPOINT host */
} planner_work_t;

typedef struct {
    const planner_inventory_t *inv;
    planner_opts_t opts;
    planner_plan_t *plan;
    planner_arena_t *a;
    size_t n;
    planner_work_t *w;
    size_t ndc;
    const char **dcname;
    int lose_dc;     /* index or -1 */
    int remove_node; /* index or -1 */
    int eligible;    /* eligible nodes */
    int healthy;     /* healthy nodes */
    int span;        /* DCs with an eligible node */
    int hspan;       /* DCs with a healthy node */
    int m;           /* largest per-DC member count of the plan */
    int *dc_mgr;     /* healthy swarm managers per DC */
    bool fresh;      /* no node carries any of the three labels */
} planner_ctx_t;

/* planner_survive.c. After a plan: survivability per DC and per node, the
 * plan's warnings, the decommission steps and commands. */
int planner_survive(planner_ctx_t *c);
/* --lose: plan->rehearsal from the current labels and health, before any plan. */
int planner_rehearse(planner_ctx_t *c);
/* Warnings that hold whether or not a plan exists (managers, capacity, labels). */
int planner_warn_inventory(planner_ctx_t *c);
/* Last words whether or not a plan exists (the rehearsal's label step). */
int planner_finish(planner_ctx_t *c);

#endif
