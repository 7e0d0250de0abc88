/* Routing and grouping of alerts into notifications, and the notification
 * log that keeps a new leader from notifying again. Pure: time is an
 * argument, sending is the caller's job (controller/notify.c). */
#include "alerts_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* ---- notification log */
typedef struct {
    char receiver[64];
    char key[192];
    bool firing; /* handed to delivery */
    int64_t t_ms;
    bool acked; /* delivered state known */
    bool ack_firing;
    int64_t ack_t_ms;
    /* enough of the alert to route its resolve when a new leader finds the
     * condition gone (it never saw it fire, so it has no resolve event) */
    alerts_sev_t severity;
    char node[64];
    char dc[64];
} nlog_entry_t;

struct alerts_nlog {
    nlog_entry_t *v;
    size_t n, max;
};

alerts_nlog_t *alerts_nlog_new(size_t max)
{
    alerts_nlog_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->max = max < 1 ? 1 : max;
    l->v = calloc(l->max, sizeof *l->v);
    if (!l->v) {
        free(l);
        return NULL;
    }
    return l;
}

void alerts_nlog_destroy(alerts_nlog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->v);
    free(*self_p);
    *self_p = NULL;
}

static nlog_entry_t *nlog_find(const alerts_nlog_t *l, const char *receiver, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].key, key) && !strcmp(l->v[i].receiver, receiver))
            return &l->v[i];
    return NULL;
}

/* The victim when full: the oldest resolved entry (forgetting a resolve
 * costs nothing), else the oldest firing one. */
static size_t nlog_victim(const alerts_nlog_t *l)
{
    size_t best = 0;
    for (size_t i = 1; i < l->n; i++) {
        const nlog_entry_t *a = &l->v[i], *b = &l->v[best];
        if ((!a->firing && b->firing) || (a->firing == b->firing && a->t_ms < b->t_ms))
            best = i;
    }
    return best;
}

static nlog_entry_t *nlog_slot(alerts_nlog_t *l, const char *receiver, const char *key)
{
    nlog_entry_t *e = nlog_find(l, receiver, key);
    if (!e) {
        if (l->n == l->max)
            e = &l->v[nlog_victim(l)];
        else
            e = &l->v[l->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->receiver, sizeof e->receiver, "%s", receiver);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    return e;
}

int alerts_nlog_record(alerts_nlog_t *l, const char *receiver, const char *key, bool firing,
                       int64_t t_ms)
{
    nlog_entry_t *e = nlog_slot(l, receiver, key);
    e->firing = firing;
    e->t_ms = t_ms;
    return 0;
}

static void nlog_record_alert(alerts_nlog_t *l, const char *receiver, const alerts_alert_t *a,
                              int64_t t_ms)
{
    nlog_entry_t *e = nlog_slot(l, receiver, a->key);
    e->firing = a->state == ALERTS_FIRING;
    e->t_ms = t_ms;
    e->severity = a->severity;
    memcpy(e->node, a->node, sizeof e->node);
    memcpy(e->dc, a->dc, sizeof e->dc);
}

int alerts_nlog_ack(alerts_nlog_t *l, const char *receiver, const char *key, bool firing,
                    int64_t t_ms)
{
    nlog_entry_t *e = nlog_find(l, receiver, key);
    if (!e) {
        /* evicted meanwhile: the delivered state is the best we know */
        e = nlog_slot(l, receiver, key);
        e->firing = firing;
        e->t_ms = t_ms;
    }
    /* results may arrive out of order (collapse, retries): keep the newest */
    if (e->acked && e->ack_t_ms > t_ms)
        return 0;
    e->acked = true;
    e->ack_firing = firing;
    e->ack_t_ms = t_ms;
    return 0;
}

void alerts_nlog_ack_notification(alerts_nlog_t *l, const alerts_notification_t *n)
{
    const alerts_receiver_t *r = n->receiver;
    for (size_t i = 0; r && i < n->alerts.n; i++)
        alerts_nlog_ack(l, r->name, n->alerts.v[i].key, n->alerts.v[i].state == ALERTS_FIRING,
                        n->created_ms);
}

int alerts_nlog_get(const alerts_nlog_t *l, const char *receiver, const char *key, bool *firing,
                    int64_t *t_ms)
{
    const nlog_entry_t *e = nlog_find(l, receiver, key);
    if (!e)
        return 0;
    if (firing)
        *firing = e->firing;
    if (t_ms)
        *t_ms = e->t_ms;
    return 1;
}

size_t alerts_nlog_count(const alerts_nlog_t *l)
{
    return l->n;
}

json_t *alerts_nlog_to_json(const alerts_nlog_t *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++) {
        const nlog_entry_t *e = &l->v[i];
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "receiver", e->receiver, "key", e->key,
                      "state", e->firing ? "firing" : "resolved", "sent_ms", (json_int_t)e->t_ms,
                      "severity", alerts_sev_str(e->severity), "node", e->node, "dc", e->dc);
        if (o && e->acked)
            json_object_set_new(o, "delivered",
                                json_pack("{s:s,s:I}", "state",
                                          e->ack_firing ? "firing" : "resolved", "sent_ms",
                                          (json_int_t)e->ack_t_ms));
        json_array_append_new(arr, o);
    }
    return json_pack("{s:i,s:o}", "version", 1, "entries", arr);
}

int alerts_nlog_from_json(alerts_nlog_t *l, const json_t *j, qr_err_t *err)
{
    json_t *ents = json_object_get(j, "entries");
    if (!json_is_object(j) || !json_is_array(ents))
        return qr_err_set(err, QR_EPARSE, "notification log: expected {\"entries\": [...]}");
    alerts_nlog_t *tmp = alerts_nlog_new(l->max);
    if (!tmp)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(ents, i, e)
    {
        /* only what was delivered counts for the next leader */
        const char *rcv = json_string_value(json_object_get(e, "receiver"));
        const char *key = json_string_value(json_object_get(e, "key"));
        json_t *d = json_object_get(e, "delivered");
        const char *st = json_string_value(json_object_get(d, "state"));
        json_t *t = json_object_get(d, "sent_ms");
        if (!rcv || !key || !st || !json_is_integer(t) || strlen(rcv) >= 64 || strlen(key) >= 192 ||
            (strcmp(st, "firing") && strcmp(st, "resolved")))
            continue;
        bool firing = !strcmp(st, "firing");
        int64_t ts = json_integer_value(t);
        bool old_firing;
        int64_t old_t;
        /* a duplicate keeps the newer record */
        if (alerts_nlog_get(tmp, rcv, key, &old_firing, &old_t) && old_t > ts)
            continue;
        alerts_alert_t a;
        memset(&a, 0, sizeof a);
        snprintf(a.key, sizeof a.key, "%s", key);
        a.state = firing ? ALERTS_FIRING : ALERTS_RESOLVED;
        int sev = alerts_sev_parse(json_string_value(json_object_get(e, "severity")));
        a.severity = sev < 0 ? ALERTS_SEV_WARNING : (alerts_sev_t)sev;
        const char *node = json_string_value(json_object_get(e, "node"));
        const char *dc = json_string_value(json_object_get(e, "dc"));
        snprintf(a.node, sizeof a.node, "%s", node ? node : "");
        snprintf(a.dc, sizeof a.dc, "%s", dc ? dc : "");
        nlog_record_alert(tmp, rcv, &a, ts);
        alerts_nlog_ack(tmp, rcv, key, firing, ts);
    }
    free(l->v);
    *l = *tmp;
    free(tmp);
    return 0;
}

/* ---- notifications */
void alerts_notification_free(alerts_notification_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alerts_list_clear(&(*self_p)->alerts);
    free(*self_p);
    *self_p = NULL;
}

static int push_alert(alerts_list_t *l, const alerts_alert_t *a)
{
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
    return 0;
}

alerts_notification_t *alerts_notification_copy(const alerts_notification_t *n)
{
    alerts_notification_t *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *n;
    memset(&c->alerts, 0, sizeof c->alerts);
    for (size_t i = 0; i < n->alerts.n; i++)
        if (push_alert(&c->alerts, &n->alerts.v[i])) {
            alerts_notification_free(&c);
            return NULL;
        }
    return c;
}

void alerts_router_free_out(alerts_notification_t **out, size_t n)
{
    for (size_t i = 0; out && i < n; i++)
        alerts_notification_free(&out[i]);
    free(out);
}

/* ---- router */
typedef struct {
    size_t route;
    int receiver;
    char key[256];
    alerts_list_t alerts; /* FIRING and RESOLVED (pending a notice) */
    int64_t next_flush_ms;
    uint32_t *idx; /* key -> alert index + 1, open addressing */
    size_t idx_cap;
    bool idx_stale;
} group_t;

static void group_free(group_t *g)
{
    alerts_list_clear(&g->alerts);
    free(g->idx);
    g->idx = NULL;
    g->idx_cap = 0;
}

struct alerts_router {
    const alerts_conf_t *conf;
    group_t *g;
    size_t n, cap;
};

alerts_router_t *alerts_router_new(const alerts_conf_t *conf)
{
    alerts_router_t *r = calloc(1, sizeof *r);
    if (r)
        r->conf = conf;
    return r;
}

void alerts_router_destroy(alerts_router_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alerts_router_t *r = *self_p;
    for (size_t i = 0; i < r->n; i++)
        group_free(&r->g[i]);
    free(r->g);
    free(r);
    *self_p = NULL;
}

bool alerts_route_matches(const alerts_route_t *rt, const alerts_alert_t *a)
{
    if (a->severity < rt->min_severity)
        return false;
    if (rt->dc && strcmp(rt->dc, a->dc))
        return false;
    if (rt->node && strcmp(rt->node, a->node))
        return false;
    if (rt->key_prefix && strncmp(a->key, rt->key_prefix, strlen(rt->key_prefix)))
        return false;
    return true;
}

static void group_key(const alerts_conf_t *c, size_t ri, int rcv, const alerts_alert_t *a,
                      char *buf, size_t bufsz)
{
    const alerts_route_t *rt = &c->routes[ri];
    int off = snprintf(buf, bufsz, "%zu/%s/{", ri, c->receivers[rcv].name);
    for (size_t i = 0; i < rt->ngroup_by && off > 0 && (size_t)off < bufsz; i++) {
        const char *lbl = rt->group_by[i], *val = "";
        char check[64];
        if (!strcmp(lbl, "dc"))
            val = a->dc;
        else if (!strcmp(lbl, "node"))
            val = a->node;
        else if (!strcmp(lbl, "severity"))
            val = alerts_sev_str(a->severity);
        else if (!strcmp(lbl, "key"))
            val = a->key;
        else if (!strcmp(lbl, "check")) {
            snprintf(check, sizeof check, "%.*s", (int)strcspn(a->key, "/"), a->key);
            val = check;
        }
        off += snprintf(buf + off, bufsz - (size_t)off, "%s%s=%s", i ? "," : "", lbl, val);
    }
    if (off > 0 && (size_t)off < bufsz)
        snprintf(buf + off, bufsz - (size_t)off, "}");
}

static group_t *group_get(alerts_router_t *r, size_t ri, int rcv, const char *key, int64_t now)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->g[i].key, key))
            return &r->g[i];
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        group_t *g = realloc(r->g, cap * sizeof *g);
        if (!g)
            return NULL;
        r->g = g;
        r->cap = cap;
    }
    group_t *g = &r->g[r->n++];
    memset(g, 0, sizeof *g);
    g->route = ri;
    g->receiver = rcv;
    snprintf(g->key, sizeof g->key, "%s", key);
    g->next_flush_ms = now + r->conf->routes[ri].group_wait_ms;
    return g;
}

/* Groups can hold hundreds of alerts (a lost site fails a whole port
 * matrix) and every alert is looked up every cycle: a small open-addressing
 * index (slot = alert index + 1) keeps that linear. Removals only mark it
 * stale; the next lookup rebuilds it. */
static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h;
}

static int index_rebuild(group_t *g)
{
    size_t cap = 16;
    while (cap < 2 * g->alerts.n + 2)
        cap *= 2;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return QR_ENOMEM;
    for (size_t i = 0; i < g->alerts.n; i++) {
        size_t s = key_hash(g->alerts.v[i].key) & (cap - 1);
        while (idx[s])
            s = (s + 1) & (cap - 1);
        idx[s] = (uint32_t)i + 1;
    }
    free(g->idx);
    g->idx = idx;
    g->idx_cap = cap;
    g->idx_stale = false;
    return 0;
}

static alerts_alert_t *group_find(group_t *g, const char *key)
{
    if ((g->idx_stale || g->idx_cap < 2 * g->alerts.n + 2) && index_rebuild(g))
        return (alerts_alert_t *)alerts_list_find(&g->alerts, key);
    for (size_t s = key_hash(key) & (g->idx_cap - 1); g->idx[s]; s = (s + 1) & (g->idx_cap - 1))
        if (!strcmp(g->alerts.v[g->idx[s] - 1].key, key))
            return &g->alerts.v[g->idx[s] - 1];
    return NULL;
}

static int group_upsert(group_t *g, const alerts_alert_t *a)
{
    alerts_alert_t *e = group_find(g, a->key);
    if (!e) {
        int rc = push_alert(&g->alerts, a);
        if (rc == 0 && !g->idx_stale && g->idx_cap >= 2 * g->alerts.n + 2) {
            size_t s = key_hash(a->key) & (g->idx_cap - 1);
            while (g->idx[s])
                s = (s + 1) & (g->idx_cap - 1);
            g->idx[s] = (uint32_t)g->alerts.n;
        } else {
            g->idx_stale = true;
        }
        return rc;
    }
    json_t *old = e->values;
    *e = *a;
    e->values = a->values ? json_incref(a->values) : NULL;
    json_decref(old);
    return 0;
}

static void group_remove(group_t *g, size_t i)
{
    json_decref(g->alerts.v[i].values);
    memmove(&g->alerts.v[i], &g->alerts.v[i + 1], (g->alerts.n - i - 1) * sizeof g->alerts.v[0]);
    g->alerts.n--;
    g->idx_stale = true;
}


/* Feeds one alert into every group its routes put it in. */
static int route_alert(alerts_router_t *r, const alerts_alert_t *a, const alerts_nlog_t *nlog,
                       int64_t now)
{
    const alerts_conf_t *c = r->conf;
    for (size_t ri = 0; ri < c->nroutes; ri++) {
        const alerts_route_t *rt = &c->routes[ri];
        if (!alerts_route_matches(rt, a))
            continue;
        for (size_t k = 0; k < rt->nreceivers; k++) {
            int rcv = rt->receivers[k];
            char gk[256];
            group_key(c, ri, rcv, a, gk, sizeof gk);
            if (a->state == ALERTS_RESOLVED) {
                /* a resolve matters only where the firing was notified, or is
                 * still waiting in a group */
                bool firing = false;
                bool known =
                    alerts_nlog_get(nlog, c->receivers[rcv].name, a->key, &firing, NULL) && firing;
                group_t *g = NULL;
                for (size_t i = 0; i < r->n && !g; i++)
                    if (!strcmp(r->g[i].key, gk))
                        g = &r->g[i];
                if (!known && !(g && group_find(g, a->key)))
                    continue;
                if (!g && !(g = group_get(r, ri, rcv, gk, now)))
                    return QR_ENOMEM;
                if (group_upsert(g, a))
                    return QR_ENOMEM;
                continue;
            }
            group_t *g = group_get(r, ri, rcv, gk, now);
            if (!g || group_upsert(g, a))
                return QR_ENOMEM;
            group_find(g, a->key)->inhibited = true; /* reused as "seen" mark */
        }
        if (!rt->cont)
            break;
    }
    return 0;
}

/* Decides for one due group; appends a notification to *out when needed. */
static int flush_group(alerts_router_t *r, group_t *g, alerts_nlog_t *nlog, int64_t now,
                       alerts_notification_t ***out, size_t *nout)
{
    const alerts_route_t *rt = &r->conf->routes[g->route];
    const alerts_receiver_t *rcv = &r->conf->receivers[g->receiver];
    bool send = false;
    for (size_t i = 0; i < g->alerts.n; i++) {
        const alerts_alert_t *a = &g->alerts.v[i];
        bool firing = false;
        int64_t t = 0;
        int have = alerts_nlog_get(nlog, rcv->name, a->key, &firing, &t);
        if (a->state == ALERTS_FIRING) {
            if (!have || !firing || now - t >= rt->repeat_interval_ms)
                send = true;
        } else if (have && firing && rcv->send_resolved) {
            send = true;
        }
    }
    if (send) {
        alerts_notification_t *n = calloc(1, sizeof *n);
        alerts_notification_t **o = realloc(*out, (*nout + 1) * sizeof *o);
        if (!n || !o) {
            free(n);
            if (o)
                *out = o;
            return QR_ENOMEM;
        }
        *out = o;
        n->receiver_idx = g->receiver;
        n->receiver = rcv;
        snprintf(n->group, sizeof n->group, "%s", g->key);
        n->repeat_interval_ms = rt->repeat_interval_ms;
        n->created_ms = now;
        for (size_t i = 0; i < g->alerts.n; i++) {
            const alerts_alert_t *a = &g->alerts.v[i];
            bool firing = false;
            int have = alerts_nlog_get(nlog, rcv->name, a->key, &firing, NULL);
            if (a->state == ALERTS_RESOLVED && !(have && firing && rcv->send_resolved))
                continue;
            if (push_alert(&n->alerts, a)) {
                alerts_notification_free(&n);
                return QR_ENOMEM;
            }
            n->alerts.v[n->alerts.n - 1].inhibited = false;
        }
        (*out)[(*nout)++] = n;
        for (size_t i = 0; i < n->alerts.n; i++)
            nlog_record_alert(nlog, rcv->name, &n->alerts.v[i], now);
    }
    /* resolved alerts leave the group once decided; without send_resolved
     * the log still learns the alert is over, so a re-fire is news */
    for (size_t i = g->alerts.n; i-- > 0;) {
        if (g->alerts.v[i].state != ALERTS_RESOLVED)
            continue;
        bool firing = false;
        if (alerts_nlog_get(nlog, rcv->name, g->alerts.v[i].key, &firing, NULL) && firing)
            alerts_nlog_record(nlog, rcv->name, g->alerts.v[i].key, false, now);
        group_remove(g, i);
    }
    g->next_flush_ms = now + rt->group_interval_ms;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int alerts_router_step(alerts_router_t *r, const alerts_list_t *alerts, alerts_nlog_t *nlog,
                       int64_t now, alerts_notification_t ***out, size_t *nout,
                       int64_t *next_wake_ms)
{
    *out = NULL;
    *nout = 0;
    *next_wake_ms = INT64_MAX;
    /* mark: the `inhibited` flag of a group's firing entry doubles as
     * "still firing this cycle"; unmarked firing entries vanished (muted by
     * inhibition or no longer routed here) and leave without a notice */
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->g[i].alerts.n; j++)
            r->g[i].alerts.v[j].inhibited = false;
    for (size_t i = 0; alerts && i < alerts->n; i++) {
        const alerts_alert_t *a = &alerts->v[i];
        if (a->state == ALERTS_PENDING || (a->state == ALERTS_FIRING && a->inhibited))
            continue;
        int rc = route_alert(r, a, nlog, now);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = r->g[i].alerts.n; j-- > 0;)
            if (r->g[i].alerts.v[j].state == ALERTS_FIRING && !r->g[i].alerts.v[j].inhibited)
                group_remove(&r->g[i], j);

    /* the log says firing but the condition is gone from the view (not even
     * pending or muted): a leader that took over after it stopped holding
     * never got a resolve event, so it makes one. group_wait gives a
     * condition that only looks absent during a takeover time to return. */
    size_t nkeys = alerts ? alerts->n : 0;
    const char **keys = malloc((nkeys ? nkeys : 1) * sizeof *keys);
    if (!keys)
        return QR_ENOMEM;
    for (size_t i = 0; i < nkeys; i++)
        keys[i] = alerts->v[i].key;
    qsort(keys, nkeys, sizeof *keys, cmp_str);
    for (size_t i = 0; i < nlog->n; i++) {
        const nlog_entry_t *e = &nlog->v[i];
        const char *k = e->key;
        if (!e->firing || bsearch(&k, keys, nkeys, sizeof *keys, cmp_str) ||
            alerts_conf_receiver_index(r->conf, e->receiver) < 0)
            continue;
        alerts_alert_t a;
        memset(&a, 0, sizeof a);
        snprintf(a.key, sizeof a.key, "%s", e->key);
        a.severity = e->severity;
        snprintf(a.summary, sizeof a.summary, "%.180s no longer holds", e->key);
        memcpy(a.node, e->node, sizeof a.node);
        memcpy(a.dc, e->dc, sizeof a.dc);
        a.state = ALERTS_RESOLVED;
        a.fired_at_ms = e->t_ms;
        a.resolved_at_ms = now;
        bool grouped = false;
        for (size_t g = 0; g < r->n && !grouped; g++) {
            const alerts_alert_t *ga = group_find(&r->g[g], e->key);
            grouped = ga && ga->state == ALERTS_RESOLVED;
        }
        if (grouped)
            continue; /* already waiting for its flush */
        int rc = route_alert(r, &a, nlog, now);
        if (rc) {
            free(keys);
            return rc;
        }
    }
    free(keys);

    for (size_t i = 0; i < r->n; i++) {
        group_t *g = &r->g[i];
        if (g->next_flush_ms <= now) {
            int rc = flush_group(r, g, nlog, now, out, nout);
            if (rc) {
                alerts_router_free_out(*out, *nout);
                *out = NULL;
                *nout = 0;
                return rc;
            }
        }
    }
    for (size_t i = r->n; i-- > 0;) {
        group_t *g = &r->g[i];
        if (g->alerts.n == 0 && g->next_flush_ms <= now) {
            group_free(g);
            memmove(&r->g[i], &r->g[i + 1], (r->n - i - 1) * sizeof r->g[0]);
            r->n--;
            continue;
        }
        if (g->alerts.n > 0 && g->next_flush_ms < *next_wake_ms)
            *next_wake_ms = g->next_flush_ms;
    }
    return 0;
}
