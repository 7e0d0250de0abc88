/* The deterministic election simulator (see election_sim.h): the pure
 * election module on simulated hosts, network, disks and agents, with the
 * invariant checks. Used by unit/test_election_sim and
 * unit/test_election_failover_sim. */
#include "election_sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fence.h"
#include "controller/election.h"

#define MAX_N 5
#define N_AGENTS 3
#define DOC_LEN 16
#define CHAOS_MS 8000
#define LIVENESS_MS 10000

typedef struct {
    int kind; /* 0: controller message, 1: command to an agent, 2: connection closed */
    int64_t at, sent;
    int from, to; /* node index; agent index for commands */
    election_msg_t m;
    uint8_t doc[DOC_LEN];
    uint64_t cmd_term;
} pkt_t;

typedef struct {
    election_docid_t id;
    int parent; /* index, -1 for the empty root */
    uint8_t bytes[DOC_LEN];
    size_t len;
    uint32_t mark;
} ver_t;

typedef struct {
    uint64_t term;
    uint32_t leader;
    bool takeover;
} term_rec_t;

typedef struct {
    uint64_t term;
    uint32_t voter, cand;
} vote_rec_t;

typedef struct {
    int ver;     /* index into versions */
    bool exempt; /* committed under a takeover's quorum of one */
} commit_rec_t;

typedef struct {
    election_t *e;
    int64_t clk_off; /* this host's monotonic clock minus the simulator's */
    bool up;
    int64_t paused_until; /* 0: running */
    int64_t exit_at;      /* SIGTERM'd: exits at this time */
    int64_t restart_at;   /* planned restart */
    /* the "disk": only what persist requests wrote */
    bool has_disk;
    election_hard_t disk;
    uint8_t disk_doc[DOC_LEN];
    int disk_ver;
    /* last observed */
    election_role_t role;
    uint64_t term;
    int ver;
    election_docid_t committed;
    uint64_t checked_stamp;
} node_t;

typedef struct {
    fence_t f;
    uint64_t seen; /* the simulator's own record: highest term delivered */
    uint64_t refused;
} agent_t;

typedef struct {
    uint64_t seed, rng;
    bool log;
    int n;
    node_t nodes[MAX_N];
    agent_t agents[N_AGENTS];
    pkt_t *pk;
    size_t npk, cappk;
    bool block[MAX_N][MAX_N]; /* [from][to] */
    double loss, dup, long_p;
    int64_t dmin, dmax;
    int64_t now, heal_at, next_chaos, next_app;
    bool healed;
    bool allow_takeover;
    bool no_prevote;
    int takeovers;
    ver_t *vers;
    size_t nvers, capvers;
    term_rec_t *terms;
    size_t nterms, capterms;
    vote_rec_t *votes;
    size_t nvotes, capvotes;
    commit_rec_t *commits;
    size_t ncommits, capcommits;
    uint64_t change_stamp; /* bumps when commits or versions change */
    uint32_t mark_stamp;
    bool in_takeover;
    bool failed;
    char fail[600];
    int64_t leader_after_heal_ms;
    /* mutants, to show the checker catches real bugs */
    bool mut_amnesia;  /* restart from an empty disk */
    bool mut_no_fence; /* agents execute everything */
    bool no_fin;       /* crashes are host deaths: no connection closes */
    /* stats */
    uint64_t steps, refused_cmds, transfers, takeover_lost, takeovers_refused;
} sim_t;

/* Each host has its own clock: the module must never compare times across
 * hosts (only against its own echoes). */
#define NOW(s, i) ((s)->now + (s)->nodes[(i)].clk_off)

/* ---- utilities ------------------------------------------------------------ */

static uint64_t srng(sim_t *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double sprob(sim_t *s)
{
    return (double)(srng(s) >> 11) / (double)(1ULL << 53);
}

static int64_t srange(sim_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(srng(s) % (uint64_t)(hi - lo + 1));
}

static void ev(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev(sim_t *s, const char *fmt, ...)
{
    if (!s->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%7" PRId64 "] ", s->now);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void failf(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(sim_t *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fail, sizeof s->fail, fmt, ap);
    va_end(ap);
    ev(s, "INVARIANT VIOLATED: %s", s->fail);
}

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 64;                                                          \
            void *np_ = realloc((arr), (cap) * sizeof *(arr));                                     \
            if (!np_)                                                                              \
                abort();                                                                           \
            (arr) = np_;                                                                           \
        }                                                                                          \
    } while (0)

static const char *mtype(const election_msg_t *m)
{
    switch (m->type) {
    case ELECTION_MSG_REQUEST_VOTE:
        return m->prevote ? "PreVote" : "RequestVote";
    case ELECTION_MSG_VOTE_REPLY:
        return m->prevote ? "PreVoteReply" : "VoteReply";
    case ELECTION_MSG_APPEND_STATE:
        return "AppendState";
    case ELECTION_MSG_APPEND_REPLY:
        return "AppendReply";
    case ELECTION_MSG_TIMEOUT_NOW:
        return "TimeoutNow";
    }
    return "?";
}

/* ---- versions of the document (lineage) ---------------------------------- */

static int ver_find(const sim_t *s, election_docid_t id)
{
    if (id.term == 0 && id.counter == 0)
        return 0;
    for (size_t i = s->nvers; i-- > 1;)
        if (s->vers[i].id.term == id.term && s->vers[i].id.counter == id.counter)
            return (int)i;
    return -1;
}

/* Node i now holds doc (id, bytes): register a new version (its parent is what
 * the node held before) or check the bytes match the known version. */
static int ver_observe(sim_t *s, int i, election_docid_t id, const uint8_t *bytes, size_t len)
{
    int v = ver_find(s, id);
    if (v < 0) {
        GROW(s->vers, s->nvers, s->capvers);
        ver_t *nv = &s->vers[s->nvers];
        memset(nv, 0, sizeof *nv);
        nv->id = id;
        nv->parent = s->nodes[i].ver;
        if (election_docid_cmp(s->vers[nv->parent].id, id) >= 0)
            failf(s, "node %d: new version %" PRIu64 ".%" PRIu64 " not newer than its parent",
                  i + 1, id.term, id.counter);
        if (len > DOC_LEN)
            failf(s, "node %d: document of %zu bytes", i + 1, len);
        nv->len = len > DOC_LEN ? DOC_LEN : len;
        if (nv->len)
            memcpy(nv->bytes, bytes, nv->len);
        v = (int)s->nvers++;
        s->change_stamp++;
        ev(s, "n%d doc version %" PRIu64 ".%" PRIu64 " (parent %" PRIu64 ".%" PRIu64 ")", i + 1,
           id.term, id.counter, s->vers[nv->parent].id.term, s->vers[nv->parent].id.counter);
    } else if (s->vers[v].len != len || (len && memcmp(s->vers[v].bytes, bytes, len) != 0)) {
        failf(s, "node %d holds version %" PRIu64 ".%" PRIu64 " with different bytes", i + 1,
              id.term, id.counter);
    }
    return v;
}

/* Marks v and its ancestors with a fresh stamp; returns the stamp. */
static uint32_t ver_mark_ancestry(sim_t *s, int v)
{
    uint32_t st = ++s->mark_stamp;
    for (; v >= 0; v = s->vers[v].parent)
        s->vers[v].mark = st;
    return st;
}

static bool takeover_between(const sim_t *s, uint64_t lo_excl, uint64_t hi_incl)
{
    for (size_t i = 0; i < s->nterms; i++)
        if (s->terms[i].takeover && s->terms[i].term > lo_excl && s->terms[i].term <= hi_incl)
            return true;
    return false;
}

/* ---- invariants ------------------------------------------------------------ */

static void check_new_leader(sim_t *s, int i, uint64_t term)
{
    uint32_t id = (uint32_t)i + 1;
    for (size_t k = 0; k < s->nterms; k++) {
        if (s->terms[k].term == term) {
            if (s->terms[k].leader != id)
                failf(s, "two leaders in term %" PRIu64 ": n%u and n%u", term, s->terms[k].leader,
                      id);
            return; /* same leader again (cannot happen, but harmless) */
        }
    }
    GROW(s->terms, s->nterms, s->capterms);
    s->terms[s->nterms++] = (term_rec_t){term, id, s->in_takeover};
    if (s->in_takeover)
        return;
    bool voted[MAX_N] = {false};
    voted[i] = true;
    for (size_t k = 0; k < s->nvotes; k++)
        if (s->votes[k].term == term && s->votes[k].cand == id)
            voted[s->votes[k].voter - 1] = true;
    int n = 0;
    for (int k = 0; k < s->n; k++)
        n += voted[k];
    if (n < s->n / 2 + 1)
        failf(s, "n%u leads term %" PRIu64 " with %d votes of %d", id, term, n, s->n);
}

/* A leader's document must descend from every committed version of an
 * earlier (or its own) term, unless a takeover lies in between: the
 * documented cost of a takeover. */
static void check_leader_doc(sim_t *s, int i)
{
    node_t *nd = &s->nodes[i];
    uint32_t st = ver_mark_ancestry(s, nd->ver);
    for (size_t k = 0; k < s->ncommits; k++) {
        const commit_rec_t *c = &s->commits[k];
        const ver_t *cv = &s->vers[c->ver];
        if (c->exempt || cv->id.term > nd->term)
            continue;
        if (cv->mark == st)
            continue;
        if (takeover_between(s, cv->id.term, nd->term)) {
            s->takeover_lost = 1; /* counted once per seed */
            continue;
        }
        failf(s,
              "leader n%d (term %" PRIu64 ", doc %" PRIu64 ".%" PRIu64
              ") lost committed version %" PRIu64 ".%" PRIu64,
              i + 1, nd->term, s->vers[nd->ver].id.term, s->vers[nd->ver].id.counter, cv->id.term,
              cv->id.counter);
        return;
    }
}

static bool disk_holds(sim_t *s, int v)
{
    int n = 0;
    for (int k = 0; k < s->n; k++) {
        if (!s->nodes[k].has_disk)
            continue;
        uint32_t st = ver_mark_ancestry(s, s->nodes[k].disk_ver);
        n += s->vers[v].mark == st;
    }
    return n >= s->n / 2 + 1;
}

static void check_commit(sim_t *s, int i)
{
    node_t *nd = &s->nodes[i];
    election_docid_t c = election_doc_committed(nd->e);
    if (election_docid_cmp(c, nd->committed) == 0)
        return;
    nd->committed = c;
    if (nd->role != ELECTION_LEADER)
        return; /* followers only repeat the leader's word */
    int v = ver_find(s, c);
    if (v < 0) {
        failf(s, "n%d declares unknown version %" PRIu64 ".%" PRIu64 " committed", i + 1, c.term,
              c.counter);
        return;
    }
    for (size_t k = 0; k < s->ncommits; k++)
        if (s->commits[k].ver == v)
            return;
    bool majority = disk_holds(s, v);
    bool exempt = false;
    if (!majority) {
        if (election_override(nd->e) || takeover_between(s, c.term - 1, c.term)) {
            exempt = true; /* quorum of one under takeover: documented */
        } else if (takeover_between(s, c.term, UINT64_MAX)) {
            /* Acked by a majority, but a later takeover's document has since
             * replaced it on some disks: the documented cost of a takeover.
             * Later leaders are excused by the same rule in check_leader_doc. */
        } else {
            failf(s, "n%d declares %" PRIu64 ".%" PRIu64 " committed without a majority on disk",
                  i + 1, c.term, c.counter);
            return;
        }
    }
    GROW(s->commits, s->ncommits, s->capcommits);
    s->commits[s->ncommits++] = (commit_rec_t){v, exempt};
    s->change_stamp++;
    ev(s, "n%d: version %" PRIu64 ".%" PRIu64 " committed%s", i + 1, c.term, c.counter,
       exempt ? " (takeover quorum of one)" : "");
}

static void observe(sim_t *s, int i)
{
    node_t *nd = &s->nodes[i];
    election_role_t role = election_role(nd->e);
    uint64_t term = election_term(nd->e);
    if (role != nd->role || term != nd->term) {
        ev(s, "n%d %s -> %s term %" PRIu64, i + 1, election_role_name(nd->role),
           election_role_name(role), term);
        if (term < nd->term)
            failf(s, "n%d term went back from %" PRIu64 " to %" PRIu64, i + 1, nd->term, term);
        if (role == ELECTION_LEADER && (nd->role != ELECTION_LEADER || term != nd->term))
            check_new_leader(s, i, term);
        nd->role = role;
        nd->term = term;
        nd->checked_stamp = 0;
    }
    election_docid_t id;
    const uint8_t *doc;
    size_t len;
    election_doc(nd->e, &id, &doc, &len);
    if (election_docid_cmp(id, s->vers[nd->ver].id) != 0) {
        if (election_docid_cmp(id, s->vers[nd->ver].id) < 0)
            failf(s, "n%d document went back", i + 1);
        nd->ver = ver_observe(s, i, id, doc, len);
        nd->checked_stamp = 0;
    }
    check_commit(s, i);
    if (role == ELECTION_LEADER && nd->checked_stamp != s->change_stamp) {
        check_leader_doc(s, i);
        nd->checked_stamp = s->change_stamp;
    }
}

/* ---- network ------------------------------------------------------------- */

static int64_t delay(sim_t *s)
{
    int64_t d = srange(s, s->dmin, s->dmax);
    if (sprob(s) < s->long_p)
        d += srange(s, 50, 400); /* overtaken by later messages: reordering */
    return d;
}

static void enqueue(sim_t *s, const pkt_t *p)
{
    GROW(s->pk, s->npk, s->cappk);
    s->pk[s->npk++] = *p;
}

/* A packet leaving now, arriving after a random delay. */
static pkt_t pkt_new(sim_t *s, int kind, int from, int to)
{
    pkt_t p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.sent = s->now;
    p.from = from;
    p.to = to;
    p.at = s->now + delay(s);
    return p;
}

static void send_msg(sim_t *s, int from, const election_msg_t *m)
{
    int to = (int)m->to - 1;
    if (to < 0 || to >= s->n || s->block[from][to] || sprob(s) < s->loss)
        return;
    if (m->has_doc && m->doc_len > DOC_LEN) {
        failf(s, "oversized document on the wire");
        return;
    }
    pkt_t p = pkt_new(s, 0, from, to);
    p.m = *m;
    if (m->has_doc && m->doc_len)
        memcpy(p.doc, m->doc, m->doc_len);
    p.m.doc = NULL; /* re-pointed at delivery: the queue moves in memory */
    enqueue(s, &p);
    if (sprob(s) < s->dup) {
        p.at = s->now + delay(s);
        enqueue(s, &p);
    }
}

static void send_cmd(sim_t *s, int from, uint64_t term)
{
    for (int a = 0; a < N_AGENTS; a++) {
        if (sprob(s) < s->loss)
            continue;
        pkt_t p = pkt_new(s, 1, from, a);
        p.cmd_term = term;
        enqueue(s, &p);
    }
}

static void apply_out(sim_t *s, int i, const election_out_t *out)
{
    node_t *nd = &s->nodes[i];
    /* 1. persist (the "fsync"), 2. send: the order election.h demands */
    if (out->persist) {
        nd->has_disk = true;
        nd->disk = out->hard;
        if (out->hard.doc_len > DOC_LEN) {
            failf(s, "n%d persists an oversized document", i + 1);
            return;
        }
        if (out->hard.doc_len)
            memcpy(nd->disk_doc, out->hard.doc, out->hard.doc_len);
        nd->disk.doc = nd->disk_doc;
        nd->disk_ver = ver_observe(s, i, out->hard.doc_id, out->hard.doc, out->hard.doc_len);
        if (out->hard.term != election_term(nd->e))
            failf(s, "n%d persists term %" PRIu64 " but is in %" PRIu64, i + 1, out->hard.term,
                  election_term(nd->e));
    }
    for (size_t k = 0; k < out->n_msgs; k++) {
        const election_msg_t *m = &out->msgs[k];
        if (m->type == ELECTION_MSG_VOTE_REPLY && m->granted && !m->prevote) {
            /* a granted vote must already be on disk */
            if (!nd->has_disk || nd->disk.term != m->term || nd->disk.voted_for != m->to)
                failf(s, "n%d grants a vote in term %" PRIu64 " not persisted", i + 1, m->term);
            GROW(s->votes, s->nvotes, s->capvotes);
            s->votes[s->nvotes++] = (vote_rec_t){m->term, (uint32_t)i + 1, m->to};
        }
        if (m->type == ELECTION_MSG_TIMEOUT_NOW && m->granted) {
            /* the handover carries a vote in the next term: on disk too */
            if (!nd->has_disk || nd->disk.term != m->term + 1 || nd->disk.voted_for != m->to)
                failf(s, "n%d hands over with a vote in term %" PRIu64 " not persisted", i + 1,
                      m->term + 1);
            GROW(s->votes, s->nvotes, s->capvotes);
            s->votes[s->nvotes++] = (vote_rec_t){m->term + 1, (uint32_t)i + 1, m->to};
        }
        send_msg(s, i, m);
    }
    if (out->role_changed && out->reason)
        ev(s, "n%d: %s", i + 1, out->reason);
    observe(s, i);
}

/* ---- node life cycle ---------------------------------------------------- */

static void node_start(sim_t *s, int i)
{
    node_t *nd = &s->nodes[i];
    election_config_t cfg;
    election_config_defaults(&cfg);
    cfg.self_id = (uint32_t)i + 1;
    for (int k = 0; k < s->n; k++)
        if (k != i)
            cfg.peers[cfg.n_peers++] = (uint32_t)k + 1;
    cfg.seed = srng(s);
    cfg.doc_max = DOC_LEN;
    cfg.no_prevote = s->no_prevote;
    qr_err_t err;
    const election_hard_t *hard = nd->has_disk ? &nd->disk : NULL;
    if (s->mut_amnesia)
        hard = NULL;
    int rc = election_new(&cfg, hard, NOW(s, i), &nd->e, &err);
    if (rc) {
        failf(s, "n%d cannot restart: %s", i + 1, err.msg);
        return;
    }
    nd->up = true;
    nd->paused_until = 0;
    nd->exit_at = 0;
    nd->restart_at = 0;
    nd->role = ELECTION_FOLLOWER;
    nd->term = election_term(nd->e);
    nd->ver = s->mut_amnesia ? 0 : (nd->has_disk ? nd->disk_ver : 0);
    nd->committed = (election_docid_t){0, 0};
    nd->checked_stamp = 0;
    ev(s, "n%d starts at term %" PRIu64, i + 1, nd->term);
}

/* The transport of node `to` reports the connection to `from` closed. */
static void peer_closed(sim_t *s, int from, int to)
{
    pkt_t p = pkt_new(s, 2, from, to);
    enqueue(s, &p);
}

static void node_crash(sim_t *s, int i, bool lose_last_sends)
{
    node_t *nd = &s->nodes[i];
    election_destroy(&nd->e);
    nd->up = false;
    nd->exit_at = 0;
    nd->paused_until = 0;
    if (lose_last_sends) {
        /* died after the fsync but before its messages left */
        size_t w = 0;
        for (size_t k = 0; k < s->npk; k++)
            if (!(s->pk[k].from == i && s->pk[k].sent == s->now && s->pk[k].kind == 0))
                s->pk[w++] = s->pk[k];
        s->npk = w;
    }
    ev(s, "n%d crashes%s", i + 1, lose_last_sends ? " (its last messages lost)" : "");
    /* its kernel closes its sockets: peers that can still hear it see the
     * connection close (a cut link carries no FIN) */
    for (int k = 0; k < s->n; k++)
        if (k != i && !s->block[i][k] && !s->no_fin)
            peer_closed(s, i, k);
}

static bool running(const node_t *nd)
{
    return nd->up && nd->paused_until == 0;
}

/* ---- chaos ------------------------------------------------------------- */

static void clear_blocks(sim_t *s)
{
    memset(s->block, 0, sizeof s->block);
}

static void chaos(sim_t *s)
{
    double r = sprob(s);
    int i = (int)(srng(s) % (uint64_t)s->n);
    node_t *nd = &s->nodes[i];
    if (r < 0.22) {
        int kind = (int)(srng(s) % 5);
        clear_blocks(s);
        if (kind == 0) {
            ev(s, "network heals");
        } else if (kind == 1) {
            for (int k = 0; k < s->n; k++)
                s->block[i][k] = s->block[k][i] = k != i;
            ev(s, "n%d isolated", i + 1);
        } else if (kind == 2) {
            bool out = srng(s) & 1;
            for (int k = 0; k < s->n; k++)
                if (k != i) {
                    if (out)
                        s->block[i][k] = true;
                    else
                        s->block[k][i] = true;
                }
            ev(s, "n%d asymmetric: cannot %s", i + 1, out ? "send" : "receive");
        } else if (kind == 3) {
            bool side[MAX_N] = {false};
            for (int k = 0; k < s->n; k++)
                side[k] = srng(s) & 1;
            for (int a = 0; a < s->n; a++)
                for (int b = 0; b < s->n; b++)
                    s->block[a][b] = side[a] != side[b];
            ev(s, "network split in two");
        } else {
            for (int k = 0; k < s->n; k++) {
                int a = (int)(srng(s) % (uint64_t)s->n), b = (int)(srng(s) % (uint64_t)s->n);
                if (a != b)
                    s->block[a][b] = true;
            }
            ev(s, "random one-way links cut");
        }
    } else if (r < 0.36) {
        if (nd->up)
            node_crash(s, i, srng(s) & 1);
    } else if (r < 0.52) {
        if (!nd->up)
            node_start(s, i);
    } else if (r < 0.60) {
        if (running(nd)) {
            nd->paused_until = s->now + srange(s, 300, 3000);
            ev(s, "n%d paused until %" PRId64, i + 1, nd->paused_until);
        }
    } else if (r < 0.70) {
        for (int k = 0; k < s->n; k++) {
            node_t *l = &s->nodes[k];
            if (running(l) && election_role(l->e) == ELECTION_LEADER && !l->exit_at) {
                election_out_t out;
                uint32_t target;
                int rc = election_transfer(l->e, NOW(s, k), &target, &out);
                ev(s, "n%d SIGTERM: transfer to n%u (%d)", k + 1, target, rc);
                apply_out(s, k, &out);
                l->exit_at = s->now + srange(s, 5, 80);
                l->restart_at = l->exit_at + srange(s, 100, 2000);
                s->transfers++;
                break;
            }
        }
    } else if (r < 0.74) {
        if (s->allow_takeover && s->takeovers < 2 && running(nd)) {
            election_out_t out;
            election_takeover_info_t info;
            s->in_takeover = true;
            int rc = election_takeover(nd->e, NOW(s, i), &info, &out);
            if (rc == 0) {
                ev(s, "n%d operator takeover: term %" PRIu64 " -> %" PRIu64, i + 1, info.old_term,
                   info.new_term);
                apply_out(s, i, &out);
                s->takeovers++;
            } else {
                ev(s, "n%d operator takeover refused (%d): a majority answers", i + 1, rc);
                s->takeovers_refused++;
            }
            s->in_takeover = false;
        }
    } else if (r < 0.80) {
        /* a closed connection reported although the peer lives (a reset
         * link, a restarted socket): must never cost safety */
        int k = (int)(srng(s) % (uint64_t)s->n);
        if (k != i && nd->up)
            peer_closed(s, k, i);
    }
}

static void heal(sim_t *s)
{
    s->healed = true;
    clear_blocks(s);
    s->loss = 0;
    s->long_p = 0;
    for (int i = 0; i < s->n; i++) {
        node_t *nd = &s->nodes[i];
        nd->exit_at = 0;
        nd->restart_at = 0;
        if (!nd->up)
            node_start(s, i);
        nd->paused_until = 0;
    }
    ev(s, "=== network healed, every node up ===");
}

static void app(sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        node_t *nd = &s->nodes[i];
        if (!running(nd) || election_role(nd->e) != ELECTION_LEADER)
            continue;
        if (srng(s) & 1) {
            uint8_t doc[DOC_LEN];
            for (int k = 0; k < DOC_LEN; k++)
                doc[k] = (uint8_t)srng(s);
            election_out_t out;
            election_docid_t id;
            qr_err_t err;
            size_t len = (size_t)(srng(s) % (DOC_LEN + 1));
            if (election_propose_doc(nd->e, NOW(s, i), doc, len, &id, &out, &err) == 0)
                ev(s, "n%d proposes %" PRIu64 ".%" PRIu64, i + 1, id.term, id.counter);
            apply_out(s, i, &out);
        }
        /* Deliberately even without a valid lease: fencing is the backstop. */
        send_cmd(s, i, election_term(nd->e));
    }
}

static void deliver(sim_t *s, size_t k)
{
    pkt_t p = s->pk[k];
    s->pk[k] = s->pk[--s->npk];
    if (p.kind == 1) {
        agent_t *a = &s->agents[p.to];
        bool raised;
        int rc = s->mut_no_fence ? 0 : fence_check(&a->f, p.cmd_term, &raised);
        if (rc == 0) {
            if (p.cmd_term < a->seen)
                failf(s,
                      "agent %d executed n%d's term %" PRIu64 " command after seeing term %" PRIu64,
                      p.to, p.from + 1, p.cmd_term, a->seen);
        } else {
            if (p.cmd_term >= a->seen)
                failf(s, "agent %d refused a current command", p.to);
            a->refused++;
            s->refused_cmds++;
            ev(s, "agent %d refuses n%d's term %" PRIu64 " command (seen %" PRIu64 ")", p.to,
               p.from + 1, p.cmd_term, a->seen);
        }
        if (p.cmd_term > a->seen)
            a->seen = p.cmd_term;
        return;
    }
    node_t *nd = &s->nodes[p.to];
    if (!nd->up)
        return;
    if (p.kind == 2) {
        election_out_t out;
        ev(s, "n%d: connection to n%d closed", p.to + 1, p.from + 1);
        election_peer_lost(nd->e, NOW(s, p.to), (uint32_t)p.from + 1, &out);
        apply_out(s, p.to, &out);
        return;
    }
    if (p.m.has_doc)
        p.m.doc = p.doc;
    election_out_t out;
    int rc = election_recv(nd->e, NOW(s, p.to), &p.m, &out);
    if (s->log)
        ev(s, "n%d <- n%d %s t%" PRIu64 " doc %" PRIu64 ".%" PRIu64 "%s%s rc=%d", p.to + 1,
           p.from + 1, mtype(&p.m), p.m.term, p.m.doc_id.term, p.m.doc_id.counter,
           p.m.granted ? " granted" : "", p.m.success ? " ok" : "", rc);
    if (rc == QR_ECONFLICT)
        failf(s, "n%d: two leaders of term %" PRIu64 " met", p.to + 1, p.m.term);
    apply_out(s, p.to, &out);
}

/* The index of a leader with a valid lease that every controller that is up
 * follows in its term, or -1. */
static int stable_leader(sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        node_t *l = &s->nodes[i];
        if (!running(l) || !election_leader_valid(l->e, NOW(s, i)))
            continue;
        for (int k = 0; k < s->n; k++) {
            node_t *f = &s->nodes[k];
            if (!f->up)
                continue;
            if (!running(f) || election_term(f->e) != election_term(l->e) ||
                election_leader(f->e) != (uint32_t)i + 1)
                return -1;
        }
        return i;
    }
    return -1;
}

/* The simulator for one seed, with the network's character drawn from it. */
static sim_t *sim_new(uint64_t seed, bool log)
{
    sim_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->seed = seed;
    s->rng = seed * 0x2545f4914f6cdd1dULL + 1;
    s->log = log;
    s->n = seed % 2 ? 5 : 3;
    s->loss = sprob(s) * 0.2;
    s->dup = sprob(s) * 0.05;
    s->long_p = sprob(s) * 0.1;
    s->dmin = srange(s, 0, 5);
    s->dmax = s->dmin + srange(s, 1, 40);
    s->allow_takeover = srng(s) % 4 == 0;
    s->no_prevote = (seed / 2) % 4 == 0; /* a quarter of the runs without pre-vote */
    s->heal_at = CHAOS_MS;
    s->next_chaos = srange(s, 100, 600);
    s->next_app = srange(s, 50, 150);
    s->leader_after_heal_ms = -1;
    s->change_stamp = 1;
    GROW(s->vers, s->nvers, s->capvers);
    memset(&s->vers[0], 0, sizeof s->vers[0]);
    s->vers[0].parent = -1;
    s->nvers = 1;
    for (int a = 0; a < N_AGENTS; a++)
        fence_init(&s->agents[a].f, 0);
    for (int i = 0; i < MAX_N; i++)
        s->nodes[i].clk_off = srange(s, 0, 1000000000);
    return s;
}

static void sim_free(sim_t *s)
{
    for (int i = 0; i < s->n; i++)
        election_destroy(&s->nodes[i].e);
    free(s->pk);
    free(s->vers);
    free(s->terms);
    free(s->votes);
    free(s->commits);
    free(s);
}

/* Runs the earliest pending event (ties in a fixed order). Returns false when
 * nothing happens before `end` or an invariant failed. */
static bool sim_step(sim_t *s, int64_t end)
{
    if (s->failed)
        return false;
    int64_t t = INT64_MAX;
    int what = -1, who = -1;
    size_t pk = 0;
    for (int i = 0; i < s->n; i++) {
        node_t *nd = &s->nodes[i];
        if (nd->up && nd->paused_until && nd->paused_until < t) {
            t = nd->paused_until, what = 0, who = i;
        }
        if (nd->up && nd->exit_at && nd->exit_at < t)
            t = nd->exit_at, what = 1, who = i;
        if (!nd->up && nd->restart_at && nd->restart_at < t)
            t = nd->restart_at, what = 2, who = i;
        if (running(nd) && election_next_tick(nd->e) - nd->clk_off < t)
            t = election_next_tick(nd->e) - nd->clk_off, what = 3, who = i;
    }
    for (size_t k = 0; k < s->npk; k++) {
        const pkt_t *p = &s->pk[k];
        if (p->kind != 1 && s->nodes[p->to].up && s->nodes[p->to].paused_until)
            continue; /* held until it resumes */
        if (p->at < t)
            t = p->at, what = 4, pk = k;
    }
    if (!s->healed && s->next_chaos < t)
        t = s->next_chaos, what = 5;
    if (!s->healed && s->heal_at <= t)
        t = s->heal_at, what = 6;
    if (s->next_app < t)
        t = s->next_app, what = 7;
    if (t > end)
        return false;
    if (t > s->now)
        s->now = t;
    s->steps++;
    election_out_t out;
    switch (what) {
    case 0:
        s->nodes[who].paused_until = 0;
        ev(s, "n%d resumes", who + 1);
        election_tick(s->nodes[who].e, NOW(s, who), &out);
        apply_out(s, who, &out);
        break;
    case 1:
        ev(s, "n%d exits after SIGTERM", who + 1);
        node_crash(s, who, false);
        break;
    case 2:
        node_start(s, who);
        break;
    case 3:
        election_tick(s->nodes[who].e, NOW(s, who), &out);
        apply_out(s, who, &out);
        break;
    case 4:
        deliver(s, pk);
        break;
    case 5:
        chaos(s);
        s->next_chaos = s->now + srange(s, 100, 600);
        break;
    case 6:
        heal(s);
        break;
    case 7:
        app(s);
        s->next_app = s->now + srange(s, 50, 150);
        break;
    default:
        break;
    }
    return !s->failed;
}

/* Runs one seed. Returns true when every invariant held. */
bool esim_run(uint64_t seed, bool log, bool amnesia, bool no_fence, esim_stats_t *stats_out)
{
    sim_t *s = sim_new(seed, log);
    s->mut_amnesia = amnesia;
    s->mut_no_fence = no_fence;
    ev(s,
       "seed %" PRIu64 ": %d controllers, loss %.3f dup %.3f reorder %.3f delay %" PRId64
       "..%" PRId64 " ms%s%s",
       seed, s->n, s->loss, s->dup, s->long_p, s->dmin, s->dmax,
       s->allow_takeover ? ", takeovers allowed" : "", s->no_prevote ? ", no pre-vote" : "");
    for (int i = 0; i < s->n; i++)
        node_start(s, i);

    int64_t end = s->heal_at + LIVENESS_MS;
    while (sim_step(s, end)) {
        if (s->healed && stable_leader(s) >= 0) {
            s->leader_after_heal_ms = s->now - s->heal_at;
            ev(s, "stable leader %" PRId64 " ms after the heal", s->leader_after_heal_ms);
            break;
        }
    }
    if (!s->failed && s->leader_after_heal_ms < 0)
        failf(s, "no stable leader within %d ms of the heal", LIVENESS_MS);

    bool ok = !s->failed;
    if (!ok && stats_out)
        snprintf(stats_out->fail, sizeof stats_out->fail, "%s", s->fail);
    if (stats_out) {
        stats_out->steps += s->steps;
        stats_out->refused_cmds += s->refused_cmds;
        stats_out->transfers += s->transfers;
        stats_out->takeovers += s->takeovers;
        stats_out->takeovers_refused += s->takeovers_refused;
        stats_out->takeover_lost += s->takeover_lost;
        if (s->leader_after_heal_ms > stats_out->leader_after_heal_ms)
            stats_out->leader_after_heal_ms = s->leader_after_heal_ms;
        stats_out->ncommits += s->ncommits;
    }
    sim_free(s);
    return ok;
}

uint64_t esim_env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end)
        return dflt;
    return x;
}

double esim_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *const esim_gone_name[] = {"kill -9", "SIGTERM", "host death (no FIN)"};

/* Failover on a quiet LAN (1-5 ms delays, no loss, default timers): the
 * time from the leader's death (kill -9: its kernel closes the connections;
 * a host death closes nothing) or SIGTERM until a successor holds a valid
 * lease and every surviving controller follows it. -1: none in 10 s. */
int64_t esim_failover(uint64_t seed, int gone)
{
    bool planned = gone == ESIM_GONE_SIGTERM;
    sim_t *s = sim_new(seed, false);
    s->no_fin = gone == ESIM_GONE_HOST;
    s->loss = s->dup = s->long_p = 0;
    s->dmin = 1;
    s->dmax = 5;
    s->healed = true; /* no chaos */
    s->no_prevote = false;
    for (int i = 0; i < s->n; i++)
        node_start(s, i);
    while (sim_step(s, 20000) && stable_leader(s) < 0)
        ;
    int64_t t_kill = s->now + srange(s, 200, 1200); /* anywhere in the heartbeat cycle */
    while (sim_step(s, t_kill))
        ;
    s->now = t_kill;
    int l = stable_leader(s);
    int64_t ms = -1;
    if (l < 0 || s->failed) {
        sim_free(s);
        return -1;
    }
    if (planned) {
        election_out_t out;
        uint32_t target;
        if (election_transfer(s->nodes[l].e, NOW(s, l), &target, &out) == 0)
            apply_out(s, l, &out);
        /* the daemon waits until TimeoutNow is out (at most 300 ms), then exits */
        s->nodes[l].exit_at = s->now + 300;
    } else {
        node_crash(s, l, false);
    }
    while (sim_step(s, t_kill + LIVENESS_MS)) {
        node_t *old = &s->nodes[l];
        if (planned && old->up && old->exit_at > s->now + 1 && !election_transfer_pending(old->e))
            old->exit_at = s->now + 1;
        int nl = stable_leader(s);
        if (nl >= 0 && nl != l) {
            ms = s->now - t_kill;
            break;
        }
    }
    if (s->failed)
        ms = -1;
    sim_free(s);
    return ms;
}

