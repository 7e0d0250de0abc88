/* Delivery against a local HTTP receiver (libmicrohttpd on 127.0.0.1, an
 * ephemeral port) that records requests and answers from a script: 5xx,
 * 429 with Retry-After and timeouts are retried until delivered once; 400
 * is a configuration error logged once and not retried; an outage collapses
 * what piled up into one delivery per group; hostile replies are harmless. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "controller/notify.h"

/* ---- the test receiver */
#define MAXREQ 64
typedef struct {
    int status;
    int retry_after; /* seconds, -1: no header */
    int delay_ms;    /* before answering */
    size_t big;      /* answer with this many bytes of junk */
} answer_t;

typedef struct {
    char *body;
    int64_t t_ms;
    int status;
} seen_t;

static struct {
    pthread_mutex_t mu;
    answer_t script[MAXREQ];
    size_t nscript, next;
    answer_t dflt;
    seen_t seen[MAXREQ];
    size_t nseen;
    int ok_replies;
    struct MHD_Daemon *d;
    int port;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    char *buf;
    size_t len;
} upload_t;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls)
{
    upload_t *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*data_size) {
        u->buf = realloc(u->buf, u->len + *data_size + 1);
        memcpy(u->buf + u->len, data, *data_size);
        u->len += *data_size;
        u->buf[u->len] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&srv.mu);
    answer_t a = srv.next < srv.nscript ? srv.script[srv.next] : srv.dflt;
    srv.next++;
    if (srv.nseen < MAXREQ) {
        srv.seen[srv.nseen].body = u->buf ? strdup(u->buf) : strdup("");
        srv.seen[srv.nseen].t_ms = now_ms();
        srv.seen[srv.nseen].status = a.status;
        srv.nseen++;
    }
    if (a.status >= 200 && a.status < 300)
        srv.ok_replies++;
    pthread_mutex_unlock(&srv.mu);
    if (a.delay_ms)
        usleep((useconds_t)a.delay_ms * 1000);
    char *junk = NULL;
    struct MHD_Response *resp;
    if (a.big) {
        junk = malloc(a.big);
        for (size_t i = 0; i < a.big; i++)
            junk[i] = (char)(i * 7 + 1); /* control chars, high bytes, anything */
        resp = MHD_create_response_from_buffer(a.big, junk, MHD_RESPMEM_MUST_FREE);
    } else {
        resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    }
    if (a.retry_after >= 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", a.retry_after);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    enum MHD_Result r = MHD_queue_response(c, (unsigned)a.status, resp);
    MHD_destroy_response(resp);
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    upload_t *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
    }
    *con_cls = NULL;
}

static void srv_start(const answer_t *script, size_t n, answer_t dflt)
{
    pthread_mutex_lock(&srv.mu);
    if (n)
        memcpy(srv.script, script, n * sizeof *script);
    srv.nscript = n;
    srv.next = 0;
    srv.dflt = dflt;
    srv.nseen = 0;
    srv.ok_replies = 0;
    pthread_mutex_unlock(&srv.mu);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                             NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    assert_non_null(srv.d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
    srv.port = info->port;
    assert_true(srv.port > 0);
}

static void srv_set_default(answer_t dflt)
{
    pthread_mutex_lock(&srv.mu);
    srv.dflt = dflt;
    pthread_mutex_unlock(&srv.mu);
}

static void srv_stop(void)
{
    MHD_stop_daemon(srv.d);
    srv.d = NULL;
    for (size_t i = 0; i < srv.nseen; i++)
        free(srv.seen[i].body);
    srv.nseen = 0;
}

static size_t srv_count(void)
{
    pthread_mutex_lock(&srv.mu);
    size_t n = srv.nseen;
    pthread_mutex_unlock(&srv.mu);
    return n;
}

/* ---- the notifier under test */
static alerts_receiver_t rcvs[1];
static alerts_conf_t conf;
static char url[128];

typedef struct {
    int delivered, retrying, config_error, dropped;
    long last_status;
    char last_error[200];
    char last_response[200];
} tally_t;

static void on_result(const notify_result_t *r, void *arg)
{
    tally_t *t = arg;
    switch (r->outcome) {
    case NOTIFY_DELIVERED:
        t->delivered++;
        break;
    case NOTIFY_RETRYING:
        t->retrying++;
        break;
    case NOTIFY_CONFIG_ERROR:
        t->config_error++;
        break;
    case NOTIFY_DROPPED:
        t->dropped++;
        break;
    }
    t->last_status = r->http_status;
    snprintf(t->last_error, sizeof t->last_error, "%s", r->error);
    snprintf(t->last_response, sizeof t->last_response, "%s", r->response);
}

static notify_t *make_notifier(tally_t *t, int64_t timeout_ms, size_t queue_max)
{
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", srv.port);
    memset(&conf, 0, sizeof conf);
    rcvs[0] = (alerts_receiver_t){.name = "hook",
                                  .type = ALERTS_RCV_WEBHOOK,
                                  .url = url,
                                  .secret = "k",
                                  .timeout_ms = timeout_ms,
                                  .send_resolved = true};
    conf.receivers = rcvs;
    conf.nreceivers = 1;
    notify_params_t p;
    notify_params_default(&p);
    p.backoff_initial_ms = 40;
    p.backoff_max_ms = 200;
    p.retry_after_max_ms = 3000;
    p.queue_max = queue_max;
    memset(t, 0, sizeof *t);
    notify_t *n = notify_new(&conf, &p, on_result, t);
    assert_non_null(n);
    return n;
}

static alerts_notification_t *mk_note(const char *group, const char *const *keys,
                                      const alerts_state_kind_t *states, size_t nkeys)
{
    alerts_notification_t *n = calloc(1, sizeof *n);
    snprintf(n->group, sizeof n->group, "%s", group);
    n->receiver_idx = 0;
    n->alerts.v = calloc(nkeys, sizeof *n->alerts.v);
    n->alerts.n = n->alerts.cap = nkeys;
    for (size_t i = 0; i < nkeys; i++) {
        alerts_alert_t *a = &n->alerts.v[i];
        snprintf(a->key, sizeof a->key, "%s", keys[i]);
        snprintf(a->summary, sizeof a->summary, "summary %s", keys[i]);
        a->state = states[i];
        a->values = json_object();
        a->fired_at_ms = now_ms();
        if (states[i] == ALERTS_RESOLVED)
            a->resolved_at_ms = now_ms();
    }
    return n;
}

static alerts_notification_t *one(const char *group, const char *key)
{
    const char *k[] = {key};
    const alerts_state_kind_t s[] = {ALERTS_FIRING};
    return mk_note(group, k, s, 1);
}

/* Drives the notifier until cond holds or ms pass. */
#define RUN_UNTIL(n, ms, cond)                                                                     \
    do {                                                                                           \
        int64_t end_ = now_ms() + (ms);                                                            \
        while (!(cond) && now_ms() < end_)                                                         \
            assert_int_equal(notify_wait((n), 20, now_ms), 0);                                     \
    } while (0)

static void run_for(notify_t *n, int ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end)
        assert_int_equal(notify_wait(n, 20, now_ms), 0);
}

static void test_5xx_then_recovery_delivered_exactly_once(void **state)
{
    answer_t script[] = {{503, -1, 0, 0}, {500, -1, 0, 0}, {502, -1, 0, 0}};
    srv_start(script, 3, (answer_t){200, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    assert_int_equal(notify_submit(n, one("g", "node/ai5/down"), now_ms()), 0);
    RUN_UNTIL(n, 5000, t.delivered > 0);
    run_for(n, 300); /* nothing more goes out */
    assert_int_equal(t.delivered, 1);
    assert_int_equal(t.retrying, 3);
    assert_int_equal(srv_count(), 4);
    assert_int_equal(srv.ok_replies, 1);
    assert_int_equal(notify_pending(n), 0);
    /* backoff grows: gaps between attempts do not shrink. The first wait is
     * 20 ms, counted by a libuv timer from the loop's cached time, which can
     * be a few ms behind the server's clock (CI saw 19 ms). */
    int64_t g1 = srv.seen[1].t_ms - srv.seen[0].t_ms, g3 = srv.seen[3].t_ms - srv.seen[2].t_ms;
    assert_true(g1 >= 15);
    assert_true(g3 >= 50);
    notify_destroy(&n);
    srv_stop();
}

static void test_429_waits_for_retry_after(void **state)
{
    answer_t script[] = {{429, 1, 0, 0}};
    srv_start(script, 1, (answer_t){200, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    assert_int_equal(notify_submit(n, one("g", "disk/ai1/x"), now_ms()), 0);
    RUN_UNTIL(n, 5000, t.delivered > 0);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(srv_count(), 2);
    /* without Retry-After the backoff would retry within ~40 ms */
    int64_t gap = srv.seen[1].t_ms - srv.seen[0].t_ms;
    assert_true(gap >= 950);
    assert_true(gap < 2500);
    notify_destroy(&n);
    srv_stop();
}

static void test_429_without_retry_after_backs_off(void **state)
{
    answer_t script[] = {{429, -1, 0, 0}, {429, -1, 0, 0}};
    srv_start(script, 2, (answer_t){200, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    assert_int_equal(notify_submit(n, one("g", "disk/ai1/x"), now_ms()), 0);
    RUN_UNTIL(n, 5000, t.delivered > 0);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(srv_count(), 3);
    /* not hammered: each retry waited for the backoff (>= half of 40 ms) */
    assert_true(srv.seen[1].t_ms - srv.seen[0].t_ms >= 15);
    assert_true(srv.seen[2].t_ms - srv.seen[1].t_ms >= 15);
    notify_destroy(&n);
    srv_stop();
}

static void test_pagerduty_failed_event_resumes_where_it_stopped(void **state)
{
    answer_t script[] = {{202, -1, 0, 0}, {500, -1, 0, 0}};
    srv_start(script, 2, (answer_t){202, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    rcvs[0].type = ALERTS_RCV_PAGERDUTY;
    rcvs[0].key = "routingkey";
    const char *k[] = {"node/ai5/down", "disk/ai3/x", "clock/ai2/skew"};
    const alerts_state_kind_t st[] = {ALERTS_FIRING, ALERTS_FIRING, ALERTS_RESOLVED};
    assert_int_equal(notify_submit(n, mk_note("g", k, st, 3), now_ms()), 0);
    RUN_UNTIL(n, 5000, t.delivered > 0);
    run_for(n, 200);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(srv_count(), 4);
    /* events in order, the failed one repeated, none of the others */
    const char *want[] = {"quorate:node/ai5/down", "quorate:disk/ai3/x", "quorate:disk/ai3/x",
                          "quorate:clock/ai2/skew"};
    const char *action[] = {"trigger", "trigger", "trigger", "resolve"};
    for (size_t i = 0; i < 4; i++) {
        json_t *b = json_loads(srv.seen[i].body, 0, NULL);
        assert_non_null(b);
        assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), want[i]);
        assert_string_equal(json_string_value(json_object_get(b, "event_action")), action[i]);
        json_decref(b);
    }
    notify_destroy(&n);
    srv_stop();
}

static void test_timeout_then_recovery_delivered_once(void **state)
{
    answer_t script[] = {{503, -1, 700, 0}}; /* a hung upstream: answers after our timeout */
    srv_start(script, 1, (answer_t){200, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 200, 16);
    assert_int_equal(notify_submit(n, one("g", "clock/ai2/skew"), now_ms()), 0);
    RUN_UNTIL(n, 5000, t.delivered > 0);
    run_for(n, 200);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(t.retrying, 1);
    assert_int_equal(srv.ok_replies, 1);
    assert_int_equal(notify_pending(n), 0);
    notify_destroy(&n);
    srv_stop();
}

static int count_lines_with(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int c = 0;
    while (f && fgets(line, sizeof line, f))
        c += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return c;
}

static void test_400_is_config_error_logged_once_not_retried(void **state)
{
    srv_start(NULL, 0, (answer_t){400, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    char logpath[] = "/tmp/qr-notify-log-XXXXXX";
    int fd = mkstemp(logpath);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    assert_int_equal(notify_submit(n, one("g1", "labels/ai2/drift"), now_ms()), 0);
    assert_int_equal(notify_submit(n, one("g2", "labels/ai3/drift"), now_ms()), 0);
    RUN_UNTIL(n, 3000, t.config_error >= 2);
    run_for(n, 300);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    assert_int_equal(t.config_error, 2);
    assert_int_equal(t.retrying, 0);
    assert_int_equal(t.delivered, 0);
    assert_int_equal(t.last_status, 400);
    assert_int_equal(srv_count(), 2); /* each tried once, never again */
    assert_int_equal(count_lines_with(logpath, "configuration error"), 1);
    /* the URL (a secret for chat webhooks) is not in the log */
    assert_int_equal(count_lines_with(logpath, "/hook"), 0);
    unlink(logpath);
    notify_destroy(&n);
    srv_stop();
}

static void test_outage_then_recovery_collapsed_per_group(void **state)
{
    srv_start(NULL, 0, (answer_t){503, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    const char *k1[] = {"node/ai5/down"};
    const alerts_state_kind_t s1[] = {ALERTS_FIRING};
    const char *k2[] = {"node/ai5/down", "disk/ai1/datadir_small"};
    const alerts_state_kind_t s2[] = {ALERTS_FIRING, ALERTS_FIRING};
    const char *k3[] = {"disk/ai1/datadir_small"};
    const alerts_state_kind_t s3[] = {ALERTS_FIRING};
    const char *kr[] = {"node/ai5/down"};
    const alerts_state_kind_t sr[] = {ALERTS_RESOLVED};

    /* group east: fires, grows, one alert resolves (its resolve notice
     * travels in that notification only), then a later update without it */
    assert_int_equal(notify_submit(n, mk_note("east", k1, s1, 1), now_ms()), 0);
    run_for(n, 100);
    assert_int_equal(notify_submit(n, mk_note("east", k2, s2, 2), now_ms()), 0);
    run_for(n, 100);
    assert_int_equal(notify_submit(n, mk_note("east", kr, sr, 1), now_ms()), 0);
    run_for(n, 100);
    assert_int_equal(notify_submit(n, mk_note("east", k3, s3, 1), now_ms()), 0);
    assert_int_equal(notify_submit(n, one("west", "clock/ai2/skew"), now_ms()), 0);
    run_for(n, 300);
    size_t during = srv_count();
    assert_true(during >= 3);
    assert_int_equal(srv.ok_replies, 0);
    assert_true(notify_pending(n) <= 2);

    srv_set_default((answer_t){200, -1, 0, 0}); /* the receiver comes back */
    RUN_UNTIL(n, 5000, notify_pending(n) == 0);
    run_for(n, 300);
    assert_int_equal(srv.ok_replies, 2); /* one per group */
    assert_int_equal(t.delivered, 2);
    json_t *east = NULL;
    for (size_t i = during; i < srv_count(); i++) {
        if (srv.seen[i].status != 200)
            continue;
        json_t *b = json_loads(srv.seen[i].body, 0, NULL);
        assert_non_null(b);
        if (!strcmp(json_string_value(json_object_get(b, "group")), "east"))
            east = json_incref(b);
        json_decref(b);
    }
    assert_non_null(east);
    json_t *alerts = json_object_get(east, "alerts");
    assert_int_equal(json_array_size(alerts), 2);
    int firing_disk = 0, resolved_node = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_array_get(alerts, i);
        const char *k = json_string_value(json_object_get(a, "key"));
        const char *st = json_string_value(json_object_get(a, "status"));
        firing_disk += !strcmp(k, "disk/ai1/datadir_small") && !strcmp(st, "firing");
        resolved_node += !strcmp(k, "node/ai5/down") && !strcmp(st, "resolved");
    }
    assert_int_equal(firing_disk, 1);
    assert_int_equal(resolved_node, 1);
    json_decref(east);
    notify_destroy(&n);
    srv_stop();
}

static void test_queue_bound_drops_oldest_waiting(void **state)
{
    srv_start(NULL, 0, (answer_t){503, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 2);
    assert_int_equal(notify_submit(n, one("a", "k/a/x"), now_ms()), 0);
    assert_int_equal(notify_submit(n, one("b", "k/b/x"), now_ms()), 0);
    assert_int_equal(notify_submit(n, one("c", "k/c/x"), now_ms()), 0);
    assert_int_equal(t.dropped, 1);
    assert_int_equal(notify_pending(n), 2);
    notify_destroy(&n); /* pending ones are reported, not leaked */
    assert_int_equal(t.dropped, 3);
    srv_stop();
}

static void test_hostile_reply_is_harmless(void **state)
{
    answer_t script[] = {{500, -1, 0, 3u << 20}};
    srv_start(script, 1, (answer_t){200, -1, 0, 1u << 20});
    tally_t t;
    notify_t *n = make_notifier(&t, 3000, 16);
    assert_int_equal(notify_submit(n, one("g", "k/x/y"), now_ms()), 0);
    RUN_UNTIL(n, 8000, t.delivered > 0);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(t.retrying, 1);
    assert_true(strlen(t.last_response) < 200);
    for (const char *p = t.last_response; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    notify_destroy(&n);
    srv_stop();
}

static void test_unreachable_receiver_retries_without_blocking(void **state)
{
    /* a port nobody listens on: connection refused, retried, never blocks */
    srv_start(NULL, 0, (answer_t){200, -1, 0, 0});
    int port = srv.port;
    srv_stop();
    srv.port = port;
    tally_t t;
    notify_t *n = make_notifier(&t, 500, 16);
    assert_int_equal(notify_submit(n, one("g", "k/x/y"), now_ms()), 0);
    int64_t t0 = now_ms();
    assert_int_equal(notify_perform(n, now_ms()), 0);
    assert_true(now_ms() - t0 < 100); /* perform does not wait for the network */
    RUN_UNTIL(n, 2000, t.retrying >= 2);
    assert_true(t.retrying >= 2);
    assert_int_equal(t.last_status, 0);
    assert_int_equal(notify_pending(n), 1);
    notify_destroy(&n);
}

/* ---- a miniature event loop on curl's socket API, as libuv would drive it */
typedef struct {
    curl_socket_t fd[8];
    int what[8];
    int nfd;
    long timeout_ms; /* -1: none */
} loop_t;

static int loop_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    loop_t *l = userp;
    int i;
    for (i = 0; i < l->nfd && l->fd[i] != s; i++)
        ;
    if (what == CURL_POLL_REMOVE) {
        if (i < l->nfd) {
            l->fd[i] = l->fd[l->nfd - 1];
            l->what[i] = l->what[l->nfd - 1];
            l->nfd--;
        }
        return 0;
    }
    if (i == l->nfd) {
        if (l->nfd == 8)
            return -1;
        l->nfd++;
    }
    l->fd[i] = s;
    l->what[i] = what;
    return 0;
}

static int loop_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    ((loop_t *)userp)->timeout_ms = timeout_ms;
    return 0;
}

static void test_socket_api_event_loop_delivers(void **state)
{
    answer_t script[] = {{503, -1, 0, 0}};
    srv_start(script, 1, (answer_t){200, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    loop_t l = {.timeout_ms = -1};
    assert_int_equal(notify_use_socket_api(n, loop_sock_cb, loop_timer_cb, &l), 0);
    assert_int_equal(notify_wait(n, 10, now_ms), QR_EINVAL);
    assert_int_equal(notify_submit(n, one("g", "node/ai5/down"), now_ms()), 0);
    assert_int_equal(notify_perform(n, now_ms()), 0);
    int64_t end = now_ms() + 5000;
    while (t.delivered == 0 && now_ms() < end) {
        struct pollfd pfd[8];
        for (int i = 0; i < l.nfd; i++) {
            pfd[i].fd = l.fd[i];
            pfd[i].events = (short)(((l.what[i] & CURL_POLL_IN) ? POLLIN : 0) |
                                    ((l.what[i] & CURL_POLL_OUT) ? POLLOUT : 0));
            pfd[i].revents = 0;
        }
        int64_t now = now_ms();
        int64_t wake = notify_next_wake_ms(n, now);
        int64_t wait = l.timeout_ms >= 0 ? l.timeout_ms : 50;
        if (wake != INT64_MAX && wake - now < wait)
            wait = wake - now < 0 ? 0 : wake - now;
        int nfd = l.nfd;
        int r = poll(pfd, (nfds_t)nfd, (int)wait);
        assert_true(r >= 0);
        bool any = false;
        for (int i = 0; i < nfd; i++) {
            if (!pfd[i].revents)
                continue;
            int ev = ((pfd[i].revents & POLLIN) ? CURL_CSELECT_IN : 0) |
                     ((pfd[i].revents & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                     ((pfd[i].revents & (POLLERR | POLLHUP)) ? CURL_CSELECT_ERR : 0);
            assert_int_equal(notify_socket_action(n, pfd[i].fd, ev, now_ms()), 0);
            any = true;
        }
        if (!any) /* curl's timer or a retry came due */
            assert_int_equal(notify_perform(n, now_ms()), 0);
    }
    assert_int_equal(t.delivered, 1);
    assert_int_equal(t.retrying, 1);
    assert_int_equal(srv_count(), 2);
    notify_destroy(&n);
    srv_stop();
}

static void test_make_test_notification(void **state)
{
    srv_start(NULL, 0, (answer_t){200, -1, 0, 0});
    tally_t t;
    notify_t *n = make_notifier(&t, 2000, 16);
    alerts_notification_t *tn = notify_make_test(&conf, 0, now_ms());
    assert_non_null(tn);
    assert_null(notify_make_test(&conf, 5, now_ms()));
    assert_int_equal(notify_submit(n, tn, now_ms()), 0);
    RUN_UNTIL(n, 3000, t.delivered > 0);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(t.last_status, 200); /* shown by quoratectl alerts test */
    assert_string_equal(t.last_response, "ok");
    json_t *b = json_loads(srv.seen[0].body, 0, NULL);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(b, "alerts"), 0), "key")),
        "test/quorate/notification");
    json_decref(b);
    notify_destroy(&n);
    srv_stop();
}

int main(void)
{
    log_init("test_notify", LOG_LVL_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5xx_then_recovery_delivered_exactly_once),
        cmocka_unit_test(test_429_waits_for_retry_after),
        cmocka_unit_test(test_429_without_retry_after_backs_off),
        cmocka_unit_test(test_pagerduty_failed_event_resumes_where_it_stopped),
        cmocka_unit_test(test_timeout_then_recovery_delivered_once),
        cmocka_unit_test(test_400_is_config_error_logged_once_not_retried),
        cmocka_unit_test(test_outage_then_recovery_collapsed_per_group),
        cmocka_unit_test(test_queue_bound_drops_oldest_waiting),
        cmocka_unit_test(test_hostile_reply_is_harmless),
        cmocka_unit_test(test_unreachable_receiver_retries_without_blocking),
        cmocka_unit_test(test_socket_api_event_loop_delivers),
        cmocka_unit_test(test_make_test_notification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
