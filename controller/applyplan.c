/* Apply decision and drift: pure functions over the inventory. */
#include "applyplan.h"

#include <string.h>

#include "planner.h"
#include "planner_json.h"

static json_t *values_of(const inv_node_t *n, const char *check)
{
    size_t i;
    json_t *c;
    json_array_foreach(n->checks, i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", check) == 0)
            return json_object_get(c, "values");
    }
    return NULL;
}

static const char *managed[] = {"mongo.replica", "worker", "minio"};
#define N_MANAGED (sizeof managed / sizeof managed[0])

/* {node: {add:{}, remove:[]}} turning the live labels into final, managed
 * keys only (the planner never touches other labels). */
static json_t *diff_labels(const json_t *live_nodes, const json_t *final, const char *removed)
{
    json_t *none = json_object(); /* a removed node keeps none of them */
    json_t *changes = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(live_nodes, i, n) {
        const char *name = json_string_value(json_object_get(n, "hostname"));
        json_t *have = json_object_get(n, "labels"), *want = json_object_get(final, name);
        if (name && removed && strcmp(name, removed) == 0)
            want = none;
        if (!name || !want)
            continue;
        json_t *add = json_object(), *rm = json_array();
        for (size_t k = 0; k < N_MANAGED; k++) {
            json_t *h = json_object_get(have, managed[k]), *w = json_object_get(want, managed[k]);
            if (w && !json_equal(h, w))
                json_object_set(add, managed[k], w);
            else if (!w && h)
                json_array_append_new(rm, json_string(managed[k]));
        }
        if (json_object_size(add) || json_array_size(rm)) {
            json_t *c = json_object();
            if (json_array_size(rm))
                json_object_set(c, "remove", rm);
            if (json_object_size(add))
                json_object_set(c, "add", add);
            json_object_set_new(changes, name, c);
        }
        json_decref(add);
        json_decref(rm);
    }
    json_decref(none);
    return changes;
}

json_t *applyplan_prepare(const inventory_t *inv, const json_t *applied, int64_t now_ms)
{
    return applyplan_prepare_remove(inv, applied, now_ms, NULL);
}

json_t *applyplan_prepare_remove(const inventory_t *inv, const json_t *applied, int64_t now_ms,
                                 const char *remove_node)
{
    json_t *refused = json_array(), *managers = json_array();
    const char *hint = NULL;
    /* stale: an up node whose last report is older than 3 of its intervals */
    for (size_t i = 0; i < inventory_count(inv); i++) {
        const inv_node_t *n = inventory_at(inv, i);
        int64_t iv = n->interval_ms ? n->interval_ms : 5000;
        if (n->up && (n->last_report_ms == 0 || now_ms - n->last_report_ms > 3 * iv))
            json_array_append_new(refused,
                                  json_sprintf("inventory is stale: %s has not reported for %lld "
                                               "ms (3 intervals)",
                                               n->name, (long long)(now_ms - n->last_report_ms)));
    }
    /* managers whose agent is up, the swarm leader's first; quorum per their view */
    json_int_t total = 0, reachable = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < inventory_count(inv); i++) {
            const inv_node_t *n = inventory_at(inv, i);
            json_t *d = values_of(n, "docker");
            const char *role = json_string_value(json_object_get(d, "role"));
            if (!n->up || !role || strcmp(role, "manager") != 0)
                continue;
            bool leader = json_is_true(json_object_get(d, "is_leader"));
            if ((pass == 0) != leader)
                continue;
            json_array_append_new(managers, json_string(n->name));
            json_int_t m = json_integer_value(json_object_get(d, "managers"));
            json_int_t r = json_integer_value(json_object_get(d, "managers_reachable"));
            if (m > total)
                total = m, reachable = r;
        }
    /* a manager whose docker check sees no leader (or whose /info hangs, as
     * it does while the swarm has no leader): no label update can work */
    const char *noleader_on = NULL;
    for (size_t i = 0; i < inventory_count(inv) && !noleader_on; i++) {
        const inv_node_t *n = inventory_at(inv, i);
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(values_of(n, "docker"), "reasons"), k, r) {
            const char *code = json_string_value(r);
            if (n->up && code &&
                (!strcmp(code, "swarm_no_leader") || !strcmp(code, "control_plane_timeout") ||
                 !strcmp(code, "managers_no_quorum") || !strcmp(code, "info_timeout")))
                noleader_on = n->name;
        }
    }
    if (noleader_on) {
        json_array_append_new(refused,
                              json_sprintf("the swarm has no manager quorum or no leader (seen "
                                           "from %s): label updates would hang",
                                           noleader_on));
        hint = "recovery step, not an apply step: run `docker swarm init --force-new-cluster` "
               "on a surviving manager (quoratectl recover plans it), then apply again";
    } else if (json_array_size(managers) == 0) {
        json_array_append_new(refused, json_string("no swarm manager's agent is up"));
        hint = "start quorate-agent on a swarm manager (docker node ls shows them)";
    } else if (total > 0 && reachable * 2 <= total) {
        json_array_append_new(refused,
                              json_sprintf("the swarm has no manager quorum (%lld of %lld "
                                           "managers reachable): label updates would hang",
                                           (long long)reachable, (long long)total));
        hint = "recovery step, not an apply step: run `docker swarm init --force-new-cluster` "
               "on a surviving manager (quoratectl recover plans it), then apply again";
    }
    /* the plan itself, from the intended state: the live labels with the
     * last applied managed labels put back where they were changed by hand */
    json_t *invj = inventory_export_json(inv), *planj = NULL, *changes = NULL;
    json_t *live_nodes = json_deep_copy(json_object_get(invj, "nodes"));
    size_t ni;
    json_t *nj;
    json_array_foreach(json_object_get(invj, "nodes"), ni, nj) {
        json_t *want = json_object_get(applied, json_string_value(json_object_get(nj, "hostname")));
        json_t *labels = json_object_get(nj, "labels");
        if (!json_is_object(want) || !json_is_object(labels))
            continue;
        for (size_t k = 0; k < N_MANAGED; k++) {
            json_t *w = json_object_get(want, managed[k]);
            if (w)
                json_object_set(labels, managed[k], w);
            else
                json_object_del(labels, managed[k]);
        }
    }
    planner_inventory_t *pinv = NULL;
    planner_plan_t *plan = NULL;
    qr_err_t err = {{0}};
    if (planner_json_inventory(invj, &pinv, &err) != 0) {
        json_array_append_new(refused, json_sprintf("inventory not plannable: %s", err.msg));
    } else {
        planner_opts_t opts = {.remove_node = remove_node};
        if (planner_plan(pinv, &opts, &plan, &err) != 0 && !plan)
            json_array_append_new(refused, json_sprintf("planner failed: %s", err.msg));
        if (plan) {
            planj = planner_json_plan(plan);
            if (!json_is_true(json_object_get(planj, "ok")))
                json_array_append_new(refused,
                                      json_string("no valid plan (see the plan's errors)"));
            changes = diff_labels(live_nodes, json_object_get(planj, "final_labels"),
                                  remove_node);
        }
    }
    planner_plan_destroy(&plan);
    planner_inventory_destroy(&pinv);
    json_decref(invj);
    json_decref(live_nodes);
    return json_pack("{s:b, s:o, s:s?, s:o, s:o, s:o}", "ok", json_array_size(refused) == 0,
                     "refused", refused, "hint", hint, "plan", planj ? planj : json_null(),
                     "changes", changes ? changes : json_object(), "managers", managers);
}

json_t *applyplan_drift(const inventory_t *inv, const json_t *applied)
{
    json_t *out = json_array();
    json_t *live = inventory_export_json(inv);
    const char *node;
    json_t *want;
    json_object_foreach((json_t *)applied, node, want) {
        json_t *have = NULL;
        size_t i;
        json_t *n;
        json_array_foreach(json_object_get(live, "nodes"), i, n) {
            if (strcmp(json_string_value(json_object_get(n, "hostname")) ?: "", node) == 0)
                have = json_object_get(n, "labels");
        }
        if (!have) {
            if (json_object_get(want, "mongo.replica"))
                json_array_append_new(out, json_pack("{s:s, s:b, s:O}", "node", node, "missing",
                                                     1, "expected", want));
            continue;
        }
        json_t *exp = json_object(), *act = json_object();
        for (size_t k = 0; k < sizeof managed / sizeof managed[0]; k++) {
            json_t *w = json_object_get(want, managed[k]), *h = json_object_get(have, managed[k]);
            if (json_equal(w, h) || (!w && !h))
                continue;
            json_object_set(exp, managed[k], w ? w : json_null());
            json_object_set(act, managed[k], h ? h : json_null());
        }
        if (json_object_size(exp))
            json_array_append_new(out, json_pack("{s:s, s:o, s:o}", "node", node, "expected", exp,
                                                 "actual", act));
        else
            json_decref(exp), json_decref(act);
    }
    json_decref(live);
    return out;
}
