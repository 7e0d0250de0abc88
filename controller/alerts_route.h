/* Alertmanager-style dispatch: firing/resolved alerts + routes + the
 * notification log + now -> the notifications to send now (grouped per
 * receiver and group, timed by group_wait / group_interval / repeat_interval,
 * with resolve notices) and the next time to call again. Pure: the caller
 * passes the time (wall clock, epoch ms: the log travels between machines)
 * and does the sending.
 *
 * The notification log records, per receiver and alert key, what was last
 * handed to delivery (firing or resolved) and when, and separately what was
 * last confirmed delivered (alerts_nlog_ack, from notify's results). The
 * leader's router goes by what it handed over, so it does not send twice
 * while delivery retries. The log is serialisable to JSON so it can travel
 * in the controllers' replicated state document; a new leader that loads it
 * keeps only the delivered state, so it does not notify again what reached
 * the receiver within repeat_interval, and does send what the old leader
 * handed over but never got delivered. It holds at most `max` entries; when
 * full, the entry with the oldest send time is dropped (resolved ones
 * first), which at worst causes one repeated notification for that key after
 * a leader change. */
#ifndef QR_ALERTS_ROUTE_H
#define QR_ALERTS_ROUTE_H

#include <jansson.h>
#include <stdint.h>

#include "alerts.h"
#include "alerts_conf.h"

/* ---- notification log */
typedef struct alerts_nlog alerts_nlog_t;
struct alerts_notification;

alerts_nlog_t *alerts_nlog_new(size_t max);
void alerts_nlog_destroy(alerts_nlog_t **self_p);
/* Records that key was sent to receiver as firing (or resolved) at t. */
int alerts_nlog_record(alerts_nlog_t *l, const char *receiver, const char *key, bool firing,
                       int64_t t_ms);
/* Returns 1 and fills *firing / *t_ms when an entry exists, else 0. */
int alerts_nlog_get(const alerts_nlog_t *l, const char *receiver, const char *key, bool *firing,
                    int64_t *t_ms);
/* Records that key reached receiver as firing (or resolved), sent at t
 * (the notification's created_ms, so repeat timing follows the dispatch). */
int alerts_nlog_ack(alerts_nlog_t *l, const char *receiver, const char *key, bool firing,
                    int64_t t_ms);
/* alerts_nlog_ack for every alert of a delivered notification. */
void alerts_nlog_ack_notification(alerts_nlog_t *l, const struct alerts_notification *n);
size_t alerts_nlog_count(const alerts_nlog_t *l);
/* {"version":1,"entries":[{"receiver":..,"key":..,"state":"firing"|"resolved",
 * "sent_ms":.., "delivered":{"state":..,"sent_ms":..}}]} ("delivered" absent
 * until acked). New reference. */
json_t *alerts_nlog_to_json(const alerts_nlog_t *l);
/* Replaces l's entries with the delivered state of those in j (entries
 * never delivered are left out, so a new leader sends them). Malformed
 * entries are skipped (a
 * replicated document from a newer version must not stop alerting); a
 * malformed document returns QR_EPARSE and leaves l unchanged. Keeps at most
 * l's max entries (the newest). */
int alerts_nlog_from_json(alerts_nlog_t *l, const json_t *j, qr_err_t *err);

/* ---- notifications */
typedef struct alerts_notification {
    int receiver_idx;
    const alerts_receiver_t *receiver; /* borrowed from the conf */
    char group[256];                   /* stable group key */
    alerts_list_t alerts;              /* FIRING and RESOLVED alerts, owned */
    int64_t repeat_interval_ms;
    int64_t created_ms;
} alerts_notification_t;

void alerts_notification_free(alerts_notification_t **self_p);
/* Deep copy; NULL on allocation failure. */
alerts_notification_t *alerts_notification_copy(const alerts_notification_t *n);

/* ---- router */
typedef struct alerts_router alerts_router_t;

/* conf is borrowed and must outlive the router. */
alerts_router_t *alerts_router_new(const alerts_conf_t *conf);
void alerts_router_destroy(alerts_router_t **self_p);

/* One cycle. alerts = alerts_eval()'s output for this cycle: every
 * condition that holds (pending, firing; muted ones flagged inhibited) plus
 * those that resolved this cycle. A key the log has as firing that is
 * absent from alerts gets a resolve notice (a new leader never saw it
 * resolve). Returns 0 and, in out and nout, the notifications due now
 * (caller owns each and the array: alerts_router_free_out, or hand each to
 * notify_submit and free the array), and in *next_wake_ms when to call again
 * at the latest (INT64_MAX: nothing scheduled). The log records every
 * notification returned as handed to delivery. nlog must not be NULL. */
int alerts_router_step(alerts_router_t *r, const alerts_list_t *alerts, alerts_nlog_t *nlog,
                       int64_t now_ms, alerts_notification_t ***out, size_t *nout,
                       int64_t *next_wake_ms);

/* Frees an array returned by alerts_router_step. */
void alerts_router_free_out(alerts_notification_t **out, size_t n);

/* Returns true when route matches alert (severity >=, dc, node, key prefix). */
bool alerts_route_matches(const alerts_route_t *route, const alerts_alert_t *a);

#endif
