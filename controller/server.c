/* Controller I/O: sockets, dispatch, timers. The decisions live in the pure
 * modules (inventory, ...); this file only moves bytes and time. */
#include "server.h"

#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "alerting.h"
#include "applyplan.h"
#include "inventory.h"
#include "peers.h"
#include "portmatrix.h"
#include "keys.h"
#include "log.h"
#include "version.h"
#include "wire.h"
#include "zap.h"
#include "zuv.h"

struct server {
    uv_loop_t *loop;
    controller_conf_t *conf;
    zap_t *zap;
    zcert_t *cert;
    zcertstore_t *agent_store, *op_store;
    zsock_t *agents, *ops;
    zuv_t *agents_zuv, *ops_zuv;
    inventory_t *inv;
    zhashx_t *routes; /* node name -> routing id (zframe_t *) for pings */
    uv_timer_t tick_timer, ping_timer, wd_timer, probe_timer, probe_deadline;
    portmatrix_t *ports;
    uint64_t cmd_id, probe_first_id; /* command ids of the current probe round */
    zmsg_t *ports_waiting[16];       /* operators waiting for a fresh matrix */
    size_t n_ports_waiting;
    alerting_t *alerting;            /* NULL without alerts_config */
    peers_t *peers;                  /* the election among controllers */
    json_t *audit;                   /* audit records (replicated) */
    json_t *applied;                 /* last applied labels {node: labels} (replicated) */
    struct {
        zmsg_t *to;                  /* the operator waiting */
        json_t *prep;                /* applyplan_prepare() output */
        size_t manager;              /* index into prep.managers being tried */
        uint64_t cmd_id;
        int64_t deadline_ms;
        int64_t done_ms;             /* when the last apply finished */
        zmsg_t *waiting;             /* an apply waiting for reports newer than done_ms */
        bool waiting_dry;
        int64_t waiting_since;
    } apply;
    char *last_doc;                  /* the last document proposed (leader) */
    uv_timer_t alert_timer, notify_timer;
    struct {
        zmsg_t *to;
        char receiver[64];
        int64_t deadline_ms;
    } tests_waiting[8];              /* operators waiting for `alerts test` */
    size_t n_tests_waiting;
    uint64_t seq, bad_frames, unauthorised, started_ms;
    log_limit_t bad_lim, auth_lim;
    bool started;
};

static int64_t now_ms(server_t *s)
{
    return (int64_t)uv_now(s->loop);
}

/* --- helpers --------------------------------------------------------------- */

static void drop(server_t *s, const char *what, const char *peer, const char *reason)
{
    s->bad_frames++;
    if (log_limit_ok(&s->bad_lim, now_ms(s), 1000)) {
        log_warnx("event=dropped_message socket=%s peer=%s reason=\"%s\" total=%llu "
                  "suppressed=%lu",
                  what, peer ? peer : "-", reason, (unsigned long long)s->bad_frames,
                  s->bad_lim.suppressed);
        s->bad_lim.suppressed = 0;
    }
}

static void send_to(server_t *s, zuv_t *z, zframe_t *rid, bool req_delim, wire_env_t *env)
{
    uint8_t *buf;
    size_t len;
    if (wire_pack(env, (size_t)s->conf->max_frame, &buf, &len) != 0)
        return;
    zmsg_t *m = zmsg_new();
    zmsg_append(m, &(zframe_t *){zframe_dup(rid)});
    if (req_delim)
        zmsg_addmem(m, NULL, 0);
    zmsg_addmem(m, buf, len);
    free(buf);
    zuv_send(z, &m);
}

static void route_set(server_t *s, const char *name, zframe_t *rid)
{
    zframe_t *old = zhashx_lookup(s->routes, name);
    if (old && zframe_eq(old, rid))
        return;
    zhashx_update(s->routes, name, zframe_dup(rid));
}

static void route_free(void **item)
{
    zframe_t *f = *item;
    zframe_destroy(&f);
    *item = NULL;
}

/* --- agents ---------------------------------------------------------------- */

static void ports_reply_waiting(server_t *s);

static void apply_next(server_t *s, const char *why);
static void apply_finish(server_t *s, const Quorate__CommandResult *cr, const char *from);

static void on_command_result(server_t *s, const wire_env_t *env)
{
    const Quorate__CommandResult *cr = env->command_result;
    if (s->apply.to && cr->id == s->apply.cmd_id) {
        if (cr->code != 0) {
            char why[300];
            snprintf(why, sizeof why, "%s refused or failed: %s", env->sender, cr->error);
            apply_next(s, why);
        } else {
            apply_finish(s, cr, env->sender);
        }
        return;
    }
    if (cr->code != 0) {
        log_warnx("event=command_failed node=%s id=%llu code=%d error=\"%s\"", env->sender,
                  (unsigned long long)cr->id, cr->code, cr->error);
        return;
    }
    if (cr->id < s->probe_first_id || cr->id > s->cmd_id)
        return; /* an old round's answer */
    json_t *res = json_loads(cr->result_json, 0, NULL);
    const char *from = json_string_value(json_object_get(res, "from"));
    if (from && strcmp(from, env->sender) == 0 &&
        portmatrix_result(s->ports, portmatrix_round(s->ports), from,
                          json_object_get(res, "results"), now_ms(s)))
        ports_reply_waiting(s);
    json_decref(res);
}

static void on_pong(server_t *s, const wire_env_t *env)
{
    int64_t t1 = wire_now_us(), t0 = env->pong->controller_sent_at_us;
    if (t0 <= 0 || t1 < t0 || t1 - t0 > 10 * 1000000LL)
        return; /* not ours, or too late to say anything about the clock */
    double rtt_ms = (double)(t1 - t0) / 1000.0;
    double offset_ms = ((double)env->pong->agent_at_us - (double)(t0 + t1) / 2.0) / 1000.0;
    inventory_clock(s->inv, env->sender, offset_ms, rtt_ms);
}

static void ping_node(server_t *s, const char *name);

static void on_agent_msg(zuv_t *z, zmsg_t **msg_p, void *arg)
{
    server_t *s = arg;
    (void)z;
    zmsg_t *m = *msg_p;
    if (zmsg_size(m) != 2) {
        drop(s, "agents", NULL, "expected 2 frames");
        return;
    }
    zframe_t *rid = zmsg_first(m), *payload = zmsg_next(m);
    const char *key = s->conf->curve ? zframe_meta(payload, "User-Id") : "";
    qr_err_t err = {{0}};
    wire_env_t *env = NULL;
    if (wire_unpack(zframe_data(payload), zframe_size(payload), (size_t)s->conf->max_frame, &env,
                    &err) != 0) {
        drop(s, "agents", key, err.msg);
        return;
    }
    if (env->role != QUORATE__ROLE__ROLE_AGENT) {
        drop(s, "agents", key, "not an agent message");
        goto out;
    }
    if (s->conf->curve) {
        /* the certificate's name, when it has one, is the only name it may use */
        const char *cert_name = zap_peer_name(s->zap, "agents", key);
        if (cert_name && *cert_name && strcmp(cert_name, env->sender) != 0) {
            s->unauthorised++;
            if (log_limit_ok(&s->auth_lim, now_ms(s), 1000))
                log_warnx("event=impersonation key=%s cert_name=%s claimed=%s", key, cert_name,
                          env->sender);
            goto out;
        }
    }
    const char *dc = env->body_case == QUORATE__ENVELOPE__BODY_REPORT      ? env->report->dc
                     : env->body_case == QUORATE__ENVELOPE__BODY_HEARTBEAT ? env->heartbeat->dc
                                                                           : NULL;
    bool came_up = false;
    if (inventory_seen(s->inv, now_ms(s), env->sender, dc, key, &came_up, &err) != 0) {
        drop(s, "agents", key, err.msg);
        goto out;
    }
    route_set(s, env->sender, rid);
    inventory_term(s->inv, env->sender, env->term);
    if (came_up) {
        log_info("event=node_up node=%s dc=%s", env->sender, dc ? dc : "?");
        if (peers_is_leader(s->peers)) /* it may not know this leader's term yet */
            ping_node(s, env->sender);
    }
    switch (env->body_case) {
    case QUORATE__ENVELOPE__BODY_REPORT:
        if (strcmp(env->report->node, env->sender) != 0) {
            drop(s, "agents", key, "report for another node");
            break;
        }
        if (inventory_report(s->inv, now_ms(s), env->sender, env->report, &err) != 0)
            drop(s, "agents", key, err.msg);
        inventory_address(s->inv, env->sender, env->report->address,
                          zframe_meta(payload, "Peer-Address"));
        break;
    case QUORATE__ENVELOPE__BODY_PONG:
        on_pong(s, env);
        break;
    case QUORATE__ENVELOPE__BODY_COMMAND_RESULT:
        on_command_result(s, env);
        break;
    default:
        break;
    }
out:
    wire_free(&env);
}

/* --- operators ------------------------------------------------------------- */

static json_t *status_json(server_t *s)
{
    json_t *j = inventory_status_json(s->inv, now_ms(s));
    /* clock agreement: each node against the median offset of the up nodes */
    double offs[1024];
    size_t k = 0;
    for (size_t i = 0; i < inventory_count(s->inv) && k < 1024; i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        if (n->up && n->clock_known)
            offs[k++] = n->clock_offset_ms;
    }
    for (size_t i = 1; i < k; i++) /* insertion sort: k is small */
        for (size_t x = i; x > 0 && offs[x - 1] > offs[x]; x--) {
            double t = offs[x];
            offs[x] = offs[x - 1];
            offs[x - 1] = t;
        }
    double median = k ? (k % 2 ? offs[k / 2] : (offs[k / 2 - 1] + offs[k / 2]) / 2) : 0;
    size_t i;
    json_t *node;
    json_array_foreach(json_object_get(j, "nodes"), i, node) {
        json_t *clock = json_object_get(node, "clock");
        if (!clock)
            continue;
        double skew = json_real_value(json_object_get(clock, "offset_ms")) - median;
        const char *st = fabs(skew) >= s->conf->skew_fail_ms   ? "fail"
                         : fabs(skew) >= s->conf->skew_warn_ms ? "warn"
                                                               : "ok";
        json_object_set_new(clock, "skew_ms", json_real(skew));
        json_object_set_new(clock, "status", json_string(st));
    }
    json_object_set_new(
        j, "controller",
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I}}", "id", s->conf->id, "dc",
                  s->conf->dc, "version", QUORATE_VERSION, "role",
                  election_role_name(peers_is_leader(s->peers) ? ELECTION_LEADER
                                                               : ELECTION_FOLLOWER),
                  "term", (json_int_t)peers_term(s->peers),
                  "uptime_ms", (json_int_t)(now_ms(s) - (int64_t)s->started_ms), "down_after_ms",
                  (json_int_t)s->conf->down_after_ms, "security", "auth_rejected",
                  (json_int_t)zap_rejected(s->zap), "bad_frames", (json_int_t)s->bad_frames,
                  "impersonations", (json_int_t)s->unauthorised));
    json_object_set_new(j, "election", peers_status_json(s->peers));
    if (s->applied)
        json_object_set_new(j, "drift", applyplan_drift(s->inv, s->applied));
    /* a node with none of the managed labels is "unlabeled" until an apply */
    json_t *exp = inventory_export_json(s->inv);
    size_t xi;
    json_t *xn;
    json_array_foreach(json_object_get(exp, "nodes"), xi, xn) {
        json_t *lb = json_object_get(xn, "labels");
        bool unlabeled = !json_object_get(lb, "mongo.replica") && !json_object_get(lb, "worker") &&
                         !json_object_get(lb, "minio");
        json_t *sn = json_array_get(json_object_get(j, "nodes"), xi);
        if (sn) {
            json_object_set_new(sn, "unlabeled", json_boolean(unlabeled));
            json_object_set(sn, "labels", lb);
        }
    }
    json_decref(exp);
    json_object_set_new(j, "clock_thresholds_ms",
                        json_pack("{s:f, s:f}", "warn", s->conf->skew_warn_ms, "fail",
                                  s->conf->skew_fail_ms));
    return j;
}

static void on_probe_deadline(uv_timer_t *t)
{
    ports_reply_waiting(t->data);
}

/* The matrix plus the hosts this controller cannot probe because they are
 * down in its view (cut off from it): they must not vanish from the answer. */
static json_t *ports_json(server_t *s)
{
    json_t *m = portmatrix_json(s->ports, now_ms(s)), *down = json_array();
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
static void probe_round(server_t *s)
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
    portmatrix_begin(s->ports, round, now_ms(s), names, k);
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
        send_to(s, s->agents_zuv, zhashx_lookup(s->routes, names[i]), false, &env);
        free(text);
    }
    json_decref(targets);
    json_decref(ports);
    free(names);
    uv_timer_start(&s->probe_deadline, on_probe_deadline,
                   (uint64_t)s->conf->probe_timeout_ms + 1500, 0);
    if (k == 0)
        ports_reply_waiting(s);
}

static void op_reply(server_t *s, zmsg_t *req_frames, int code, const char *error, json_t *res);

static void ports_reply_waiting(server_t *s)
{
    if (s->n_ports_waiting == 0)
        return;
    json_t *m = ports_json(s);
    for (size_t i = 0; i < s->n_ports_waiting; i++) {
        op_reply(s, s->ports_waiting[i], 0, "", m);
        zmsg_destroy(&s->ports_waiting[i]);
    }
    s->n_ports_waiting = 0;
    json_decref(m);
}

/* The replicated state document: {"version":1,"nlog":[...],"audit":[...]}.
 * The leader proposes it when it changed; a new leader starts from it. */
static void propose_state(server_t *s)
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

static void load_state_doc(server_t *s)
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

static void on_ping_timer(uv_timer_t *t);

static void on_role(void *arg, election_role_t role, uint64_t term, uint32_t leader,
                    const char *reason)
{
    server_t *s = arg;
    (void)leader;
    (void)reason;
    if (role == ELECTION_LEADER) {
        /* tell the agents the new term at once (they fence on it) */
        if (s->started)
            on_ping_timer(&s->ping_timer);
        load_state_doc(s);
        free(s->last_doc);
        s->last_doc = NULL;
        log_info("event=leading term=%llu", (unsigned long long)term);
    }
}

static json_t *op_takeover(server_t *s, const Quorate__OpRequest *req, int *code, char *errbuf,
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
    json_array_append_new(s->audit, rec);
    while (json_array_size(s->audit) > 256) /* bounded: the document has a size limit */
        json_array_remove(s->audit, 0);
    log_warnx("event=takeover controller=%s old_term=%lld new_term=%lld reason=\"%s\"",
              s->conf->id, (long long)json_integer_value(json_object_get(info, "old_term")),
              (long long)json_integer_value(json_object_get(info, "new_term")), why);
    json_object_set_new(info, "controller", json_string(s->conf->id));
    return info;
}

static void op_reply(server_t *s, zmsg_t *to, int code, const char *error, json_t *result);
static void send_to(server_t *s, zuv_t *z, zframe_t *rid, bool req_delim, wire_env_t *env);

/* Sends the label changes to the next manager's agent, or gives up. */
static void apply_next(server_t *s, const char *why)
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
        send_to(s, s->agents_zuv, rid, false, &env);
        free(text);
        s->apply.deadline_ms = now_ms(s) + 30000;
        log_info("event=apply_sent via=%s term=%llu nodes=%zu", m,
                 (unsigned long long)peers_term(s->peers),
                 json_object_size(json_object_get(s->apply.prep, "changes")));
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "no swarm manager's agent could apply the labels%s%s",
             why ? ": last error: " : "", why ? why : "");
    op_reply(s, s->apply.to, QR_EUNAVAIL, msg, NULL);
    zmsg_destroy(&s->apply.to);
    json_decref(s->apply.prep);
    s->apply.prep = NULL;
}

static void apply_finish(server_t *s, const Quorate__CommandResult *cr, const char *from)
{
    json_t *res = json_loads(cr->result_json, 0, NULL);
    json_t *plan = json_object_get(s->apply.prep, "plan");
    json_t *out = json_pack("{s:O, s:O, s:s, s:O}", "plan", plan, "changes",
                            json_object_get(s->apply.prep, "changes"), "via", from, "result",
                            res ? res : json_null());
    bool all_ok = json_integer_value(json_object_get(res, "failed")) == 0;
    json_object_set_new(out, "applied", json_boolean(all_ok));
    s->apply.done_ms = now_ms(s);
    if (all_ok) {
        /* remember what was applied: drift is measured against it */
        json_decref(s->applied);
        s->applied = json_deep_copy(json_object_get(plan, "final_labels"));
        json_array_append_new(s->audit, json_pack("{s:s, s:I, s:s, s:O}", "event", "apply",
                                                  "at_ms", (json_int_t)(wire_now_us() / 1000),
                                                  "via", from, "changes",
                                                  json_object_get(s->apply.prep, "changes")));
        while (json_array_size(s->audit) > 256)
            json_array_remove(s->audit, 0);
    }
    log_info("event=apply_done via=%s applied=%lld failed=%lld", from,
             (long long)json_integer_value(json_object_get(res, "applied")),
             (long long)json_integer_value(json_object_get(res, "failed")));
    op_reply(s, s->apply.to, 0, "", out);
    json_decref(out);
    json_decref(res);
    zmsg_destroy(&s->apply.to);
    json_decref(s->apply.prep);
    s->apply.prep = NULL;
}

/* True when every up node reported after the last apply finished: only then
 * does the inventory show the labels that apply wrote. */
static bool reports_after_apply(server_t *s)
{
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        if (n->up && n->last_report_ms <= s->apply.done_ms)
            return false;
    }
    return true;
}

static void op_apply_run(server_t *s, zmsg_t *to, bool dry);

/* `apply` [dry-run]: plan from the live view; refuse or send the changes. */
static void op_apply(server_t *s, zmsg_t *to, const Quorate__OpRequest *req)
{
    bool dry = req->n_args >= 1 && strcmp(req->args[0], "dry-run") == 0;
    if (s->apply.done_ms && !reports_after_apply(s) && !s->apply.waiting && !s->apply.to) {
        /* planned now, the labels just written would look missing: wait for
         * the next reports (at most a few check intervals, see on_tick) */
        s->apply.waiting = zmsg_dup(to);
        s->apply.waiting_dry = dry;
        s->apply.waiting_since = now_ms(s);
        return;
    }
    op_apply_run(s, to, dry);
}

static void op_apply_run(server_t *s, zmsg_t *to, bool dry)
{
    if (s->apply.to) {
        op_reply(s, to, QR_ECONFLICT, "an apply is already running", NULL);
        return;
    }
    json_t *prep = applyplan_prepare(s->inv, s->applied, now_ms(s));
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
        op_reply(s, to, QR_EREFUSED, msg, NULL);
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
        op_reply(s, to, 0, "", out);
        json_decref(out);
        json_decref(prep);
        return;
    }
    s->apply.to = zmsg_dup(to);
    s->apply.prep = prep;
    s->apply.manager = 0;
    apply_next(s, NULL);
}

static json_t *op_dispatch(server_t *s, const Quorate__OpRequest *req, int *code, char *errbuf,
                           size_t errlen)
{
    *code = 0;
    const char *cmd = req->command ? req->command : "";
    if (strcmp(cmd, "ports") == 0)
        return ports_json(s);
    if (strcmp(cmd, "takeover") == 0)
        return op_takeover(s, req, code, errbuf, errlen);
    if (strcmp(cmd, "alerts") == 0) {
        if (!s->alerting) {
            *code = QR_EUNAVAIL;
            snprintf(errbuf, errlen, "alerting is not configured on this controller "
                                     "(alerts_config)");
            return NULL;
        }
        return alerting_json(s->alerting, wire_now_us() / 1000);
    }
    if (strcmp(cmd, "status") == 0)
        return status_json(s);
    if (strcmp(cmd, "inventory") == 0)
        return inventory_export_json(s->inv);
    if (strcmp(cmd, "checks") == 0) {
        if (req->n_args != 1) {
            *code = QR_EINVAL;
            snprintf(errbuf, errlen, "checks needs exactly one node name");
            return NULL;
        }
        json_t *j = inventory_node_json(s->inv, req->args[0], now_ms(s));
        if (!j) {
            *code = QR_ENOTFOUND;
            snprintf(errbuf, errlen, "no node named '%s' has reported", req->args[0]);
        }
        return j;
    }
    *code = QR_EINVAL;
    snprintf(errbuf, errlen, "unknown command '%s'", cmd);
    return NULL;
}

static void on_op_msg(zuv_t *z, zmsg_t **msg_p, void *arg)
{
    server_t *s = arg;
    zmsg_t *m = *msg_p;
    /* REQ clients: [rid][empty][payload]; DEALER clients: [rid][payload] */
    size_t nf = zmsg_size(m);
    zframe_t *rid = zmsg_first(m), *second = zmsg_next(m);
    bool req = nf == 3 && zframe_size(second) == 0;
    zframe_t *payload = req ? zmsg_next(m) : second;
    if (!(nf == 2 || req) || !payload) {
        drop(s, "operators", NULL, "bad framing");
        return;
    }
    const char *key = s->conf->curve ? zframe_meta(payload, "User-Id") : "";
    qr_err_t err = {{0}};
    wire_env_t *env = NULL;
    if (wire_unpack(zframe_data(payload), zframe_size(payload), (size_t)s->conf->max_frame, &env,
                    &err) != 0) {
        drop(s, "operators", key, err.msg);
        return;
    }
    if (env->role != QUORATE__ROLE__ROLE_OPERATOR ||
        env->body_case != QUORATE__ENVELOPE__BODY_OP_REQUEST) {
        drop(s, "operators", key, "not an operator request");
        wire_free(&env);
        return;
    }
    static const char *leader_only[] = {"ports", "alerts", "alerts_test", "apply"};
    for (size_t i = 0; i < sizeof leader_only / sizeof leader_only[0]; i++) {
        if (strcmp(env->op_request->command, leader_only[i]) != 0 || peers_is_leader(s->peers))
            continue;
        /* a follower sends the operator to the leader (quoratectl follows) */
        zmsg_t *to = zmsg_new();
        zmsg_append(to, &(zframe_t *){zframe_dup(rid)});
        if (req)
            zmsg_addmem(to, NULL, 0);
        const char *ln = peers_leader_name(s->peers), *le = peers_leader_operators(s->peers);
        const char *lk = NULL;
        for (size_t k = 0; k < s->conf->n_peers; k++)
            if (ln && strcmp(s->conf->peers[k].name, ln) == 0)
                lk = s->conf->peers[k].public_key;
        char msg[256];
        snprintf(msg, sizeof msg, "this controller is not the leader%s%s", ln ? "; the leader is " : " and no leader is known",
                 ln ? ln : "");
        json_t *redir = le ? json_pack("{s:{s:s, s:s?, s:s}}", "redirect", "endpoint", le,
                                       "public_key", lk, "leader", ln)
                           : NULL;
        op_reply(s, to, QR_EUNAVAIL, msg, redir);
        json_decref(redir);
        zmsg_destroy(&to);
        log_info("event=operator_redirect operator=%s command=%s leader=%s", env->sender,
                 env->op_request->command, ln ? ln : "unknown");
        wire_free(&env);
        return;
    }
    if (strcmp(env->op_request->command, "ports") == 0 && env->op_request->n_args == 1 &&
        strcmp(env->op_request->args[0], "refresh") == 0 && s->n_ports_waiting < 16) {
        /* answer when the new round is complete (or its deadline passes) */
        log_info("event=operator_request operator=%s command=ports refresh=1", env->sender);
        zmsg_t *keep = zmsg_new();
        zmsg_append(keep, &(zframe_t *){zframe_dup(rid)});
        if (req)
            zmsg_addmem(keep, NULL, 0);
        s->ports_waiting[s->n_ports_waiting++] = keep;
        if (s->n_ports_waiting == 1)
            probe_round(s);
        wire_free(&env);
        return;
    }
    if (strcmp(env->op_request->command, "apply") == 0) {
        zmsg_t *to = zmsg_new();
        zmsg_append(to, &(zframe_t *){zframe_dup(rid)});
        if (req)
            zmsg_addmem(to, NULL, 0);
        log_info("event=operator_request operator=%s command=apply args=%zu", env->sender,
                 env->op_request->n_args);
        op_apply(s, to, env->op_request);
        zmsg_destroy(&to);
        wire_free(&env);
        return;
    }
    if (strcmp(env->op_request->command, "alerts_test") == 0 && env->op_request->n_args == 1 &&
        s->alerting && s->n_tests_waiting < 8) {
        zmsg_t *keep = zmsg_new();
        zmsg_append(keep, &(zframe_t *){zframe_dup(rid)});
        if (req)
            zmsg_addmem(keep, NULL, 0);
        int rc = alerting_test(s->alerting, env->op_request->args[0], wire_now_us() / 1000);
        log_info("event=operator_request operator=%s command=alerts_test receiver=%s code=%d",
                 env->sender, env->op_request->args[0], rc);
        if (rc != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "no receiver named '%s'", env->op_request->args[0]);
            op_reply(s, keep, rc, msg, NULL);
            zmsg_destroy(&keep);
        } else {
            size_t k = s->n_tests_waiting++;
            s->tests_waiting[k].to = keep;
            snprintf(s->tests_waiting[k].receiver, sizeof s->tests_waiting[k].receiver, "%s",
                     env->op_request->args[0]);
            s->tests_waiting[k].deadline_ms = now_ms(s) + 60000;
        }
        wire_free(&env);
        return;
    }
    int code;
    char errbuf[256] = "";
    json_t *result = op_dispatch(s, env->op_request, &code, errbuf, sizeof errbuf);
    log_info("event=operator_request operator=%s command=%s code=%d", env->sender,
             env->op_request->command, code);
    zmsg_t *to = zmsg_new();
    zmsg_append(to, &(zframe_t *){zframe_dup(rid)});
    if (req)
        zmsg_addmem(to, NULL, 0);
    op_reply(s, to, code, errbuf, result);
    zmsg_destroy(&to);
    json_decref(result);
    wire_free(&env);
    (void)z;
}

/* Replies to an operator; `to` holds the routing frames (copied). */
static void op_reply(server_t *s, zmsg_t *to, int code, const char *error, json_t *result)
{
    char *text = result ? json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    Quorate__OpReply rep = QUORATE__OP_REPLY__INIT;
    rep.code = code;
    rep.error = (char *)error;
    rep.result_json = text ? text : (char *)"";
    wire_env_t out;
    wire_env_init(&out, QUORATE__ROLE__ROLE_CONTROLLER, s->conf->id, peers_term(s->peers),
                  ++s->seq, wire_now_us());
    out.body_case = QUORATE__ENVELOPE__BODY_OP_REPLY;
    out.op_reply = &rep;
    uint8_t *buf;
    size_t len;
    if (wire_pack(&out, (size_t)s->conf->max_frame, &buf, &len) == 0) {
        zmsg_t *m = zmsg_dup(to);
        zmsg_addmem(m, buf, len);
        free(buf);
        zuv_send(s->ops_zuv, &m);
    }
    free(text);
}

/* --- timers ---------------------------------------------------------------- */

static void on_node_down(const inv_node_t *n, void *arg)
{
    server_t *s = arg;
    log_warnx("event=node_down node=%s dc=%s silent_ms=%lld", n->name, n->dc,
              (long long)(now_ms(s) - n->last_seen_ms));
}

static void on_tick(uv_timer_t *t)
{
    server_t *s = t->data;
    inventory_tick(s->inv, now_ms(s), on_node_down, s);
    if (s->apply.to && now_ms(s) > s->apply.deadline_ms)
        apply_next(s, "no answer within 30 s");
    if (s->apply.waiting && (reports_after_apply(s) || now_ms(s) - s->apply.waiting_since > 20000)) {
        zmsg_t *w = s->apply.waiting;
        s->apply.waiting = NULL;
        op_apply_run(s, w, s->apply.waiting_dry);
        zmsg_destroy(&w);
    }
    propose_state(s);
}

/* A clock probe to one agent; it also carries the term (agents fence on it). */
static void ping_node(server_t *s, const char *name)
{
    zframe_t *rid = zhashx_lookup(s->routes, name);
    if (!rid)
        return;
    Quorate__Ping ping = QUORATE__PING__INIT;
    ping.controller_sent_at_us = wire_now_us();
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, s->conf->id, peers_term(s->peers),
                  ++s->seq, ping.controller_sent_at_us);
    env.body_case = QUORATE__ENVELOPE__BODY_PING;
    env.ping = &ping;
    send_to(s, s->agents_zuv, rid, false, &env);
}

static void on_ping_timer(uv_timer_t *t)
{
    server_t *s = t->data;
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        if (n->up)
            ping_node(s, n->name);
    }
}

static void on_probe_timer(uv_timer_t *t)
{
    server_t *s = t->data;
    if (s->n_ports_waiting == 0 && peers_is_leader(s->peers)) /* only the leader commands */
        probe_round(s);
}

static void on_alert_timer(uv_timer_t *t)
{
    server_t *s = t->data;
    if (!peers_is_leader(s->peers))
        return; /* followers keep the view; the leader alerts */
    json_t *st = status_json(s);
    json_t *pm = portmatrix_json(s->ports, now_ms(s));
    /* placement from the plan of the live view (cheap: ~1 ms for 1000 nodes) */
    json_t *prep = applyplan_prepare(s->inv, s->applied, now_ms(s));
    json_t *mdc = json_object_get(json_object_get(prep, "plan"), "majority_dc");
    alerting_set_cluster(s->alerting, json_string_value(mdc),
                         json_is_true(json_object_get(json_object_get(st, "election"), "override")));
    json_decref(prep);
    alerting_step(s->alerting, s->inv, st, pm, now_ms(s), wire_now_us() / 1000);
    json_decref(st);
    json_decref(pm);
}

/* Drives deliveries and answers operators waiting for a test result. */
static void on_notify_timer(uv_timer_t *t)
{
    server_t *s = t->data;
    if (alerting_busy(s->alerting))
        alerting_perform(s->alerting, wire_now_us() / 1000);
    for (size_t i = 0; i < s->n_tests_waiting;) {
        json_t *r = alerting_test_result(s->alerting, s->tests_waiting[i].receiver);
        bool late = now_ms(s) > s->tests_waiting[i].deadline_ms;
        if (!r && !late) {
            i++;
            continue;
        }
        op_reply(s, s->tests_waiting[i].to, r ? 0 : QR_ETIMEOUT,
                 r ? "" : "no final outcome within 60 s (still retrying)", r);
        json_decref(r);
        zmsg_destroy(&s->tests_waiting[i].to);
        s->tests_waiting[i] = s->tests_waiting[--s->n_tests_waiting];
    }
}

static void on_wd(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

/* --- life cycle ------------------------------------------------------------ */

int server_new(uv_loop_t *loop, controller_conf_t *conf, server_t **out, qr_err_t *err)
{
    server_t *s = calloc(1, sizeof *s);
    if (!s) {
        controller_conf_destroy(&conf);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    s->loop = loop;
    s->conf = conf;
    s->inv = inventory_new(conf->down_after_ms, (size_t)conf->max_nodes);
    s->routes = zhashx_new();
    s->ports = portmatrix_new();
    if (!s->inv || !s->routes || !s->ports) {
        server_destroy(&s);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    zhashx_set_destructor(s->routes, route_free);
    int rc = 0;
    if (conf->alerts_config && (rc = alerting_new(conf->alerts_config, &s->alerting, err)) != 0) {
        server_destroy(&s);
        return rc;
    }
    if (conf->curve) {
        if ((rc = keys_load_secret(conf->cert, &s->cert, err)) != 0 ||
            (rc = keys_load_store(conf->agent_keys, &s->agent_store, err)) != 0 ||
            (rc = keys_load_store(conf->operator_keys, &s->op_store, err)) != 0) {
            server_destroy(&s);
            return rc;
        }
    }
    s->audit = json_array();
    if ((rc = peers_new(loop, conf, s->cert, on_role, s, &s->peers, err)) != 0) {
        server_destroy(&s);
        return rc;
    }
    *out = s;
    return 0;
}

static int bind_server(server_t *s, zsock_t **sock, const char *endpoint, const char *domain,
                       qr_err_t *err)
{
    *sock = zsock_new(ZMQ_ROUTER);
    if (!*sock)
        return qr_err_set(err, QR_EIO, "cannot create a socket");
    zuv_sockopts(*sock, (size_t)s->conf->max_frame, 10000);
    if (s->conf->curve) {
        zsock_set_zap_domain(*sock, domain);
        zcert_apply(s->cert, *sock);
        zsock_set_curve_server(*sock, 1);
    }
    if (zsock_bind(*sock, "%s", endpoint) < 0)
        return qr_err_set(err, QR_EIO, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
    return 0;
}

int server_start(server_t *s, qr_err_t *err)
{
    int rc;
    zsys_handler_set(NULL);
    if (s->conf->curve) {
        if ((rc = zap_new(s->loop, &s->zap, err)) != 0)
            return rc;
        zap_allow(s->zap, "agents", s->agent_store);
        zap_allow(s->zap, "operators", s->op_store);
    }
    if ((rc = bind_server(s, &s->agents, s->conf->agents_endpoint, "agents", err)) != 0 ||
        (rc = bind_server(s, &s->ops, s->conf->operators_endpoint, "operators", err)) != 0)
        return rc;
    if ((rc = peers_start(s->peers, s->zap, err)) != 0)
        return rc;
    s->agents_zuv = zuv_new(s->loop, s->agents, on_agent_msg, s);
    s->ops_zuv = zuv_new(s->loop, s->ops, on_op_msg, s);
    uv_timer_init(s->loop, &s->tick_timer);
    uv_timer_init(s->loop, &s->ping_timer);
    uv_timer_init(s->loop, &s->wd_timer);
    uv_timer_init(s->loop, &s->probe_timer);
    uv_timer_init(s->loop, &s->probe_deadline);
    s->tick_timer.data = s->ping_timer.data = s->wd_timer.data = s;
    s->probe_timer.data = s->probe_deadline.data = s;
    uv_timer_start(&s->probe_timer, on_probe_timer, (uint64_t)s->conf->probe_interval_ms,
                   (uint64_t)s->conf->probe_interval_ms);
    uv_timer_init(s->loop, &s->alert_timer);
    uv_timer_init(s->loop, &s->notify_timer);
    s->alert_timer.data = s->notify_timer.data = s;
    if (s->alerting) {
        uv_timer_start(&s->alert_timer, on_alert_timer, 1000, 1000);
        uv_timer_start(&s->notify_timer, on_notify_timer, 100, 100);
    }
    uv_timer_start(&s->tick_timer, on_tick, (uint64_t)s->conf->tick_ms,
                   (uint64_t)s->conf->tick_ms);
    uv_timer_start(&s->ping_timer, on_ping_timer, (uint64_t)s->conf->ping_interval_ms,
                   (uint64_t)s->conf->ping_interval_ms);
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
        uv_timer_start(&s->wd_timer, on_wd, 0, wd_usec / 2000);
    s->started_ms = uv_now(s->loop);
    s->started = true;
    sd_notify(0, "READY=1");
    log_info("event=started id=%s dc=%s agents=%s operators=%s curve=%s version=%s", s->conf->id,
             s->conf->dc, s->conf->agents_endpoint, s->conf->operators_endpoint,
             s->conf->curve ? "on" : "off", QUORATE_VERSION);
    return 0;
}

void server_stop(server_t *s)
{
    if (!s->started)
        return;
    s->started = false;
    sd_notify(0, "STOPPING=1");
    uv_close((uv_handle_t *)&s->tick_timer, NULL);
    uv_close((uv_handle_t *)&s->ping_timer, NULL);
    uv_close((uv_handle_t *)&s->wd_timer, NULL);
    uv_close((uv_handle_t *)&s->probe_timer, NULL);
    uv_close((uv_handle_t *)&s->probe_deadline, NULL);
    uv_close((uv_handle_t *)&s->alert_timer, NULL);
    uv_close((uv_handle_t *)&s->notify_timer, NULL);
    for (size_t i = 0; i < s->n_tests_waiting; i++)
        zmsg_destroy(&s->tests_waiting[i].to);
    s->n_tests_waiting = 0;
    for (size_t i = 0; i < s->n_ports_waiting; i++)
        zmsg_destroy(&s->ports_waiting[i]);
    s->n_ports_waiting = 0;
    zuv_destroy(&s->agents_zuv);
    zuv_destroy(&s->ops_zuv);
    peers_stop(s->peers);
    zap_destroy(&s->zap);
}

bool server_handover(server_t *s)
{
    return peers_handover(s->peers);
}

void server_destroy(server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    server_t *s = *self_p;
    zuv_destroy(&s->agents_zuv);
    zuv_destroy(&s->ops_zuv);
    zap_destroy(&s->zap);
    zsock_destroy(&s->agents);
    zsock_destroy(&s->ops);
    zhashx_destroy(&s->routes);
    inventory_destroy(&s->inv);
    portmatrix_destroy(&s->ports);
    alerting_destroy(&s->alerting);
    peers_destroy(&s->peers);
    json_decref(s->audit);
    json_decref(s->applied);
    zmsg_destroy(&s->apply.to);
    zmsg_destroy(&s->apply.waiting);
    json_decref(s->apply.prep);
    free(s->last_doc);
    zcert_destroy(&s->cert);
    zcertstore_destroy(&s->agent_store);
    zcertstore_destroy(&s->op_store);
    controller_conf_destroy(&s->conf);
    free(s);
    *self_p = NULL;
}
