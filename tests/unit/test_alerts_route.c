/* Routing and timing of notifications with a simulated clock: group_wait,
 * group_interval, repeat_interval, resolve notices, route matching, and a
 * new leader that loads the replicated notification log and stays quiet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "controller/alerts_route.h"

#define T0 1700000000000LL
#define SEC 1000LL
#define MIN 60000LL
#define HOUR 3600000LL

/* receivers: 0 = chat (slack), 1 = pager (pagerduty) */
static alerts_receiver_t rcvs[2];
static int r_chat[] = {0};
static int r_pager[] = {1};
static char *by_dc[] = {"dc"};
static alerts_route_t routes[2];
static alerts_conf_t conf;

static void setup_conf(bool pager_route, bool cont)
{
    memset(rcvs, 0, sizeof rcvs);
    memset(routes, 0, sizeof routes);
    memset(&conf, 0, sizeof conf);
    rcvs[0] = (alerts_receiver_t){.name = "chat",
                                  .type = ALERTS_RCV_SLACK,
                                  .url = "http://127.0.0.1:1/x",
                                  .timeout_ms = 1000,
                                  .send_resolved = true};
    rcvs[1] = (alerts_receiver_t){.name = "pager",
                                  .type = ALERTS_RCV_PAGERDUTY,
                                  .url = "http://127.0.0.1:1/y",
                                  .key = "k",
                                  .timeout_ms = 1000,
                                  .send_resolved = true};
    conf.receivers = rcvs;
    conf.nreceivers = 2;
    alerts_route_t chat = {.min_severity = ALERTS_SEV_INFO,
                           .receivers = r_chat,
                           .nreceivers = 1,
                           .group_by = by_dc,
                           .ngroup_by = 1,
                           .group_wait_ms = 30 * SEC,
                           .group_interval_ms = 5 * MIN,
                           .repeat_interval_ms = 4 * HOUR};
    alerts_route_t pager = chat;
    pager.min_severity = ALERTS_SEV_CRITICAL;
    pager.receivers = r_pager;
    pager.cont = cont;
    if (pager_route) {
        routes[0] = pager;
        routes[1] = chat;
        conf.nroutes = 2;
    } else {
        routes[0] = chat;
        conf.nroutes = 1;
    }
    conf.routes = routes;
    conf.group_wait_ms = 30 * SEC;
    conf.group_interval_ms = 5 * MIN;
    conf.repeat_interval_ms = 4 * HOUR;
}

static void put(alerts_list_t *l, const char *key, alerts_sev_t sev, const char *node,
                const char *dc, alerts_state_kind_t st, int64_t t)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    alerts_alert_t *a = &l->v[l->n++];
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    a->severity = sev;
    snprintf(a->summary, sizeof a->summary, "summary of %s", key);
    snprintf(a->node, sizeof a->node, "%s", node);
    snprintf(a->dc, sizeof a->dc, "%s", dc);
    a->values = json_object();
    a->state = st;
    a->active_since_ms = t;
    a->fired_at_ms = t;
    if (st == ALERTS_RESOLVED)
        a->resolved_at_ms = t;
}

typedef struct {
    alerts_notification_t **out;
    size_t n;
    int64_t wake;
} step_t;

static void step(alerts_router_t *r, const alerts_list_t *l, alerts_nlog_t *nlog, int64_t now,
                 step_t *s)
{
    alerts_router_free_out(s->out, s->n);
    s->out = NULL;
    s->n = 0;
    assert_int_equal(alerts_router_step(r, l, nlog, now, &s->out, &s->n, &s->wake), 0);
}

static size_t count_sent(alerts_router_t *r, const alerts_list_t *l, alerts_nlog_t *nlog,
                         int64_t from, int64_t to, int64_t tick, step_t *s)
{
    size_t total = 0;
    for (int64_t t = from; t < to; t += tick) {
        step(r, l, nlog, t, s);
        total += s->n;
    }
    return total;
}

static void test_group_wait_then_first_notification(void **state)
{
    setup_conf(false, false);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0};
    put(&l, "disk/ai3/datadir_small", ALERTS_SEV_ERROR, "ai3", "east", ALERTS_FIRING, T0);
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.wake, T0 + 30 * SEC);
    step(r, &l, nlog, T0 + 29 * SEC, &s);
    assert_int_equal(s.n, 0);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.out[0]->receiver->name, "chat");
    assert_int_equal(s.out[0]->alerts.n, 1);
    assert_string_equal(s.out[0]->alerts.v[0].key, "disk/ai3/datadir_small");
    assert_int_equal(s.wake, T0 + 30 * SEC + 5 * MIN);
    bool firing;
    int64_t t;
    assert_int_equal(alerts_nlog_get(nlog, "chat", "disk/ai3/datadir_small", &firing, &t), 1);
    assert_true(firing);
    assert_int_equal(t, T0 + 30 * SEC);
    step(r, NULL, nlog, T0 + 31 * SEC, &s);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_new_alert_in_group_waits_for_group_interval(void **state)
{
    setup_conf(false, false);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0};
    put(&l, "disk/ai3/datadir_small", ALERTS_SEV_ERROR, "ai3", "east", ALERTS_FIRING, T0);
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    put(&l, "ntp/ai1/ntp", ALERTS_SEV_WARNING, "ai1", "east", ALERTS_FIRING, T0 + 40 * SEC);
    /* nothing until the group's next tick, 5 min after the first flush */
    assert_int_equal(count_sent(r, &l, nlog, T0 + 40 * SEC, T0 + 330 * SEC, 10 * SEC, &s), 0);
    step(r, &l, nlog, T0 + 330 * SEC, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.out[0]->alerts.n, 2); /* the group's whole firing state */
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_unchanged_group_repeats_after_repeat_interval_only(void **state)
{
    setup_conf(false, false);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0};
    put(&l, "labels/ai2/drift", ALERTS_SEV_WARNING, "ai2", "west", ALERTS_FIRING, T0);
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    /* group ticks every 5 min; the first tick at or after 4 h repeats */
    size_t sent = count_sent(r, &l, nlog, T0 + 31 * SEC, T0 + 30 * SEC + 4 * HOUR, 30 * SEC, &s);
    assert_int_equal(sent, 0);
    sent = count_sent(r, &l, nlog, T0 + 30 * SEC + 4 * HOUR, T0 + 30 * SEC + 4 * HOUR + 6 * MIN,
                      30 * SEC, &s);
    assert_int_equal(sent, 1);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_resolve_notice_sent_once_at_next_tick(void **state)
{
    setup_conf(false, false);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0}, res = {0};
    put(&l, "node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east", ALERTS_FIRING, T0);
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    put(&res, "node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east", ALERTS_RESOLVED, T0 + 60 * SEC);
    step(r, &res, nlog, T0 + 60 * SEC, &s); /* the cycle it resolves */
    assert_int_equal(s.n, 0);
    assert_int_equal(s.wake, T0 + 330 * SEC);
    step(r, NULL, nlog, T0 + 330 * SEC, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.out[0]->alerts.n, 1);
    assert_int_equal(s.out[0]->alerts.v[0].state, ALERTS_RESOLVED);
    bool firing = true;
    assert_int_equal(alerts_nlog_get(nlog, "chat", "node/ai5/down", &firing, NULL), 1);
    assert_false(firing);
    assert_int_equal(count_sent(r, NULL, nlog, T0 + 331 * SEC, T0 + 6 * HOUR, MIN, &s), 0);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_list_clear(&res);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_blip_shorter_than_group_wait_sends_nothing(void **state)
{
    setup_conf(false, false);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0}, res = {0};
    put(&l, "node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east", ALERTS_FIRING, T0);
    put(&res, "node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east", ALERTS_RESOLVED, T0 + 10 * SEC);
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    step(r, &res, nlog, T0 + 10 * SEC, &s);
    assert_int_equal(count_sent(r, NULL, nlog, T0 + 11 * SEC, T0 + HOUR, 10 * SEC, &s), 0);
    assert_int_equal(alerts_nlog_count(nlog), 0);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_list_clear(&res);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_without_send_resolved_refire_is_news(void **state)
{
    setup_conf(false, false);
    rcvs[0].send_resolved = false;
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0}, res = {0};
    put(&l, "clock/ai2/skew", ALERTS_SEV_ERROR, "ai2", "west", ALERTS_FIRING, T0);
    put(&res, "clock/ai2/skew", ALERTS_SEV_ERROR, "ai2", "west", ALERTS_RESOLVED, T0 + MIN);
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    step(r, &res, nlog, T0 + MIN, &s);
    assert_int_equal(count_sent(r, NULL, nlog, T0 + 61 * SEC, T0 + 20 * MIN, 30 * SEC, &s), 0);
    /* fires again: the log knows it was over, so this is a new notification */
    assert_int_equal(count_sent(r, &l, nlog, T0 + 20 * MIN, T0 + 40 * MIN, 30 * SEC, &s), 1);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_list_clear(&res);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_routes_match_severity_and_continue(void **state)
{
    setup_conf(true, true);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0};
    put(&l, "mongo/rs0/no_primary", ALERTS_SEV_CRITICAL, "", "", ALERTS_FIRING, T0);
    put(&l, "labels/ai2/drift", ALERTS_SEV_WARNING, "ai2", "west", ALERTS_FIRING, T0);
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    /* pager gets the critical one; continue lets chat get both (two dc groups) */
    int pager = 0, chat_alerts = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!strcmp(s.out[i]->receiver->name, "pager")) {
            pager++;
            assert_int_equal(s.out[i]->alerts.n, 1);
            assert_string_equal(s.out[i]->alerts.v[0].key, "mongo/rs0/no_primary");
        } else {
            chat_alerts += (int)s.out[i]->alerts.n;
        }
    }
    assert_int_equal(pager, 1);
    assert_int_equal(chat_alerts, 2);
    assert_int_equal(s.n, 3);
    alerts_router_free_out(s.out, s.n);
    s.out = NULL;
    s.n = 0;
    alerts_router_destroy(&r);
    alerts_nlog_destroy(&nlog);

    /* without continue the critical alert stops at the pager route */
    setup_conf(true, false);
    r = alerts_router_new(&conf);
    nlog = alerts_nlog_new(64);
    step(r, &l, nlog, T0, &s);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(alerts_nlog_get(nlog, "chat", "mongo/rs0/no_primary", NULL, NULL), 0);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_inhibited_alert_is_not_notified(void **state)
{
    setup_conf(false, false);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(64);
    alerts_list_t l = {0};
    put(&l, "node/ai3/down", ALERTS_SEV_CRITICAL, "ai3", "east", ALERTS_FIRING, T0);
    put(&l, "disk/ai3/datadir_small", ALERTS_SEV_ERROR, "ai3", "east", ALERTS_FIRING, T0);
    l.v[1].inhibited = true;
    step_t s = {0};
    step(r, &l, nlog, T0, &s);
    step(r, &l, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.out[0]->alerts.n, 1);
    assert_string_equal(s.out[0]->alerts.v[0].key, "node/ai3/down");
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_new_leader_with_replicated_log_does_not_renotify(void **state)
{
    setup_conf(true, true);
    alerts_list_t l = {0};
    put(&l, "mongo/rs0/no_primary", ALERTS_SEV_CRITICAL, "", "", ALERTS_FIRING, T0);
    put(&l, "disk/ai3/datadir_small", ALERTS_SEV_ERROR, "ai3", "east", ALERTS_FIRING, T0);

    /* leader A notifies, then its log is replicated (as JSON text) */
    alerts_router_t *a = alerts_router_new(&conf);
    alerts_nlog_t *log_a = alerts_nlog_new(64);
    step_t s = {0};
    step(a, &l, log_a, T0, &s);
    step(a, &l, log_a, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < s.n; i++) /* notify reported them delivered */
        alerts_nlog_ack_notification(log_a, s.out[i]);
    json_t *doc = alerts_nlog_to_json(log_a);
    char *wire = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    alerts_router_destroy(&a); /* leader A dies */
    alerts_nlog_destroy(&log_a);

    /* leader B takes over 2 minutes later with the replicated log */
    alerts_router_t *b = alerts_router_new(&conf);
    alerts_nlog_t *log_b = alerts_nlog_new(64);
    json_t *in = json_loads(wire, 0, NULL);
    qr_err_t err;
    assert_int_equal(alerts_nlog_from_json(log_b, in, &err), 0);
    json_decref(in);
    free(wire);
    assert_int_equal(alerts_nlog_count(log_b), 3);
    size_t sent = count_sent(b, &l, log_b, T0 + 2 * MIN, T0 + 30 * SEC + 4 * HOUR, 30 * SEC, &s);
    assert_int_equal(sent, 0);
    /* ...but it does repeat once repeat_interval has passed since A sent */
    sent =
        count_sent(b, &l, log_b, T0 + 30 * SEC + 4 * HOUR, T0 + 4 * HOUR + 10 * MIN, 30 * SEC, &s);
    assert_int_equal(sent, 3);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_nlog_destroy(&log_b);
    alerts_router_destroy(&b);
}

static void test_new_leader_sends_resolve_for_alert_old_leader_notified(void **state)
{
    setup_conf(false, false);
    alerts_nlog_t *log = alerts_nlog_new(64);
    alerts_nlog_record(log, "chat", "node/ai5/down", true, T0);
    alerts_router_t *b = alerts_router_new(&conf);
    alerts_list_t res = {0};
    put(&res, "node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east", ALERTS_RESOLVED, T0 + HOUR);
    step_t s = {0};
    step(b, &res, log, T0 + HOUR, &s);
    assert_int_equal(s.n, 0);
    step(b, NULL, log, T0 + HOUR + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.out[0]->alerts.v[0].state, ALERTS_RESOLVED);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&res);
    alerts_nlog_destroy(&log);
    alerts_router_destroy(&b);
}

static void test_new_leader_resends_what_old_leader_never_delivered(void **state)
{
    setup_conf(false, false);
    alerts_list_t l = {0};
    put(&l, "node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east", ALERTS_FIRING, T0);
    alerts_router_t *a = alerts_router_new(&conf);
    alerts_nlog_t *log_a = alerts_nlog_new(64);
    step_t s = {0};
    step(a, &l, log_a, T0, &s);
    step(a, &l, log_a, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1); /* handed to delivery, which never confirmed */
    /* the same leader does not send it again while delivery retries */
    assert_int_equal(count_sent(a, &l, log_a, T0 + 31 * SEC, T0 + HOUR, MIN, &s), 0);
    json_t *doc = alerts_nlog_to_json(log_a);
    alerts_router_destroy(&a);
    alerts_nlog_destroy(&log_a);

    alerts_router_t *b = alerts_router_new(&conf);
    alerts_nlog_t *log_b = alerts_nlog_new(64);
    qr_err_t err;
    assert_int_equal(alerts_nlog_from_json(log_b, doc, &err), 0);
    json_decref(doc);
    assert_int_equal(alerts_nlog_count(log_b), 0);
    assert_int_equal(count_sent(b, &l, log_b, T0 + HOUR, T0 + HOUR + MIN, 10 * SEC, &s), 1);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_nlog_destroy(&log_b);
    alerts_router_destroy(&b);
}

static void test_new_leader_resolves_condition_gone_during_takeover(void **state)
{
    setup_conf(false, false);
    /* the old leader delivered "firing"; the condition ended while no
     * leader was there to see it resolve */
    alerts_nlog_t *log = alerts_nlog_new(64);
    alerts_list_t l = {0};
    put(&l, "clock/ai2/skew", ALERTS_SEV_ERROR, "ai2", "west", ALERTS_FIRING, T0);
    alerts_router_t *a = alerts_router_new(&conf);
    step_t s = {0};
    step(a, &l, log, T0, &s);
    step(a, &l, log, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    alerts_nlog_ack_notification(log, s.out[0]);
    alerts_router_destroy(&a);

    alerts_router_t *b = alerts_router_new(&conf);
    alerts_list_t pending = {0}, none = {0};
    /* still pending in the new leader's view: no resolve */
    put(&pending, "clock/ai2/skew", ALERTS_SEV_ERROR, "ai2", "west", ALERTS_PENDING, T0 + HOUR);
    assert_int_equal(count_sent(b, &pending, log, T0 + HOUR, T0 + HOUR + 2 * MIN, 10 * SEC, &s), 0);
    /* gone: one resolve notice, routed like the alert was (dc west group) */
    assert_int_equal(
        count_sent(b, &none, log, T0 + 2 * HOUR, T0 + 2 * HOUR + 40 * SEC, 10 * SEC, &s), 1);
    step(b, &none, log, T0 + 2 * HOUR + 30 * SEC, &s);
    bool firing = true;
    assert_int_equal(alerts_nlog_get(log, "chat", "clock/ai2/skew", &firing, NULL), 1);
    assert_false(firing);
    assert_int_equal(count_sent(b, &none, log, T0 + 2 * HOUR + MIN, T0 + 8 * HOUR, MIN, &s), 0);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&l);
    alerts_list_clear(&pending);
    alerts_nlog_destroy(&log);
    alerts_router_destroy(&b);
}

static void test_large_group_half_resolves(void **state)
{
    setup_conf(false, false);
    alerts_router_t *r = alerts_router_new(&conf);
    alerts_nlog_t *nlog = alerts_nlog_new(4096);
    alerts_list_t all = {0}, half = {0}, res = {0};
    char key[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "ports/ai%d->ai99/2377", i);
        put(&all, key, ALERTS_SEV_ERROR, "ai1", "east", ALERTS_FIRING, T0);
        if (i % 2)
            put(&half, key, ALERTS_SEV_ERROR, "ai1", "east", ALERTS_FIRING, T0);
        else
            put(&res, key, ALERTS_SEV_ERROR, "ai1", "east", ALERTS_RESOLVED, T0 + MIN);
    }
    step_t s = {0};
    step(r, &all, nlog, T0, &s);
    step(r, &all, nlog, T0 + 30 * SEC, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.out[0]->alerts.n, 300);
    /* the resolve events arrive once, then those keys are simply absent */
    alerts_list_t mixed = {0};
    for (size_t i = 0; i < half.n; i++)
        put(&mixed, half.v[i].key, ALERTS_SEV_ERROR, "ai1", "east", ALERTS_FIRING, T0);
    for (size_t i = 0; i < res.n; i++)
        put(&mixed, res.v[i].key, ALERTS_SEV_ERROR, "ai1", "east", ALERTS_RESOLVED, T0 + MIN);
    step(r, &mixed, nlog, T0 + MIN, &s);
    assert_int_equal(count_sent(r, &half, nlog, T0 + 2 * MIN, T0 + 330 * SEC, 30 * SEC, &s), 0);
    step(r, &half, nlog, T0 + 330 * SEC, &s);
    assert_int_equal(s.n, 1);
    size_t f = 0, rs = 0;
    for (size_t i = 0; i < s.out[0]->alerts.n; i++) {
        const alerts_alert_t *a = &s.out[0]->alerts.v[i];
        if (a->state == ALERTS_FIRING) {
            f++;
            assert_non_null(alerts_list_find(&half, a->key));
        } else {
            rs++;
            assert_non_null(alerts_list_find(&res, a->key));
        }
    }
    assert_int_equal(f, 150);
    assert_int_equal(rs, 150);
    /* and then quiet */
    assert_int_equal(count_sent(r, &half, nlog, T0 + 331 * SEC, T0 + HOUR, MIN, &s), 0);
    alerts_router_free_out(s.out, s.n);
    alerts_list_clear(&all);
    alerts_list_clear(&half);
    alerts_list_clear(&res);
    alerts_list_clear(&mixed);
    alerts_nlog_destroy(&nlog);
    alerts_router_destroy(&r);
}

static void test_nlog_is_bounded_dropping_oldest(void **state)
{
    alerts_nlog_t *log = alerts_nlog_new(16);
    char key[64];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "disk/ai%d/x", i);
        alerts_nlog_record(log, "chat", key, true, T0 + i);
    }
    assert_int_equal(alerts_nlog_count(log), 16);
    assert_int_equal(alerts_nlog_get(log, "chat", "disk/ai0/x", NULL, NULL), 0);
    assert_int_equal(alerts_nlog_get(log, "chat", "disk/ai3/x", NULL, NULL), 0);
    assert_int_equal(alerts_nlog_get(log, "chat", "disk/ai4/x", NULL, NULL), 1);
    assert_int_equal(alerts_nlog_get(log, "chat", "disk/ai19/x", NULL, NULL), 1);
    /* a resolved entry goes before an older firing one */
    alerts_nlog_record(log, "chat", "disk/ai19/x", false, T0 + 100);
    alerts_nlog_record(log, "chat", "new", true, T0 + 101);
    assert_int_equal(alerts_nlog_get(log, "chat", "disk/ai19/x", NULL, NULL), 0);
    assert_int_equal(alerts_nlog_get(log, "chat", "disk/ai4/x", NULL, NULL), 1);
    alerts_nlog_destroy(&log);
}

static void test_nlog_from_json_skips_bad_entries_and_rejects_bad_documents(void **state)
{
    alerts_nlog_t *log = alerts_nlog_new(16);
    alerts_nlog_record(log, "chat", "keep", true, T0);
    qr_err_t err;
    json_t *bad = json_loads("[1,2]", 0, NULL);
    assert_int_equal(alerts_nlog_from_json(log, bad, &err), QR_EPARSE);
    json_decref(bad);
    assert_int_equal(alerts_nlog_get(log, "chat", "keep", NULL, NULL), 1);
    json_t *mixed = json_loads(
        "{\"version\":1,\"entries\":["
        "{\"receiver\":\"chat\",\"key\":\"a\",\"state\":\"firing\",\"sent_ms\":5,"
        " \"delivered\":{\"state\":\"firing\",\"sent_ms\":5}},"
        "{\"receiver\":\"chat\",\"key\":\"b\",\"delivered\":{\"state\":\"weird\",\"sent_ms\":5}},"
        "{\"receiver\":\"chat\",\"key\":\"never\",\"state\":\"firing\",\"sent_ms\":5},"
        "{\"receiver\":7},\"x\","
        "{\"receiver\":\"chat\",\"key\":\"a\",\"delivered\":{\"state\":\"resolved\",\"sent_ms\":9}}"
        "]}",
        0, NULL);
    assert_non_null(mixed);
    assert_int_equal(alerts_nlog_from_json(log, mixed, &err), 0);
    json_decref(mixed);
    assert_int_equal(alerts_nlog_count(log), 1);
    bool firing = true;
    int64_t t = 0;
    assert_int_equal(alerts_nlog_get(log, "chat", "a", &firing, &t), 1);
    assert_false(firing); /* the newer duplicate wins */
    assert_int_equal(t, 9);
    alerts_nlog_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_wait_then_first_notification),
        cmocka_unit_test(test_new_alert_in_group_waits_for_group_interval),
        cmocka_unit_test(test_unchanged_group_repeats_after_repeat_interval_only),
        cmocka_unit_test(test_resolve_notice_sent_once_at_next_tick),
        cmocka_unit_test(test_blip_shorter_than_group_wait_sends_nothing),
        cmocka_unit_test(test_without_send_resolved_refire_is_news),
        cmocka_unit_test(test_routes_match_severity_and_continue),
        cmocka_unit_test(test_inhibited_alert_is_not_notified),
        cmocka_unit_test(test_new_leader_with_replicated_log_does_not_renotify),
        cmocka_unit_test(test_new_leader_sends_resolve_for_alert_old_leader_notified),
        cmocka_unit_test(test_new_leader_resends_what_old_leader_never_delivered),
        cmocka_unit_test(test_new_leader_resolves_condition_gone_during_takeover),
        cmocka_unit_test(test_large_group_half_resolves),
        cmocka_unit_test(test_nlog_is_bounded_dropping_oldest),
        cmocka_unit_test(test_nlog_from_json_skips_bad_entries_and_rejects_bad_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
