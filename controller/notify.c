/* Alert delivery with libcurl multi: per-receiver queues, retries with
 * backoff and jitter, collapse per group during outages, bounded and
 * uninterpreted responses. The only alerting module that does I/O. */
#include "notify.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_payload.h"
#include "common/err.h"
#include "common/log.h"
#include "common/version.h"

typedef struct job {
    alerts_notification_t *note;
    size_t done;  /* requests of this notification already delivered */
    int attempts; /* failed attempts since the last progress */
    int total_attempts;
    int64_t next_ms; /* not before */
    CURL *easy;      /* non-NULL while in flight */
    struct curl_slist *hdrs;
    char *resp;
    size_t resp_len, resp_max;
    char what[160];
    long last_status;
    char excerpt[200]; /* start of the last response, printable only */
    struct job *next;
} job_t;

typedef struct {
    const alerts_receiver_t *rcv;
    job_t *head;
    size_t n;
    bool config_error_logged;
} rqueue_t;

struct notify {
    const alerts_conf_t *conf;
    notify_params_t p;
    CURLM *multi;
    rqueue_t *q;
    size_t nq;
    notify_result_fn cb;
    void *cb_arg;
    unsigned seed;
    bool socket_mode; /* driven by curl_multi_socket_action, not perform */
};

void notify_params_default(notify_params_t *p)
{
    p->backoff_initial_ms = 1000;
    p->backoff_max_ms = 300000;
    p->retry_after_max_ms = 3600000;
    p->queue_max = 256;
    p->response_max = 4096;
    p->jitter_seed = 0x51a7e;
}

notify_t *notify_new(const alerts_conf_t *conf, const notify_params_t *p, notify_result_fn cb,
                     void *cb_arg)
{
    static bool curl_ready;
    if (!curl_ready) {
        /* once per process, before any thread uses curl */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = true;
    }
    notify_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->conf = conf;
    if (p)
        n->p = *p;
    else
        notify_params_default(&n->p);
    if (n->p.queue_max < 1)
        n->p.queue_max = 1;
    n->seed = n->p.jitter_seed;
    n->cb = cb;
    n->cb_arg = cb_arg;
    n->nq = conf->nreceivers;
    n->q = calloc(n->nq ? n->nq : 1, sizeof *n->q);
    n->multi = curl_multi_init();
    if (!n->q || !n->multi) {
        notify_destroy(&n);
        return NULL;
    }
    for (size_t i = 0; i < n->nq; i++)
        n->q[i].rcv = &conf->receivers[i];
    return n;
}

static void report(notify_t *n, rqueue_t *q, job_t *j, notify_outcome_t oc, long status,
                   int64_t retry_in, const char *error)
{
    if (!n->cb)
        return;
    notify_result_t r;
    memset(&r, 0, sizeof r);
    r.outcome = oc;
    r.receiver = q->rcv->name;
    r.group = j->note->group;
    r.notification = j->note;
    r.http_status = status;
    r.attempts = j->total_attempts;
    r.retry_in_ms = retry_in;
    snprintf(r.error, sizeof r.error, "%s", error ? error : "");
    memcpy(r.response, j->excerpt, sizeof r.response);
    n->cb(&r, n->cb_arg);
}

static void job_end_transfer(notify_t *n, job_t *j)
{
    /* keep what the operator may want to see (quoratectl alerts test) as
     * printable characters: a reply can contain anything */
    size_t k = 0;
    for (size_t i = 0; j->resp && i < j->resp_len && k + 1 < sizeof j->excerpt; i++) {
        unsigned char c = (unsigned char)j->resp[i];
        j->excerpt[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    if (j->easy)
        j->excerpt[k] = '\0';
    if (j->easy) {
        curl_multi_remove_handle(n->multi, j->easy);
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    curl_slist_free_all(j->hdrs);
    j->hdrs = NULL;
    free(j->resp);
    j->resp = NULL;
    j->resp_len = 0;
}

static void job_free(notify_t *n, job_t *j)
{
    job_end_transfer(n, j);
    alerts_notification_free(&j->note);
    free(j);
}

static void unlink_job(rqueue_t *q, job_t *j)
{
    for (job_t **pp = &q->head; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            q->n--;
            return;
        }
}

void notify_destroy(notify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    notify_t *n = *self_p;
    for (size_t i = 0; n->q && i < n->nq; i++)
        while (n->q[i].head) {
            job_t *j = n->q[i].head;
            unlink_job(&n->q[i], j);
            report(n, &n->q[i], j, NOTIFY_DROPPED, 0, 0, "notifier shut down");
            job_free(n, j);
        }
    if (n->multi)
        curl_multi_cleanup(n->multi);
    free(n->q);
    free(n);
    *self_p = NULL;
}

CURLM *notify_multi(notify_t *n)
{
    return n->multi;
}

size_t notify_pending(const notify_t *n)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nq; i++)
        c += n->q[i].n;
    return c;
}

/* into := newer + the resolve notices of into that newer does not carry
 * (newer already holds every alert still firing in the group). */
static int merge_into(job_t *into, alerts_notification_t *newer)
{
    alerts_notification_t *old = into->note;
    for (size_t i = 0; i < old->alerts.n; i++) {
        const alerts_alert_t *a = &old->alerts.v[i];
        if (a->state != ALERTS_RESOLVED || alerts_list_find(&newer->alerts, a->key))
            continue;
        alerts_list_t *l = &newer->alerts;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 8;
            alerts_alert_t *v = realloc(l->v, cap * sizeof *v);
            if (!v)
                return QR_ENOMEM;
            l->v = v;
            l->cap = cap;
        }
        l->v[l->n] = *a;
        l->v[l->n].values = a->values ? json_incref(a->values) : NULL;
        l->n++;
    }
    alerts_notification_free(&into->note);
    into->note = newer;
    into->done = 0; /* paging receivers dedup by key, so resending is safe */
    return 0;
}

int notify_submit(notify_t *n, alerts_notification_t *note, int64_t now_ms)
{
    if (!note)
        return QR_EINVAL;
    if (note->receiver_idx < 0 || (size_t)note->receiver_idx >= n->nq) {
        alerts_notification_free(&note);
        return QR_EINVAL;
    }
    rqueue_t *q = &n->q[note->receiver_idx];
    note->receiver = q->rcv;
    for (job_t *j = q->head; j; j = j->next)
        if (!j->easy && !strcmp(j->note->group, note->group)) {
            int rc = merge_into(j, note);
            if (rc)
                alerts_notification_free(&note);
            return rc;
        }
    job_t *j = calloc(1, sizeof *j);
    if (!j) {
        alerts_notification_free(&note);
        return QR_ENOMEM;
    }
    j->note = note;
    j->next_ms = now_ms;
    job_t **pp = &q->head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = j;
    q->n++;
    /* bounded: the oldest waiting notification goes */
    while (q->n > n->p.queue_max) {
        job_t *victim = NULL;
        for (job_t *v = q->head; v && !victim; v = v->next)
            if (!v->easy && v != j)
                victim = v;
        if (!victim)
            break;
        unlink_job(q, victim);
        log_warnx("notify: receiver=%s queue full (%zu), dropping group=%s", q->rcv->name,
                  n->p.queue_max, victim->note->group);
        report(n, q, victim, NOTIFY_DROPPED, 0, 0, "queue full");
        job_free(n, victim);
    }
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    job_t *j = ud;
    size_t len = size * nmemb;
    /* keep the first resp_max bytes, swallow the rest: a huge or endless
     * reply costs nothing but the transfer time (bounded by the timeout) */
    if (j->resp_len < j->resp_max) {
        size_t take = j->resp_max - j->resp_len;
        if (take > len)
            take = len;
        if (!j->resp) {
            j->resp = malloc(j->resp_max + 1);
            if (!j->resp)
                return len;
        }
        memcpy(j->resp + j->resp_len, ptr, take);
        j->resp_len += take;
        j->resp[j->resp_len] = '\0';
    }
    return len;
}

/* Starts the next request of the receiver's head job. */
static void start_job(notify_t *n, rqueue_t *q, job_t *j, int64_t now)
{
    qr_err_t err = {{0}};
    alerts_request_t *reqs = NULL;
    size_t nreqs = 0;
    int rc = alerts_payload_build(q->rcv, j->note, now, &reqs, &nreqs, &err);
    if (rc) {
        log_warnx("notify: receiver=%s cannot build payload: %s", q->rcv->name, err.msg);
        unlink_job(q, j);
        report(n, q, j, NOTIFY_CONFIG_ERROR, 0, 0, err.msg);
        job_free(n, j);
        return;
    }
    if (j->done >= nreqs) {
        unlink_job(q, j);
        report(n, q, j, NOTIFY_DELIVERED, j->last_status, 0, NULL);
        job_free(n, j);
        alerts_request_free_all(reqs, nreqs);
        return;
    }
    alerts_request_t *r = &reqs[j->done];
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    bool ok = e != NULL;
    for (size_t i = 0; ok && i < r->nheaders; i++) {
        struct curl_slist *t = curl_slist_append(h, r->headers[i]);
        ok = t != NULL;
        if (t)
            h = t;
    }
    if (ok) {
        struct curl_slist *t = curl_slist_append(h, "Expect:");
        ok = t != NULL;
        if (t)
            h = t;
    }
    if (!ok) {
        curl_slist_free_all(h);
        if (e)
            curl_easy_cleanup(e);
        j->next_ms = now + n->p.backoff_initial_ms;
        alerts_request_free_all(reqs, nreqs);
        return;
    }
    snprintf(j->what, sizeof j->what, "%s", r->what);
    j->resp_max = n->p.response_max;
    long to = (long)q->rcv->timeout_ms;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, to < 5000 ? to : 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "quorate/" QUORATE_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    alerts_request_free_all(reqs, nreqs); /* curl copied the body; URL/headers are copied too */
    if (curl_multi_add_handle(n->multi, e) != CURLM_OK) {
        curl_slist_free_all(h);
        curl_easy_cleanup(e);
        j->next_ms = now + n->p.backoff_initial_ms;
        return;
    }
    j->easy = e;
    j->hdrs = h;
    j->total_attempts++;
}

static int64_t backoff(notify_t *n, int attempts)
{
    int64_t d = n->p.backoff_initial_ms;
    for (int i = 1; i < attempts && d < n->p.backoff_max_ms; i++)
        d *= 2;
    if (d > n->p.backoff_max_ms)
        d = n->p.backoff_max_ms;
    /* "equal jitter": half fixed, half random, so retries of many
     * controllers' receivers do not line up */
    int64_t half = d / 2;
    return half + (half > 0 ? (int64_t)(rand_r(&n->seed) % (unsigned)(half + 1)) : 0);
}

/* Only what curl's own handle reports: status code and Retry-After. */
static void finish(notify_t *n, rqueue_t *q, job_t *j, CURLcode cc, int64_t now)
{
    long status = 0;
    curl_off_t retry_after = -1;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OK)
        curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &retry_after);
    j->last_status = status;
    char err[200];
    if (cc == CURLE_OK && status >= 200 && status < 300) {
        j->done++;
        j->attempts = 0;
        if (q->config_error_logged)
            log_info("notify: receiver=%s delivering again", q->rcv->name);
        q->config_error_logged = false;
        job_end_transfer(n, j);
        j->next_ms = now; /* next request of the same notification, if any */
        return;
    }
    bool retry = cc != CURLE_OK || status == 429 || status >= 500;
    if (cc != CURLE_OK)
        snprintf(err, sizeof err, "%s", curl_easy_strerror(cc));
    else
        snprintf(err, sizeof err, "HTTP %ld", status);
    if (!retry) {
        if (!q->config_error_logged)
            log_warnx("notify: receiver=%s type=%s what=\"%s\" rejected with HTTP %ld: "
                      "configuration error, not retried",
                      q->rcv->name, alerts_conf_rcv_type_str(q->rcv->type), j->what, status);
        q->config_error_logged = true;
        unlink_job(q, j);
        report(n, q, j, NOTIFY_CONFIG_ERROR, status, 0, err);
        job_free(n, j);
        return;
    }
    j->attempts++;
    int64_t delay = backoff(n, j->attempts);
    /* curl reports 0 both for "Retry-After: 0" and for no header at all;
     * either way the backoff is the polite choice */
    if (status == 429 && retry_after > 0) {
        delay = (int64_t)retry_after * 1000;
        if (delay > n->p.retry_after_max_ms)
            delay = n->p.retry_after_max_ms;
    }
    j->next_ms = now + delay;
    log_warnx("notify: receiver=%s what=\"%s\" failed: %s; attempt=%d retry_in_ms=%lld",
              q->rcv->name, j->what, err, j->total_attempts, (long long)delay);
    report(n, q, j, NOTIFY_RETRYING, status, delay, err);
    job_end_transfer(n, j);
    /* a newer notification for the same group waits behind: it carries the
     * current state, so this one folds into it (keeping its schedule) */
    for (job_t *o = j->next; o; o = o->next)
        if (!o->easy && !strcmp(o->note->group, j->note->group)) {
            alerts_notification_t *newer = o->note;
            o->note = NULL;
            unlink_job(q, o);
            if (merge_into(j, newer))
                alerts_notification_free(&newer);
            job_free(n, o);
            break;
        }
}

/* Drives curl one step: perform, or socket_action in socket mode. */
static int kick(notify_t *n, curl_socket_t fd, int ev)
{
    int running = 0;
    CURLMcode mc = n->socket_mode ? curl_multi_socket_action(n->multi, fd, ev, &running)
                                  : curl_multi_perform(n->multi, &running);
    return mc == CURLM_OK ? 0 : QR_EIO;
}

/* Reads finished transfers, then starts every receiver's due head. */
static int settle(notify_t *n, int64_t now)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(n->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        job_t *j = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        for (size_t i = 0; j && i < n->nq; i++)
            for (job_t *k = n->q[i].head; k; k = k->next)
                if (k == j) {
                    finish(n, &n->q[i], j, m->data.result, now);
                    goto next;
                }
    next:;
    }
    bool started = false;
    for (size_t i = 0; i < n->nq; i++) {
        rqueue_t *q = &n->q[i];
        /* finished requests may leave the head ready at once (next request,
         * or delivered); loop until the head is busy or waiting */
        for (int guard = 0; guard < 64 && q->head && !q->head->easy && q->head->next_ms <= now;
             guard++) {
            job_t *h = q->head;
            start_job(n, q, h, now);
            if (q->head == h && h->easy) {
                started = true;
                break;
            }
        }
    }
    return started ? kick(n, CURL_SOCKET_TIMEOUT, 0) : 0;
}

int notify_perform(notify_t *n, int64_t now)
{
    int rc = kick(n, CURL_SOCKET_TIMEOUT, 0);
    return rc ? rc : settle(n, now);
}

int notify_use_socket_api(notify_t *n, curl_socket_callback sock_cb,
                          curl_multi_timer_callback timer_cb, void *userp)
{
    if (curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
        curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, userp) != CURLM_OK ||
        curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
        curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, userp) != CURLM_OK)
        return QR_EINVAL;
    n->socket_mode = true;
    return 0;
}

int notify_socket_action(notify_t *n, curl_socket_t fd, int ev_bitmask, int64_t now_ms)
{
    int rc = kick(n, fd, ev_bitmask);
    return rc ? rc : settle(n, now_ms);
}

int64_t notify_next_wake_ms(notify_t *n, int64_t now)
{
    int64_t wake = INT64_MAX;
    bool inflight = false;
    for (size_t i = 0; i < n->nq; i++) {
        job_t *h = n->q[i].head;
        if (!h)
            continue;
        if (h->easy)
            inflight = true;
        else if (h->next_ms < wake)
            wake = h->next_ms;
    }
    if (inflight) {
        long t = -1;
        curl_multi_timeout(n->multi, &t);
        int64_t cw = now + (t < 0 ? 1000 : t);
        if (cw < wake)
            wake = cw;
    }
    return wake;
}

int notify_fdset(notify_t *n, fd_set *r, fd_set *w, fd_set *e, int *maxfd)
{
    return curl_multi_fdset(n->multi, r, w, e, maxfd) == CURLM_OK ? 0 : QR_EIO;
}

int notify_wait(notify_t *n, int max_ms, int64_t (*clock_ms)(void))
{
    if (n->socket_mode)
        return QR_EINVAL; /* the event loop owns the sockets */
    int64_t now = clock_ms();
    int64_t wake = notify_next_wake_ms(n, now);
    int64_t wait = wake == INT64_MAX ? max_ms : wake - now;
    if (wait > max_ms)
        wait = max_ms;
    if (wait < 0)
        wait = 0;
    int numfds = 0;
    if (curl_multi_poll(n->multi, NULL, 0, (int)wait, &numfds) != CURLM_OK)
        return QR_EIO;
    return notify_perform(n, clock_ms());
}

alerts_notification_t *notify_make_test(const alerts_conf_t *conf, int rcv, int64_t now_ms)
{
    if (rcv < 0 || (size_t)rcv >= conf->nreceivers)
        return NULL;
    alerts_notification_t *nt = calloc(1, sizeof *nt);
    alerts_alert_t *a = calloc(1, sizeof *a);
    if (!nt || !a) {
        free(nt);
        free(a);
        return NULL;
    }
    nt->receiver_idx = rcv;
    nt->receiver = &conf->receivers[rcv];
    snprintf(nt->group, sizeof nt->group, "test/%s", conf->receivers[rcv].name);
    nt->repeat_interval_ms = conf->repeat_interval_ms;
    nt->created_ms = now_ms;
    snprintf(a->key, sizeof a->key, "test/quorate/notification");
    a->severity = ALERTS_SEV_INFO;
    snprintf(a->summary, sizeof a->summary,
             "quorate test notification: this receiver is configured correctly");
    a->values = json_object();
    a->state = ALERTS_FIRING;
    a->active_since_ms = a->fired_at_ms = now_ms;
    nt->alerts.v = a;
    nt->alerts.n = nt->alerts.cap = 1;
    return nt;
}
