/* Alert conditions and their pending/firing/resolved state machine. Pure:
 * the leader hands in a snapshot of its view and the time; a new leader
 * derives the same keys from the same view, so nothing here is replicated. */
#include "alerts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static const char *sev_names[] = {"info", "warning", "error", "critical"};

const char *alerts_sev_str(alerts_sev_t s)
{
    return (unsigned)s < 4 ? sev_names[s] : "unknown";
}

int alerts_sev_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, sev_names[i]) == 0)
            return i;
    return -1;
}

void alerts_list_clear(alerts_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->v[i].values);
    free(l->v);
    memset(l, 0, sizeof *l);
}

const alerts_alert_t *alerts_list_find(const alerts_list_t *l, const char *key)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return &l->v[i];
    return NULL;
}

static alerts_alert_t *list_find_mut(alerts_list_t *l, const char *key)
{
    return (alerts_alert_t *)alerts_list_find(l, key);
}

/* Appends a copy of a (values get a new reference). */
static int list_push(alerts_list_t *l, const alerts_alert_t *a)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
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

static void list_remove(alerts_list_t *l, size_t i)
{
    json_decref(l->v[i].values);
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
    l->n--;
}

/* Keys embed names from agents; keep them printable and slash-free so a
 * key always splits into the same parts. */
static void sanitize(char *dst, size_t dstsz, const char *src, size_t maxlen)
{
    size_t j = 0;
    for (size_t i = 0; src && src[i] && j + 1 < dstsz && j < maxlen; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)src[i]);
        dst[j++] = (isalnum(c) || c == '_' || c == '.' || c == '-') ? (char)c : '_';
    }
    dst[j] = '\0';
}

/* Node and DC names keep their case (they are hostnames); only characters
 * that would break the key's structure are replaced. */
static void sanitize_name(char *dst, size_t dstsz, const char *src)
{
    size_t j = 0;
    for (size_t i = 0; src && src[i] && j + 1 < dstsz && j < 63; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[j++] = (c <= ' ' || c == '/' || c >= 0x7f) ? '_' : (char)c;
    }
    dst[j] = '\0';
    if (j == 0)
        snprintf(dst, dstsz, "_");
}

/* Agents send free text; alerts end up in JSON payloads, which must be
 * valid UTF-8: text that is not (or was cut inside a character by the
 * copy) is reduced to ASCII. */
static void one_line(char *dst, size_t dstsz, const char *src)
{
    snprintf(dst, dstsz, "%s", src ? src : "");
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    json_t *probe = json_string(dst);
    if (!probe) {
        for (char *p = dst; *p; p++)
            if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
                *p = '?';
    }
    json_decref(probe);
}

static const char *node_dc(const alerts_snapshot_t *snap, const char *node)
{
    for (size_t i = 0; node && i < snap->nnodes; i++)
        if (snap->nodes[i].name && strcmp(snap->nodes[i].name, node) == 0)
            return snap->nodes[i].dc;
    return NULL;
}

/* Builds one condition into out; takes ownership of values (may be NULL). */
static int add(alerts_list_t *out, const char *key, alerts_sev_t sev, const char *summary,
               const char *node, const char *dc, json_t *values)
{
    alerts_alert_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.key, sizeof a.key, "%s", key);
    /* two sources can produce the same key (a reason listed twice): keep the
     * first, the key must stay unique in the set */
    if (alerts_list_find(out, a.key)) {
        json_decref(values);
        return 0;
    }
    a.severity = sev;
    one_line(a.summary, sizeof a.summary, summary);
    one_line(a.node, sizeof a.node, node);
    one_line(a.dc, sizeof a.dc, dc);
    a.values = values ? values : json_object();
    a.state = ALERTS_PENDING;
    int rc = list_push(out, &a);
    json_decref(a.values);
    return rc;
}

typedef struct {
    const char *reason;
    alerts_sev_t sev;
    const char *message; /* NULL: the check's summary */
} reason_t;

static alerts_sev_t sev_of_status(int st)
{
    return st == CHECK_FAIL ? ALERTS_SEV_ERROR : ALERTS_SEV_WARNING;
}

static int add_check(alerts_list_t *out, const alerts_node_t *n, const char *node,
                     const alerts_check_t *c)
{
    if (c->status == CHECK_OK || !c->name)
        return 0;
    char check[49];
    sanitize(check, sizeof check, c->name, 48);
    if (!check[0])
        return 0;
    const json_t *vals = json_is_object(c->values) ? c->values : NULL;
    alerts_sev_t sev = sev_of_status(c->status);
    int over = alerts_sev_parse(json_string_value(json_object_get(vals, "severity")));

    reason_t rs[16];
    size_t nr = 0;
    size_t i;
    json_t *r;
    json_t *arr = json_object_get(vals, "reasons");
    if (json_is_array(arr)) {
        json_array_foreach(arr, i, r)
        {
            if (json_is_string(r) && nr < 16)
                rs[nr++] = (reason_t){json_string_value(r), sev, NULL};
        }
    }
    if (nr == 0 && json_is_string(json_object_get(vals, "reason")))
        rs[nr++] = (reason_t){json_string_value(json_object_get(vals, "reason")), sev, NULL};
    /* findings [{status, message, reason|code}]: one condition per finding
     * that is not ok and names a stable reason */
    arr = json_object_get(vals, "findings");
    if (nr == 0 && json_is_array(arr)) {
        json_array_foreach(arr, i, r)
        {
            const char *rsn = json_string_value(json_object_get(r, "reason"));
            if (!rsn)
                rsn = json_string_value(json_object_get(r, "code"));
            int st = check_status_parse(json_string_value(json_object_get(r, "status")));
            if (!rsn || st == CHECK_OK || nr == 16)
                continue;
            rs[nr++] = (reason_t){rsn, st < 0 ? sev : sev_of_status(st),
                                  json_string_value(json_object_get(r, "message"))};
        }
    }
    if (nr == 0)
        rs[nr++] = (reason_t){c->status == CHECK_UNKNOWN ? "unknown" : c->name, sev, NULL};

    for (i = 0; i < nr; i++) {
        char reason[49], key[192];
        sanitize(reason, sizeof reason, rs[i].reason, 48);
        if (!reason[0])
            snprintf(reason, sizeof reason, "%s", check);
        snprintf(key, sizeof key, "%s/%s/%s", check, node, reason);
        json_t *v = vals ? json_deep_copy(vals) : json_object();
        if (!v)
            return QR_ENOMEM;
        json_object_set_new(v, "check", json_string(c->name));
        json_object_set_new(v, "status", json_string(check_status_str(c->status)));
        char summary[256];
        const char *msg = rs[i].message && rs[i].message[0] ? rs[i].message
                          : c->summary && c->summary[0]     ? c->summary
                                                            : check_status_str(c->status);
        snprintf(summary, sizeof summary, "%s: %s", n->name ? n->name : node, msg);
        int rc =
            add(out, key, over >= 0 ? (alerts_sev_t)over : rs[i].sev, summary, n->name, n->dc, v);
        if (rc)
            return rc;
    }
    return 0;
}

int alerts_conditions(const alerts_snapshot_t *snap, alerts_list_t *out)
{
    int rc = 0;
    char key[192], summary[256], a[64], b[64];
    alerts_list_clear(out);

    for (size_t i = 0; i < snap->nnodes && !rc; i++) {
        const alerts_node_t *n = &snap->nodes[i];
        sanitize_name(a, sizeof a, n->name);
        if (!n->up) {
            snprintf(key, sizeof key, "node/%s/down", a);
            snprintf(summary, sizeof summary, "%s is down: no report from its agent",
                     n->name ? n->name : a);
            json_t *v = json_pack("{s:I}", "down_since_ms", (json_int_t)n->down_since_ms);
            rc = add(out, key, ALERTS_SEV_CRITICAL, summary, n->name, n->dc, v);
        }
        /* a down node's last check results are stale but still reported:
         * inhibition, not omission, keeps them quiet, so they resolve or
         * come back visibly when the node returns */
        for (size_t j = 0; j < n->nchecks && !rc; j++)
            rc = add_check(out, n, a, &n->checks[j]);
    }

    const alerts_mongo_t *m = &snap->mongo;
    if (!rc && m->set_name && m->set_name[0]) {
        sanitize_name(a, sizeof a, m->set_name);
        if (!m->has_primary) {
            snprintf(key, sizeof key, "mongo/%s/no_primary", a);
            snprintf(summary, sizeof summary, "MongoDB replica set %s has no primary", m->set_name);
            rc = add(
                out, key, ALERTS_SEV_CRITICAL, summary, NULL, NULL,
                json_pack("{s:s,s:b}", "set", m->set_name, "voters_minority", m->voters_minority));
        }
        if (!rc && m->voters_minority) {
            snprintf(key, sizeof key, "mongo/%s/minority", a);
            snprintf(summary, sizeof summary,
                     "MongoDB %s: reachable voting members are a minority; forced "
                     "recovery %s",
                     m->set_name,
                     m->recovery_plan_ready ? "plan ready, waiting for operator confirmation"
                                            : "not possible yet");
            rc = add(out, key, ALERTS_SEV_CRITICAL, summary, NULL, NULL,
                     json_pack("{s:s,s:b}", "set", m->set_name, "recovery_plan_ready",
                               m->recovery_plan_ready));
        }
    }

    if (!rc && snap->controllers_no_quorum)
        rc = add(out, "controllers/no_quorum", ALERTS_SEV_CRITICAL,
                 "controllers have no quorum: no leader can be elected", NULL, NULL, NULL);

    for (size_t i = 0; i < snap->nskew && !rc; i++) {
        const alerts_skew_t *s = &snap->skew[i];
        if (s->status != CHECK_WARN && s->status != CHECK_FAIL)
            continue;
        sanitize_name(a, sizeof a, s->node);
        snprintf(key, sizeof key, "clock/%s/skew", a);
        snprintf(summary, sizeof summary, "%s: clock is %lld ms off its peers",
                 s->node ? s->node : a, (long long)s->skew_ms);
        rc = add(out, key, s->status == CHECK_FAIL ? ALERTS_SEV_ERROR : ALERTS_SEV_WARNING, summary,
                 s->node, node_dc(snap, s->node),
                 json_pack("{s:I}", "skew_ms", (json_int_t)s->skew_ms));
    }

    for (size_t i = 0; i < snap->nports && !rc; i++) {
        const alerts_portfail_t *p = &snap->ports[i];
        bool udp = p->proto && strcmp(p->proto, "udp") == 0;
        sanitize_name(a, sizeof a, p->from);
        sanitize_name(b, sizeof b, p->to);
        snprintf(key, sizeof key, "ports/%s->%s/%d%s", a, b, p->port, udp ? "udp" : "");
        snprintf(summary, sizeof summary, "%s cannot reach %s on %s port %d", p->from ? p->from : a,
                 p->to ? p->to : b, udp ? "UDP" : "TCP", p->port);
        rc = add(out, key, ALERTS_SEV_ERROR, summary, p->from, node_dc(snap, p->from),
                 json_pack("{s:s,s:s,s:i,s:s}", "from", a, "to", b, "port", p->port, "proto",
                           udp ? "udp" : "tcp"));
    }

    for (size_t i = 0; i < snap->nplacement && !rc; i++) {
        const alerts_placement_t *p = &snap->placement[i];
        sanitize_name(a, sizeof a, p->dc);
        snprintf(key, sizeof key, "placement/%s/majority", a);
        snprintf(summary, sizeof summary, "%s",
                 p->summary ? p->summary : "data centre holds a majority of MongoDB voters");
        rc = add(out, key, ALERTS_SEV_WARNING, summary, NULL, p->dc, json_pack("{s:s}", "dc", a));
    }

    for (size_t i = 0; i < snap->ndrift && !rc; i++) {
        const alerts_drift_t *d = &snap->drift[i];
        sanitize_name(a, sizeof a, d->node);
        snprintf(key, sizeof key, "labels/%s/drift", a);
        snprintf(summary, sizeof summary, "%s: %s", d->node ? d->node : a,
                 d->summary ? d->summary : "node labels differ from the plan");
        rc = add(out, key, ALERTS_SEV_WARNING, summary, d->node, node_dc(snap, d->node), NULL);
    }
    return rc;
}

void alerts_params_default(alerts_params_t *p)
{
    memset(p, 0, sizeof *p);
    p->for_ms = 30000;
    p->inhibit_node_down = true;
}

static int64_t for_of(const alerts_params_t *p, const char *key)
{
    if (strncmp(key, "node/", 5) == 0 && strlen(key) > 10 &&
        strcmp(key + strlen(key) - 5, "/down") == 0)
        return 0;
    for (size_t i = 0; i < p->noverrides; i++)
        if (p->overrides[i].prefix &&
            strncmp(key, p->overrides[i].prefix, strlen(p->overrides[i].prefix)) == 0)
            return p->overrides[i].for_ms;
    return p->for_ms;
}

void alerts_state_init(alerts_state_t *st)
{
    memset(st, 0, sizeof *st);
}

void alerts_state_clear(alerts_state_t *st)
{
    if (st)
        alerts_list_clear(&st->active);
}

static int64_t down_since(const alerts_snapshot_t *snap, const char *node)
{
    for (size_t i = 0; i < snap->nnodes; i++)
        if (snap->nodes[i].name && strcmp(snap->nodes[i].name, node) == 0)
            return snap->nodes[i].down_since_ms;
    return 0;
}

int alerts_eval(alerts_state_t *st, const alerts_params_t *p, const alerts_snapshot_t *snap,
                alerts_list_t *out)
{
    alerts_list_t now_set = {0};
    int64_t now = snap->now_ms;
    alerts_list_clear(out);
    int rc = alerts_conditions(snap, &now_set);
    if (rc)
        goto done;

    /* conditions that stopped holding: a firing one resolves (reported
     * once), a pending one is forgotten */
    for (size_t i = st->active.n; i-- > 0;) {
        alerts_alert_t *a = &st->active.v[i];
        if (alerts_list_find(&now_set, a->key))
            continue;
        if (a->state == ALERTS_FIRING) {
            a->state = ALERTS_RESOLVED;
            a->resolved_at_ms = now;
            a->inhibited = false;
            if ((rc = list_push(out, a)))
                goto done;
        }
        list_remove(&st->active, i);
    }

    for (size_t i = 0; i < now_set.n; i++) {
        alerts_alert_t *c = &now_set.v[i];
        alerts_alert_t *a = list_find_mut(&st->active, c->key);
        if (!a) {
            c->active_since_ms = now;
            if (strncmp(c->key, "node/", 5) == 0 && c->node[0]) {
                int64_t ds = down_since(snap, c->node);
                if (ds > 0 && ds <= now)
                    c->active_since_ms = ds;
            }
            if ((rc = list_push(&st->active, c)))
                goto done;
            a = &st->active.v[st->active.n - 1];
        } else {
            /* refresh what may change while it holds; keep the times */
            a->severity = c->severity;
            memcpy(a->summary, c->summary, sizeof a->summary);
            memcpy(a->dc, c->dc, sizeof a->dc);
            json_decref(a->values);
            a->values = json_incref(c->values);
        }
        if (a->state == ALERTS_PENDING && now - a->active_since_ms >= for_of(p, a->key)) {
            a->state = ALERTS_FIRING;
            a->fired_at_ms = now;
        }
    }

    /* inhibition: while node/X/down fires, X's other alerts are muted */
    for (size_t i = 0; i < st->active.n; i++) {
        alerts_alert_t *a = &st->active.v[i];
        a->inhibited = false;
        if (!p->inhibit_node_down || !a->node[0] || a->state != ALERTS_FIRING)
            continue;
        char dk[192], nm[64];
        sanitize_name(nm, sizeof nm, a->node);
        snprintf(dk, sizeof dk, "node/%s/down", nm);
        if (strcmp(a->key, dk) == 0)
            continue;
        const alerts_alert_t *d = alerts_list_find(&st->active, dk);
        a->inhibited = d && d->state == ALERTS_FIRING;
    }

    for (size_t i = 0; i < st->active.n; i++)
        if ((rc = list_push(out, &st->active.v[i])))
            goto done;
done:
    alerts_list_clear(&now_set);
    return rc;
}

json_t *alerts_list_to_json(const alerts_list_t *l)
{
    static const char *st[] = {"pending", "firing", "resolved"};
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++) {
        const alerts_alert_t *a = &l->v[i];
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:O}", "key",
                                             a->key, "severity", alerts_sev_str(a->severity),
                                             "summary", a->summary, "node", a->node, "dc", a->dc,
                                             "state", st[a->state % 3], "inhibited", a->inhibited,
                                             "since_ms", (json_int_t)a->active_since_ms,
                                             "fired_at_ms", (json_int_t)a->fired_at_ms,
                                             "resolved_at_ms", (json_int_t)a->resolved_at_ms,
                                             "values", a->values ? a->values : json_null()));
    }
    return arr;
}
