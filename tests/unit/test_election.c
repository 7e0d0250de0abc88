/* Focused tests of the election rules on small hand-driven clusters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/election.h"

/* ---- a tiny lossless cluster: FIFO delivery, persist applied at once ---- */

typedef struct {
    election_msg_t m;
    uint8_t *doc;
} qmsg_t;

typedef struct {
    int n;
    election_t *e[5];
    bool down[5];
    bool cut[5][5]; /* [from][to] */
    qmsg_t q[1024];
    size_t head, tail;
    int64_t now;
    int persists[5];
} cl_t;

static void cl_config(election_config_t *cfg, int n, int i)
{
    election_config_defaults(cfg);
    cfg->self_id = (uint32_t)i + 1;
    for (int k = 0; k < n; k++)
        if (k != i)
            cfg->peers[cfg->n_peers++] = (uint32_t)k + 1;
    cfg->seed = 1234;
    cfg->doc_max = 4096;
}

static cl_t *cl_new(int n)
{
    cl_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->n = n;
    for (int i = 0; i < n; i++) {
        election_config_t cfg;
        cl_config(&cfg, n, i);
        qr_err_t err;
        assert_int_equal(election_new(&cfg, NULL, 0, &c->e[i], &err), 0);
    }
    return c;
}

static void cl_free(cl_t *c)
{
    for (; c->head < c->tail; c->head++)
        free(c->q[c->head % 1024].doc);
    for (int i = 0; i < c->n; i++)
        election_destroy(&c->e[i]);
    free(c);
}

static void cl_out(cl_t *c, int from, const election_out_t *o)
{
    if (o->persist)
        c->persists[from]++;
    for (size_t k = 0; k < o->n_msgs; k++) {
        const election_msg_t *m = &o->msgs[k];
        int to = (int)m->to - 1;
        if (c->cut[from][to])
            continue;
        qmsg_t *q = &c->q[c->tail++ % 1024];
        q->m = *m;
        q->doc = NULL;
        if (m->has_doc && m->doc_len) {
            q->doc = malloc(m->doc_len);
            assert_non_null(q->doc);
            memcpy(q->doc, m->doc, m->doc_len);
            q->m.doc = q->doc;
        }
    }
}

/* Delivers everything in flight (and what that causes). */
static void cl_run(cl_t *c)
{
    while (c->head < c->tail) {
        qmsg_t q = c->q[c->head++ % 1024];
        int to = (int)q.m.to - 1;
        if (!c->down[to]) {
            election_out_t o;
            election_recv(c->e[to], c->now, &q.m, &o);
            cl_out(c, to, &o);
        }
        free(q.doc);
    }
}

static void cl_tick(cl_t *c, int i)
{
    election_out_t o;
    election_tick(c->e[i], c->now, &o);
    cl_out(c, i, &o);
}

/* Advances time to node i's next timer and fires it. */
static void cl_fire(cl_t *c, int i)
{
    int64_t t = election_next_tick(c->e[i]);
    if (t > c->now)
        c->now = t;
    cl_tick(c, i);
}

/* Heartbeats for ms milliseconds: every up node ticks every 10 ms. */
static void cl_advance(cl_t *c, int64_t ms)
{
    int64_t end = c->now + ms;
    while (c->now < end) {
        c->now += 10;
        for (int i = 0; i < c->n; i++)
            if (!c->down[i] && election_next_tick(c->e[i]) <= c->now)
                cl_tick(c, i);
        cl_run(c);
    }
}

static int cl_leader(cl_t *c)
{
    int l = -1;
    for (int i = 0; i < c->n; i++)
        if (!c->down[i] && election_role(c->e[i]) == ELECTION_LEADER) {
            if (l >= 0 && election_term(c->e[l]) == election_term(c->e[i]))
                fail_msg("two leaders in one term");
            if (l < 0 || election_term(c->e[i]) > election_term(c->e[l]))
                l = i;
        }
    return l;
}

static int elect(cl_t *c, int i)
{
    cl_fire(c, i);
    cl_run(c);
    return cl_leader(c);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_election_first_timeout_elects_leader_followed_by_all(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    assert_int_equal(election_term(c->e[0]), 1);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(election_role(c->e[i]), ELECTION_FOLLOWER);
        assert_int_equal(election_leader(c->e[i]), 1);
        assert_int_equal(election_term(c->e[i]), 1);
        assert_int_equal(election_voted_for(c->e[i]), 1);
    }
    assert_true(election_leader_valid(c->e[0], c->now));
    cl_free(c);
}

static void test_election_timeouts_are_random_within_bounds_and_seeded(void **state)
{
    (void)state;
    election_config_t cfg;
    cl_config(&cfg, 3, 0);
    int64_t seen[64];
    bool differ = false;
    for (int s = 0; s < 64; s++) {
        cfg.seed = (uint64_t)s;
        election_t *e;
        qr_err_t err;
        assert_int_equal(election_new(&cfg, NULL, 1000, &e, &err), 0);
        seen[s] = election_next_tick(e) - 1000;
        assert_true(seen[s] >= 500 && seen[s] <= 1000);
        if (s && seen[s] != seen[0])
            differ = true;
        election_destroy(&e);
        assert_int_equal(election_new(&cfg, NULL, 1000, &e, &err), 0);
        assert_int_equal(election_next_tick(e) - 1000, seen[s]); /* same seed, same draw */
        election_destroy(&e);
    }
    assert_true(differ);
}

static void test_election_vote_persisted_before_reply_and_granted_once_per_term(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    election_msg_t rv = {.type = ELECTION_MSG_REQUEST_VOTE, .from = 2, .to = 1, .term = 3};
    election_out_t o;
    assert_int_equal(election_recv(c->e[0], 5, &rv, &o), 0);
    assert_true(o.persist);
    assert_int_equal(o.hard.term, 3);
    assert_int_equal(o.hard.voted_for, 2);
    assert_true(o.msgs[0].granted);
    /* a duplicate of the same request is granted again, with nothing new to persist */
    assert_int_equal(election_recv(c->e[0], 6, &rv, &o), 0);
    assert_true(o.msgs[0].granted);
    assert_false(o.persist);
    /* a second candidate in the same term is refused */
    rv.from = 3;
    assert_int_equal(election_recv(c->e[0], 7, &rv, &o), 0);
    assert_false(o.msgs[0].granted);
    assert_int_equal(election_voted_for(c->e[0]), 2);
    cl_free(c);
}

static void test_election_vote_refused_to_candidate_with_older_document(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    election_t *e;
    election_config_t cfg;
    cl_config(&cfg, 3, 0);
    election_hard_t h = {5, 0, {5, 9}, (const uint8_t *)"doc", 3};
    qr_err_t err;
    assert_int_equal(election_new(&cfg, &h, 0, &e, &err), 0);
    election_out_t o;
    /* same term, lower counter: older */
    election_msg_t rv = {
        .type = ELECTION_MSG_REQUEST_VOTE, .from = 2, .to = 1, .term = 6, .doc_id = {5, 8}};
    election_recv(e, 1, &rv, &o);
    assert_false(o.msgs[0].granted);
    assert_int_equal(election_term(e), 6); /* the term still rises */
    /* older term with a higher counter: still older */
    rv.term = 7;
    rv.doc_id = (election_docid_t){4, 100};
    election_recv(e, 2, &rv, &o);
    assert_false(o.msgs[0].granted);
    /* as new as ours: granted */
    rv.term = 8;
    rv.doc_id = (election_docid_t){5, 9};
    election_recv(e, 3, &rv, &o);
    assert_true(o.msgs[0].granted);
    election_destroy(&e);
    cl_free(c);
}

static void test_election_stale_term_messages_rejected_and_old_leader_steps_down(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    /* node 2 moves on to term 5 (e.g. it saw another election) */
    election_msg_t rv = {.type = ELECTION_MSG_REQUEST_VOTE, .from = 3, .to = 2, .term = 5};
    election_out_t o;
    election_recv(c->e[1], c->now, &rv, &o);
    /* the old leader's heartbeat is stale there: refused, answered with term 5 */
    election_msg_t hb = {
        .type = ELECTION_MSG_APPEND_STATE, .from = 1, .to = 2, .term = 1, .echo_ms = c->now};
    assert_int_equal(election_recv(c->e[1], c->now, &hb, &o), QR_ESTALE);
    assert_int_equal(o.n_msgs, 1);
    assert_false(o.msgs[0].success);
    assert_int_equal(o.msgs[0].term, 5);
    assert_int_equal(election_leader(c->e[1]), 0);
    /* the reply deposes the old leader, which persists the higher term */
    election_out_t o2;
    election_recv(c->e[0], c->now, &o.msgs[0], &o2);
    assert_int_equal(election_role(c->e[0]), ELECTION_FOLLOWER);
    assert_int_equal(election_term(c->e[0]), 5);
    assert_true(o2.persist);
    assert_true(o2.role_changed);
    cl_free(c);
}

static void test_election_leader_steps_down_when_lease_expires(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    /* both followers stop answering */
    for (int k = 0; k < 3; k++)
        c->cut[1][k] = c->cut[2][k] = true;
    int64_t lost = c->now;
    while (election_role(c->e[0]) == ELECTION_LEADER && c->now < lost + 2000)
        cl_advance(c, 10);
    assert_int_equal(election_role(c->e[0]), ELECTION_FOLLOWER);
    /* within one lease (500 ms) of the last acknowledged heartbeat */
    assert_true(c->now - lost <= 500 + 10);
    assert_false(election_leader_valid(c->e[0], c->now));
    cl_free(c);
}

static void test_election_leader_keeps_lease_with_one_follower_of_three(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    c->down[2] = true;
    cl_advance(c, 3000);
    assert_int_equal(election_role(c->e[0]), ELECTION_LEADER);
    assert_int_equal(election_term(c->e[0]), 1);
    assert_true(election_leader_valid(c->e[0], c->now));
    cl_free(c);
}

static void test_election_late_reply_does_not_extend_lease(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    int64_t t0 = c->now;
    /* a reply to a heartbeat sent at t0, arriving 450 ms late */
    election_msg_t r = {.type = ELECTION_MSG_APPEND_REPLY,
                        .from = 2,
                        .to = 1,
                        .term = 1,
                        .success = true,
                        .echo_ms = t0,
                        .doc_id = {1, 1}};
    election_out_t o;
    election_recv(c->e[0], t0 + 450, &r, &o);
    /* the lease counts from t0, not from the arrival */
    election_tick(c->e[0], t0 + 501, &o);
    assert_int_equal(election_role(c->e[0]), ELECTION_FOLLOWER);
    cl_free(c);
}

static void test_election_document_committed_only_after_majority_persisted(void **state)
{
    (void)state;
    cl_t *c = cl_new(5);
    assert_int_equal(elect(c, 0), 0);
    c->down[2] = c->down[3] = c->down[4] = true;
    election_out_t o;
    election_docid_t id;
    qr_err_t err;
    assert_int_equal(
        election_propose_doc(c->e[0], c->now, (const uint8_t *)"plan v2", 7, &id, &o, &err), 0);
    assert_true(o.persist);
    assert_int_equal(o.hard.doc_id.counter, id.counter);
    cl_out(c, 0, &o);
    cl_run(c);
    /* leader + one follower of five: not committed */
    assert_false(election_doc_is_committed(c->e[0], id));
    c->down[2] = false;
    cl_advance(c, 150); /* a heartbeat carries it to node 3 */
    assert_true(election_doc_is_committed(c->e[0], id));
    const uint8_t *d;
    size_t n;
    election_docid_t fid;
    election_doc(c->e[2], &fid, &d, &n);
    assert_int_equal(fid.counter, id.counter);
    assert_int_equal(n, 7);
    assert_memory_equal(d, "plan v2", 7);
    /* followers learn the commit from the next heartbeat */
    cl_advance(c, 150);
    assert_true(election_doc_is_committed(c->e[1], id));
    cl_free(c);
}

static void test_election_new_leader_starts_from_newest_committed_document(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    election_out_t o;
    election_docid_t id;
    qr_err_t err;
    c->down[2] = true; /* node 3 misses the new version */
    assert_int_equal(
        election_propose_doc(c->e[0], c->now, (const uint8_t *)"alerts: x", 9, &id, &o, &err), 0);
    cl_out(c, 0, &o);
    cl_run(c);
    assert_true(election_doc_is_committed(c->e[0], id));
    /* the leader dies; node 3 (stale) times out first but cannot win */
    c->down[0] = true;
    c->down[2] = false;
    cl_fire(c, 2);
    cl_run(c);
    assert_int_not_equal(election_role(c->e[2]), ELECTION_LEADER);
    /* node 2 (which has the committed version) can */
    cl_advance(c, 3000);
    int l = cl_leader(c);
    assert_int_equal(l, 1);
    const uint8_t *d;
    size_t n;
    election_docid_t nid;
    election_doc(c->e[1], &nid, &d, &n);
    assert_int_equal(n, 9);
    assert_memory_equal(d, "alerts: x", 9);
    assert_true(election_docid_cmp(nid, id) > 0); /* re-stamped in the new term */
    assert_int_equal(nid.term, election_term(c->e[1]));
    /* and node 3 received it */
    election_doc(c->e[2], &nid, &d, &n);
    assert_int_equal(n, 9);
    cl_free(c);
}

static void test_election_prevote_keeps_returning_node_from_deposing_leader(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    /* node 3 cannot hear anyone: it times out again and again */
    c->cut[0][2] = c->cut[1][2] = true;
    cl_advance(c, 5000);
    assert_int_equal(election_term(c->e[2]), 1); /* pre-votes did not raise its term */
    c->cut[0][2] = c->cut[1][2] = false;
    cl_advance(c, 500);
    assert_int_equal(cl_leader(c), 0);
    assert_int_equal(election_term(c->e[0]), 1);
    assert_int_equal(election_leader(c->e[2]), 1);
    cl_free(c);
}

/* A killed leader's connection closes: its followers elect in staggered
 * order within a few heartbeats, not an election timeout (5 controllers). */
static void test_election_leader_connection_closed_elects_within_heartbeats(void **state)
{
    (void)state;
    cl_t *c = cl_new(5);
    assert_int_equal(elect(c, 2), 2); /* node 3 (id 3) leads */
    cl_advance(c, 200);
    c->down[2] = true;
    int64_t t0 = c->now;
    election_out_t o;
    for (int i = 0; i < 5; i++) {
        if (i == 2)
            continue;
        election_peer_lost(c->e[i], c->now, 3, &o);
        assert_true(o.role_changed); /* the leader became unknown */
        assert_int_equal(election_leader(c->e[i]), 0);
        /* rank among the other followers: ids 1, 2, 4, 5 -> 0, 1, 2, 3 */
        int rank = i < 2 ? i : i - 1;
        assert_int_equal(election_next_tick(c->e[i]), c->now + 25 + rank * 50);
        cl_out(c, i, &o);
    }
    cl_advance(c, 200);
    int l = cl_leader(c);
    assert_int_equal(l, 0); /* the first in order won, without a split */
    assert_true(c->now - t0 <= 200);
    assert_int_equal(election_term(c->e[0]), 2);
    cl_free(c);
}

/* A close reported for a leader the other followers still hear (a reset
 * connection) does not depose it; a close of a follower changes nothing. */
static void test_election_spurious_connection_close_keeps_leader(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 300);
    election_out_t o;
    election_peer_lost(c->e[2], c->now, 2, &o); /* node 2 is a follower */
    assert_false(o.role_changed);
    assert_int_equal(election_leader(c->e[2]), 1);
    election_peer_lost(c->e[2], c->now, 1, &o); /* the leader, alive */
    cl_out(c, 2, &o);
    assert_int_equal(election_leader(c->e[2]), 0);
    cl_advance(c, 2000);
    assert_int_equal(cl_leader(c), 0);
    assert_int_equal(election_term(c->e[0]), 1); /* node 3's pre-vote was refused */
    assert_int_equal(election_leader(c->e[2]), 1); /* and it follows again */
    cl_free(c);
}

/* A heartbeat the dead leader sent before it died, delivered after the close,
 * is no sign of life: the early election still happens. */
static void test_election_heartbeat_overtaken_by_close_is_not_contact(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 300);
    election_msg_t hb = {.type = ELECTION_MSG_APPEND_STATE, .from = 1, .term = 1};
    c->down[0] = true;
    election_out_t o;
    for (int i = 1; i < 3; i++) {
        election_peer_lost(c->e[i], c->now, 1, &o);
        cl_out(c, i, &o);
        hb.to = (uint32_t)i + 1;
        election_docid_t id;
        const uint8_t *d;
        size_t n;
        election_doc(c->e[i], &id, &d, &n);
        hb.doc_id = id;
        c->now += 2;
        assert_int_equal(election_recv(c->e[i], c->now, &hb, &o), 0);
        assert_int_equal(election_leader(c->e[i]), 0); /* not followed again */
    }
    int64_t t0 = c->now;
    cl_advance(c, 200);
    assert_int_equal(cl_leader(c), 1);
    assert_true(c->now - t0 <= 200);
    cl_free(c);
}

static void test_election_timeout_now_hands_leadership_over_at_once(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 200); /* followers acknowledged the current document */
    election_out_t o;
    uint32_t target;
    assert_int_equal(election_transfer(c->e[0], c->now, &target, &o), 0);
    assert_true(target == 2 || target == 3);
    assert_int_equal(o.n_msgs, 1);
    assert_int_equal(o.msgs[0].type, ELECTION_MSG_TIMEOUT_NOW);
    /* TimeoutNow carries the old term and the old leader's vote for the
     * target in the next term, which must be on disk before it leaves */
    assert_int_equal(o.msgs[0].term, 1);
    assert_true(o.msgs[0].granted);
    assert_true(o.persist);
    assert_int_equal(o.hard.term, 2);
    assert_int_equal(o.hard.voted_for, target);
    assert_int_equal(election_role(c->e[0]), ELECTION_FOLLOWER);
    assert_false(election_transfer_pending(c->e[0]));
    assert_false(election_leader_valid(c->e[0], c->now)); /* no more commands */
    qr_err_t err;
    election_out_t o2;
    election_docid_t id;
    assert_int_equal(election_propose_doc(c->e[0], c->now, (const uint8_t *)"x", 1, &id, &o2, &err),
                     QR_EUNAVAIL);
    int64_t t0 = c->now;
    cl_out(c, 0, &o);
    c->down[0] = true; /* the old leader exits right after */
    cl_run(c);
    assert_int_equal(cl_leader(c), (int)target - 1);
    assert_int_equal(c->now, t0); /* no timeout was waited for */
    assert_int_equal(election_term(c->e[target - 1]), 2);
    cl_free(c);
}

/* The vote inside TimeoutNow is enough with 3 controllers: the target leads
 * in the same call, sends no vote requests, and the third controller only
 * gets the heartbeat. With 5 it still needs one more vote. */
static void test_election_timeout_now_vote_elects_without_round_trip(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 200);
    election_out_t o, o2;
    uint32_t target;
    assert_int_equal(election_transfer(c->e[0], c->now, &target, &o), 0);
    assert_int_equal(election_recv(c->e[target - 1], c->now, &o.msgs[0], &o2), 0);
    assert_int_equal(election_role(c->e[target - 1]), ELECTION_LEADER);
    assert_int_equal(election_term(c->e[target - 1]), 2);
    assert_true(o2.persist);
    assert_int_equal(o2.hard.term, 2);
    assert_int_equal(o2.hard.voted_for, target);
    for (size_t k = 0; k < o2.n_msgs; k++)
        assert_int_equal(o2.msgs[k].type, ELECTION_MSG_APPEND_STATE);
    assert_int_equal(o2.n_msgs, 2);
    /* a duplicate TimeoutNow is stale now */
    assert_int_equal(election_recv(c->e[target - 1], c->now, &o.msgs[0], &o2), QR_ESTALE);
    /* a TimeoutNow without the vote (older peers) still starts a normal election */
    election_msg_t m = o.msgs[0];
    m.granted = false;
    m.term = 2;
    int other = target == 2 ? 2 : 1; /* the third controller, index */
    m.to = (uint32_t)other + 1;
    assert_int_equal(election_recv(c->e[other], c->now, &m, &o2), 0);
    assert_int_equal(election_role(c->e[other]), ELECTION_CANDIDATE);
    assert_int_equal(election_term(c->e[other]), 3);
    cl_free(c);

    c = cl_new(5);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 200);
    assert_int_equal(election_transfer(c->e[0], c->now, &target, &o), 0);
    assert_int_equal(election_recv(c->e[target - 1], c->now, &o.msgs[0], &o2), 0);
    assert_int_equal(election_role(c->e[target - 1]), ELECTION_CANDIDATE); /* 2 of 5 */
    size_t reqs = 0;
    for (size_t k = 0; k < o2.n_msgs; k++)
        reqs += o2.msgs[k].type == ELECTION_MSG_REQUEST_VOTE;
    assert_int_equal(reqs, 4);
    cl_out(c, (int)target - 1, &o2);
    c->down[0] = true;
    cl_run(c);
    assert_int_equal(cl_leader(c), (int)target - 1);
    assert_int_equal(election_term(c->e[target - 1]), 2);
    cl_free(c);
}

static void test_election_transfer_brings_lagging_target_up_to_date_first(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 200);
    /* node 3 is down while a new version commits with node 2 */
    c->down[2] = true;
    election_out_t o;
    election_docid_t id;
    qr_err_t err;
    assert_int_equal(election_propose_doc(c->e[0], c->now, (const uint8_t *)"v", 1, &id, &o, &err),
                     0);
    cl_out(c, 0, &o);
    cl_run(c);
    c->down[2] = false;
    uint32_t target;
    assert_int_equal(election_transfer(c->e[0], c->now, &target, &o), 0);
    assert_int_equal(target, 2); /* the up-to-date follower is preferred */
    assert_int_equal(o.msgs[0].type, ELECTION_MSG_TIMEOUT_NOW);
    assert_false(election_transfer_pending(c->e[0])); /* the daemon may exit now */
    cl_free(c);

    /* when only a lagging follower answers, it gets the document first */
    c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    c->down[1] = true;
    cl_advance(c, 600); /* node 2's last answer is now older than the lease */
    c->cut[0][2] = true;
    assert_int_equal(election_propose_doc(c->e[0], c->now, (const uint8_t *)"w", 1, &id, &o, &err),
                     0);
    cl_out(c, 0, &o);
    cl_run(c);
    c->cut[0][2] = false;
    assert_int_equal(election_transfer(c->e[0], c->now, &target, &o), 0);
    assert_int_equal(target, 3);
    assert_int_equal(o.n_msgs, 1);
    assert_int_equal(o.msgs[0].type, ELECTION_MSG_APPEND_STATE);
    assert_true(o.msgs[0].has_doc);
    assert_true(election_transfer_pending(c->e[0])); /* the daemon must not exit yet */
    cl_out(c, 0, &o);
    cl_run(c); /* doc -> ack -> TimeoutNow -> election, all without a timeout */
    assert_false(election_transfer_pending(c->e[0]));
    assert_int_equal(cl_leader(c), 2);
    assert_int_equal(election_term(c->e[2]), 2);
    election_docid_t nid;
    election_doc(c->e[2], &nid, NULL, NULL);
    assert_true(election_docid_cmp(nid, id) > 0); /* it had the version when it won */
    cl_free(c);
}

static void test_election_takeover_leads_alone_then_returning_controllers_follow(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 300);
    election_out_t o;
    election_takeover_info_t info;
    /* with the majority answering, a takeover is refused and changes nothing */
    assert_int_equal(election_takeover(c->e[2], c->now, &info, &o), QR_EREFUSED);
    assert_int_equal(election_term(c->e[2]), 1);
    assert_int_equal(election_role(c->e[2]), ELECTION_FOLLOWER);
    assert_false(o.persist);
    assert_int_equal(o.n_msgs, 0);
    /* the site holding nodes 1 and 2 is lost */
    c->down[0] = c->down[1] = true;
    cl_advance(c, 5000);
    assert_int_not_equal(election_role(c->e[2]), ELECTION_LEADER); /* no quorum alone */
    uint64_t before = election_term(c->e[2]);
    assert_int_equal(election_takeover(c->e[2], c->now, &info, &o), 0);
    assert_true(o.persist);
    assert_int_equal(info.old_term, before);
    assert_int_equal(info.new_term, election_term(c->e[2]));
    assert_int_equal(info.new_term, election_takeover_term(before, 3));
    assert_true(info.new_term > before);
    assert_int_equal(info.n_peers, 2);
    assert_true(info.peer_last_heard_ms[0] >= 0 && info.peer_last_heard_ms[0] < c->now - 4000);
    assert_int_equal(election_role(c->e[2]), ELECTION_LEADER);
    assert_true(election_override(c->e[2]));
    cl_out(c, 2, &o);
    cl_run(c);
    /* it commits alone and keeps leading with no one answering */
    election_docid_t id;
    qr_err_t err;
    assert_int_equal(election_propose_doc(c->e[2], c->now, (const uint8_t *)"audit: takeover", 15,
                                          &id, &o, &err),
                     0);
    cl_out(c, 2, &o);
    assert_true(election_doc_is_committed(c->e[2], id));
    cl_advance(c, 3000);
    assert_true(election_leader_valid(c->e[2], c->now));
    /* the lost controllers return: they see the higher term and follow */
    c->down[0] = c->down[1] = false;
    cl_advance(c, 400);
    assert_int_equal(cl_leader(c), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(election_term(c->e[i]), info.new_term);
        assert_int_equal(election_leader(c->e[i]), 3);
    }
    /* a real majority follows again: the quorum of one ends */
    assert_false(election_override(c->e[2]));
    cl_free(c);
}

static void test_election_takeover_terms_never_collide(void **state)
{
    (void)state;
    /* two controllers taking over from the same term get different terms,
     * both above any term a normal election reaches from there */
    uint64_t a = election_takeover_term(41, 1), b = election_takeover_term(41, 2);
    assert_int_not_equal(a, b);
    assert_true(a > 41 && b > 41);
    assert_true(election_takeover_term(a, 1) > a);
    assert_true(b - a >= (1u << 24));
}

static void test_election_malformed_messages_dropped_without_state_change(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    election_out_t o;
    election_msg_t m = {.type = ELECTION_MSG_REQUEST_VOTE, .from = 9, .to = 1, .term = 50};
    assert_int_equal(election_recv(c->e[0], 1, &m, &o), QR_EINVAL); /* unknown peer */
    m.from = 2;
    m.to = 3;
    assert_int_equal(election_recv(c->e[0], 1, &m, &o), QR_EINVAL); /* not for us */
    m.to = 1;
    m.type = (election_msg_type_t)77;
    assert_int_equal(election_recv(c->e[0], 1, &m, &o), QR_EINVAL);
    election_msg_t big = {.type = ELECTION_MSG_APPEND_STATE,
                          .from = 2,
                          .to = 1,
                          .term = 50,
                          .has_doc = true,
                          .doc = (const uint8_t *)"x",
                          .doc_len = 4097};
    assert_int_equal(election_recv(c->e[0], 1, &big, &o), QR_ETOOBIG);
    assert_int_equal(election_term(c->e[0]), 0);
    assert_int_equal(o.n_msgs, 0);
    assert_false(o.persist);
    cl_free(c);
}

static void test_election_document_above_limit_refused(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    static uint8_t big[4097];
    election_out_t o;
    election_docid_t id;
    qr_err_t err;
    assert_int_equal(election_propose_doc(c->e[0], c->now, big, sizeof big, &id, &o, &err),
                     QR_ETOOBIG);
    assert_false(o.persist);
    assert_int_equal(election_propose_doc(c->e[1], c->now, big, 10, &id, &o, &err),
                     QR_EUNAVAIL); /* not the leader */
    cl_free(c);
}

static void test_election_bad_config_and_stored_state_refused(void **state)
{
    (void)state;
    election_config_t cfg;
    election_t *e;
    qr_err_t err;
    cl_config(&cfg, 3, 0);
    cfg.peers[1] = 1; /* ourselves */
    assert_int_equal(election_new(&cfg, NULL, 0, &e, &err), QR_EINVAL);
    cl_config(&cfg, 3, 0);
    cfg.self_id = 256;
    assert_int_equal(election_new(&cfg, NULL, 0, &e, &err), QR_EINVAL);
    cl_config(&cfg, 3, 0);
    cfg.election_min_ms = 50; /* below the heartbeat */
    assert_int_equal(election_new(&cfg, NULL, 0, &e, &err), QR_EINVAL);
    assert_non_null(strstr(err.msg, "heartbeat"));
    cl_config(&cfg, 3, 0);
    election_hard_t h = {3, 0, {4, 1}, NULL, 0}; /* document from the future */
    assert_int_equal(election_new(&cfg, &h, 0, &e, &err), QR_EINVAL);
    assert_null(e);
}

static void test_election_single_controller_leads_itself(void **state)
{
    (void)state;
    cl_t *c = cl_new(1);
    assert_int_equal(elect(c, 0), 0);
    election_out_t o;
    election_docid_t id;
    qr_err_t err;
    assert_int_equal(election_propose_doc(c->e[0], c->now, (const uint8_t *)"a", 1, &id, &o, &err),
                     0);
    assert_true(election_doc_is_committed(c->e[0], id));
    cl_free(c);
}

static void test_election_heartbeat_carries_document_only_to_followers_lacking_it(void **state)
{
    (void)state;
    cl_t *c = cl_new(3);
    assert_int_equal(elect(c, 0), 0);
    cl_advance(c, 200); /* both followers acknowledged the current version */
    election_out_t o;
    c->now = election_next_tick(c->e[0]);
    election_tick(c->e[0], c->now, &o);
    assert_int_equal(o.n_msgs, 2);
    for (size_t k = 0; k < o.n_msgs; k++) {
        assert_int_equal(o.msgs[k].type, ELECTION_MSG_APPEND_STATE);
        assert_false(o.msgs[k].has_doc); /* only the id travels */
    }
    cl_out(c, 0, &o);
    cl_run(c);
    c->cut[0][2] = true; /* node 3 misses the next version */
    election_docid_t id;
    qr_err_t err;
    assert_int_equal(election_propose_doc(c->e[0], c->now, (const uint8_t *)"v2", 2, &id, &o, &err),
                     0);
    for (size_t k = 0; k < o.n_msgs; k++)
        assert_true(o.msgs[k].has_doc);
    cl_out(c, 0, &o);
    cl_run(c);
    c->cut[0][2] = false;
    c->now = election_next_tick(c->e[0]);
    election_tick(c->e[0], c->now, &o);
    assert_int_equal(o.n_msgs, 2);
    for (size_t k = 0; k < o.n_msgs; k++)
        assert_true(o.msgs[k].has_doc == (o.msgs[k].to == 3));
    cl_out(c, 0, &o);
    cl_run(c);
    election_docid_t got;
    election_doc(c->e[2], &got, NULL, NULL);
    assert_int_equal(election_docid_cmp(got, id), 0);
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_election_first_timeout_elects_leader_followed_by_all),
        cmocka_unit_test(test_election_timeouts_are_random_within_bounds_and_seeded),
        cmocka_unit_test(test_election_vote_persisted_before_reply_and_granted_once_per_term),
        cmocka_unit_test(test_election_vote_refused_to_candidate_with_older_document),
        cmocka_unit_test(test_election_stale_term_messages_rejected_and_old_leader_steps_down),
        cmocka_unit_test(test_election_leader_steps_down_when_lease_expires),
        cmocka_unit_test(test_election_leader_keeps_lease_with_one_follower_of_three),
        cmocka_unit_test(test_election_late_reply_does_not_extend_lease),
        cmocka_unit_test(test_election_document_committed_only_after_majority_persisted),
        cmocka_unit_test(test_election_new_leader_starts_from_newest_committed_document),
        cmocka_unit_test(test_election_prevote_keeps_returning_node_from_deposing_leader),
        cmocka_unit_test(test_election_leader_connection_closed_elects_within_heartbeats),
        cmocka_unit_test(test_election_spurious_connection_close_keeps_leader),
        cmocka_unit_test(test_election_heartbeat_overtaken_by_close_is_not_contact),
        cmocka_unit_test(test_election_timeout_now_hands_leadership_over_at_once),
        cmocka_unit_test(test_election_timeout_now_vote_elects_without_round_trip),
        cmocka_unit_test(test_election_transfer_brings_lagging_target_up_to_date_first),
        cmocka_unit_test(test_election_takeover_leads_alone_then_returning_controllers_follow),
        cmocka_unit_test(test_election_takeover_terms_never_collide),
        cmocka_unit_test(test_election_malformed_messages_dropped_without_state_change),
        cmocka_unit_test(test_election_document_above_limit_refused),
        cmocka_unit_test(test_election_bad_config_and_stored_state_refused),
        cmocka_unit_test(test_election_single_controller_leads_itself),
        cmocka_unit_test(test_election_heartbeat_carries_document_only_to_followers_lacking_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
