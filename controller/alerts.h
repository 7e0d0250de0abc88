/* Alert conditions: from a snapshot of the leader's view (nodes, their check
 * results, cluster-level facts) to the set of conditions that hold, each with
 * a stable key; and the pending -> firing -> resolved state machine that
 * makes a condition hold for `for` before it fires. Pure: no I/O, no clock
 * (time is an argument), the state lives in a struct the caller keeps.
 *
 * Keys (stable: a new leader derives the same ones from the same view):
 *   node/NODE/down                 critical, fires immediately
 *   CHECK/NODE/REASON              a warn/fail/unknown check of an up node;
 *                                  REASON from the check's values (below)
 *   mongo/SET/no_primary           critical
 *   mongo/SET/minority             critical (reachable voters are a minority)
 *   controllers/no_quorum          critical
 *   clock/NODE/skew                warning (warn) / error (fail)
 *   ports/FROM->TO/PORT            error
 *   placement/DC/majority          warning
 *   labels/NODE/drift              warning
 *
 * CHECK/NODE/REASON mapping, for a check in status warn, fail or unknown:
 *   - values.reasons, an array of strings: one condition per reason;
 *   - else values.reason, a string: one condition;
 *   - else values.findings [{status, message, reason (or code)}]: one
 *     condition per finding not "ok" that has a reason, with the finding's
 *     own severity (fail -> error, else warning) and message as summary;
 *   - else REASON = "unknown" for an unknown check, else the check name.
 *   Reasons are lowercased, characters outside [a-z0-9_.-] become '_',
 *   at most 48 characters. Severity: fail -> error, warn and unknown ->
 *   warning; values.severity ("critical", "error", "warning", "info")
 *   overrides. The summary is the check's summary. */
#ifndef QR_ALERTS_H
#define QR_ALERTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/check.h"

typedef enum {
    ALERTS_SEV_INFO = 0,
    ALERTS_SEV_WARNING = 1,
    ALERTS_SEV_ERROR = 2,
    ALERTS_SEV_CRITICAL = 3,
} alerts_sev_t;

/* "critical", "error", "warning", "info". */
const char *alerts_sev_str(alerts_sev_t s);
/* Parses a severity name; returns -1 for anything else. */
int alerts_sev_parse(const char *s);

/* ---- input: a snapshot of the leader's view. Everything is borrowed from
 * the caller for the duration of one alerts_eval() call. */
typedef struct {
    const char *name;
    check_status_t status;
    const char *summary;
    const json_t *values; /* object or NULL */
} alerts_check_t;

typedef struct {
    const char *name;
    const char *dc;
    bool up;
    int64_t down_since_ms; /* when the controller stopped hearing from it */
    const alerts_check_t *checks;
    size_t nchecks;
} alerts_node_t;

typedef struct {
    const char *set_name; /* NULL or "": no replica set known, no mongo alerts */
    bool has_primary;
    bool voters_minority; /* reachable voting members are a minority */
    bool recovery_plan_ready;
} alerts_mongo_t;

typedef struct {
    const char *dc;
    const char *summary; /* NULL: a default text */
} alerts_placement_t;

typedef struct {
    const char *node;
    const char *summary; /* NULL: a default text */
} alerts_drift_t;

typedef struct {
    const char *node;
    int64_t skew_ms;
    check_status_t status; /* warn or fail fire; ok and unknown do not */
} alerts_skew_t;

typedef struct {
    const char *from;
    const char *to;
    int port;
    const char *proto; /* "tcp" (NULL) or "udp" */
} alerts_portfail_t;

typedef struct {
    int64_t now_ms;
    const alerts_node_t *nodes;
    size_t nnodes;
    alerts_mongo_t mongo;
    const alerts_placement_t *placement;
    size_t nplacement;
    const alerts_drift_t *drift;
    size_t ndrift;
    bool controllers_no_quorum;
    const alerts_skew_t *skew;
    size_t nskew;
    const alerts_portfail_t *ports;
    size_t nports;
} alerts_snapshot_t;

/* ---- one condition / alert */
typedef enum {
    ALERTS_PENDING = 0, /* holds, not yet for `for` */
    ALERTS_FIRING = 1,
    ALERTS_RESOLVED = 2, /* was firing, stopped holding this cycle */
} alerts_state_kind_t;

typedef struct {
    char key[192];
    alerts_sev_t severity;
    char summary[256];
    char node[64]; /* "" for cluster-level */
    char dc[64];
    json_t *values; /* object, owned */
    alerts_state_kind_t state;
    bool inhibited;          /* firing but muted (its node is down) */
    int64_t active_since_ms; /* condition first seen (pending start) */
    int64_t fired_at_ms;     /* 0 while pending */
    int64_t resolved_at_ms;  /* 0 unless resolved */
} alerts_alert_t;

/* A growable list of alerts; owns the values. */
typedef struct {
    alerts_alert_t *v;
    size_t n, cap;
} alerts_list_t;

void alerts_list_clear(alerts_list_t *l);
/* Returns the alert with key, or NULL. */
const alerts_alert_t *alerts_list_find(const alerts_list_t *l, const char *key);

/* Computes the conditions that hold in snap (state PENDING, times 0).
 * Returns 0 or QR_ENOMEM. out is cleared first. */
int alerts_conditions(const alerts_snapshot_t *snap, alerts_list_t *out);

/* ---- the state machine */
typedef struct {
    const char *prefix; /* key prefix, e.g. "disk/" */
    int64_t for_ms;
} alerts_for_t;

typedef struct {
    int64_t for_ms;                /* default 30000 */
    const alerts_for_t *overrides; /* first matching prefix wins */
    size_t noverrides;
    bool inhibit_node_down; /* mute node-level alerts while node/X/down fires */
} alerts_params_t;

/* Defaults: for 30 s, inhibition on, no overrides. */
void alerts_params_default(alerts_params_t *p);

typedef struct {
    alerts_list_t active; /* pending and firing, owned */
} alerts_state_t;

void alerts_state_init(alerts_state_t *st);
void alerts_state_clear(alerts_state_t *st);

/* One cycle: evaluates snap, advances st, and fills out (cleared first)
 * with every condition that holds (PENDING or FIRING; muted ones flagged
 * inhibited) plus the alerts that resolved this cycle (RESOLVED, once).
 * The router needs the pending ones too: a key absent from out means the
 * condition does not hold at all.
 * node/X/down always fires immediately; its active_since is the node's
 * down_since. Returns 0 or QR_ENOMEM (st unchanged on error is not
 * guaranteed, but stays consistent). */
int alerts_eval(alerts_state_t *st, const alerts_params_t *p, const alerts_snapshot_t *snap,
                alerts_list_t *out);

/* The JSON form used by `quoratectl alerts`: array of {key, severity,
 * summary, node, dc, state, inhibited, since_ms, values}. New reference. */
json_t *alerts_list_to_json(const alerts_list_t *l);

#endif
