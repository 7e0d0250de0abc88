/* HTTP requests for each receiver type, following each service's documented
 * schema (see docs/alerts.md for the fields and links). Pure: a notification
 * and the current time (epoch ms) in, requests out; no I/O.
 *
 * Requests per notification: one for Slack, Mattermost, Teams, the generic
 * webhook and Alertmanager (an array of alerts); one per alert for PagerDuty
 * (trigger or resolve, dedup_key "quorate:" + key) and Opsgenie (create with
 * alias = key, or close by alias). */
#ifndef QR_ALERTS_PAYLOAD_H
#define QR_ALERTS_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "alerts_conf.h"
#include "alerts_route.h"
#include "common/err.h"

#define ALERTS_PAYLOAD_MAX_HEADERS 6

typedef struct {
    char *url;                                 /* owned; may hold a secret */
    char *headers[ALERTS_PAYLOAD_MAX_HEADERS]; /* "Name: value", owned; may hold a secret */
    size_t nheaders;
    char *body;     /* owned, JSON */
    char what[160]; /* for logs: no secrets */
} alerts_request_t;

/* Frees a request's members (not the struct). NULL-safe. */
void alerts_request_clear(alerts_request_t *r);
/* Frees an array of n requests. */
void alerts_request_free_all(alerts_request_t *reqs, size_t n);

/* Builds the requests for notification n to receiver rcv at now_ms.
 * Returns 0 with *reqs (array, caller frees with alerts_request_free_all)
 * and *nreqs (may be 0: nothing to send, e.g. only resolves for a receiver
 * that does not want them), or a negative QR_E* code. */
int alerts_payload_build(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                         int64_t now_ms, alerts_request_t **reqs, size_t *nreqs, qr_err_t *err);

/* The PagerDuty dedup_key for an alert key ("quorate:" + key, max 255). */
void alerts_payload_dedup_key(const char *key, char *buf, size_t bufsz);

/* HMAC-SHA256 of "<timestamp>.<body>" with secret, as lowercase hex (64
 * chars + NUL). The webhook sends it as "X-Quorate-Signature: sha256=<hex>"
 * with "X-Quorate-Timestamp: <timestamp>" (unix seconds). Returns 0 or
 * QR_EINVAL. */
int alerts_payload_sign(const char *secret, const char *timestamp, const char *body, char hex[65]);

/* Formats epoch ms as RFC 3339 UTC with milliseconds. */
void alerts_payload_time(int64_t ms, char *buf, size_t bufsz);

#endif
