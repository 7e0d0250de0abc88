/* The controller's alerting loop: turns the live view into the alerts
 * engine's snapshot every cycle, evaluates and routes, and hands due
 * notifications to the notifier (libcurl multi, never blocking the loop).
 * Level-triggered: a new leader re-derives the same set from its own view;
 * the notification log says what was already sent. */
#ifndef QR_ALERTING_H
#define QR_ALERTING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "inventory.h"

typedef struct alerting alerting_t;

/* Loads the routing file. Returns 0 and a new alerting in *out, or a QR_E*
 * code with "file:line: reason" in err. */
int alerting_new(const char *conf_path, alerting_t **out, qr_err_t *err);
void alerting_destroy(alerting_t **self_p);

/* One cycle. status is the controller's status JSON (nodes with their clock
 * verdicts), ports the reachability matrix JSON (may be NULL); mono_ms is the
 * inventory's clock, wall_ms the epoch clock (the notification log is
 * compared across machines). */
void alerting_step(alerting_t *al, const inventory_t *inv, const json_t *status,
                   const json_t *ports, int64_t mono_ms, int64_t wall_ms);

/* Cluster-level facts that are not in the inventory, set before a step: the
 * data centre holding the MongoDB majority in a two-DC plan (NULL: none) and
 * whether the controllers run without a quorum (after a takeover). */
void alerting_set_cluster(alerting_t *al, const char *majority_dc, bool controllers_no_quorum);
/* Label drift as applyplan_drift() returns it ([{node,...}]; borrowed for the
 * next step, may be NULL): each node fires labels/NODE/drift. */
void alerting_set_drift(alerting_t *al, json_t *drift);
/* Drives deliveries in flight; call often (every 100-200 ms) while
 * alerting_busy(). */
void alerting_perform(alerting_t *al, int64_t wall_ms);
int alerting_busy(const alerting_t *al);

/* {"alerts":[{key,severity,summary,node,dc,state,since,fired_at,values,
 *  sent:[{receiver,at,outcome,http_status}]}],"receivers":[names],
 *  "deliveries":{"delivered":N,"failed":N}} (new reference). */
json_t *alerting_json(const alerting_t *al, int64_t wall_ms);

/* Queues a test notification for receiver; returns 0, QR_ENOTFOUND. The
 * outcome is reported through alerting_test_result() once known. */
int alerting_test(alerting_t *al, const char *receiver, int64_t wall_ms);
/* The last test outcome for receiver ({receiver,outcome,http_status,error,
 * response}) or NULL while none is known (new reference). */
json_t *alerting_test_result(const alerting_t *al, const char *receiver);

/* The notification log as JSON (new reference), for the replicated state
 * document; and loading one (a new leader starts from the newest committed
 * log, so receivers do not hear the same thing twice). */
json_t *alerting_nlog_json(const alerting_t *al);
int alerting_nlog_load(alerting_t *al, const json_t *j, qr_err_t *err);

#endif
