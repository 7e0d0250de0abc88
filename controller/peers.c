/* Election transport: protobuf ElectionMsg over DEALER/ROUTER with CURVE. */
#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "election_store.h"
#include "keys.h"
#include "log.h"
#include "wire.h"
#include "zuv.h"

typedef struct {
    const controller_peer_t *conf;
    zsock_t *sock; /* DEALER to the peer */
    zuv_t *zuv;
    zsock_t *mon; /* PAIR: the DEALER's monitor (connection closed) */
    zuv_t *mon_zuv;
    peers_t *owner;
} peer_link_t;

struct peers {
    uv_loop_t *loop;
    const controller_conf_t *conf;
    zcert_t *cert;
    zcertstore_t *store;
    election_t *e;
    zsock_t *router;
    zuv_t *router_zuv;
    peer_link_t links[CONTROLLER_MAX_PEERS];
    uv_timer_t timer;
    char state_path[4096];
    election_store_t *store_file; /* state_path, open for the process's life */
    peers_role_cb cb;
    void *cb_arg;
    uint64_t seq, bad;
    log_limit_t lim;
    uint32_t last_leader;
    election_role_t last_role;
    int64_t handover_deadline;
    bool started;
    char digest[17];                          /* of this controller's list */
    bool mismatch[CONTROLLER_MAX_PEERS];      /* a peer's list differs */
};

/* FNV-1a over the sorted controller ids: every controller must count the
 * same members, or two majorities can exist (endpoints are left out: a
 * controller may bind 0.0.0.0 while the others name its address). */
static void config_digest(const controller_conf_t *c, char out[17])
{
    const controller_peer_t *all[CONTROLLER_MAX_PEERS + 1];
    controller_peer_t self = {.id = c->election_id};
    size_t n = 0;
    all[n++] = &self;
    for (size_t i = 0; i < c->n_peers; i++)
        all[n++] = &c->peers[i];
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && all[k - 1]->id > all[k]->id; k--) {
            const controller_peer_t *t = all[k];
            all[k] = all[k - 1];
            all[k - 1] = t;
        }
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        char buf[512];
        int len = snprintf(buf, sizeof buf, "%d;", all[i]->id);
        for (int k = 0; k < len && k < (int)sizeof buf; k++)
            h = (h ^ (unsigned char)buf[k]) * 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int64_t mono(const peers_t *p)
{
    return (int64_t)uv_now(p->loop);
}

static const controller_peer_t *peer_conf(const peers_t *p, uint32_t id)
{
    for (size_t i = 0; i < p->conf->n_peers; i++)
        if ((uint32_t)p->conf->peers[i].id == id)
            return &p->conf->peers[i];
    return NULL;
}

static void send_msg(peers_t *p, const election_msg_t *m)
{
    peer_link_t *l = NULL;
    for (size_t i = 0; i < p->conf->n_peers; i++)
        if ((uint32_t)p->links[i].conf->id == m->to)
            l = &p->links[i];
    if (!l || !l->zuv)
        return;
    Quorate__ElectionMsg em = QUORATE__ELECTION_MSG__INIT;
    em.type = m->type;
    em.from = m->from;
    em.to = m->to;
    em.term = m->term;
    em.prevote = m->prevote;
    em.transfer = m->transfer;
    em.granted = m->granted;
    em.success = m->success;
    em.doc_term = m->doc_id.term;
    em.doc_counter = m->doc_id.counter;
    em.has_doc = m->has_doc;
    em.doc.data = (uint8_t *)m->doc;
    em.doc.len = m->has_doc ? m->doc_len : 0;
    em.commit_term = m->commit.term;
    em.commit_counter = m->commit.counter;
    em.echo_ms = m->echo_ms;
    em.config_digest = p->digest;
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, p->conf->id, m->term, ++p->seq,
                  wire_now_us());
    env.body_case = QUORATE__ENVELOPE__BODY_ELECTION;
    env.election = &em;
    uint8_t *buf;
    size_t len;
    if (wire_pack(&env, (size_t)p->conf->max_frame, &buf, &len) != 0)
        return;
    zmsg_t *z = zmsg_new();
    zmsg_addmem(z, buf, len);
    free(buf);
    zuv_send(l->zuv, &z); /* EAGAIN: the peer is away; Raft retries by itself */
}

static void on_timer(uv_timer_t *t);

static void arm(peers_t *p, int64_t next)
{
    int64_t d = next - mono(p);
    uv_timer_start(&p->timer, on_timer, d > 0 ? (uint64_t)d : 0, 0);
}

/* Persist, then send, then re-arm: the order the module requires. */
static void apply(peers_t *p, election_out_t *out)
{
    if (out->persist) {
        qr_err_t err = {{0}};
        if (election_store_save(p->store_file, &out->hard, &err) != 0)
            fatalx("event=election_persist_failed path=%s reason=\"%s\" (cannot promise "
                   "anything without durable state)",
                   p->state_path, err.msg);
    }
    for (size_t i = 0; i < out->n_msgs; i++)
        send_msg(p, &out->msgs[i]);
    if (p->started)
        arm(p, out->next_tick_ms);
    election_role_t role = election_role(p->e);
    uint32_t leader = election_leader(p->e);
    if (role != p->last_role || leader != p->last_leader) {
        const controller_peer_t *lc = peer_conf(p, leader);
        log_info("event=election_role role=%s term=%llu leader=%s reason=\"%s\"",
                 election_role_name(role), (unsigned long long)election_term(p->e),
                 leader == (uint32_t)p->conf->election_id ? p->conf->id
                 : lc                                      ? lc->name
                                                           : "unknown",
                 out->reason ? out->reason : "");
        p->last_role = role;
        p->last_leader = leader;
        if (p->cb)
            p->cb(p->cb_arg, role, election_term(p->e), leader, out->reason);
    }
}

static void on_timer(uv_timer_t *t)
{
    peers_t *p = t->data;
    election_out_t out;
    election_tick(p->e, mono(p), &out);
    apply(p, &out);
}

static void on_peer_msg(zuv_t *z, zmsg_t **msg_p, void *arg)
{
    peers_t *p = arg;
    (void)z;
    zmsg_t *m = *msg_p;
    if (zmsg_size(m) != 2)
        return;
    zframe_t *payload = zmsg_last(m);
    const char *key = p->conf->curve ? zframe_meta(payload, "User-Id") : "";
    wire_env_t *env = NULL;
    qr_err_t err = {{0}};
    const char *why = NULL;
    if (wire_unpack(zframe_data(payload), zframe_size(payload), (size_t)p->conf->max_frame,
                    &env, &err) != 0)
        why = err.msg;
    else if (env->role != QUORATE__ROLE__ROLE_CONTROLLER ||
             env->body_case != QUORATE__ENVELOPE__BODY_ELECTION)
        why = "not an election message";
    const controller_peer_t *pc = env && !why ? peer_conf(p, env->election->from) : NULL;
    if (!why && !pc)
        why = "unknown controller id";
    else if (!why && env->election->to != (uint32_t)p->conf->election_id)
        why = "addressed to another controller";
    else if (!why && p->conf->curve && (!key || !pc->public_key || strcmp(key, pc->public_key)))
        why = "controller id does not match its key";
    if (why) {
        p->bad++;
        if (log_limit_ok(&p->lim, mono(p), 1000)) {
            log_warnx("event=dropped_message socket=controllers key=%s reason=\"%s\" total=%llu",
                      key ? key : "-", why, (unsigned long long)p->bad);
        }
        wire_free(&env);
        return;
    }
    const Quorate__ElectionMsg *em = env->election;
    for (size_t i = 0; i < p->conf->n_peers; i++) {
        if ((uint32_t)p->conf->peers[i].id != em->from)
            continue;
        bool differs = em->config_digest && *em->config_digest &&
                       strcmp(em->config_digest, p->digest) != 0;
        if (differs && !p->mismatch[i])
            log_warnx("event=controller_config_mismatch peer=%s their_digest=%s ours=%s "
                      "(every controller must list the same controllers)",
                      p->conf->peers[i].name, em->config_digest, p->digest);
        p->mismatch[i] = differs;
    }
    election_msg_t msg = peers_msg_from_wire(em);
    election_out_t out;
    if (election_recv(p->e, mono(p), &msg, &out) == 0)
        apply(p, &out);
    wire_free(&env);
}

election_msg_t peers_msg_from_wire(const Quorate__ElectionMsg *em)
{
    election_msg_t msg = {.type = (election_msg_type_t)em->type,
                          .from = em->from,
                          .to = em->to,
                          .term = em->term,
                          .prevote = em->prevote,
                          .transfer = em->transfer,
                          .granted = em->granted,
                          .success = em->success,
                          .doc_id = {em->doc_term, em->doc_counter},
                          .has_doc = em->has_doc,
                          .doc = em->doc.data,
                          .doc_len = em->doc.len,
                          .commit = {em->commit_term, em->commit_counter},
                          .echo_ms = em->echo_ms};
    return msg;
}

int peers_new(uv_loop_t *loop, const controller_conf_t *conf, zcert_t *cert, peers_role_cb cb,
              void *arg, peers_t **out, qr_err_t *err)
{
    peers_t *p = calloc(1, sizeof *p);
    if (!p)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    p->loop = loop;
    p->conf = conf;
    p->cert = cert;
    p->cb = cb;
    p->cb_arg = arg;
    p->last_role = ELECTION_FOLLOWER;
    snprintf(p->state_path, sizeof p->state_path, "%s/election.state", conf->state_dir);
    config_digest(conf, p->digest);
    election_config_t ec;
    election_config_defaults(&ec);
    ec.self_id = (uint32_t)conf->election_id;
    for (size_t i = 0; i < conf->n_peers; i++)
        ec.peers[ec.n_peers++] = (uint32_t)conf->peers[i].id;
    ec.heartbeat_ms = conf->heartbeat_ms;
    ec.election_min_ms = conf->election_min_ms;
    ec.election_max_ms = conf->election_max_ms;
    ec.seed = (uint64_t)wire_now_us() ^ ((uint64_t)conf->election_id << 48);
    election_hard_t hard = {0};
    uint8_t *docbuf = NULL;
    int rc = election_store_open(p->state_path, ec.doc_max, &p->store_file, &hard, &docbuf, err);
    if (rc == QR_ENOTFOUND) {
        memset(&hard, 0, sizeof hard);
        rc = 0;
    } else if (rc == 0) {
        if (election_store_note(p->store_file))
            log_warnx("event=election_state_note reason=\"%s\"", election_store_note(p->store_file));
        log_info("event=election_state_restored term=%llu voted_for=%u doc=%llu.%llu",
                 (unsigned long long)hard.term, hard.voted_for,
                 (unsigned long long)hard.doc_id.term, (unsigned long long)hard.doc_id.counter);
    }
    if (rc == 0)
        rc = election_new(&ec, &hard, (int64_t)uv_now(loop), &p->e, err);
    free(docbuf);
    if (rc) {
        election_store_destroy(&p->store_file);
        free(p);
        return rc;
    }
    if (conf->curve && conf->n_peers &&
        (rc = keys_load_store(conf->controller_keys, &p->store, err)) != 0) {
        election_destroy(&p->e);
        election_store_destroy(&p->store_file);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* The kernel closed a connection to a peer (its process exited or was
 * killed): when it was the leader, do not wait the whole election timeout
 * (election_peer_lost). A dead host or a cut cable closes nothing and still
 * waits for the timeout. */
static void on_link_monitor(zuv_t *z, zmsg_t **msg_p, void *arg)
{
    peer_link_t *l = arg;
    peers_t *p = l->owner;
    (void)z;
    zframe_t *ev = zmsg_first(*msg_p);
    if (!ev || zframe_size(ev) < 6 || !p->started)
        return;
    uint16_t event;
    memcpy(&event, zframe_data(ev), 2);
    if (event != ZMQ_EVENT_DISCONNECTED)
        return;
    uint32_t id = (uint32_t)l->conf->id;
    bool was_leader = election_leader(p->e) == id && election_role(p->e) == ELECTION_FOLLOWER;
    election_out_t out;
    election_peer_lost(p->e, mono(p), id, &out);
    if (was_leader)
        log_info("event=leader_connection_closed peer=%s election_in_ms=%lld", l->conf->name,
                 (long long)(election_next_tick(p->e) - mono(p)));
    apply(p, &out);
}

static int link_monitor_start(peers_t *p, size_t i, qr_err_t *err)
{
    peer_link_t *l = &p->links[i];
    char ep[80];
    snprintf(ep, sizeof ep, "inproc://quorate-peer-monitor-%zu-%p", i, (void *)p);
    if (zmq_socket_monitor(zsock_resolve(l->sock), ep, ZMQ_EVENT_DISCONNECTED) != 0)
        return qr_err_set(err, QR_EIO, "cannot monitor the link to %s: %s", l->conf->name,
                          zmq_strerror(zmq_errno()));
    l->mon = zsock_new_pair(ep); /* '>' by default for PAIR: connects */
    if (!l->mon)
        return qr_err_set(err, QR_EIO, "cannot connect the monitor of the link to %s",
                          l->conf->name);
    l->owner = p;
    l->mon_zuv = zuv_new(p->loop, l->mon, on_link_monitor, l);
    return 0;
}

int peers_start(peers_t *p, zap_t *zap, qr_err_t *err)
{
    uv_timer_init(p->loop, &p->timer);
    p->timer.data = p;
    if (p->conf->n_peers > 0) {
        p->router = zsock_new(ZMQ_ROUTER);
        if (!p->router)
            return qr_err_set(err, QR_EIO, "cannot create a socket");
        zuv_sockopts(p->router, (size_t)p->conf->max_frame, 10000);
        if (p->conf->curve) {
            zap_allow(zap, "controllers", p->store);
            zsock_set_zap_domain(p->router, "controllers");
            zcert_apply(p->cert, p->router);
            zsock_set_curve_server(p->router, 1);
        }
        if (zsock_bind(p->router, "%s", p->conf->peers_endpoint) < 0)
            return qr_err_set(err, QR_EIO, "cannot bind %s: %s", p->conf->peers_endpoint,
                              zmq_strerror(zmq_errno()));
        p->router_zuv = zuv_new(p->loop, p->router, on_peer_msg, p);
        for (size_t i = 0; i < p->conf->n_peers; i++) {
            peer_link_t *l = &p->links[i];
            l->conf = &p->conf->peers[i];
            l->sock = zsock_new(ZMQ_DEALER);
            if (!l->sock)
                return qr_err_set(err, QR_EIO, "cannot create a socket");
            zuv_sockopts(l->sock, (size_t)p->conf->max_frame, 100);
            zsock_set_immediate(l->sock, 1);
            zsock_set_reconnect_ivl(l->sock, 100);
            zsock_set_reconnect_ivl_max(l->sock, 1000);
            if (p->conf->curve) {
                zcert_apply(p->cert, l->sock);
                zsock_set_curve_serverkey(l->sock, l->conf->public_key);
            }
            if (zsock_connect(l->sock, "%s", l->conf->endpoint) != 0)
                return qr_err_set(err, QR_EINVAL, "cannot connect to %s", l->conf->endpoint);
            /* replies come back on our ROUTER; nothing is read here */
            l->zuv = zuv_new(p->loop, l->sock, on_peer_msg, p);
            int mrc = link_monitor_start(p, i, err);
            if (mrc)
                return mrc;
        }
    }
    p->started = true;
    arm(p, election_next_tick(p->e));
    log_info("event=election_started id=%d peers=%zu heartbeat_ms=%d election_ms=%d..%d",
             p->conf->election_id, p->conf->n_peers, p->conf->heartbeat_ms,
             p->conf->election_min_ms, p->conf->election_max_ms);
    return 0;
}

bool peers_handover(peers_t *p)
{
    if (!p->started)
        return false;
    if (p->handover_deadline == 0) {
        if (election_role(p->e) != ELECTION_LEADER || p->conf->n_peers == 0)
            return false;
        uint32_t target = 0;
        election_out_t out;
        p->handover_deadline = mono(p) + p->conf->election_min_ms;
        if (election_transfer(p->e, mono(p), &target, &out) == 0) {
            apply(p, &out);
            log_info("event=leadership_handover target=%u", target);
        }
    }
    return election_transfer_pending(p->e) && mono(p) < p->handover_deadline;
}

void peers_stop(peers_t *p)
{
    if (!p->started)
        return;
    p->started = false;
    uv_close((uv_handle_t *)&p->timer, NULL);
    zuv_destroy(&p->router_zuv);
    for (size_t i = 0; i < p->conf->n_peers; i++) {
        zuv_destroy(&p->links[i].zuv);
        zuv_destroy(&p->links[i].mon_zuv);
        /* the last vote or handover message may still be queued: give it
         * a moment to leave when the context terminates */
        if (p->links[i].sock)
            zsock_set_linger(p->links[i].sock, 200);
    }
}

void peers_destroy(peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    peers_t *p = *self_p;
    zuv_destroy(&p->router_zuv);
    zsock_destroy(&p->router);
    for (size_t i = 0; i < CONTROLLER_MAX_PEERS; i++) {
        zuv_destroy(&p->links[i].zuv);
        zuv_destroy(&p->links[i].mon_zuv);
        zsock_destroy(&p->links[i].sock); /* stops its monitor too */
        zsock_destroy(&p->links[i].mon);
    }
    election_destroy(&p->e);
    election_store_destroy(&p->store_file);
    zcertstore_destroy(&p->store);
    free(p);
    *self_p = NULL;
}

bool peers_is_leader(const peers_t *p)
{
    return election_role(p->e) == ELECTION_LEADER && election_leader_valid(p->e, mono(p));
}

uint64_t peers_term(const peers_t *p)
{
    return election_term(p->e);
}

const char *peers_leader_name(const peers_t *p)
{
    uint32_t l = election_leader(p->e);
    if (l == (uint32_t)p->conf->election_id)
        return p->conf->id;
    const controller_peer_t *pc = peer_conf(p, l);
    return pc ? pc->name : NULL;
}

const char *peers_leader_operators(const peers_t *p)
{
    const controller_peer_t *pc = peer_conf(p, election_leader(p->e));
    return pc ? pc->operators_endpoint : NULL;
}

json_t *peers_status_json(const peers_t *p)
{
    json_t *ctls = json_array();
    json_array_append_new(ctls, json_pack("{s:i, s:s, s:s, s:b}", "id", p->conf->election_id,
                                          "name", p->conf->id, "dc", p->conf->dc, "self", 1));
    for (size_t i = 0; i < p->conf->n_peers; i++) {
        int64_t at = -1;
        json_t *c = json_pack("{s:i, s:s, s:b, s:b}", "id", p->conf->peers[i].id, "name",
                              p->conf->peers[i].name, "self", 0, "config_mismatch",
                              p->mismatch[i]);
        if (election_peer_last_heard(p->e, (uint32_t)p->conf->peers[i].id, &at) == 0 && at >= 0)
            json_object_set_new(c, "last_heard_ago_ms", json_integer(mono(p) - at));
        else
            json_object_set_new(c, "last_heard_ago_ms", json_null());
        json_array_append_new(ctls, c);
    }
    const char *leader = peers_leader_name(p);
    election_docid_t committed = election_doc_committed(p->e);
    return json_pack("{s:s, s:I, s:s?, s:b, s:b, s:o, s:s}", "role",
                     election_role_name(election_role(p->e)), "term",
                     (json_int_t)election_term(p->e), "leader", leader, "leader_valid",
                     peers_is_leader(p), "override", election_override(p->e), "controllers",
                     ctls, "doc_committed",
                     committed.term || committed.counter ? "yes" : "none");
}

int peers_takeover(peers_t *p, json_t **info, qr_err_t *err)
{
    election_takeover_info_t ti;
    election_out_t out;
    int rc = election_takeover(p->e, mono(p), &ti, &out);
    if (rc != 0)
        return qr_err_set(err, rc,
                          "refused: this controller heard from a majority of controllers "
                          "recently; takeover is only for a lost majority");
    apply(p, &out);
    json_t *peers = json_array();
    for (size_t i = 0; i < ti.n_peers; i++) {
        const controller_peer_t *pc = peer_conf(p, ti.peer_ids[i]);
        json_array_append_new(peers, json_pack("{s:s, s:I}", "name", pc ? pc->name : "?",
                                               "last_heard_ago_ms",
                                               (json_int_t)(ti.peer_last_heard_ms[i] < 0
                                                                ? -1
                                                                : mono(p) -
                                                                      ti.peer_last_heard_ms[i])));
    }
    *info = json_pack("{s:I, s:I, s:o}", "old_term", (json_int_t)ti.old_term, "new_term",
                      (json_int_t)ti.new_term, "peers", peers);
    return 0;
}

int peers_propose(peers_t *p, const uint8_t *doc, size_t len)
{
    election_docid_t id;
    election_out_t out;
    qr_err_t err = {{0}};
    int rc = election_propose_doc(p->e, mono(p), doc, len, &id, &out, &err);
    if (rc == 0)
        apply(p, &out);
    return rc;
}

void peers_doc(const peers_t *p, const uint8_t **doc, size_t *len)
{
    election_docid_t id;
    election_doc(p->e, &id, doc, len);
}
