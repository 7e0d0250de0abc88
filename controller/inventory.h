/* The controller's live view of the cluster: per node its last report, the
 * time of its last message, its check results and its clock offset. Pure
 * data structure: the caller passes the current monotonic time (ms) in, so
 * liveness is testable without sleeping. */
#ifndef QR_INVENTORY_H
#define QR_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "quorate.pb-c.h"

#define INVENTORY_MAX_CHECKS 32

typedef struct inventory inventory_t;

typedef struct {
    char name[64];
    char dc[64];
    char address[64];      /* where peers reach it (reported, or the source address) */
    char key[41];          /* CURVE public key that owns this name ("" without CURVE) */
    int64_t first_seen_ms, last_seen_ms, last_report_ms;
    bool up;
    int64_t down_since_ms; /* when it was marked down (0 while up) */
    uint64_t cycle, dropped;
    uint32_t interval_ms;
    char version[32];
    json_t *checks;        /* array of {name,status,summary,values}; owned */
    uint64_t term;         /* highest controller term the agent has seen (fencing) */
    int64_t last_sent_at_us; /* newest accepted sent_at of its reports/heartbeats */
    bool clock_known;
    double clock_offset_ms; /* agent clock minus controller clock, RTT-compensated */
    double clock_rtt_ms;
} inv_node_t;

/* Creates an empty inventory: a node silent for down_after_ms is down; at
 * most max_nodes are tracked (more are refused). NULL on allocation failure. */
inventory_t *inventory_new(int64_t down_after_ms, size_t max_nodes);
/* Frees the inventory and clears *self_p. NULL-safe. */
void inventory_destroy(inventory_t **self_p);

/* Records a sign of life from node `name` (any message). Creates the node if
 * new. key binds the name: a later message for the name from another key is
 * refused with QR_EAUTH. Returns 0, QR_EAUTH, QR_ERANGE (too many nodes) or
 * QR_EINVAL (bad name). *came_up is set when the node was new or down. */
int inventory_seen(inventory_t *inv, int64_t now_ms, const char *name, const char *dc,
                   const char *key, bool *came_up, qr_err_t *err);
/* Stores a report (after inventory_seen). Check results with unparseable
 * values keep their status and get values {"invalid_values": true}. */
int inventory_report(inventory_t *inv, int64_t now_ms, const char *name,
                     const Quorate__Report *rep, qr_err_t *err);
/* Records the node's address: the one it reports, else the connection's
 * source address (IPv4/IPv6 literal, validated). */
void inventory_address(inventory_t *inv, const char *name, const char *reported,
                       const char *peer);
/* True when a report or heartbeat of node name, sent at sent_at_us (the
 * agent's clock) with term, is older than the newest one accepted by more
 * than slack_us, or carries a term below the one the node already reported:
 * a replay, to be dropped before inventory_seen. Unknown nodes: false. */
bool inventory_stale(const inventory_t *inv, const char *name, int64_t sent_at_us, uint64_t term,
                     int64_t slack_us);
/* Records an accepted message's sent_at (after inventory_seen). */
void inventory_sent_at(inventory_t *inv, const char *name, int64_t sent_at_us);
/* Records the highest controller term the agent reports having seen. */
void inventory_term(inventory_t *inv, const char *name, uint64_t term);
/* Records a clock measurement for node name. */
void inventory_clock(inventory_t *inv, const char *name, double offset_ms, double rtt_ms);

/* Marks nodes silent for down_after_ms as down. Calls cb for each node that
 * just went down (may be NULL). Returns how many went down. */
size_t inventory_tick(inventory_t *inv, int64_t now_ms,
                      void (*cb)(const inv_node_t *n, void *arg), void *arg);

size_t inventory_count(const inventory_t *inv);
const inv_node_t *inventory_at(const inventory_t *inv, size_t i);
const inv_node_t *inventory_find(const inventory_t *inv, const char *name);

/* {"nodes":[{name,dc,up,last_seen_ago_ms,checks:[{name,status,summary}],worst,..}],
 *  "counts":{"nodes":N,"up":N,"down":N}} (new reference). */
json_t *inventory_status_json(const inventory_t *inv, int64_t now_ms);
/* One node with every check's values, or NULL if unknown. */
json_t *inventory_node_json(const inventory_t *inv, const char *name, int64_t now_ms);
/* The planner's inventory format (docs/planner.md) built from the reports. */
json_t *inventory_export_json(const inventory_t *inv);

#endif
