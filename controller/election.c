/* Raft's leader election on one replicated document, as a pure state machine.
 * Every call takes the time and returns its effects in an election_out_t; the
 * caller persists, then sends. See election.h and docs/election.md. */
#include "election.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PEERS_MAX (ELECTION_MAX_NODES - 1)

struct election {
    election_config_t cfg;
    size_t n_nodes;
    uint64_t rng;

    /* hard state: mirrored to disk through out->persist */
    uint64_t term;
    uint32_t voted_for;
    election_docid_t doc_id;
    uint8_t *doc;
    size_t doc_len, doc_cap;

    /* volatile */
    election_role_t role;
    uint32_t leader;
    bool override;             /* leading under a takeover's quorum of one */
    int64_t election_deadline; /* follower, (pre)candidate */
    int64_t last_leader_contact;
    /* the leader whose connection closed (election_peer_lost), in which
     * term and when: its messages still in flight are not contact */
    uint32_t lost_leader;
    uint64_t lost_term;
    int64_t lost_at;
    uint32_t votes; /* bit per peer index, this round */
    election_docid_t committed;

    /* leader */
    int64_t lead_since;
    int64_t hb_deadline;
    int64_t ack_ms[PEERS_MAX];         /* newest acknowledged heartbeat send time */
    election_docid_t match[PEERS_MAX]; /* newest version acked in this term */
    uint32_t transfer_target;
    int64_t transfer_deadline;
    bool timeout_sent;

    int64_t last_heard[PEERS_MAX];

    /* snapshot at the start of a call, to report role changes */
    election_role_t prev_role;
    uint32_t prev_leader;
};

/* ---- small helpers ---------------------------------------------------- */

/* splitmix64: tiny, seedable, good enough to spread timeouts. */
static uint64_t rng_next(election_t *e)
{
    uint64_t z = (e->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t random_timeout(election_t *e)
{
    uint64_t span = (uint64_t)(e->cfg.election_max_ms - e->cfg.election_min_ms) + 1;
    return e->cfg.election_min_ms + (int64_t)(rng_next(e) % span);
}

int election_docid_cmp(election_docid_t a, election_docid_t b)
{
    if (a.term != b.term)
        return a.term < b.term ? -1 : 1;
    if (a.counter != b.counter)
        return a.counter < b.counter ? -1 : 1;
    return 0;
}

const char *election_role_name(election_role_t r)
{
    switch (r) {
    case ELECTION_FOLLOWER:
        return "follower";
    case ELECTION_PRECANDIDATE:
        return "precandidate";
    case ELECTION_CANDIDATE:
        return "candidate";
    case ELECTION_LEADER:
        return "leader";
    }
    return "unknown";
}

/* A takeover moves to the next epoch (upper 32 bits) and puts the id in the
 * lower half's top byte. Normal elections add 1, so one would need 2^24
 * elections inside an epoch to reach another controller's takeover term, and
 * two takeovers never share a term. */
uint64_t election_takeover_term(uint64_t term, uint32_t self_id)
{
    return (((term >> 32) + 1) << 32) | ((uint64_t)(self_id & 0xff) << 24);
}

static int peer_index(const election_t *e, uint32_t id)
{
    for (size_t i = 0; i < e->cfg.n_peers; i++)
        if (e->cfg.peers[i] == id)
            return (int)i;
    return -1;
}

static size_t quorum(const election_t *e)
{
    return e->override ? 1 : e->n_nodes / 2 + 1;
}

static size_t popcount32(uint32_t v)
{
    size_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static election_msg_t *out_msg(election_t *e, election_out_t *out, election_msg_type_t type,
                               uint32_t to)
{
    if (out->n_msgs >= ELECTION_MAX_MSGS)
        return NULL; /* cannot happen with ELECTION_MAX_NODES; loss is tolerated anyway */
    election_msg_t *m = &out->msgs[out->n_msgs++];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = e->cfg.self_id;
    m->to = to;
    m->term = e->term;
    return m;
}

static void out_begin(election_t *e, election_out_t *out)
{
    memset(out, 0, sizeof *out);
    e->prev_role = e->role;
    e->prev_leader = e->leader;
}

static void set_role(election_t *e, election_role_t role, const char *reason, election_out_t *out)
{
    if (e->role != role)
        out->reason = reason;
    e->role = role;
}

/* Earliest time the leader loses its lease: it needs quorum-1 peers whose
 * acknowledged heartbeats were sent within lease_ms. A fresh leader counts
 * its election as contact with everyone (one lease of grace). */
static int64_t lease_expiry(const election_t *e)
{
    size_t need = quorum(e) - 1;
    if (need == 0)
        return INT64_MAX;
    int64_t t[PEERS_MAX];
    size_t n = e->cfg.n_peers;
    for (size_t i = 0; i < n; i++)
        t[i] = e->ack_ms[i] > e->lead_since ? e->ack_ms[i] : e->lead_since;
    /* need-th largest: partial selection sort, n <= 8 */
    for (size_t i = 0; i < need; i++)
        for (size_t j = i + 1; j < n; j++)
            if (t[j] > t[i]) {
                int64_t x = t[i];
                t[i] = t[j];
                t[j] = x;
            }
    return t[need - 1] + e->cfg.lease_ms;
}

static int64_t next_tick(const election_t *e)
{
    if (e->role != ELECTION_LEADER)
        return e->election_deadline;
    int64_t t = e->hb_deadline;
    int64_t l = lease_expiry(e);
    if (l < t)
        t = l;
    if (e->transfer_target && e->transfer_deadline < t)
        t = e->transfer_deadline;
    return t;
}

static void out_end(election_t *e, election_out_t *out)
{
    if (out->persist) {
        out->hard.term = e->term;
        out->hard.voted_for = e->voted_for;
        out->hard.doc_id = e->doc_id;
        out->hard.doc = e->doc;
        out->hard.doc_len = e->doc_len;
    }
    out->next_tick_ms = next_tick(e);
    out->role_changed = e->role != e->prev_role || e->leader != e->prev_leader;
    out->role = e->role;
    out->term = e->term;
    out->leader = e->leader;
    if (!out->role_changed)
        out->reason = NULL;
}

static int doc_set(election_t *e, election_docid_t id, const uint8_t *doc, size_t len)
{
    if (len > e->doc_cap) {
        uint8_t *p = realloc(e->doc, len);
        if (!p)
            return QR_ENOMEM;
        e->doc = p;
        e->doc_cap = len;
    }
    if (len)
        memcpy(e->doc, doc, len);
    e->doc_len = len;
    e->doc_id = id;
    return 0;
}

/* ---- transitions ------------------------------------------------------- */

static void reset_election_timer(election_t *e, int64_t now)
{
    e->election_deadline = now + random_timeout(e);
}

/* Adopts a higher term seen in a message: forget the vote, follow. */
static void step_to_term(election_t *e, int64_t now, uint64_t term, election_out_t *out)
{
    e->term = term;
    e->voted_for = 0;
    e->leader = 0;
    e->override = false;
    e->transfer_target = 0;
    out->persist = true;
    if (e->role != ELECTION_FOLLOWER) {
        set_role(e, ELECTION_FOLLOWER, "higher term seen", out);
        reset_election_timer(e, now);
    }
}

static void send_append(election_t *e, int64_t now, size_t i, bool force_doc, election_out_t *out)
{
    election_msg_t *m = out_msg(e, out, ELECTION_MSG_APPEND_STATE, e->cfg.peers[i]);
    if (!m)
        return;
    m->doc_id = e->doc_id;
    if (force_doc || election_docid_cmp(e->match[i], e->doc_id) < 0) {
        m->has_doc = true;
        m->doc = e->doc;
        m->doc_len = e->doc_len;
    }
    m->commit = e->committed;
    m->echo_ms = now;
}

static void broadcast_append(election_t *e, int64_t now, election_out_t *out)
{
    for (size_t i = 0; i < e->cfg.n_peers; i++)
        send_append(e, now, i, false, out);
    e->hb_deadline = now + e->cfg.heartbeat_ms;
}

/* Commit = the quorum-th newest version among the leader's own and the
 * followers' acks, counted only for versions of the current term (Raft's
 * rule: older-term versions commit indirectly, through the leader's re-stamp). */
static void recompute_commit(election_t *e)
{
    election_docid_t v[ELECTION_MAX_NODES];
    size_t n = 0;
    v[n++] = e->doc_id;
    for (size_t i = 0; i < e->cfg.n_peers; i++)
        if (e->match[i].term == e->term)
            v[n++] = e->match[i];
    size_t q = quorum(e);
    if (n < q)
        return;
    for (size_t i = 0; i < q; i++)
        for (size_t j = i + 1; j < n; j++)
            if (election_docid_cmp(v[j], v[i]) > 0) {
                election_docid_t x = v[i];
                v[i] = v[j];
                v[j] = x;
            }
    election_docid_t c = v[q - 1];
    if (c.term == e->term && election_docid_cmp(c, e->committed) > 0)
        e->committed = c;
}

static void become_leader(election_t *e, int64_t now, const char *reason, election_out_t *out)
{
    set_role(e, ELECTION_LEADER, reason, out);
    e->leader = e->cfg.self_id;
    e->lead_since = now;
    e->transfer_target = 0;
    e->timeout_sent = false;
    for (size_t i = 0; i < e->cfg.n_peers; i++) {
        e->ack_ms[i] = -1;
        e->match[i] = (election_docid_t){0, 0};
    }
    /* Re-stamp the document in this term (Raft's no-op entry): only versions
     * of the current term are committed by counting, so an older version
     * becomes committed by being carried inside this one. */
    e->doc_id.term = e->term;
    e->doc_id.counter++;
    out->persist = true;
    recompute_commit(e);
    broadcast_append(e, now, out);
}

static void start_election(election_t *e, int64_t now, bool transfer, election_out_t *out)
{
    e->term++;
    e->voted_for = e->cfg.self_id;
    e->leader = 0;
    e->votes = 0;
    out->persist = true;
    set_role(e, ELECTION_CANDIDATE, transfer ? "leadership transfer" : "election timeout", out);
    reset_election_timer(e, now);
    if (quorum(e) == 1) {
        become_leader(e, now, "elected (single controller)", out);
        return;
    }
    for (size_t i = 0; i < e->cfg.n_peers; i++) {
        election_msg_t *m = out_msg(e, out, ELECTION_MSG_REQUEST_VOTE, e->cfg.peers[i]);
        if (!m)
            continue;
        m->doc_id = e->doc_id;
        m->transfer = transfer;
    }
}

/* Pre-vote (Raft thesis 9.6): ask first, without raising the term, so a
 * controller cut off from the leader cannot depose it on its return. */
static void start_prevote(election_t *e, int64_t now, election_out_t *out)
{
    if (e->cfg.no_prevote || quorum(e) == 1) {
        start_election(e, now, false, out);
        return;
    }
    e->leader = 0;
    e->votes = 0;
    set_role(e, ELECTION_PRECANDIDATE, "election timeout", out);
    reset_election_timer(e, now);
    for (size_t i = 0; i < e->cfg.n_peers; i++) {
        election_msg_t *m = out_msg(e, out, ELECTION_MSG_REQUEST_VOTE, e->cfg.peers[i]);
        if (!m)
            continue;
        m->term = e->term + 1;
        m->prevote = true;
        m->doc_id = e->doc_id;
    }
}

/* Leadership transfer, last step: TimeoutNow carries this leader's vote for
 * the target in the next term. The leader moves to term+1 as a follower and
 * votes for the target; out->persist puts both on disk before the message
 * leaves, like any granted vote. The target counts that vote with its own,
 * so with 3 controllers it wins without a RequestVote round trip (and without
 * the third controller's fsync). The message itself carries the old term. */
static void send_timeout_now(election_t *e, int64_t now, uint32_t target, election_out_t *out)
{
    uint64_t old_term = e->term;
    e->term = old_term + 1;
    e->voted_for = target;
    e->leader = 0;
    e->override = false;
    e->transfer_target = 0;
    e->timeout_sent = true;
    out->persist = true;
    set_role(e, ELECTION_FOLLOWER, ELECTION_REASON_HANDED_OVER, out);
    reset_election_timer(e, now);
    election_msg_t *m = out_msg(e, out, ELECTION_MSG_TIMEOUT_NOW, target);
    if (m) {
        m->term = old_term;
        m->granted = true;
    }
}

static void step_down(election_t *e, int64_t now, const char *reason, election_out_t *out)
{
    set_role(e, ELECTION_FOLLOWER, reason, out);
    e->leader = 0;
    e->override = false;
    e->transfer_target = 0;
    reset_election_timer(e, now);
}

/* ---- life cycle ---------------------------------------------------------- */

void election_config_defaults(election_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->heartbeat_ms = 100;
    c->election_min_ms = 500;
    c->election_max_ms = 1000;
    c->lease_ms = 0; /* follows election_min_ms */
    c->doc_max = ELECTION_DOC_MAX_DEFAULT;
}

static int config_check(const election_config_t *c, qr_err_t *err)
{
    if (c->self_id == 0 || c->self_id > ELECTION_MAX_ID)
        return qr_err_set(err, QR_EINVAL, "controller id %u: must be 1..%d", c->self_id,
                          ELECTION_MAX_ID);
    if (c->n_peers > PEERS_MAX)
        return qr_err_set(err, QR_EINVAL, "%zu peers: at most %d controllers", c->n_peers,
                          ELECTION_MAX_NODES);
    for (size_t i = 0; i < c->n_peers; i++) {
        if (c->peers[i] == 0 || c->peers[i] > ELECTION_MAX_ID || c->peers[i] == c->self_id)
            return qr_err_set(err, QR_EINVAL, "peer id %u: must be 1..%d and not our own",
                              c->peers[i], ELECTION_MAX_ID);
        for (size_t j = 0; j < i; j++)
            if (c->peers[j] == c->peers[i])
                return qr_err_set(err, QR_EINVAL, "peer id %u listed twice", c->peers[i]);
    }
    if (c->heartbeat_ms <= 0 || c->election_min_ms <= c->heartbeat_ms ||
        c->election_max_ms < c->election_min_ms || c->lease_ms < 0)
        return qr_err_set(err, QR_EINVAL,
                          "timers: need 0 < heartbeat (%lld) < election min (%lld) <= max "
                          "(%lld), lease (%lld) >= 0",
                          (long long)c->heartbeat_ms, (long long)c->election_min_ms,
                          (long long)c->election_max_ms, (long long)c->lease_ms);
    if (c->doc_max == 0)
        return qr_err_set(err, QR_EINVAL, "doc_max must be > 0");
    return 0;
}

int election_new(const election_config_t *cfg, const election_hard_t *restored, int64_t now_ms,
                 election_t **out, qr_err_t *err)
{
    *out = NULL;
    int rc = config_check(cfg, err);
    if (rc)
        return rc;
    if (restored) {
        if (restored->doc_len > cfg->doc_max)
            return qr_err_set(err, QR_ETOOBIG, "stored document is %zu bytes, limit %zu",
                              restored->doc_len, cfg->doc_max);
        if (restored->doc_id.term > restored->term)
            return qr_err_set(
                err, QR_EINVAL, "stored document term %llu is above the stored term %llu",
                (unsigned long long)restored->doc_id.term, (unsigned long long)restored->term);
    }
    election_t *e = calloc(1, sizeof *e);
    if (!e)
        return qr_err_set(err, QR_ENOMEM, "election state");
    e->cfg = *cfg;
    if (e->cfg.lease_ms == 0)
        e->cfg.lease_ms = e->cfg.election_min_ms;
    e->n_nodes = cfg->n_peers + 1;
    e->rng = cfg->seed ^ ((uint64_t)cfg->self_id << 32);
    e->role = ELECTION_FOLLOWER;
    e->last_leader_contact = -1;
    for (size_t i = 0; i < PEERS_MAX; i++) {
        e->ack_ms[i] = -1;
        e->last_heard[i] = -1;
    }
    if (restored) {
        e->term = restored->term;
        e->voted_for = restored->voted_for;
        if (doc_set(e, restored->doc_id, restored->doc, restored->doc_len)) {
            election_destroy(&e);
            return qr_err_set(err, QR_ENOMEM, "state document");
        }
    }
    reset_election_timer(e, now_ms);
    *out = e;
    return 0;
}

void election_destroy(election_t **e_p)
{
    if (!e_p || !*e_p)
        return;
    free((*e_p)->doc);
    free(*e_p);
    *e_p = NULL;
}

/* ---- inputs ---------------------------------------------------------------- */

void election_tick(election_t *e, int64_t now, election_out_t *out)
{
    out_begin(e, out);
    if (e->role == ELECTION_LEADER) {
        if (now >= lease_expiry(e)) {
            step_down(e, now, "lease expired: no majority answered", out);
        } else {
            if (e->transfer_target && now >= e->transfer_deadline)
                e->transfer_target = 0; /* the target did not win; lead on */
            if (now >= e->hb_deadline)
                broadcast_append(e, now, out);
        }
    } else if (now >= e->election_deadline) {
        start_prevote(e, now, out);
    }
    out_end(e, out);
}

void election_peer_lost(election_t *e, int64_t now, uint32_t peer, election_out_t *out)
{
    out_begin(e, out);
    if (e->role == ELECTION_FOLLOWER && peer != 0 && peer == e->leader) {
        e->leader = 0;
        e->last_leader_contact = -1;
        e->lost_leader = peer;
        e->lost_term = e->term;
        e->lost_at = now;
        out->reason = "the leader's connection closed";
        /* Every follower saw the same close within a few ms: staggered by
         * rank (lower ids first, half a heartbeat apart) they do not split
         * the vote, as random draws this close together would. */
        int64_t rank = 0;
        for (size_t i = 0; i < e->cfg.n_peers; i++)
            if (e->cfg.peers[i] != peer && e->cfg.peers[i] < e->cfg.self_id)
                rank++;
        int64_t soon = now + e->cfg.heartbeat_ms / 4 + rank * (e->cfg.heartbeat_ms / 2);
        if (soon < e->election_deadline)
            e->election_deadline = soon;
    }
    out_end(e, out);
}

static int msg_check(const election_t *e, const election_msg_t *m)
{
    if (m->type < ELECTION_MSG_REQUEST_VOTE || m->type > ELECTION_MSG_TIMEOUT_NOW)
        return QR_EINVAL;
    if (m->to != e->cfg.self_id || peer_index(e, m->from) < 0)
        return QR_EINVAL;
    if (m->has_doc && m->doc_len > e->cfg.doc_max)
        return QR_ETOOBIG;
    if (m->has_doc && m->doc_len && !m->doc)
        return QR_EINVAL;
    return 0;
}

static bool heard_leader_recently(const election_t *e, int64_t now)
{
    if (e->role == ELECTION_LEADER)
        return true;
    return e->leader != 0 && e->last_leader_contact >= 0 &&
           now - e->last_leader_contact < e->cfg.election_min_ms;
}

static int on_request_vote(election_t *e, int64_t now, const election_msg_t *m, election_out_t *out)
{
    bool doc_ok = election_docid_cmp(m->doc_id, e->doc_id) >= 0;
    if (m->prevote) {
        /* Nothing changes here: a pre-vote only predicts the real vote. */
        bool grant = m->term > e->term && doc_ok && !heard_leader_recently(e, now);
        election_msg_t *r = out_msg(e, out, ELECTION_MSG_VOTE_REPLY, m->from);
        if (r) {
            r->prevote = true;
            r->granted = grant;
            r->term = grant ? m->term : e->term;
        }
        return m->term < e->term ? QR_ESTALE : 0;
    }
    if (m->term < e->term) {
        election_msg_t *r = out_msg(e, out, ELECTION_MSG_VOTE_REPLY, m->from);
        if (r)
            r->granted = false;
        return QR_ESTALE;
    }
    if (m->term > e->term)
        step_to_term(e, now, m->term, out);
    bool grant = (e->voted_for == 0 || e->voted_for == m->from) && doc_ok;
    if (grant) {
        if (e->voted_for != m->from)
            out->persist = true; /* the vote must be on disk before the reply */
        e->voted_for = m->from;
        reset_election_timer(e, now);
    }
    election_msg_t *r = out_msg(e, out, ELECTION_MSG_VOTE_REPLY, m->from);
    if (r)
        r->granted = grant;
    return 0;
}

static int on_vote_reply(election_t *e, int64_t now, const election_msg_t *m, election_out_t *out)
{
    int i = peer_index(e, m->from);
    if (m->prevote) {
        if (m->granted) {
            if (e->role == ELECTION_PRECANDIDATE && m->term == e->term + 1) {
                e->votes |= 1u << i;
                if (popcount32(e->votes) + 1 >= quorum(e))
                    start_election(e, now, false, out);
            }
        } else if (m->term > e->term) {
            step_to_term(e, now, m->term, out);
        }
        return 0;
    }
    if (m->term < e->term)
        return QR_ESTALE;
    if (m->term > e->term) {
        step_to_term(e, now, m->term, out);
        return 0;
    }
    if (e->role == ELECTION_CANDIDATE && m->granted) {
        e->votes |= 1u << i;
        if (popcount32(e->votes) + 1 >= quorum(e))
            become_leader(e, now, "elected by a majority", out);
    }
    return 0;
}

static int on_append(election_t *e, int64_t now, const election_msg_t *m, election_out_t *out)
{
    if (m->term < e->term) {
        /* A deposed leader: tell it the current term so it steps down. */
        election_msg_t *r = out_msg(e, out, ELECTION_MSG_APPEND_REPLY, m->from);
        if (r) {
            r->success = false;
            r->doc_id = e->doc_id;
            r->echo_ms = m->echo_ms;
        }
        return QR_ESTALE;
    }
    if (m->term > e->term)
        step_to_term(e, now, m->term, out);
    if (e->role == ELECTION_LEADER)
        return QR_ECONFLICT;
    /* Sent before its connection closed and overtaken by the close: the
     * document is kept, but it is no sign of life (for a leader that lives
     * on, its next heartbeat after this window is). */
    bool remains = m->from == e->lost_leader && m->term == e->lost_term &&
                   now - e->lost_at < e->cfg.heartbeat_ms;
    if (!remains) {
        if (e->role != ELECTION_FOLLOWER)
            set_role(e, ELECTION_FOLLOWER, "a leader of this term exists", out);
        e->leader = m->from;
        e->last_leader_contact = now;
        reset_election_timer(e, now);
    }
    if (m->has_doc && election_docid_cmp(m->doc_id, e->doc_id) > 0) {
        /* Older versions arriving late are ignored: no going back. */
        if (doc_set(e, m->doc_id, m->doc, m->doc_len) == 0)
            out->persist = true;
    }
    if (election_docid_cmp(m->commit, e->committed) > 0)
        e->committed = m->commit;
    election_msg_t *r = out_msg(e, out, ELECTION_MSG_APPEND_REPLY, m->from);
    if (r) {
        r->success = true;
        r->doc_id = e->doc_id; /* what we hold (persisted before this reply leaves) */
        r->echo_ms = m->echo_ms;
    }
    return 0;
}

static int on_append_reply(election_t *e, int64_t now, const election_msg_t *m, election_out_t *out)
{
    if (m->term > e->term) {
        step_to_term(e, now, m->term, out);
        return 0;
    }
    if (m->term < e->term)
        return QR_ESTALE;
    if (e->role != ELECTION_LEADER || !m->success)
        return 0;
    size_t i = (size_t)peer_index(e, m->from);
    /* The lease counts from when the acknowledged heartbeat was sent, so a
     * late or duplicated reply cannot stretch it. */
    if (m->echo_ms > e->ack_ms[i] && m->echo_ms <= now && m->echo_ms >= e->lead_since)
        e->ack_ms[i] = m->echo_ms;
    if (m->doc_id.term == e->term && election_docid_cmp(m->doc_id, e->match[i]) > 0 &&
        election_docid_cmp(m->doc_id, e->doc_id) <= 0) {
        e->match[i] = m->doc_id;
        recompute_commit(e);
    }
    if (e->override) {
        /* A real majority follows again: the takeover's quorum of one ends. */
        size_t fresh = 1;
        for (size_t k = 0; k < e->cfg.n_peers; k++)
            if (e->ack_ms[k] >= 0 && now - e->ack_ms[k] < e->cfg.lease_ms)
                fresh++;
        if (fresh >= e->n_nodes / 2 + 1)
            e->override = false;
    }
    if (e->transfer_target == m->from && !e->timeout_sent &&
        election_docid_cmp(e->match[i], e->doc_id) == 0)
        send_timeout_now(e, now, m->from, out);
    return 0;
}

static int on_timeout_now(election_t *e, int64_t now, const election_msg_t *m, election_out_t *out)
{
    if (m->term < e->term)
        return QR_ESTALE;
    if (m->term > e->term)
        step_to_term(e, now, m->term, out);
    if (e->role == ELECTION_LEADER)
        return QR_ECONFLICT;
    start_election(e, now, true, out);
    /* The old leader's vote in the new term came with the message (already
     * on its disk, see send_timeout_now). */
    if (m->granted && e->role == ELECTION_CANDIDATE && e->term == m->term + 1) {
        e->votes |= 1u << peer_index(e, m->from);
        if (popcount32(e->votes) + 1 >= quorum(e)) {
            become_leader(e, now, "elected by a majority (handover vote)", out);
            /* the vote requests are moot: the heartbeats tell the others */
            size_t w = 0;
            for (size_t k = 0; k < out->n_msgs; k++)
                if (out->msgs[k].type != ELECTION_MSG_REQUEST_VOTE)
                    out->msgs[w++] = out->msgs[k];
            out->n_msgs = w;
        }
    }
    return 0;
}

int election_recv(election_t *e, int64_t now, const election_msg_t *m, election_out_t *out)
{
    out_begin(e, out);
    int rc = msg_check(e, m);
    if (rc) {
        out_end(e, out);
        return rc;
    }
    e->last_heard[peer_index(e, m->from)] = now;
    switch (m->type) {
    case ELECTION_MSG_REQUEST_VOTE:
        rc = on_request_vote(e, now, m, out);
        break;
    case ELECTION_MSG_VOTE_REPLY:
        rc = on_vote_reply(e, now, m, out);
        break;
    case ELECTION_MSG_APPEND_STATE:
        rc = on_append(e, now, m, out);
        break;
    case ELECTION_MSG_APPEND_REPLY:
        rc = on_append_reply(e, now, m, out);
        break;
    case ELECTION_MSG_TIMEOUT_NOW:
        rc = on_timeout_now(e, now, m, out);
        break;
    }
    out_end(e, out);
    return rc;
}

int election_propose_doc(election_t *e, int64_t now, const uint8_t *doc, size_t len,
                         election_docid_t *id, election_out_t *out, qr_err_t *err)
{
    out_begin(e, out);
    int rc = 0;
    if (e->role != ELECTION_LEADER)
        rc = qr_err_set(err, QR_EUNAVAIL, "not the leader");
    else if (e->transfer_target)
        rc = qr_err_set(err, QR_EUNAVAIL, "handing leadership over");
    else if (len > e->cfg.doc_max)
        rc = qr_err_set(err, QR_ETOOBIG, "state document of %zu bytes, limit %zu", len,
                        e->cfg.doc_max);
    else if (len && !doc)
        rc = qr_err_set(err, QR_EINVAL, "no document");
    if (rc == 0) {
        election_docid_t nid = {e->term, e->doc_id.counter + 1};
        if (doc_set(e, nid, doc, len)) {
            rc = qr_err_set(err, QR_ENOMEM, "state document");
        } else {
            out->persist = true;
            recompute_commit(e);
            broadcast_append(e, now, out);
            if (id)
                *id = nid;
        }
    }
    out_end(e, out);
    return rc;
}

int election_transfer(election_t *e, int64_t now, uint32_t *target, election_out_t *out)
{
    out_begin(e, out);
    *target = 0;
    int best = -1;
    if (e->role == ELECTION_LEADER) {
        for (size_t i = 0; i < e->cfg.n_peers; i++) {
            if (e->ack_ms[i] < 0 || now - e->ack_ms[i] >= e->cfg.lease_ms)
                continue; /* not heard lately: it may be gone */
            if (best < 0 || election_docid_cmp(e->match[i], e->match[best]) > 0 ||
                (election_docid_cmp(e->match[i], e->match[best]) == 0 &&
                 e->ack_ms[i] > e->ack_ms[best]))
                best = (int)i;
        }
    }
    if (best < 0) {
        out_end(e, out);
        return QR_EUNAVAIL;
    }
    e->transfer_target = e->cfg.peers[best];
    e->transfer_deadline = now + e->cfg.election_min_ms;
    e->timeout_sent = false;
    *target = e->transfer_target;
    if (election_docid_cmp(e->match[best], e->doc_id) == 0)
        send_timeout_now(e, now, *target, out);
    else
        send_append(e, now, (size_t)best, true, out); /* TimeoutNow follows its ack */
    out_end(e, out);
    return 0;
}

bool election_transfer_pending(const election_t *e)
{
    return e->role == ELECTION_LEADER && e->transfer_target && !e->timeout_sent;
}

int election_takeover(election_t *e, int64_t now, election_takeover_info_t *info,
                      election_out_t *out)
{
    out_begin(e, out);
    uint64_t nt = election_takeover_term(e->term, e->cfg.self_id);
    if (nt <= e->term) {
        out_end(e, out);
        return QR_ERANGE;
    }
    /* A takeover only makes sense when the majority is out of reach; with a
     * majority answering, it would only throw away their committed state. */
    size_t heard = 1;
    for (size_t i = 0; i < e->cfg.n_peers; i++)
        if (e->last_heard[i] >= 0 && now - e->last_heard[i] < e->cfg.election_max_ms)
            heard++;
    if (e->n_nodes > 1 && heard >= e->n_nodes / 2 + 1) {
        out_end(e, out);
        return QR_EREFUSED;
    }
    memset(info, 0, sizeof *info);
    info->old_term = e->term;
    info->old_leader = e->leader;
    info->at_ms = now;
    info->n_peers = e->cfg.n_peers;
    for (size_t i = 0; i < e->cfg.n_peers; i++) {
        info->peer_ids[i] = e->cfg.peers[i];
        info->peer_last_heard_ms[i] = e->last_heard[i];
    }
    e->term = nt;
    e->voted_for = e->cfg.self_id;
    e->override = true;
    become_leader(e, now, "operator takeover", out);
    info->new_term = e->term;
    info->doc_id = e->doc_id;
    out_end(e, out);
    return 0;
}

/* ---- accessors ------------------------------------------------------------ */

election_role_t election_role(const election_t *e)
{
    return e->role;
}

uint64_t election_term(const election_t *e)
{
    return e->term;
}

uint32_t election_leader(const election_t *e)
{
    return e->leader;
}

uint32_t election_voted_for(const election_t *e)
{
    return e->voted_for;
}

uint32_t election_self(const election_t *e)
{
    return e->cfg.self_id;
}

bool election_override(const election_t *e)
{
    return e->role == ELECTION_LEADER && e->override;
}

bool election_leader_valid(const election_t *e, int64_t now)
{
    return e->role == ELECTION_LEADER && !e->transfer_target && now < lease_expiry(e);
}

void election_doc(const election_t *e, election_docid_t *id, const uint8_t **doc, size_t *len)
{
    if (id)
        *id = e->doc_id;
    if (doc)
        *doc = e->doc;
    if (len)
        *len = e->doc_len;
}

election_docid_t election_doc_committed(const election_t *e)
{
    return e->committed;
}

bool election_doc_is_committed(const election_t *e, election_docid_t id)
{
    return id.term == e->committed.term && id.counter <= e->committed.counter &&
           (id.term != 0 || id.counter != 0);
}

int64_t election_next_tick(const election_t *e)
{
    return next_tick(e);
}

int election_peer_last_heard(const election_t *e, uint32_t id, int64_t *at_ms)
{
    int i = peer_index(e, id);
    if (i < 0)
        return QR_ENOTFOUND;
    *at_ms = e->last_heard[i];
    return 0;
}
