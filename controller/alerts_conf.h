/* The alert routing config: receivers, routes, timing, inhibition. A YAML
 * file of its own (libfyaml), pointed at by the controller config's
 * `alerts_config: PATH`. Parsed once into an immutable struct; secrets (URLs
 * of chat webhooks, routing keys, API keys, HMAC secrets) are read from the
 * file or from files/environment variables it names, and never appear in
 * error messages or in alerts_conf_describe(). See docs/alerts.md. */
#ifndef QR_ALERTS_CONF_H
#define QR_ALERTS_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alerts.h"
#include "common/err.h"

typedef enum {
    ALERTS_RCV_SLACK = 0,
    ALERTS_RCV_MATTERMOST,
    ALERTS_RCV_TEAMS,
    ALERTS_RCV_PAGERDUTY,
    ALERTS_RCV_OPSGENIE,
    ALERTS_RCV_WEBHOOK,
    ALERTS_RCV_ALERTMANAGER,
} alerts_rcv_type_t;

/* "slack", "mattermost", ... */
const char *alerts_conf_rcv_type_str(alerts_rcv_type_t t);

typedef struct {
    char *name;
    alerts_rcv_type_t type;
    char *url;          /* secret for chat webhooks; defaults for pagerduty/opsgenie */
    char *key;          /* pagerduty routing_key or opsgenie api_key; secret */
    char *secret;       /* webhook HMAC secret; secret */
    int64_t timeout_ms; /* per HTTP request, default 10 s */
    bool send_resolved;
    char *link; /* optional generatorURL / link back (not secret) */
} alerts_receiver_t;

typedef struct {
    alerts_sev_t min_severity; /* match severity >= this */
    char *dc;                  /* NULL: any */
    char *node;                /* NULL: any */
    char *key_prefix;          /* NULL: any */
    int *receivers;            /* indexes into conf->receivers */
    size_t nreceivers;
    bool cont;       /* keep matching later routes */
    char **group_by; /* of "dc", "node", "severity", "check", "key" */
    size_t ngroup_by;
    int64_t group_wait_ms, group_interval_ms, repeat_interval_ms;
    int line; /* 1-based line of the route in the file */
} alerts_route_t;

typedef struct {
    alerts_receiver_t *receivers;
    size_t nreceivers;
    alerts_route_t *routes;
    size_t nroutes;
    int64_t for_ms;              /* default 30 s */
    alerts_for_t *for_overrides; /* prefix -> for */
    size_t nfor_overrides;
    int64_t group_wait_ms;      /* default 30 s */
    int64_t group_interval_ms;  /* default 5 m */
    int64_t repeat_interval_ms; /* default 4 h */
    bool send_resolved;         /* default true */
    bool inhibit_node_down;     /* default true */
    size_t nlog_max;            /* notification log bound, default 4096 */
} alerts_conf_t;

/* Parses and validates path. Returns 0 and a new config in *out (caller
 * destroys it), or a negative QR_E* code with "path:line: reason" in err.
 * Secrets are never copied into err. */
int alerts_conf_load(const char *path, alerts_conf_t **out, qr_err_t *err);
/* Frees the config and clears *self_p. NULL-safe. */
void alerts_conf_destroy(alerts_conf_t **self_p);

/* Returns the receiver called name, or -1. */
int alerts_conf_receiver_index(const alerts_conf_t *c, const char *name);

/* Fills p from c (p borrows c's overrides: keep c alive while p is used). */
void alerts_conf_params(const alerts_conf_t *c, alerts_params_t *p);

/* Writes a readable description of the config to f with every secret
 * redacted (URLs keep scheme and host only). */
void alerts_conf_describe(const alerts_conf_t *c, FILE *f);

/* Writes "scheme://host/<redacted>" for url into buf (or "<redacted>"). */
void alerts_conf_redact_url(const char *url, char *buf, size_t bufsz);

/* Parses "30s", "5m", "4h", "1h30m", "250ms", "2d" or a bare number of
 * seconds. Returns 0 and *ms, or QR_EPARSE. */
int alerts_conf_parse_duration(const char *s, int64_t *ms);

#endif
