/* `quoratectl decommission NODE [--yes]` on the leader: plans with the
 * planner's remove option from the live inventory (the freshness and quorum
 * rules of apply), then runs the steps one at a time as fenced commands
 * through a swarm manager's agent: drain NODE, move its labels, demote it,
 * remove it from the swarm once it is down. The MongoDB step is printed,
 * never executed. Every step is idempotent, so a re-run completes it. */
#include <stdlib.h>
#include <string.h>

#include "applyplan.h"
#include "planner.h"
#include "server_int.h"

#define DECOM_CMD_TIMEOUT_MS 30000

typedef struct {
    zmsg_t *to; /* the operator waiting */
    char node[64];
    json_t *prep;     /* applyplan_prepare_remove() */
    json_t *steps;    /* [{step, action, status, detail?, kind?, args?}] */
    json_t *managers; /* agents to run through, NODE's own left out */
    size_t manager;   /* index into managers in use */
    size_t step;      /* the step running */
    const char *via;  /* the manager that ran the last step (in managers) */
    bool changed;     /* a step changed the swarm */
    bool labels_done;
    int64_t started_ms, step_ms; /* the decommission's, the running step's start */
} decom_t;

static void on_result(server_t *s, void *ctx, const char *node, int code, const char *error,
                      json_t *result);

bool server__decom_running(const server_t *s)
{
    for (size_t i = 0; i < SERVER_MAX_CMDS; i++)
        if (s->cmds[i].cb == on_result)
            return true;
    return false;
}

static json_t *check_values(const inv_node_t *n, const char *check)
{
    size_t i;
    json_t *c;
    json_array_foreach(n->checks, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", check) == 0)
            return json_object_get(c, "values");
    }
    return NULL;
}

/* The swarm's node list as an up manager sees it, the swarm leader's view
 * first; NULL when no up agent reports one. */
static json_t *swarm_nodes(const server_t *s)
{
    json_t *best = NULL;
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        json_t *d = check_values(n, "docker");
        json_t *list = json_object_get(d, "swarm_nodes");
        if (!n->up || !json_is_array(list))
            continue;
        if (json_is_true(json_object_get(d, "is_leader")))
            return list;
        if (!best)
            best = list;
    }
    return best;
}

static json_t *swarm_entry(json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "hostname")) ?: "", name) == 0)
            return e;
    }
    return NULL;
}

/* The replica set member name of node (as the members report it), by its
 * address or host name: true when a mongod check names it; else out is
 * "NODE:27017" and false. */
static bool mongo_member(const server_t *s, const char *node, char *out, size_t len)
{
    const inv_node_t *me = inventory_find(s->inv, node);
    char by_addr[96] = "", by_name[96];
    if (me && me->address[0])
        snprintf(by_addr, sizeof by_addr, "%s:", me->address);
    snprintf(by_name, sizeof by_name, "%s:", node);
    snprintf(out, len, "%s:27017", node);
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        size_t k;
        json_t *m;
        json_array_foreach(
            json_object_get(check_values(inventory_at(s->inv, i), "mongod"), "members"), k, m)
        {
            const char *name = json_string_value(json_object_get(m, "name"));
            if (name && ((by_addr[0] && strncmp(name, by_addr, strlen(by_addr)) == 0) ||
                         strncmp(name, by_name, strlen(by_name)) == 0)) {
                snprintf(out, len, "%s", name);
                return true;
            }
        }
    }
    return false;
}

static void add_step(json_t *steps, const char *step, const char *action, const char *status,
                     const char *kind, json_t *args)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "step", step, "action", action, "status", status);
    if (kind && args && strcmp(status, "to do") == 0) {
        json_object_set_new(o, "kind", json_string(kind));
        json_object_set(o, "args", args);
    }
    json_decref(args);
    json_array_append_new(steps, o);
}

/* A healthy up node that is not a manager and not `node`, to promote: in the
 * data centre with the fewest managers. NULL when there is none. */
static const char *promote_candidate(const server_t *s, json_t *list, const char *node)
{
    const char *best = NULL;
    int best_mgr = 1 << 30;
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        json_t *e = swarm_entry(list, n->name);
        if (!n->up || !e || strcmp(n->name, node) == 0 ||
            strcmp(json_string_value(json_object_get(e, "role")) ?: "", "manager") == 0 ||
            strcmp(json_string_value(json_object_get(e, "state")) ?: "", "ready") != 0)
            continue;
        int mgr = 0;
        for (size_t k = 0; k < inventory_count(s->inv); k++) {
            const inv_node_t *o = inventory_at(s->inv, k);
            json_t *oe = swarm_entry(list, o->name);
            mgr += strcmp(o->dc, n->dc) == 0 && oe &&
                   strcmp(json_string_value(json_object_get(oe, "role")) ?: "", "manager") == 0;
        }
        if (mgr < best_mgr)
            best = n->name, best_mgr = mgr;
    }
    return best;
}

/* Builds the steps for node, or returns a refusal (code, msg). */
static int plan_steps(server_t *s, decom_t *d, char *msg, size_t msglen)
{
    json_t *prep = d->prep;
    const char *node = d->node;
    if (!json_is_true(json_object_get(prep, "ok"))) {
        int n = snprintf(msg, msglen, "refused:");
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(prep, "refused"), i, r)
        {
            if (n < (int)msglen)
                n += snprintf(msg + n, msglen - (size_t)n, " %s;", json_string_value(r));
        }
        /* the plan's own reasons (the reply carries no plan to read them in) */
        json_array_foreach(json_object_get(json_object_get(prep, "plan"), "errors"), i, r)
        {
            if (n < (int)msglen)
                n += snprintf(msg + n, msglen - (size_t)n, " without %s: %s;", node,
                              json_string_value(r));
        }
        const char *hint = json_string_value(json_object_get(prep, "hint"));
        if (hint && n < (int)msglen)
            snprintf(msg + n, msglen - (size_t)n, " next step: %s", hint);
        return QR_EREFUSED;
    }
    json_t *list = swarm_nodes(s);
    if (!list) {
        snprintf(msg, msglen,
                 "refused: no swarm manager's agent reports the swarm's node list; "
                 "next step: start quorate-agent on a swarm manager");
        return QR_EREFUSED;
    }
    json_t *me = swarm_entry(list, node);
    const char *role = json_string_value(json_object_get(me, "role"));
    const char *state = json_string_value(json_object_get(me, "state"));
    const char *avail = json_string_value(json_object_get(me, "availability"));
    bool manager = role && strcmp(role, "manager") == 0;
    /* managers to run the steps through: never NODE itself */
    d->managers = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(prep, "managers"), i, m)
    {
        if (strcmp(json_string_value(m), node) != 0)
            json_array_append(d->managers, m);
    }
    if (json_array_size(d->managers) == 0) {
        snprintf(msg, msglen,
                 "refused: no other swarm manager's agent is up to run the steps "
                 "(%s cannot remove itself); next step: start quorate-agent on "
                 "another manager",
                 node);
        return QR_EREFUSED;
    }
    if (manager) {
        /* demoting NODE must leave >= 3 managers and a quorum of reachable ones */
        int total = 0, reachable = 0;
        json_array_foreach(list, i, m)
        {
            if (strcmp(json_string_value(json_object_get(m, "role")) ?: "", "manager") != 0 ||
                strcmp(json_string_value(json_object_get(m, "hostname")) ?: "", node) == 0)
                continue;
            total++;
            reachable += strcmp(json_string_value(json_object_get(m, "reachability")) ?: "",
                                "reachable") == 0;
        }
        if (total < 3 || reachable * 2 <= total) {
            const char *p = promote_candidate(s, list, node);
            snprintf(msg, msglen,
                     "refused: %s is a swarm manager; demoting it leaves %d manager%s (%d "
                     "reachable)%s; next step: promote another node first (`docker node promote "
                     "%s` on a manager), then run `quoratectl decommission %s` again",
                     node, total, total == 1 ? "" : "s", reachable,
                     total < 3 ? ": fewer than 3" : ": no manager quorum", p ? p : "NODE", node);
            return QR_EREFUSED;
        }
    }
    json_t *changes = json_object_get(prep, "changes");
    if (!me) /* gone from the swarm already: its labels went with it */
        json_object_del(changes, node);

    char action[512];
    snprintf(action, sizeof action, "docker node update --availability drain %s", node);
    add_step(d->steps, "drain", action,
             !me                                    ? "already done"
             : avail && strcmp(avail, "drain") == 0 ? "already done"
                                                    : "to do",
             "node_update", json_pack("{s:s, s:s}", "node", node, "availability", "drain"));
    int n = snprintf(action, sizeof action, "labels:");
    const char *k;
    json_t *ch;
    json_object_foreach(changes, k, ch)
    {
        size_t ri;
        json_t *rv, *av;
        const char *ak;
        json_array_foreach(json_object_get(ch, "remove"), ri, rv)
        {
            if (n < (int)sizeof action)
                n += snprintf(action + n, sizeof action - (size_t)n, " %s -%s", k,
                              json_string_value(rv));
        }
        json_object_foreach(json_object_get(ch, "add"), ak, av)
        {
            if (n < (int)sizeof action)
                n += snprintf(action + n, sizeof action - (size_t)n, " %s +%s=%s", k, ak,
                              json_string_value(av));
        }
    }
    if (json_object_size(changes) == 0)
        snprintf(action, sizeof action, "labels: nothing to move");
    add_step(d->steps, "labels", action, json_object_size(changes) ? "to do" : "already done",
             "apply_labels", json_pack("{s:O}", "changes", changes));
    snprintf(action, sizeof action, "docker node demote %s", node);
    add_step(d->steps, "demote", action,
             !me       ? "already done"
             : manager ? "to do"
                       : "not needed (a worker)",
             "node_update", json_pack("{s:s, s:s}", "node", node, "role", "worker"));
    snprintf(action, sizeof action, "docker node rm %s", node);
    if (!me) {
        add_step(d->steps, "remove", action, "already done", NULL, NULL);
    } else if (state && strcmp(state, "down") == 0) {
        add_step(d->steps, "remove", action, "to do", "node_rm", json_pack("{s:s}", "node", node));
    } else {
        add_step(d->steps, "remove", action, "waiting", NULL, NULL);
        snprintf(action, sizeof action,
                 "%s is still up (swarm state %s): shut the host down, then run `quoratectl "
                 "decommission %s --yes` again to remove it from the swarm",
                 node, state ? state : "unknown", node);
        json_object_set_new(json_array_get(d->steps, json_array_size(d->steps) - 1), "detail",
                            json_string(action));
    }
    char member[128];
    bool in_set = mongo_member(s, node, member, sizeof member);
    json_t *applied_labels = json_object_get(s->applied, node);
    bool held = json_object_get(json_object_get(me, "labels"), PLANNER_LABEL_REPLICA) ||
                json_object_get(applied_labels, PLANNER_LABEL_REPLICA);
    if (in_set || held) {
        snprintf(action, sizeof action,
                 "on the replica set's primary, once the new member is SECONDARY: "
                 "rs.remove(\"%s\") (a planned, non-forced reconfig)",
                 member);
        add_step(d->steps, "mongodb", action, "manual (printed, never run by quorate)", NULL, NULL);
    } else {
        snprintf(action, sizeof action,
                 "%s holds no mongo.replica and no replica set member "
                 "names it: no reconfig",
                 node);
        add_step(d->steps, "mongodb", action, "not needed", NULL, NULL);
    }
    return 0;
}

static void decom_free(decom_t *d)
{
    zmsg_destroy(&d->to);
    json_decref(d->prep);
    json_decref(d->steps);
    json_decref(d->managers);
    free(d);
}

/* Answers the operator, records the audit entry, frees d. */
static void finish(server_t *s, decom_t *d, bool executed)
{
    bool ok = true, removed = true;
    size_t i;
    json_t *st;
    json_array_foreach(d->steps, i, st)
    {
        const char *status = json_string_value(json_object_get(st, "status"));
        const char *step = json_string_value(json_object_get(st, "step"));
        json_object_del(st, "kind");
        json_object_del(st, "args");
        if (strcmp(status, "failed") == 0 || (executed && strcmp(status, "to do") == 0))
            ok = false;
        if (strcmp(step, "remove") == 0 && strcmp(status, "done") != 0 &&
            strcmp(status, "already done") != 0)
            removed = false;
    }
    json_t *plan = json_object_get(d->prep, "plan");
    json_t *out = json_pack("{s:s, s:b, s:b, s:b, s:O, s:O, s:O}", "node", d->node, "executed",
                            executed, "ok", ok, "removed", removed, "steps", d->steps, "changes",
                            json_object_get(d->prep, "changes"), "plan", plan ? plan : json_null());
    if (d->via)
        json_object_set_new(out, "via", json_string(d->via));
    if (executed) {
        int64_t now = server__now_ms(s);
        json_object_set_new(out, "elapsed_ms", json_integer(now - d->started_ms));
        if (d->labels_done) { /* drift is measured against the plan without NODE */
            json_decref(s->applied);
            s->applied = json_deep_copy(json_object_get(plan, "final_labels"));
        }
        if (d->changed)
            s->apply.done_ms = now;    /* the next plan waits for reports showing it */
        json_t *brief = json_object(); /* step -> status: the document has a size limit */
        json_array_foreach(d->steps, i, st)
        {
            json_object_set(brief, json_string_value(json_object_get(st, "step")),
                            json_object_get(st, "status"));
        }
        server__audit(s, json_pack("{s:s, s:I, s:s, s:s?, s:b, s:b, s:o, s:O}", "event",
                                   "decommission", "at_ms", (json_int_t)(wire_now_us() / 1000),
                                   "node", d->node, "via", d->via, "ok", ok, "removed", removed,
                                   "steps", brief, "changes", json_object_get(d->prep, "changes")));
        log_info("event=decommission_done node=%s ok=%d removed=%d via=%s elapsed_ms=%lld", d->node,
                 ok, removed, d->via ? d->via : "-", (long long)(now - d->started_ms));
    }
    server__op_reply(s, d->to, 0, "", out);
    json_decref(out);
    decom_free(d);
}

/* Sends the next step that is to do through the current manager, trying the
 * next managers when one is not connected; finishes when none is left. */
static void run_next(server_t *s, decom_t *d)
{
    for (; d->step < json_array_size(d->steps); d->step++) {
        json_t *st = json_array_get(d->steps, d->step);
        if (strcmp(json_string_value(json_object_get(st, "status")), "to do") != 0)
            continue;
        const char *kind = json_string_value(json_object_get(st, "kind"));
        while (d->manager < json_array_size(d->managers)) {
            const char *m = json_string_value(json_array_get(d->managers, d->manager));
            qr_err_t err = {{0}};
            if (server__command(s, m, kind, json_object_get(st, "args"), DECOM_CMD_TIMEOUT_MS,
                                on_result, d, &err) == 0) {
                d->via = m;
                d->step_ms = server__now_ms(s);
                log_info("event=decommission_step node=%s step=%s via=%s", d->node,
                         json_string_value(json_object_get(st, "step")), m);
                return;
            }
            log_warnx("event=decommission_via_failed via=%s reason=\"%s\"", m, err.msg);
            d->manager++;
        }
        json_object_set_new(st, "status", json_string("failed"));
        json_object_set_new(st, "detail",
                            json_string("no swarm manager's agent is connected to run it; "
                                        "start one and run the decommission again"));
        break;
    }
    finish(s, d, true);
}

static void on_result(server_t *s, void *ctx, const char *node, int code, const char *error,
                      json_t *result)
{
    decom_t *d = ctx;
    json_t *st = json_array_get(d->steps, d->step);
    const char *step = json_string_value(json_object_get(st, "step"));
    if (code == QR_EUNAVAIL && strstr(error ? error : "", "stopping")) {
        json_object_set_new(st, "status", json_string("failed"));
        json_object_set_new(st, "detail", json_string(error));
        finish(s, d, true);
        return;
    }
    if (code == QR_ETIMEOUT || code == QR_EUNAVAIL) {
        /* that manager's agent or its docker is unavailable: the step is
         * idempotent, try it through the next manager */
        log_warnx("event=decommission_step_retry node=%s step=%s via=%s reason=\"%s\"", d->node,
                  step, node, error ? error : "");
        json_object_set_new(st, "last_error", json_string(error ? error : qr_strerror(code)));
        d->manager++;
        run_next(s, d);
        return;
    }
    json_object_set_new(st, "elapsed_ms", json_integer(server__now_ms(s) - d->step_ms));
    json_object_set_new(st, "via", json_string(node));
    if (result)
        json_object_set(st, "result", result);
    if (code != 0) {
        bool not_down = strcmp(step, "remove") == 0 && error && strstr(error, "not down");
        json_object_set_new(st, "status", json_string(not_down ? "waiting" : "failed"));
        char detail[700];
        if (not_down)
            snprintf(detail, sizeof detail,
                     "docker says %s is not down yet (%s): shut the host down, wait until `docker "
                     "node ls` shows it Down, then run `quoratectl decommission %s --yes` again",
                     d->node, error, d->node);
        else
            snprintf(detail, sizeof detail,
                     "%s (through %s); fix it and run the decommission "
                     "again: done steps are skipped",
                     error ? error : qr_strerror(code), node);
        json_object_set_new(st, "detail", json_string(detail));
        log_warnx("event=decommission_step_failed node=%s step=%s via=%s reason=\"%s\"", d->node,
                  step, node, error ? error : qr_strerror(code));
        finish(s, d, true);
        return;
    }
    bool done = true;
    if (strcmp(step, "labels") == 0) {
        done = json_integer_value(json_object_get(result, "failed")) == 0;
        if (json_integer_value(json_object_get(result, "applied")) > 0)
            d->changed = true;
        d->labels_done = done;
    } else if (strcmp(step, "remove") == 0) {
        d->changed |= !json_is_true(json_object_get(result, "already"));
        if (json_is_true(json_object_get(result, "already")))
            json_object_set_new(st, "status", json_string("already done"));
    } else {
        bool changed = json_is_true(json_object_get(result, "changed"));
        d->changed |= changed;
        if (!changed)
            json_object_set_new(st, "status", json_string("already done"));
    }
    if (!done) {
        json_object_set_new(st, "status", json_string("failed"));
        json_object_set_new(st, "detail",
                            json_string("some label changes failed (see result); "
                                        "run the decommission again"));
        finish(s, d, true);
        return;
    }
    if (strcmp(json_string_value(json_object_get(st, "status")), "to do") == 0)
        json_object_set_new(st, "status", json_string("done"));
    d->step++;
    run_next(s, d);
}

void server__op_decommission(server_t *s, zmsg_t *to, const Quorate__OpRequest *req,
                             const char *key)
{
    (void)key;
    const char *node = req->n_args >= 1 ? req->args[0] : NULL;
    bool yes = req->n_args >= 2 && strcmp(req->args[1], "yes") == 0;
    if (!node || !node[0] || strlen(node) >= 64 || req->n_args > 2 || (req->n_args == 2 && !yes)) {
        server__op_reply(s, to, QR_EINVAL, "usage: decommission NODE [yes]", NULL);
        return;
    }
    if (server__decom_running(s)) {
        server__op_reply(s, to, QR_ECONFLICT, "a decommission is already running", NULL);
        return;
    }
    if (s->apply.to) {
        server__op_reply(s, to, QR_ECONFLICT, "an apply is running; try again when it is done",
                         NULL);
        return;
    }
    if (s->apply.done_ms && !server__reports_after_apply(s)) {
        /* planned now, labels just written would look missing */
        server__op_reply(s, to, QR_ESTALE,
                         "labels changed moments ago and not every agent has reported since; "
                         "run it again in a few seconds (one check interval)",
                         NULL);
        return;
    }
    decom_t *d = calloc(1, sizeof *d);
    if (!d) {
        server__op_reply(s, to, QR_ENOMEM, "out of memory", NULL);
        return;
    }
    snprintf(d->node, sizeof d->node, "%s", node);
    d->started_ms = server__now_ms(s);
    d->steps = json_array();
    d->prep = applyplan_prepare_remove(s->inv, s->applied, d->started_ms, node);
    char msg[1400];
    int rc = plan_steps(s, d, msg, sizeof msg);
    if (rc) {
        log_warnx("event=decommission_refused node=%s reason=\"%s\"", node, msg);
        server__op_reply(s, to, rc, msg, NULL);
        decom_free(d);
        return;
    }
    d->to = zmsg_dup(to);
    if (!yes) {
        finish(s, d, false);
        return;
    }
    log_info("event=decommission_start node=%s term=%llu", node,
             (unsigned long long)peers_term(s->peers));
    run_next(s, d);
}
