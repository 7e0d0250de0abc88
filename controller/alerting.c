/* Alerting glue: inventory -> alerts snapshot -> eval -> router -> notify. */
#include "alerting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "alerts_conf.h"
#include "alerts_route.h"
#include "log.h"
#include "notify.h"

#define ALERTING_MAX_TESTS 16

struct alerting {
    alerts_conf_t *conf;
    alerts_params_t params;
    alerts_state_t state;
    alerts_list_t current; /* last eval output */
    alerts_router_t *router;
    alerts_nlog_t *nlog;
    notify_t *notify;
    json_t *sent;    /* key -> [{receiver, at, outcome, http_status}] (last few) */
    json_t *tests;   /* receiver -> result object */
    uint64_t delivered, failed;
    char majority_dc[64];
    bool no_quorum;
    json_t *drift; /* borrowed for one step */
    int64_t last_wall;
};

static const char *outcome_str(notify_outcome_t o)
{
    switch (o) {
    case NOTIFY_DELIVERED: return "delivered";
    case NOTIFY_CONFIG_ERROR: return "config_error";
    case NOTIFY_DROPPED: return "dropped";
    case NOTIFY_RETRYING: return "retrying";
    default: return "?";
    }
}

static void on_result(const notify_result_t *r, void *arg)
{
    alerting_t *al = arg;
    const alerts_notification_t *n = r->notification;
    bool test = n && n->alerts.n == 1 && strncmp(n->alerts.v[0].key, "test/", 5) == 0;
    if (test) {
        json_object_set_new(al->tests, r->receiver,
                            json_pack("{s:s, s:s, s:I, s:s, s:s, s:i}", "receiver", r->receiver,
                                      "outcome", outcome_str(r->outcome), "http_status",
                                      (json_int_t)r->http_status, "error", r->error, "response",
                                      r->response, "attempts", r->attempts));
        return;
    }
    if (r->outcome == NOTIFY_DELIVERED) {
        al->delivered++;
        if (n)
            alerts_nlog_ack_notification(al->nlog, n);
    } else if (r->outcome != NOTIFY_RETRYING) {
        al->failed++;
    }
    if (r->outcome != NOTIFY_DELIVERED)
        log_warnx("event=notification_%s receiver=%s group=\"%s\" http_status=%ld attempts=%d "
                  "error=\"%s\"",
                  outcome_str(r->outcome), r->receiver, r->group ? r->group : "",
                  r->http_status, r->attempts, r->error);
    for (size_t i = 0; n && i < n->alerts.n; i++) {
        const char *key = n->alerts.v[i].key;
        json_t *list = json_object_get(al->sent, key);
        if (!list) {
            list = json_array();
            json_object_set_new(al->sent, key, list);
        }
        json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:I, s:s}", "receiver",
                                              r->receiver, "at", (json_int_t)al->last_wall,
                                              "outcome", outcome_str(r->outcome), "http_status",
                                              (json_int_t)r->http_status, "state",
                                              n->alerts.v[i].state == ALERTS_RESOLVED
                                                  ? "resolved"
                                                  : "firing"));
        while (json_array_size(list) > 8) /* bounded: the last few deliveries */
            json_array_remove(list, 0);
    }
}

int alerting_new(const char *conf_path, alerting_t **out, qr_err_t *err)
{
    alerting_t *al = calloc(1, sizeof *al);
    if (!al)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    int rc = alerts_conf_load(conf_path, &al->conf, err);
    if (rc) {
        free(al);
        return rc;
    }
    alerts_conf_params(al->conf, &al->params);
    alerts_state_init(&al->state);
    al->router = alerts_router_new(al->conf);
    al->nlog = alerts_nlog_new(al->conf->nlog_max);
    notify_params_t np;
    notify_params_default(&np);
    al->notify = notify_new(al->conf, &np, on_result, al);
    al->sent = json_object();
    al->tests = json_object();
    if (!al->router || !al->nlog || !al->notify) {
        alerting_destroy(&al);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    *out = al;
    return 0;
}

void alerting_destroy(alerting_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alerting_t *al = *self_p;
    notify_destroy(&al->notify);
    alerts_router_destroy(&al->router);
    alerts_nlog_destroy(&al->nlog);
    alerts_list_clear(&al->current);
    free(al->current.v);
    alerts_state_clear(&al->state);
    json_decref(al->sent);
    json_decref(al->tests);
    alerts_conf_destroy(&al->conf);
    free(al);
    *self_p = NULL;
}

/* Builds the snapshot's arrays (borrowing strings from inv/status/ports,
 * valid during this call), then evaluates, routes and submits. */
void alerting_step(alerting_t *al, const inventory_t *inv, const json_t *status,
                   const json_t *ports, int64_t mono_ms, int64_t wall_ms)
{
    al->last_wall = wall_ms;
    size_t nn = inventory_count(inv);
    alerts_node_t *nodes = calloc(nn ? nn : 1, sizeof *nodes);
    alerts_check_t *checks = calloc((nn ? nn : 1) * INVENTORY_MAX_CHECKS, sizeof *checks);
    alerts_skew_t *skew = calloc(nn ? nn : 1, sizeof *skew);
    size_t nblocked = json_array_size(json_object_get(ports, "blocked"));
    alerts_portfail_t *pf = calloc(nblocked ? nblocked : 1, sizeof *pf);
    if (!nodes || !checks || !skew || !pf)
        goto out;
    alerts_snapshot_t snap = {.now_ms = wall_ms, .nodes = nodes, .nnodes = nn, .skew = skew,
                              .ports = pf};
    bool primary_seen = false;
    const char *set_name = NULL;
    for (size_t i = 0; i < nn; i++) {
        const inv_node_t *n = inventory_at(inv, i);
        alerts_check_t *c = &checks[i * INVENTORY_MAX_CHECKS];
        size_t k = 0, j;
        json_t *cj;
        json_array_foreach(n->checks, j, cj) {
            if (k >= INVENTORY_MAX_CHECKS)
                break;
            c[k].name = json_string_value(json_object_get(cj, "name"));
            int st = check_status_parse(json_string_value(json_object_get(cj, "status")));
            c[k].status = st < 0 ? CHECK_UNKNOWN : (check_status_t)st;
            c[k].summary = json_string_value(json_object_get(cj, "summary"));
            c[k].values = json_object_get(cj, "values");
            if (n->up && c[k].name && strcmp(c[k].name, "mongod") == 0) {
                const char *sn = json_string_value(json_object_get(c[k].values, "set_name"));
                if (sn && !set_name)
                    set_name = sn;
                primary_seen |= json_is_string(json_object_get(c[k].values, "primary"));
            }
            k++;
        }
        nodes[i] = (alerts_node_t){.name = n->name, .dc = n->dc, .up = n->up,
                                   .down_since_ms = n->up ? 0
                                                          : wall_ms - (mono_ms - n->down_since_ms),
                                   .checks = c, .nchecks = k};
    }
    snap.mongo.set_name = set_name;
    alerts_placement_t placement = {.dc = al->majority_dc, .summary = NULL};
    if (al->majority_dc[0]) {
        snap.placement = &placement;
        snap.nplacement = 1;
    }
    snap.controllers_no_quorum = al->no_quorum;
    size_t ndrift = json_array_size(al->drift);
    alerts_drift_t *drift = calloc(ndrift ? ndrift : 1, sizeof *drift);
    if (!drift)
        goto out;
    for (size_t d = 0; d < ndrift; d++) {
        json_t *e = json_array_get(al->drift, d);
        drift[snap.ndrift].node = json_string_value(json_object_get(e, "node"));
        drift[snap.ndrift].summary =
            json_is_true(json_object_get(e, "missing"))
                ? "left the swarm while holding mongo.replica"
                : NULL;
        if (drift[snap.ndrift].node)
            snap.ndrift++;
    }
    snap.drift = drift;
    snap.mongo.has_primary = primary_seen;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(status, "nodes"), i, v) {
        json_t *clock = json_object_get(v, "clock");
        int st = check_status_parse(json_string_value(json_object_get(clock, "status")));
        if (!clock || st < 0 || snap.nskew >= nn)
            continue;
        skew[snap.nskew++] = (alerts_skew_t){
            .node = json_string_value(json_object_get(v, "name")),
            .skew_ms = (int64_t)json_real_value(json_object_get(clock, "skew_ms")),
            .status = (check_status_t)st};
    }
    json_array_foreach(json_object_get(ports, "blocked"), i, v) {
        pf[snap.nports++] = (alerts_portfail_t){
            .from = json_string_value(json_object_get(v, "from")),
            .to = json_string_value(json_object_get(v, "to")),
            .port = (int)json_integer_value(json_object_get(v, "port")),
            .proto = "tcp"};
    }
    alerts_list_clear(&al->current);
    int erc = alerts_eval(&al->state, &al->params, &snap, &al->current);
    free(drift);
    if (erc != 0)
        goto out;
    alerts_notification_t **due = NULL;
    size_t ndue = 0;
    int64_t wake;
    if (alerts_router_step(al->router, &al->current, al->nlog, wall_ms, &due, &ndue, &wake) == 0) {
        for (size_t d = 0; d < ndue; d++)
            notify_submit(al->notify, due[d], wall_ms);
        free(due);
    }
    notify_perform(al->notify, wall_ms);
    if (json_object_size(al->sent) > 4096) { /* forget keys no longer active */
        const char *key;
        json_t *val, *keep = json_object();
        json_object_foreach(al->sent, key, val) {
            if (alerts_list_find(&al->current, key))
                json_object_set(keep, key, val);
        }
        json_decref(al->sent);
        al->sent = keep;
    }
out:
    free(nodes);
    free(checks);
    free(skew);
    free(pf);
}

void alerting_perform(alerting_t *al, int64_t wall_ms)
{
    al->last_wall = wall_ms;
    notify_perform(al->notify, wall_ms);
}

int alerting_busy(const alerting_t *al)
{
    return notify_pending(al->notify) > 0;
}

json_t *alerting_json(const alerting_t *al, int64_t wall_ms)
{
    json_t *list = alerts_list_to_json(&al->current);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        json_t *sent = json_object_get(al->sent, json_string_value(json_object_get(a, "key")));
        json_object_set_new(a, "sent", sent ? json_incref(sent) : json_array());
    }
    json_t *rcv = json_array();
    for (size_t r = 0; r < al->conf->nreceivers; r++)
        json_array_append_new(rcv, json_string(al->conf->receivers[r].name));
    return json_pack("{s:o, s:o, s:{s:I, s:I, s:I}, s:I}", "alerts", list, "receivers", rcv,
                     "deliveries", "delivered", (json_int_t)al->delivered, "failed",
                     (json_int_t)al->failed, "pending",
                     (json_int_t)notify_pending(al->notify), "now_ms", (json_int_t)wall_ms);
}

int alerting_test(alerting_t *al, const char *receiver, int64_t wall_ms)
{
    int idx = alerts_conf_receiver_index(al->conf, receiver);
    if (idx < 0)
        return QR_ENOTFOUND;
    alerts_notification_t *n = notify_make_test(al->conf, idx, wall_ms);
    if (!n)
        return QR_ENOMEM;
    json_object_del(al->tests, receiver);
    al->last_wall = wall_ms;
    return notify_submit(al->notify, n, wall_ms);
}

json_t *alerting_test_result(const alerting_t *al, const char *receiver)
{
    json_t *r = json_object_get(al->tests, receiver);
    if (!r)
        return NULL;
    const char *o = json_string_value(json_object_get(r, "outcome"));
    if (o && strcmp(o, "retrying") == 0)
        return NULL; /* not final yet */
    return json_incref(r);
}

json_t *alerting_nlog_json(const alerting_t *al)
{
    return alerts_nlog_to_json(al->nlog);
}

int alerting_nlog_load(alerting_t *al, const json_t *j, qr_err_t *err)
{
    return alerts_nlog_from_json(al->nlog, j, err);
}

void alerting_set_cluster(alerting_t *al, const char *majority_dc, bool controllers_no_quorum)
{
    snprintf(al->majority_dc, sizeof al->majority_dc, "%s", majority_dc ? majority_dc : "");
    al->no_quorum = controllers_no_quorum;
}

void alerting_set_drift(alerting_t *al, json_t *drift)
{
    al->drift = drift;
}
