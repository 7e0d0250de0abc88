/* Controller I/O: sockets, dispatch, timers. The decisions live in the pure
 * modules (inventory, ...); this file only moves bytes and time. */
#include "server.h"
#include "server_int.h"

#include <czmq.h>
#include <errno.h>
#include <malloc.h>
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


int64_t server__now_ms(server_t *s)
{
    return (int64_t)uv_now(s->loop);
}

/* --- helpers --------------------------------------------------------------- */

static void drop(server_t *s, const char *what, const char *peer, const char *reason)
{
    s->bad_frames++;
    if (log_limit_ok(&s->bad_lim, server__now_ms(s), 1000)) {
        log_warnx("event=dropped_message socket=%s peer=%s reason=\"%s\" total=%llu "
                  "suppressed=%lu",
                  what, peer ? peer : "-", reason, (unsigned long long)s->bad_frames,
                  s->bad_lim.suppressed);
        s->bad_lim.suppressed = 0;
    }
}

void server__send_to(server_t *s, zuv_t *z, zframe_t *rid, bool req_delim, wire_env_t *env)
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



static void on_command_result(server_t *s, const wire_env_t *env)
{
    const Quorate__CommandResult *cr = env->command_result;
    if (server__command_result(s, env->sender, cr))
        return;
    if (s->apply.to && cr->id == s->apply.cmd_id) {
        if (cr->code != 0) {
            char why[300];
            snprintf(why, sizeof why, "%s refused or failed: %s", env->sender, cr->error);
            server__apply_next(s, why);
        } else {
            server__apply_finish(s, cr, env->sender);
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
                          json_object_get(res, "results"), server__now_ms(s)))
        server__ports_reply_waiting(s);
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

/* Once after this controller starts leading: every agent that is up has
 * reported the new term (it fences on it, so a deposed leader's commands are
 * refused from now on). Logged with the time it took; tests/bench/failover
 * reads it. After 10 s it gives up with a warning naming how many lag. */
static void check_term_accepted(server_t *s)
{
    if (!peers_is_leader(s->peers) || peers_term(s->peers) != s->accept_term) {
        s->accept_term = 0;
        return;
    }
    size_t n = inventory_count(s->inv), up = 0, behind = 0;
    for (size_t i = 0; i < n; i++) {
        const inv_node_t *node = inventory_at(s->inv, i);
        if (!node->up)
            continue;
        up++;
        if (node->term < s->accept_term)
            behind++;
    }
    int64_t after = server__now_ms(s) - s->accept_since_ms;
    if (up > 0 && behind == 0) {
        log_info("event=term_accepted term=%llu agents=%zu after_ms=%lld",
                 (unsigned long long)s->accept_term, up, (long long)after);
        s->accept_term = 0;
    } else if (after > 10000) {
        /* an agent that never reports the term (cut off from pings, an old
         * version) must not keep this loop on every agent message */
        log_warnx("event=term_not_accepted term=%llu agents_behind=%zu of=%zu after_ms=%lld",
                  (unsigned long long)s->accept_term, behind, up, (long long)after);
        s->accept_term = 0;
    }
}

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
            if (log_limit_ok(&s->auth_lim, server__now_ms(s), 1000))
                log_warnx("event=impersonation key=%s cert_name=%s claimed=%s", key, cert_name,
                          env->sender);
            goto out;
        }
    }
    bool liveness = env->body_case == QUORATE__ENVELOPE__BODY_REPORT ||
                    env->body_case == QUORATE__ENVELOPE__BODY_HEARTBEAT;
    if (liveness && inventory_stale(s->inv, env->sender, env->sent_at_us, env->term, 5000000)) {
        s->stale_reports++;
        if (log_limit_ok(&s->stale_lim, server__now_ms(s), 1000))
            log_warnx("event=stale_message node=%s key=%s term=%llu sent_at_us=%lld total=%llu "
                      "(a replay, or the agent's clock went back)",
                      env->sender, key, (unsigned long long)env->term, (long long)env->sent_at_us,
                      (unsigned long long)s->stale_reports);
        goto out;
    }
    const char *dc = env->body_case == QUORATE__ENVELOPE__BODY_REPORT      ? env->report->dc
                     : env->body_case == QUORATE__ENVELOPE__BODY_HEARTBEAT ? env->heartbeat->dc
                                                                           : NULL;
    bool came_up = false;
    if (inventory_seen(s->inv, server__now_ms(s), env->sender, dc, key, &came_up, &err) != 0) {
        drop(s, "agents", key, err.msg);
        goto out;
    }
    if (liveness)
        inventory_sent_at(s->inv, env->sender, env->sent_at_us);
    route_set(s, env->sender, rid);
    inventory_term(s->inv, env->sender, env->term);
    if (s->accept_term)
        check_term_accepted(s);
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
        if (inventory_report(s->inv, server__now_ms(s), env->sender, env->report, &err) != 0)
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
    json_t *j = inventory_status_json(s->inv, server__now_ms(s));
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
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}", "id", s->conf->id, "dc",
                  s->conf->dc, "version", QUORATE_VERSION, "role",
                  election_role_name(peers_is_leader(s->peers) ? ELECTION_LEADER
                                                               : ELECTION_FOLLOWER),
                  "term", (json_int_t)peers_term(s->peers),
                  "uptime_ms", (json_int_t)(server__now_ms(s) - (int64_t)s->started_ms), "down_after_ms",
                  (json_int_t)s->conf->down_after_ms, "security", "auth_rejected",
                  (json_int_t)zap_rejected(s->zap), "bad_frames", (json_int_t)s->bad_frames,
                  "impersonations", (json_int_t)s->unauthorised, "stale_reports",
                  (json_int_t)s->stale_reports, "handshake_failed",
                  (json_int_t)s->handshake_failed));
    /* the bounds of every per-peer table and queue (docs/hardening.md) */
    json_object_set_new(json_object_get(j, "controller"), "limits",
                        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "max_nodes",
                                  s->conf->max_nodes, "max_frame", s->conf->max_frame,
                                  "commands_in_flight", SERVER_MAX_CMDS, "ports_waiting", 16,
                                  "alert_tests_waiting", 8, "audit_records", 256));
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
    json_object_set_new(j, "recovery", server__recover_status_json(s));
    json_object_set_new(j, "clock_thresholds_ms",
                        json_pack("{s:f, s:f}", "warn", s->conf->skew_warn_ms, "fail",
                                  s->conf->skew_fail_ms));
    return j;
}








static void on_ping_timer(uv_timer_t *t);

static void on_role(void *arg, election_role_t role, uint64_t term, uint32_t leader,
                    const char *reason)
{
    server_t *s = arg;
    (void)leader;
    if (role == ELECTION_FOLLOWER && reason && strcmp(reason, ELECTION_REASON_HANDED_OVER) == 0 &&
        s->started) {
        /* This controller just voted for its successor in the next term and
         * persisted that. Telling the agents that term now lets them persist
         * it while the successor is elected, instead of after its first ping
         * (they refuse this controller's older-term commands from then on,
         * which it no longer sends). */
        on_ping_timer(&s->ping_timer);
    }
    if (role == ELECTION_LEADER) {
        /* tell the agents the new term at once (they fence on it) */
        if (s->started)
            on_ping_timer(&s->ping_timer);
        server__load_state_doc(s);
        free(s->last_doc);
        s->last_doc = NULL;
        s->accept_term = term;
        s->accept_since_ms = server__now_ms(s);
        log_info("event=leading term=%llu", (unsigned long long)term);
        check_term_accepted(s); /* the agents may have learnt the term already */
    }
}

static json_t *op_dispatch(server_t *s, const Quorate__OpRequest *req, int *code, char *errbuf,
                           size_t errlen)
{
    *code = 0;
    const char *cmd = req->command ? req->command : "";
    if (strcmp(cmd, "ports") == 0)
        return server__ports_json(s);
    if (strcmp(cmd, "takeover") == 0)
        return server__op_takeover(s, req, code, errbuf, errlen);
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
    if (strcmp(cmd, "audit") == 0)
        return json_pack("{s:O}", "audit", s->audit);
    if (strcmp(cmd, "checks") == 0) {
        if (req->n_args != 1) {
            *code = QR_EINVAL;
            snprintf(errbuf, errlen, "checks needs exactly one node name");
            return NULL;
        }
        json_t *j = inventory_node_json(s->inv, req->args[0], server__now_ms(s));
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

/* The routing frames of a reply to the operator peer rid (REQ peers need the
 * empty delimiter). */
static zmsg_t *reply_to(zframe_t *rid, bool req)
{
    zmsg_t *to = zmsg_new();
    zmsg_append(to, &(zframe_t *){zframe_dup(rid)});
    if (req)
        zmsg_addmem(to, NULL, 0);
    return to;
}

static void op_apply(server_t *s, zmsg_t *to, const Quorate__OpRequest *req, const char *key)
{
    (void)key;
    server__op_apply(s, to, req);
}

/* Operator requests answered later (they wait for agents): the handler keeps a
 * copy of `to` (zmsg_dup) if it does not answer at once. */
static const struct {
    const char *command;
    void (*run)(server_t *s, zmsg_t *to, const Quorate__OpRequest *req, const char *key);
} async_ops[] = {
    {"apply", op_apply},
    {"decommission", server__op_decommission},
    {"recover", server__op_recover},
    {"rejoin", server__op_rejoin},
};

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
    static const char *leader_only[] = {"ports", "alerts", "alerts_test", "apply",
                                        "recover", "rejoin", "decommission"};
    for (size_t i = 0; i < sizeof leader_only / sizeof leader_only[0]; i++) {
        if (strcmp(env->op_request->command, leader_only[i]) != 0 || peers_is_leader(s->peers))
            continue;
        /* a follower sends the operator to the leader (quoratectl follows) */
        zmsg_t *to = reply_to(rid, req);
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
        server__op_reply(s, to, QR_EUNAVAIL, msg, redir);
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
        zmsg_t *keep = reply_to(rid, req);
        s->ports_waiting[s->n_ports_waiting++] = keep;
        if (s->n_ports_waiting == 1)
            server__probe_round(s);
        wire_free(&env);
        return;
    }
    for (size_t i = 0; i < sizeof async_ops / sizeof async_ops[0]; i++) {
        if (strcmp(env->op_request->command, async_ops[i].command) != 0)
            continue;
        zmsg_t *to = reply_to(rid, req);
        log_info("event=operator_request operator=%s command=%s args=%zu", env->sender,
                 env->op_request->command, env->op_request->n_args);
        async_ops[i].run(s, to, env->op_request, key ? key : "");
        zmsg_destroy(&to);
        wire_free(&env);
        return;
    }
    if (strcmp(env->op_request->command, "alerts_test") == 0 && env->op_request->n_args == 1 &&
        s->alerting && s->n_tests_waiting < 8) {
        zmsg_t *keep = reply_to(rid, req);
        int rc = alerting_test(s->alerting, env->op_request->args[0], wire_now_us() / 1000);
        log_info("event=operator_request operator=%s command=alerts_test receiver=%s code=%d",
                 env->sender, env->op_request->args[0], rc);
        if (rc != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "no receiver named '%s'", env->op_request->args[0]);
            server__op_reply(s, keep, rc, msg, NULL);
            zmsg_destroy(&keep);
        } else {
            size_t k = s->n_tests_waiting++;
            s->tests_waiting[k].to = keep;
            snprintf(s->tests_waiting[k].receiver, sizeof s->tests_waiting[k].receiver, "%s",
                     env->op_request->args[0]);
            s->tests_waiting[k].deadline_ms = server__now_ms(s) + 60000;
        }
        wire_free(&env);
        return;
    }
    int code;
    char errbuf[256] = "";
    json_t *result = op_dispatch(s, env->op_request, &code, errbuf, sizeof errbuf);
    log_info("event=operator_request operator=%s command=%s code=%d", env->sender,
             env->op_request->command, code);
    zmsg_t *to = reply_to(rid, req);
    server__op_reply(s, to, code, errbuf, result);
    zmsg_destroy(&to);
    json_decref(result);
    wire_free(&env);
    (void)z;
}

/* Replies to an operator; `to` holds the routing frames (copied). */
void server__op_reply(server_t *s, zmsg_t *to, int code, const char *error, json_t *result)
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
              (long long)(server__now_ms(s) - n->last_seen_ms));
}

static void on_tick(uv_timer_t *t)
{
    server_t *s = t->data;
    /* agents coming and going leave freed heap glibc keeps (tens of MiB
     * for 1,000 connections): hand it back every few seconds */
    if (server__now_ms(s) - s->trimmed_ms >= 5000) {
        s->trimmed_ms = server__now_ms(s);
        malloc_trim(64 * 1024);
    }
    inventory_tick(s->inv, server__now_ms(s), on_node_down, s);
    server__command_tick(s);
    server__recover_tick(s);
    if (s->apply.to && server__now_ms(s) > s->apply.deadline_ms)
        server__apply_next(s, "no answer within 30 s");
    if (s->apply.waiting && (server__reports_after_apply(s) || server__now_ms(s) - s->apply.waiting_since > 20000)) {
        zmsg_t *w = s->apply.waiting;
        s->apply.waiting = NULL;
        server__op_apply_run(s, w, s->apply.waiting_dry);
        zmsg_destroy(&w);
    }
    server__propose_state(s);
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
    server__send_to(s, s->agents_zuv, rid, false, &env);
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
        server__probe_round(s);
}

static void on_alert_timer(uv_timer_t *t)
{
    server_t *s = t->data;
    if (!peers_is_leader(s->peers))
        return; /* followers keep the view; the leader alerts */
    json_t *st = status_json(s);
    json_t *pm = portmatrix_json(s->ports, server__now_ms(s));
    /* placement from the plan of the live view (cheap: ~1 ms for 1000 nodes) */
    json_t *prep = applyplan_prepare(s->inv, s->applied, server__now_ms(s));
    json_t *mdc = json_object_get(json_object_get(prep, "plan"), "majority_dc");
    alerting_set_cluster(s->alerting, json_string_value(mdc),
                         json_is_true(json_object_get(json_object_get(st, "election"), "override")));
    json_decref(prep);
    json_t *drift = s->applied ? applyplan_drift(s->inv, s->applied) : NULL;
    alerting_set_drift(s->alerting, drift);
    alerting_step(s->alerting, s->inv, st, pm, server__now_ms(s), wire_now_us() / 1000);
    alerting_set_drift(s->alerting, NULL);
    json_decref(drift);
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
        bool late = server__now_ms(s) > s->tests_waiting[i].deadline_ms;
        if (!r && !late) {
            i++;
            continue;
        }
        server__op_reply(s, s->tests_waiting[i].to, r ? 0 : QR_ETIMEOUT,
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
    if (server__recover_new(s) != 0) {
        server_destroy(&s);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
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
    zsock_set_backlog(*sock, 1024); /* 1,000 agents reconnecting at once after a restart */
    if (s->conf->curve) {
        zsock_set_zap_domain(*sock, domain);
        zcert_apply(s->cert, *sock);
        zsock_set_curve_server(*sock, 1);
    }
    if (zsock_bind(*sock, "%s", endpoint) < 0)
        return qr_err_set(err, QR_EIO, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
    return 0;
}

/* A failed CURVE handshake (plaintext client, wrong server key, a broken
 * greeting) never reaches ZAP: libzmq reports it only to a socket monitor.
 * ZAP refusals (FAILED_AUTH) are counted by zap.c already. */
static void on_monitor(zuv_t *z, zmsg_t **msg_p, void *arg)
{
    server_t *s = arg;
    (void)z;
    zframe_t *ev = zmsg_first(*msg_p), *addr = zmsg_next(*msg_p);
    if (!ev || zframe_size(ev) < 6)
        return;
    uint16_t event;
    uint32_t value;
    memcpy(&event, zframe_data(ev), 2);
    memcpy(&value, zframe_data(ev) + 2, 4);
    if (event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        return;
    s->handshake_failed++;
    if (log_limit_ok(&s->hs_lim, server__now_ms(s), 1000)) {
        char *peer = addr ? zframe_strdup(addr) : NULL;
        log_warnx("event=handshake_failed socket=%s endpoint=%s code=0x%x total=%llu suppressed=%lu "
                  "(plaintext client, wrong server key or not ZeroMQ)",
                  z == s->mon_zuv[0] ? "agents" : "operators", peer ? peer : "?", value,
                  (unsigned long long)s->handshake_failed, s->hs_lim.suppressed);
        s->hs_lim.suppressed = 0;
        free(peer);
    }
}

static int monitor_start(server_t *s, int i, zsock_t *sock, qr_err_t *err)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://quorate-monitor-%d-%p", i, (void *)s);
    if (zmq_socket_monitor(zsock_resolve(sock), ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        return qr_err_set(err, QR_EIO, "cannot monitor a socket: %s", zmq_strerror(zmq_errno()));
    s->mon[i] = zsock_new_pair(ep); /* '>' by default for PAIR: connects */
    if (!s->mon[i])
        return qr_err_set(err, QR_EIO, "cannot connect the socket monitor");
    s->mon_zuv[i] = zuv_new(s->loop, s->mon[i], on_monitor, s);
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
    if (s->conf->curve && ((rc = monitor_start(s, 0, s->agents, err)) != 0 ||
                           (rc = monitor_start(s, 1, s->ops, err)) != 0))
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
    server__command_cancel_all(s); /* operations reply "stopping" while ops_zuv lives */
    zuv_destroy(&s->agents_zuv);
    zuv_destroy(&s->ops_zuv);
    for (int i = 0; i < 2; i++)
        zuv_destroy(&s->mon_zuv[i]);
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
    for (int i = 0; i < 2; i++)
        zuv_destroy(&s->mon_zuv[i]);
    zap_destroy(&s->zap);
    zsock_destroy(&s->agents); /* stops its monitor too */
    zsock_destroy(&s->ops);
    for (int i = 0; i < 2; i++)
        zsock_destroy(&s->mon[i]);
    zhashx_destroy(&s->routes);
    server__recover_destroy(s);
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
