/* The controller's operator requests that span several steps: reachability
 * rounds, label applies (through a manager's agent, fenced by term), the
 * takeover, and the replicated state document. */
#include <stdlib.h>
#include <string.h>

#include "applyplan.h"
#include "server_int.h"

void server__on_probe_deadline(uv_timer_t *t)
{
    server__ports_reply_waiting(t->data);
}

/* The matrix plus the hosts this controller cannot probe because they are
 * down in its view (cut off from it): they must not vanish from the answer. */
json_t *server__ports_json(server_t *s)
{
    json_t *m = portmatrix_json(s->ports, server__now_ms(s)), *down = json_array();
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        if (!n->up)
            json_array_append_new(down, json_string(n->name));
    }
    json_object_set_new(m, "down", down);
    return m;
}

/* Starts a reachability round: every up agent connects to every other up
 * agent's required ports. */
void server__probe_round(server_t *s)
{
    size_t n = inventory_count(s->inv), k = 0;
    const char **names = calloc(n ? n : 1, sizeof *names);
    json_t *targets = json_array(), *ports = json_array();
    for (size_t i = 0; i < s->conf->n_probe_ports; i++)
        json_array_append_new(ports, json_integer(s->conf->probe_ports[i]));
    for (size_t i = 0; i < n; i++) {
        const inv_node_t *nd = inventory_at(s->inv, i);
        if (!nd->up || !nd->address[0] || !zhashx_lookup(s->routes, nd->name))
            continue;
        names[k++] = nd->name;
        json_array_append_new(targets,
                              json_pack("{s:s, s:s}", "node", nd->name, "address", nd->address));
    }
    uint64_t round = portmatrix_round(s->ports) + 1;
    portmatrix_begin(s->ports, round, server__now_ms(s), names, k);
    s->probe_first_id = s->cmd_id + 1;
    for (size_t i = 0; i < k; i++) {
        /* each agent probes the others, not itself */
        json_t *others = json_array();
        size_t t;
        json_t *v;
        json_array_foreach(targets, t, v) {
            if (strcmp(json_string_value(json_object_get(v, "node")), names[i]) != 0)
                json_array_append(others, v);
        }
        json_t *args = json_pack("{s:o, s:O, s:i}", "targets", others, "tcp_ports", ports,
                                 "timeout_ms", s->conf->probe_timeout_ms);
        char *text = json_dumps(args, JSON_COMPACT);
        json_decref(args);
        Quorate__Command cmd = QUORATE__COMMAND__INIT;
        cmd.id = ++s->cmd_id;
        cmd.kind = (char *)"probe_ports";
        cmd.args_json = text;
        wire_env_t env;
        wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, s->conf->id, peers_term(s->peers),
                      ++s->seq, wire_now_us());
        env.body_case = QUORATE__ENVELOPE__BODY_COMMAND;
        env.command = &cmd;
        server__send_to(s, s->agents_zuv, zhashx_lookup(s->routes, names[i]), false, &env);
        free(text);
    }
    json_decref(targets);
    json_decref(ports);
    free(names);
    uv_timer_start(&s->probe_deadline, server__on_probe_deadline,
                   (uint64_t)s->conf->probe_timeout_ms + 1500, 0);
    if (k == 0)
        server__ports_reply_waiting(s);
}

void server__ports_reply_waiting(server_t *s)
{
    if (s->n_ports_waiting == 0)
        return;
    json_t *m = server__ports_json(s);
    for (size_t i = 0; i < s->n_ports_waiting; i++) {
        server__op_reply(s, s->ports_waiting[i], 0, "", m);
        zmsg_destroy(&s->ports_waiting[i]);
    }
    s->n_ports_waiting = 0;
    json_decref(m);
}

/* The replicated state document: {"version":1,"nlog":[...],"audit":[...]}.
 * The leader proposes it when it changed; a new leader starts from it. */
void server__propose_state(server_t *s)
{
    if (!peers_is_leader(s->peers))
        return;
    json_t *doc = json_pack("{s:i, s:O}", "version", 1, "audit", s->audit);
    if (s->applied)
        json_object_set(doc, "applied", s->applied);
    if (s->alerting)
        json_object_set_new(doc, "nlog", alerting_nlog_json(s->alerting));
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (!text)
        return;
    if (s->last_doc && strcmp(s->last_doc, text) == 0) {
        free(text);
        return;
    }
    int rc = peers_propose(s->peers, (const uint8_t *)text, strlen(text));
    if (rc != 0) {
        log_warnx("event=state_propose_failed bytes=%zu reason=\"%s\"", strlen(text),
                  qr_strerror(rc));
        free(text);
        return;
    }
    free(s->last_doc);
    s->last_doc = text;
}

void server__load_state_doc(server_t *s)
{
    const uint8_t *doc;
    size_t len;
    peers_doc(s->peers, &doc, &len);
    if (!doc || !len)
        return;
    json_t *j = json_loadb((const char *)doc, len, 0, NULL);
    if (!json_is_object(j)) {
        log_warnx("event=state_doc_unreadable bytes=%zu", len);
        json_decref(j);
        return;
    }
    if (json_is_object(json_object_get(j, "applied"))) {
        json_decref(s->applied);
        s->applied = json_incref(json_object_get(j, "applied"));
    }
    json_t *audit = json_object_get(j, "audit");
    if (json_is_array(audit)) {
        json_decref(s->audit);
        s->audit = json_incref(audit);
    }
    qr_err_t err = {{0}};
    if (s->alerting && json_object_get(j, "nlog") &&
        alerting_nlog_load(s->alerting, json_object_get(j, "nlog"), &err) != 0)
        log_warnx("event=nlog_load_failed reason=\"%s\"", err.msg);
    log_info("event=state_doc_loaded bytes=%zu audit_records=%zu", len, json_array_size(s->audit));
    json_decref(j);
}

json_t *server__op_takeover(server_t *s, const Quorate__OpRequest *req, int *code, char *errbuf,
                           size_t errlen)
{
    bool force = false;
    const char *why = "";
    for (size_t i = 0; i < req->n_args; i++) {
        if (strcmp(req->args[i], "force") == 0)
            force = true;
        else if (strncmp(req->args[i], "reason=", 7) == 0)
            why = req->args[i] + 7;
    }
    if (!force) {
        *code = QR_EREFUSED;
        snprintf(errbuf, errlen, "takeover needs --force: it makes this controller lead alone");
        return NULL;
    }
    json_t *info = NULL;
    qr_err_t err = {{0}};
    int rc = peers_takeover(s->peers, &info, &err);
    if (rc != 0) {
        *code = rc;
        snprintf(errbuf, errlen, "%s", err.msg);
        return NULL;
    }
    json_t *rec = json_pack("{s:s, s:I, s:s, s:s, s:O}", "event", "takeover", "at_ms",
                            (json_int_t)(wire_now_us() / 1000), "controller", s->conf->id,
                            "reason", why, "info", info);
    server__audit(s, rec);
    log_warnx("event=takeover controller=%s old_term=%lld new_term=%lld reason=\"%s\"",
              s->conf->id, (long long)json_integer_value(json_object_get(info, "old_term")),
              (long long)json_integer_value(json_object_get(info, "new_term")), why);
    json_object_set_new(info, "controller", json_string(s->conf->id));
    return info;
}

/* Sends the label changes to the next manager's agent, or gives up. */
void server__apply_next(server_t *s, const char *why)
{
    json_t *managers = json_object_get(s->apply.prep, "managers");
    if (why)
        log_warnx("event=apply_attempt_failed reason=\"%s\"", why);
    while (s->apply.manager < json_array_size(managers)) {
        const char *m = json_string_value(json_array_get(managers, s->apply.manager++));
        zframe_t *rid = zhashx_lookup(s->routes, m);
        const inv_node_t *n = inventory_find(s->inv, m);
        if (!rid || !n || !n->up)
            continue;
        json_t *args = json_pack("{s:O}", "changes", json_object_get(s->apply.prep, "changes"));
        char *text = json_dumps(args, JSON_COMPACT);
        json_decref(args);
        Quorate__Command cmd = QUORATE__COMMAND__INIT;
        cmd.id = s->apply.cmd_id = ++s->cmd_id;
        cmd.kind = (char *)"apply_labels";
        cmd.args_json = text;
        wire_env_t env;
        wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, s->conf->id, peers_term(s->peers),
                      ++s->seq, wire_now_us());
        env.body_case = QUORATE__ENVELOPE__BODY_COMMAND;
        env.command = &cmd;
        server__send_to(s, s->agents_zuv, rid, false, &env);
        free(text);
        s->apply.deadline_ms = server__now_ms(s) + 30000;
        log_info("event=apply_sent via=%s term=%llu nodes=%zu", m,
                 (unsigned long long)peers_term(s->peers),
                 json_object_size(json_object_get(s->apply.prep, "changes")));
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "no swarm manager's agent could apply the labels%s%s",
             why ? ": last error: " : "", why ? why : "");
    server__op_reply(s, s->apply.to, QR_EUNAVAIL, msg, NULL);
    zmsg_destroy(&s->apply.to);
    json_decref(s->apply.prep);
    s->apply.prep = NULL;
}

void server__apply_finish(server_t *s, const Quorate__CommandResult *cr, const char *from)
{
    json_t *res = json_loads(cr->result_json, 0, NULL);
    json_t *plan = json_object_get(s->apply.prep, "plan");
    json_t *out = json_pack("{s:O, s:O, s:s, s:O}", "plan", plan, "changes",
                            json_object_get(s->apply.prep, "changes"), "via", from, "result",
                            res ? res : json_null());
    bool all_ok = json_integer_value(json_object_get(res, "failed")) == 0;
    json_object_set_new(out, "applied", json_boolean(all_ok));
    s->apply.done_ms = server__now_ms(s);
    if (all_ok) {
        /* remember what was applied: drift is measured against it */
        json_decref(s->applied);
        s->applied = json_deep_copy(json_object_get(plan, "final_labels"));
        server__audit(s, json_pack("{s:s, s:I, s:s, s:O}", "event", "apply", "at_ms",
                                   (json_int_t)(wire_now_us() / 1000), "via", from, "changes",
                                   json_object_get(s->apply.prep, "changes")));
    }
    log_info("event=apply_done via=%s applied=%lld failed=%lld", from,
             (long long)json_integer_value(json_object_get(res, "applied")),
             (long long)json_integer_value(json_object_get(res, "failed")));
    server__op_reply(s, s->apply.to, 0, "", out);
    json_decref(out);
    json_decref(res);
    zmsg_destroy(&s->apply.to);
    json_decref(s->apply.prep);
    s->apply.prep = NULL;
}

/* True when every up node reported after the last apply finished: only then
 * does the inventory show the labels that apply wrote. */
bool server__reports_after_apply(server_t *s)
{
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        if (n->up && n->last_report_ms <= s->apply.done_ms)
            return false;
    }
    return true;
}

/* Appends rec (stolen) to the replicated audit log, bounded (the state
 * document has a size limit), and proposes the document at once. */
void server__audit(server_t *s, json_t *rec)
{
    if (!rec)
        return;
    json_array_append_new(s->audit, rec);
    while (json_array_size(s->audit) > 256)
        json_array_remove(s->audit, 0);
    server__propose_state(s);
}

/* `apply` [dry-run]: plan from the live view; refuse or send the changes. */
void server__op_apply(server_t *s, zmsg_t *to, const Quorate__OpRequest *req)
{
    bool dry = req->n_args >= 1 && strcmp(req->args[0], "dry-run") == 0;
    if (s->apply.done_ms && !server__reports_after_apply(s) && !s->apply.waiting && !s->apply.to) {
        /* planned now, the labels just written would look missing: wait for
         * the next reports (at most a few check intervals, see on_tick) */
        s->apply.waiting = zmsg_dup(to);
        s->apply.waiting_dry = dry;
        s->apply.waiting_since = server__now_ms(s);
        return;
    }
    server__op_apply_run(s, to, dry);
}

void server__op_apply_run(server_t *s, zmsg_t *to, bool dry)
{
    if (s->apply.to) {
        server__op_reply(s, to, QR_ECONFLICT, "an apply is already running", NULL);
        return;
    }
    if (server__decom_running(s)) {
        server__op_reply(s, to, QR_ECONFLICT,
                         "a decommission is running; apply again when it is done", NULL);
        return;
    }
    json_t *prep = applyplan_prepare(s->inv, s->applied, server__now_ms(s));
    if (!json_is_true(json_object_get(prep, "ok"))) {
        char msg[1024];
        int n = snprintf(msg, sizeof msg, "refused:");
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(prep, "refused"), i, r) {
            if (n < (int)sizeof msg)
                n += snprintf(msg + n, sizeof msg - (size_t)n, " %s;", json_string_value(r));
        }
        const char *hint = json_string_value(json_object_get(prep, "hint"));
        if (hint && n < (int)sizeof msg)
            snprintf(msg + n, sizeof msg - (size_t)n, " next step: %s", hint);
        server__op_reply(s, to, QR_EREFUSED, msg, NULL);
        json_decref(prep);
        return;
    }
    if (dry || json_object_size(json_object_get(prep, "changes")) == 0) {
        json_t *out = json_pack("{s:O, s:O, s:b, s:b}", "plan", json_object_get(prep, "plan"),
                                "changes", json_object_get(prep, "changes"), "applied", 0,
                                "dry_run", dry);
        if (!dry) { /* nothing to change: the cluster matches the plan */
            json_decref(s->applied);
            s->applied = json_deep_copy(json_object_get(json_object_get(prep, "plan"),
                                                        "final_labels"));
        }
        server__op_reply(s, to, 0, "", out);
        json_decref(out);
        json_decref(prep);
        return;
    }
    s->apply.to = zmsg_dup(to);
    s->apply.prep = prep;
    s->apply.manager = 0;
    server__apply_next(s, NULL);
}
