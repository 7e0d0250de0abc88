/* Driver for tests/integration/test_alertmanager.sh: delivers quorate alerts
 * through notify to a real Prometheus Alertmanager at $QR_ALERTMANAGER_URL
 * (skipped when unset). QR_AM_PHASE=fire sends two firing alerts;
 * QR_AM_PHASE=resolve sends the resolve of node/ai5/down (the disk alert
 * keeps firing). The script checks the result through Alertmanager's API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "controller/notify.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    int delivered, failed;
    long status;
    char error[200];
} tally_t;

static void on_result(const notify_result_t *r, void *arg)
{
    tally_t *t = arg;
    if (r->outcome == NOTIFY_DELIVERED)
        t->delivered++;
    else if (r->outcome != NOTIFY_RETRYING)
        t->failed++;
    t->status = r->http_status;
    snprintf(t->error, sizeof t->error, "%s", r->error);
}

static void put(alerts_notification_t *n, const char *key, alerts_sev_t sev, const char *node,
                const char *dc, const char *summary, alerts_state_kind_t st, int64_t now)
{
    alerts_alert_t *a = &n->alerts.v[n->alerts.n++];
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    a->severity = sev;
    snprintf(a->summary, sizeof a->summary, "%s", summary);
    snprintf(a->node, sizeof a->node, "%s", node);
    snprintf(a->dc, sizeof a->dc, "%s", dc);
    a->values = json_object();
    a->state = st;
    a->active_since_ms = now - 120000;
    a->fired_at_ms = now - 90000;
    if (st == ALERTS_RESOLVED)
        a->resolved_at_ms = now - 1000;
}

static void test_deliver_to_live_alertmanager(void **state)
{
    const char *url = getenv("QR_ALERTMANAGER_URL");
    const char *phase = getenv("QR_AM_PHASE");
    if (!url || !*url) {
        print_message("QR_ALERTMANAGER_URL not set: run tests/integration/test_alertmanager.sh\n");
        skip();
    }
    bool resolve = phase && !strcmp(phase, "resolve");
    alerts_receiver_t rcv = {.name = "am",
                             .type = ALERTS_RCV_ALERTMANAGER,
                             .url = (char *)url,
                             .timeout_ms = 5000,
                             .send_resolved = true,
                             .link = "http://quorate.invalid/alerts"};
    alerts_conf_t conf = {.receivers = &rcv, .nreceivers = 1};
    notify_params_t p;
    notify_params_default(&p);
    p.backoff_initial_ms = 100;
    p.backoff_max_ms = 500;
    tally_t t = {0};
    notify_t *n = notify_new(&conf, &p, on_result, &t);
    assert_non_null(n);

    int64_t now = now_ms();
    alerts_notification_t *note = calloc(1, sizeof *note);
    note->alerts.v = calloc(2, sizeof *note->alerts.v);
    note->alerts.cap = 2;
    snprintf(note->group, sizeof note->group, "0/am/{}");
    note->repeat_interval_ms = 60000;
    put(note, "node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east",
        "ai5 is down: no report from its agent", resolve ? ALERTS_RESOLVED : ALERTS_FIRING, now);
    put(note, "disk/ai3/datadir_small", ALERTS_SEV_ERROR, "ai3", "north",
        "ai3: /datadir has 20 GB, needs 50 GB", ALERTS_FIRING, now);
    assert_int_equal(notify_submit(n, note, now), 0);
    int64_t end = now_ms() + 10000;
    while (t.delivered == 0 && t.failed == 0 && now_ms() < end)
        assert_int_equal(notify_wait(n, 50, now_ms), 0);
    if (t.delivered != 1)
        fail_msg("not delivered: status %ld %s", t.status, t.error);
    assert_int_equal(t.status, 200);
    notify_destroy(&n);
}

int main(void)
{
    log_init("test_alertmanager_live", LOG_LVL_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deliver_to_live_alertmanager),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
