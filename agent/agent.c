/* The agent daemon's event loop: check cycle, reports, heartbeats, pings. */
#include "agent.h"

#include <czmq.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "atomicfile.h"
#include "slotfile.h"
#include "fence.h"
#include "keys.h"
#include "commands.h"
#include "log.h"
#include "runner.h"
#include "version.h"
#include "wire.h"
#include "zuv.h"

typedef struct {
    zsock_t *sock;
    zuv_t *zuv;
    const agent_controller_t *conf;
    agent_t *agent;
    int64_t last_rx_ms; /* loop time of the last message from this controller */
    unsigned rebuilds;
} link_t;

typedef struct {
    uint8_t *buf;
    size_t len;
} qitem_t;

/* Every check's values as JSON text, one after the other in one buffer
 * reused across reports (jansson's json_dump_callback writes into it; no
 * per-check allocation as with json_dumps). */
typedef struct {
    char *buf;
    size_t len, cap;
} textbuf_t;

struct agent {
    uv_loop_t *loop;
    agent_conf_t *conf;
    runner_t *runner;
    zcert_t *cert;
    link_t links[AGENT_MAX_CONTROLLERS];
    size_t n_links;
    uv_timer_t cycle_timer, hb_timer, wd_timer;
    uint64_t seq, cycle, dropped, bad_frames;
    fence_t fence; /* highest leader term seen, persisted in state_dir */
    char term_path[4096];
    slotfile_t *term_file; /* term_path, written in place (common/slotfile.h) */
    textbuf_t values_text; /* the report's values JSON, reused every cycle */
    qitem_t *queue; /* ring of packed reports waiting for a controller */
    size_t queue_cap;
    size_t q_head, q_len;
    log_limit_t bad_lim;
    bool started;
};

static int64_t agent_now_us(const agent_t *a)
{
    return wire_now_us() + a->conf->test_clock_offset_ms * 1000;
}

json_t *agent_results_json(const agent_conf_t *conf, const check_result_t *r, size_t n)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(checks, check_result_to_json(&r[i]));
    return json_pack("{s:s, s:s, s:o}", "node", conf->node, "dc", conf->dc, "checks", checks);
}

int agent_results_worst(const check_result_t *r, size_t n)
{
    int worst = 0;
    for (size_t i = 0; i < n; i++)
        if ((int)r[i].status > worst)
            worst = (int)r[i].status;
    return worst;
}

/* --- sending ------------------------------------------------------------ */

static int link_send(link_t *l, const uint8_t *buf, size_t len)
{
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, buf, len);
    return zuv_send(l->zuv, &m);
}

/* Sends to every controller; returns how many took it. */
static size_t send_all(agent_t *a, const uint8_t *buf, size_t len)
{
    size_t ok = 0;
    for (size_t i = 0; i < a->n_links; i++)
        if (link_send(&a->links[i], buf, len) == 0)
            ok++;
    return ok;
}

static void queue_push(agent_t *a, uint8_t *buf, size_t len)
{
    size_t cap = (size_t)a->conf->queue_max;
    if (a->q_len == cap) { /* full: the oldest report is the least useful */
        free(a->queue[a->q_head].buf);
        a->q_head = (a->q_head + 1) % cap;
        a->q_len--;
        a->dropped++;
    }
    a->queue[(a->q_head + a->q_len) % cap] = (qitem_t){buf, len};
    a->q_len++;
}

static void queue_flush(agent_t *a)
{
    size_t cap = (size_t)a->conf->queue_max;
    while (a->q_len > 0) {
        qitem_t *it = &a->queue[a->q_head];
        if (send_all(a, it->buf, it->len) == 0)
            return;
        free(it->buf);
        a->q_head = (a->q_head + 1) % cap;
        a->q_len--;
    }
}

static void send_env(agent_t *a, wire_env_t *env, bool queue_if_unsent)
{
    uint8_t *buf;
    size_t len;
    if (wire_pack(env, WIRE_MAX_FRAME, &buf, &len) != 0) {
        log_warnx("event=pack_failed body=%d", env->body_case);
        return;
    }
    queue_flush(a);
    if (a->q_len == 0 && send_all(a, buf, len) > 0) {
        free(buf);
        return;
    }
    if (queue_if_unsent && a->conf->queue_max > 0)
        queue_push(a, buf, len);
    else
        free(buf);
}

static int textbuf_put(const char *p, size_t n, void *arg)
{
    textbuf_t *t = arg;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *nb = realloc(t->buf, cap);
        if (!nb)
            return -1;
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    return 0;
}

static void send_report(agent_t *a)
{
    size_t n;
    const check_result_t *r = runner_results(a->runner, &n);
    Quorate__Report rep = QUORATE__REPORT__INIT;
    Quorate__CheckResult *items = calloc(n ? n : 1, sizeof *items);
    Quorate__CheckResult **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    size_t *at = calloc(n ? n : 1, sizeof *at);
    textbuf_t *vals = &a->values_text;
    vals->len = 0;
    if (!items || !ptrs || !at)
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t start = vals->len;
        at[i] = SIZE_MAX;
        if (r[i].values &&
            json_dump_callback(r[i].values, textbuf_put, vals,
                               JSON_COMPACT | JSON_REAL_PRECISION(10)) == 0 &&
            textbuf_put("", 1, vals) == 0)
            at[i] = start;
        else
            vals->len = start;
    }
    for (size_t i = 0; i < n; i++) {
        quorate__check_result__init(&items[i]);
        items[i].name = (char *)r[i].name;
        items[i].status = (Quorate__Status)r[i].status;
        items[i].summary = (char *)r[i].summary;
        items[i].values_json = at[i] != SIZE_MAX ? vals->buf + at[i] : (char *)"{}";
        ptrs[i] = &items[i];
    }
    rep.node = a->conf->node;
    rep.dc = a->conf->dc;
    rep.cycle = a->cycle;
    rep.n_checks = n;
    rep.checks = ptrs;
    rep.dropped = a->dropped;
    rep.interval_ms = (uint32_t)a->conf->interval_ms;
    rep.agent_version = (char *)QUORATE_VERSION;
    rep.address = a->conf->address ? a->conf->address : (char *)"";
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, a->conf->node, fence_highest(&a->fence), ++a->seq,
                  agent_now_us(a));
    env.body_case = QUORATE__ENVELOPE__BODY_REPORT;
    env.report = &rep;
    send_env(a, &env, true);
out:
    if (vals->cap > 256 * 1024) { /* one huge report must not pin its buffer */
        free(vals->buf);
        *vals = (textbuf_t){0};
    }
    free(at);
    free(ptrs);
    free(items);
}

/* --- receiving ------------------------------------------------------------ */

static void on_ping(link_t *l, const wire_env_t *in)
{
    agent_t *a = l->agent;
    Quorate__Pong pong = QUORATE__PONG__INIT;
    pong.controller_sent_at_us = in->ping->controller_sent_at_us;
    pong.agent_at_us = agent_now_us(a);
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, a->conf->node, fence_highest(&a->fence), ++a->seq,
                  pong.agent_at_us);
    env.body_case = QUORATE__ENVELOPE__BODY_PONG;
    env.pong = &pong;
    uint8_t *buf;
    size_t len;
    if (wire_pack(&env, WIRE_MAX_FRAME, &buf, &len) == 0) {
        link_send(l, buf, len); /* only to the controller that asked */
        free(buf);
    }
}

/* --- fenced commands ------------------------------------------------------ */

static void persist_term(agent_t *a)
{
    char buf[32];
    qr_err_t err = {{0}};
    int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)fence_highest(&a->fence));
    if (!a->term_file)
        a->term_file = slotfile_new(a->term_path, 64);
    if (!a->term_file || slotfile_write(a->term_file, buf, (size_t)n, &err) != 0)
        log_warnx("event=term_persist_failed path=%s reason=\"%s\"", a->term_path,
                  a->term_file ? err.msg : "out of memory");
}

/* The term as text ("N\n"): the record of the slot file, or the whole file
 * of earlier versions, written with atomicfile (rewritten at the next term). */
static int parse_term(const uint8_t *data, size_t len, uint64_t *t)
{
    char buf[65] = "";
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, data, len);
    char *end;
    *t = strtoull(buf, &end, 10);
    return end == buf || (*end != '\n' && *end != '\0') ? -1 : 0;
}

static void load_term(agent_t *a)
{
    snprintf(a->term_path, sizeof a->term_path, "%s/agent.term", a->conf->state_dir);
    uint8_t *data = NULL;
    size_t len = 0;
    qr_err_t err = {{0}};
    uint64_t t = 0;
    a->term_file = slotfile_new(a->term_path, 64);
    int rc = a->term_file ? slotfile_load(a->term_file, &data, &len, &err) : QR_ENOMEM;
    if (rc == QR_EPARSE && slotfile_foreign(a->term_file)) {
        free(data);
        rc = atomicfile_read(a->term_path, 64, &data, &len, &err);
        if (rc)
            snprintf(err.msg, sizeof err.msg, "an old-format term file that cannot be read");
    }
    if (rc == 0 && slotfile_warning(a->term_file))
        log_warnx("event=term_file_note reason=\"%s\"", slotfile_warning(a->term_file));
    if (rc == 0 && parse_term(data, len, &t) != 0) {
        rc = QR_EPARSE;
        snprintf(err.msg, sizeof err.msg, "not a number");
    }
    if (rc != 0 && rc != QR_ENOTFOUND) {
        log_warnx("event=term_file_corrupt path=%s reason=\"%s\" action=start_from_0",
                  a->term_path, err.msg);
        t = 0;
    }
    free(data);
    fence_init(&a->fence, t);
}

static void send_result(link_t *l, uint64_t id, int code, const char *error, json_t *result)
{
    agent_t *a = l->agent;
    Quorate__CommandResult cr = QUORATE__COMMAND_RESULT__INIT;
    char *text = result ? json_dumps(result, JSON_COMPACT) : NULL;
    cr.id = id;
    cr.code = code;
    cr.error = (char *)(error ? error : "");
    cr.result_json = text ? text : (char *)"";
    cr.seen_term = fence_highest(&a->fence);
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, a->conf->node, fence_highest(&a->fence),
                  ++a->seq, agent_now_us(a));
    env.body_case = QUORATE__ENVELOPE__BODY_COMMAND_RESULT;
    env.command_result = &cr;
    uint8_t *buf;
    size_t len;
    if (wire_pack(&env, WIRE_MAX_FRAME, &buf, &len) == 0) {
        link_send(l, buf, len);
        free(buf);
    }
    free(text);
}

typedef struct {
    uv_work_t work;
    link_t *link;
    uint64_t id;
    const command_kind_t *kind;
    json_t *args, *result;
    int rc;
    qr_err_t err;
} cmd_job_t;

static void cmd_work(uv_work_t *w)
{
    cmd_job_t *j = w->data;
    j->rc = j->kind->run(j->link->agent->conf, j->args, &j->result, &j->err);
}

static void cmd_done(uv_work_t *w, int status)
{
    cmd_job_t *j = w->data;
    agent_t *a = j->link->agent;
    if (a->started && status == 0) {
        if (j->rc == 0)
            log_info("event=%s_done id=%llu", j->kind->log_verb, (unsigned long long)j->id);
        else
            log_warnx("event=%s_failed id=%llu reason=\"%s\"", j->kind->log_verb,
                      (unsigned long long)j->id, j->err.msg);
        send_result(j->link, j->id, j->rc, j->rc ? j->err.msg : NULL, j->result);
    }
    json_decref(j->result);
    json_decref(j->args);
    free(j);
}

static void on_command(link_t *l, const wire_env_t *env)
{
    agent_t *a = l->agent;
    const Quorate__Command *cmd = env->command;
    bool raised = false;
    if (env->role != QUORATE__ROLE__ROLE_CONTROLLER) {
        send_result(l, cmd->id, QR_EAUTH, "commands come from controllers only", NULL);
        return;
    }
    if (fence_check(&a->fence, env->term, &raised) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "term %llu is older than term %llu already seen",
                 (unsigned long long)env->term, (unsigned long long)fence_highest(&a->fence));
        log_warnx("event=command_refused kind=%s from=%s reason=\"%s\"", cmd->kind, env->sender,
                  msg);
        send_result(l, cmd->id, QR_ESTALE, msg, NULL);
        return;
    }
    if (raised)
        persist_term(a); /* before acting: a restart must not forget the term */
    const command_kind_t *k = commands_find(cmd->kind);
    json_t *args = k ? json_loads(cmd->args_json ? cmd->args_json : "{}", 0, NULL) : NULL;
    cmd_job_t *j = k && json_is_object(args) ? calloc(1, sizeof *j) : NULL;
    if (!j) {
        send_result(l, cmd->id, QR_EINVAL, !k ? "unknown command" : "bad command arguments", NULL);
        json_decref(args);
        return;
    }
    log_info("event=%s from=%s term=%llu id=%llu", k->log_verb, env->sender,
             (unsigned long long)env->term, (unsigned long long)cmd->id);
    j->link = l;
    j->id = cmd->id;
    j->kind = k;
    j->args = args;
    j->work.data = j;
    if (uv_queue_work(a->loop, &j->work, cmd_work, cmd_done) != 0) {
        send_result(l, cmd->id, QR_EUNAVAIL, "cannot start the command", NULL);
        json_decref(args);
        free(j);
    }
}

static void send_heartbeat(agent_t *a);

static void on_message(zuv_t *z, zmsg_t **msg_p, void *arg)
{
    link_t *l = arg;
    agent_t *a = l->agent;
    (void)z;
    l->last_rx_ms = (int64_t)uv_now(a->loop);
    zframe_t *f = zmsg_first(*msg_p);
    wire_env_t *env = NULL;
    qr_err_t err = {{0}};
    int rc = (f && zmsg_size(*msg_p) == 1)
                 ? wire_unpack(zframe_data(f), zframe_size(f), WIRE_MAX_FRAME, &env, &err)
                 : qr_err_set(&err, QR_EPROTO, "expected one frame, got %zu",
                              zmsg_size(*msg_p));
    if (rc != 0) {
        a->bad_frames++;
        if (log_limit_ok(&a->bad_lim, (long long)uv_now(a->loop), 1000)) {
            log_warnx("event=bad_frame from=%s reason=\"%s\" dropped=%llu", l->conf->endpoint,
                      err.msg, (unsigned long long)a->bad_frames);
        }
        return;
    }
    if (env->role == QUORATE__ROLE__ROLE_CONTROLLER && env->body_case != QUORATE__ENVELOPE__BODY_COMMAND &&
        fence_observe(&a->fence, env->term)) {
        persist_term(a);
        /* every controller learns at once that this agent fences on the new
         * term: the one that leads in it then counts the agent as following
         * from its first moment (a planned handover tells the agents the
         * next term before the successor is elected) */
        send_heartbeat(a);
    }
    switch (env->body_case) {
    case QUORATE__ENVELOPE__BODY_PING:
        on_ping(l, env);
        break;
    case QUORATE__ENVELOPE__BODY_COMMAND:
        on_command(l, env);
        break;
    default:
        log_debug("event=ignored_message body=%d from=%s", env->body_case, env->sender);
        break;
    }
    wire_free(&env);
}

/* --- timers --------------------------------------------------------------- */

static void on_cycle_done(runner_t *r, void *arg)
{
    agent_t *a = arg;
    (void)r;
    if (!a->started) /* a cycle that finished during shutdown */
        return;
    a->cycle++;
    send_report(a);
    /* hand the cycle's freed heap back to the kernel: the agent's memory on
     * every server is private dirty pages, and a cycle's garbage is most of
     * its heap */
    malloc_trim(64 * 1024);
}

static void on_cycle_timer(uv_timer_t *t)
{
    agent_t *a = t->data;
    if (runner_start(a->runner, on_cycle_done, a) != 0)
        log_warnx("event=cycle_overrun cycle=%llu", (unsigned long long)a->cycle);
}

static void links_check(agent_t *a);

static void send_heartbeat(agent_t *a)
{
    Quorate__Heartbeat hb = QUORATE__HEARTBEAT__INIT;
    hb.node = a->conf->node;
    hb.dc = a->conf->dc;
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, a->conf->node, fence_highest(&a->fence), ++a->seq,
                  agent_now_us(a));
    env.body_case = QUORATE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    send_env(a, &env, false); /* a stale heartbeat says nothing: never queued */
}

static void on_hb_timer(uv_timer_t *t)
{
    agent_t *a = t->data;
    send_heartbeat(a);
    links_check(a);
}

static void on_wd_timer(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

/* --- life cycle ----------------------------------------------------------- */

int agent_new(uv_loop_t *loop, agent_conf_t *conf, agent_t **out, qr_err_t *err)
{
    agent_t *a = calloc(1, sizeof *a);
    if (!a)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    a->loop = loop;
    a->conf = conf;
    a->queue_cap = (size_t)(conf->queue_max > 0 ? conf->queue_max : 1);
    a->queue = calloc(a->queue_cap, sizeof *a->queue);
    a->runner = runner_new(loop, conf);
    load_term(a);
    if (!a->queue || !a->runner) {
        agent_destroy(&a);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    int rc;
    if (conf->curve && conf->cert && (rc = keys_load_secret(conf->cert, &a->cert, err)) != 0) {
        agent_destroy(&a);
        return rc;
    }
    *out = a;
    return 0;
}

/* Opens (or reopens) the DEALER of one controller link. */
static int link_open(agent_t *a, link_t *l, qr_err_t *err)
{
    l->sock = zsock_new(ZMQ_DEALER);
    if (!l->sock)
        return qr_err_set(err, QR_EIO, "cannot create a socket");
    zuv_sockopts(l->sock, WIRE_MAX_FRAME, 1000);
    zsock_set_immediate(l->sock, 1); /* no queueing towards unconnected peers */
    if (a->conf->curve) {
        zcert_apply(a->cert, l->sock);
        zsock_set_curve_serverkey(l->sock, l->conf->public_key);
    }
    if (zsock_connect(l->sock, "%s", l->conf->endpoint) != 0) {
        zsock_destroy(&l->sock);
        return qr_err_set(err, QR_EINVAL, "cannot connect to %s", l->conf->endpoint);
    }
    l->zuv = zuv_new(a->loop, l->sock, on_message, l);
    l->last_rx_ms = (int64_t)uv_now(a->loop);
    return 0;
}

/* libzmq never reconnects a connecting socket after a protocol error (a
 * frame above ZMQ_MAXMSGSIZE) or a ZAP refusal: a controller that has said
 * nothing for LINK_SILENCE_MS (it pings its up agents every 2 s) gets a new
 * socket, hence a new connection and handshake. */
#define LINK_SILENCE_MS 10000
static void links_check(agent_t *a)
{
    int64_t now = (int64_t)uv_now(a->loop);
    for (size_t i = 0; i < a->n_links; i++) {
        link_t *l = &a->links[i];
        if (now - l->last_rx_ms < LINK_SILENCE_MS)
            continue;
        long long silent = (long long)(now - l->last_rx_ms);
        zuv_destroy(&l->zuv);
        zsock_destroy(&l->sock);
        qr_err_t err = {{0}};
        l->rebuilds++;
        if (link_open(a, l, &err) != 0)
            log_warnx("event=controller_link_failed endpoint=%s reason=\"%s\"", l->conf->endpoint,
                      err.msg);
        else if (l->rebuilds == 1 || l->rebuilds % 30 == 0) /* a controller that is down */
            log_info("event=controller_link_rebuilt endpoint=%s silent_ms=%lld rebuilds=%u",
                     l->conf->endpoint, silent, l->rebuilds);
    }
}

int agent_start(agent_t *a, qr_err_t *err)
{
    agent_conf_t *c = a->conf;
    zsys_handler_set(NULL); /* we own the signals */
    for (size_t i = 0; i < c->n_controllers; i++) {
        link_t *l = &a->links[a->n_links];
        l->agent = a;
        l->conf = &c->controllers[i];
        int rc = link_open(a, l, err);
        if (rc)
            return rc;
        a->n_links++;
        log_info("event=controller_link endpoint=%s curve=%s", l->conf->endpoint,
                 c->curve ? "on" : "off");
    }
    uv_timer_init(a->loop, &a->cycle_timer);
    uv_timer_init(a->loop, &a->hb_timer);
    uv_timer_init(a->loop, &a->wd_timer);
    a->cycle_timer.data = a->hb_timer.data = a->wd_timer.data = a;
    uv_timer_start(&a->cycle_timer, on_cycle_timer, 0, (uint64_t)c->interval_ms);
    uv_timer_start(&a->hb_timer, on_hb_timer, 0, (uint64_t)c->heartbeat_ms);
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
        uv_timer_start(&a->wd_timer, on_wd_timer, 0, wd_usec / 2000);
    a->started = true;
    sd_notify(0, "READY=1");
    log_info("event=started node=%s dc=%s interval_ms=%d controllers=%zu version=%s", c->node,
             c->dc, c->interval_ms, a->n_links, QUORATE_VERSION);
    return 0;
}

void agent_stop(agent_t *a)
{
    if (!a->started)
        return;
    a->started = false;
    sd_notify(0, "STOPPING=1");
    uv_close((uv_handle_t *)&a->cycle_timer, NULL);
    uv_close((uv_handle_t *)&a->hb_timer, NULL);
    uv_close((uv_handle_t *)&a->wd_timer, NULL);
    for (size_t i = 0; i < a->n_links; i++)
        zuv_destroy(&a->links[i].zuv);
}

size_t agent_destroy(agent_t **self_p)
{
    if (!self_p || !*self_p)
        return 0;
    agent_t *a = *self_p;
    for (size_t i = 0; i < a->n_links; i++) {
        zuv_destroy(&a->links[i].zuv);
        zsock_destroy(&a->links[i].sock);
    }
    size_t hung = runner_destroy(&a->runner);
    if (hung) {
        /* a hung probe still reads the config: the process must _exit */
        log_warnx("event=shutdown_with_hung_checks count=%zu", hung);
        a->conf = NULL;
    }
    for (size_t i = 0; a->queue && i < a->q_len; i++)
        free(a->queue[(a->q_head + i) % (size_t)a->queue_cap].buf);
    free(a->queue);
    zcert_destroy(&a->cert);
    slotfile_destroy(&a->term_file);
    free(a->values_text.buf);
    agent_conf_destroy(&a->conf);
    free(a);
    *self_p = NULL;
    return hung;
}
