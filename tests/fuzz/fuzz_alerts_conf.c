/* Fuzz target: the alert routing YAML (alerts_conf_load: receivers, routes,
 * durations, secrets), then what the controller does with a loaded config:
 * the redacted description, and three firing alerts routed through it
 * (alerts_router_step three times, each at the router's next wake-up, one
 * alert resolving on the way) with each notification's HTTP payloads built
 * (alerts_payload_build). Secrets named by `*_env` resolve through
 * QR_FUZZ_SECRET and QR_FUZZ_KEY (set here), so valid configs get past the
 * receivers into the routes; `*_file` names what the input says
 * (reads are bounded to 4 KiB by the loader). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/alerts_conf.h"
#include "controller/alerts_payload.h"
#include "controller/alerts_route.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    setenv("QR_FUZZ_SECRET", "https://hooks.example.invalid/services/T000/B000/XXXX", 1);
    setenv("QR_FUZZ_KEY", "0123456789abcdef0123456789abcdef", 1);
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        abort();
    return 0;
}

#define T0 1764000000000LL

static void set_alert(alerts_alert_t *a, const char *key, alerts_sev_t sev, const char *node,
                      const char *dc)
{
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    a->severity = sev;
    snprintf(a->summary, sizeof a->summary, "%s on %s", key, node);
    snprintf(a->node, sizeof a->node, "%s", node);
    snprintf(a->dc, sizeof a->dc, "%s", dc);
    a->state = ALERTS_FIRING;
    a->active_since_ms = T0 - 60000;
    a->fired_at_ms = T0 - 30000;
}

static void build_payloads(const alerts_conf_t *c, alerts_notification_t **out, size_t nout,
                           int64_t now)
{
    for (size_t i = 0; i < nout; i++) {
        alerts_request_t *reqs = NULL;
        size_t nreqs = 0;
        qr_err_t err = {{0}};
        if (out[i]->receiver_idx < 0 || (size_t)out[i]->receiver_idx >= c->nreceivers)
            abort(); /* the router must only name receivers of the config */
        if (alerts_payload_build(&c->receivers[out[i]->receiver_idx], out[i], now, &reqs, &nreqs,
                                 &err) == 0)
            alerts_request_free_all(reqs, nreqs);
    }
}

/* Routes three firing alerts, then the same with one resolved, once every
 * wait has passed. */
static void route(const alerts_conf_t *c)
{
    alerts_alert_t v[3];
    set_alert(&v[0], "node/n1/down", ALERTS_SEV_CRITICAL, "n1", "east");
    set_alert(&v[1], "disk/n2/datadir_free", ALERTS_SEV_WARNING, "n2", "west");
    set_alert(&v[2], "clock/n3/skew", ALERTS_SEV_INFO, "n3", "east");
    alerts_list_t list = {.v = v, .n = 3, .cap = 3};
    alerts_router_t *r = alerts_router_new(c);
    alerts_nlog_t *log = alerts_nlog_new(c->nlog_max) /* as controller/alerting.c */;
    if (!r || !log)
        abort();
    int64_t now = T0, next = 0;
    for (int step = 0; step < 3; step++) {
        alerts_notification_t **out = NULL;
        size_t nout = 0;
        if (alerts_router_step(r, &list, log, now, &out, &nout, &next) == 0) {
            build_payloads(c, out, nout, now);
            for (size_t i = 0; i < nout; i++)
                alerts_nlog_ack_notification(log, out[i]);
            alerts_router_free_out(out, nout);
        }
        if (next == INT64_MAX || next <= now)
            next = now + 1000;
        now = next > now + 86400000LL ? now + 86400000LL : next;
        if (step == 1) {
            v[1].state = ALERTS_RESOLVED;
            v[1].resolved_at_ms = now;
        }
    }
    json_t *j = alerts_nlog_to_json(log);
    json_decref(j);
    alerts_nlog_destroy(&log);
    alerts_router_destroy(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const char *path = fuzz_tmpfile(data, size);
    alerts_conf_t *c = NULL;
    qr_err_t err = {{0}};
    if (fuzz_note("alerts_conf_load", alerts_conf_load(path, &c, &err), err.msg) != 0)
        return 0;
    alerts_conf_describe(c, devnull);
    alerts_params_t p;
    alerts_conf_params(c, &p);
    for (size_t i = 0; i < c->nreceivers; i++) {
        char buf[256];
        alerts_conf_redact_url(c->receivers[i].url, buf, sizeof buf);
        if (alerts_conf_receiver_index(c, c->receivers[i].name) < 0)
            abort(); /* a receiver the config holds must be found by its name */
    }
    route(c);
    alerts_conf_destroy(&c);
    return 0;
}
