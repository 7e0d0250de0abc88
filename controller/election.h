/* Leader election among the controller replicas: Raft's election rules plus
 * one replicated "state document" instead of a log. Pure: every input is a
 * call with the current time, every effect comes back in an election_out_t
 * (state to persist, messages to send, the next timer), so the daemon and the
 * deterministic simulator (tests/unit/support/election_sim.c) run the same code.
 * Rules, timers and the takeover semantics are described in docs/election.md. */
#ifndef QR_ELECTION_H
#define QR_ELECTION_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Controllers per cluster, self included (3 or 5 in practice). */
#define ELECTION_MAX_NODES 9
/* Upper bound of messages one call can emit (a broadcast plus a reply). */
#define ELECTION_MAX_MSGS 16
/* Controller ids are 1..255 (0 means "none"); the takeover term encodes it. */
#define ELECTION_MAX_ID 255
/* Default size limit of the replicated state document. */
#define ELECTION_DOC_MAX_DEFAULT (256u * 1024u)

/* election_out_t.reason when a leader hands over (TimeoutNow sent). */
#define ELECTION_REASON_HANDED_OVER "leadership handed over"

typedef enum {
    ELECTION_FOLLOWER = 0,
    ELECTION_PRECANDIDATE, /* asking "would you vote for me?" without raising the term */
    ELECTION_CANDIDATE,
    ELECTION_LEADER,
} election_role_t;

/* A version of the state document: the term it was written in, then a counter
 * that grows with every new version. Ordered by term, then counter. */
typedef struct {
    uint64_t term;
    uint64_t counter;
} election_docid_t;

typedef struct {
    uint32_t self_id;                       /* 1..ELECTION_MAX_ID */
    uint32_t peers[ELECTION_MAX_NODES - 1]; /* the other controllers' ids */
    size_t n_peers;
    int64_t heartbeat_ms;                     /* default 100 */
    int64_t election_min_ms, election_max_ms; /* default 500..1000 */
    int64_t lease_ms;                         /* 0 (default): = election_min_ms */
    uint64_t seed;                            /* for the randomised timeouts */
    size_t doc_max;                           /* default ELECTION_DOC_MAX_DEFAULT */
    bool no_prevote;                          /* pre-vote is on unless set */
} election_config_t;

/* What must survive a crash, written by the caller (election_store.h) whenever
 * out->persist is set. doc points into the module (see election_out_t). */
typedef struct {
    uint64_t term;
    uint32_t voted_for; /* 0: none in this term */
    election_docid_t doc_id;
    const uint8_t *doc;
    size_t doc_len;
} election_hard_t;

typedef enum {
    ELECTION_MSG_REQUEST_VOTE = 1,
    ELECTION_MSG_VOTE_REPLY,
    ELECTION_MSG_APPEND_STATE, /* the leader's heartbeat, carrying the document */
    ELECTION_MSG_APPEND_REPLY, /* the heartbeat reply */
    ELECTION_MSG_TIMEOUT_NOW,
} election_msg_type_t;

/* One flat message type; the fields a type does not use are zero. */
typedef struct {
    election_msg_type_t type;
    uint32_t from, to;
    uint64_t term; /* the sender's term (pre-vote: the term it would use) */
    bool prevote;  /* REQUEST_VOTE / VOTE_REPLY: a pre-vote round */
    bool transfer; /* REQUEST_VOTE: sent because of TimeoutNow */
    bool granted;  /* VOTE_REPLY */
    bool success;  /* APPEND_REPLY: the sender follows this term's leader */
    /* REQUEST_VOTE: candidate's document; APPEND_STATE: leader's;
     * APPEND_REPLY: the version the follower has persisted. */
    election_docid_t doc_id;
    /* APPEND_STATE: the bytes when the receiver may lack this version, else
     * has_doc is false and only doc_id travels. Borrowed, see election_out_t. */
    bool has_doc;
    const uint8_t *doc;
    size_t doc_len;
    election_docid_t commit; /* APPEND_STATE: newest version the leader knows committed */
    int64_t echo_ms;         /* APPEND_STATE: leader's send time; APPEND_REPLY echoes it */
} election_msg_t;

/* The effects of one call, in the order the caller must apply them:
 *  1. persist: when set, write hard durably (fsync) BEFORE sending anything;
 *     a vote or an acknowledgement must never leave before it is on disk.
 *  2. msgs: then send these (best effort; loss is tolerated).
 *  3. next_tick_ms: call election_tick() at (or soon after) this time.
 * Pointers inside (hard.doc, msgs[].doc) borrow the module's buffer: valid
 * until the next call on the same election_t; copy or encode them first. */
typedef struct {
    bool persist;
    election_hard_t hard;
    size_t n_msgs;
    election_msg_t msgs[ELECTION_MAX_MSGS];
    int64_t next_tick_ms;
    /* Role or leader changed in this call (for logs and the daemon). */
    bool role_changed;
    election_role_t role;
    uint64_t term;
    uint32_t leader;    /* 0: unknown */
    const char *reason; /* static string: why the role changed */
} election_out_t;

/* What election_takeover() did, for the audit record. */
typedef struct {
    uint64_t old_term;
    uint64_t new_term;
    uint32_t old_leader; /* the leader this controller last knew, 0 if none */
    int64_t at_ms;
    election_docid_t doc_id; /* the version the takeover leader starts from */
    /* per peer: the last time (caller's clock) this controller heard from it,
     * -1 never; lets the operator see what was lost when */
    uint32_t peer_ids[ELECTION_MAX_NODES - 1];
    int64_t peer_last_heard_ms[ELECTION_MAX_NODES - 1];
    size_t n_peers;
} election_takeover_info_t;

typedef struct election election_t;

/* Fills c with the defaults (no ids; caller sets self_id and peers). */
void election_config_defaults(election_config_t *c);

/* Creates a controller's election state from cfg and, after a restart, the
 * hard state loaded from disk (NULL on first start). Starts as a follower
 * whose first election timeout runs from now_ms; call election_tick() at
 * election_next_tick(). Returns 0 and a new object in *out (destroy with
 * election_destroy), or QR_EINVAL/QR_ETOOBIG/QR_ENOMEM with a reason in err. */
int election_new(const election_config_t *cfg, const election_hard_t *restored, int64_t now_ms,
                 election_t **out, qr_err_t *err);
/* Frees e and clears *e_p. NULL-safe. */
void election_destroy(election_t **e_p);

/* Timers: election timeout (start a (pre-)vote), heartbeats, the leader's
 * lease check, an expired transfer. Safe to call at any time. */
void election_tick(election_t *e, int64_t now_ms, election_out_t *out);

/* Feeds one peer message. Returns 0; QR_ESTALE when it came from a lower term
 * (out may hold a reply telling the sender the current term); QR_EINVAL or
 * QR_ETOOBIG for a malformed message (dropped, state unchanged); QR_ECONFLICT
 * for a second leader in this controller's own term (dropped; impossible
 * unless ids or takeover terms are misconfigured). */
int election_recv(election_t *e, int64_t now_ms, const election_msg_t *msg, election_out_t *out);

/* The transport saw the connection to controller peer close: its process
 * exited or was killed, and its kernel closed the socket. When peer is the
 * leader this follower follows, the leader counts as lost (leader unknown;
 * pre-votes are granted at once) and the election timer is brought forward
 * to heartbeat_ms / 4 + rank * heartbeat_ms / 2, rank being the number of
 * other followers with a lower id (25, 75, 125 ms... with the defaults),
 * instead of a whole election timeout: all followers see the close within a
 * few ms, and a staggered order cannot split the vote the way random draws
 * that close together do. A host that dies or a cut link closes nothing: those
 * still wait for the election timeout. Safe whenever called (an election is
 * safe at any time); a wrong report cannot depose a leader the others still
 * hear, because their pre-votes refuse it. Ignored for other peers. */
void election_peer_lost(election_t *e, int64_t now_ms, uint32_t peer, election_out_t *out);

/* Leader only: sets a new version of the state document (copied). Returns 0
 * and its id in *id; it is committed once a majority persisted it (see
 * election_doc_is_committed). QR_EUNAVAIL when not leader or transferring,
 * QR_ETOOBIG above doc_max. */
int election_propose_doc(election_t *e, int64_t now_ms, const uint8_t *doc, size_t len,
                         election_docid_t *id, election_out_t *out, qr_err_t *err);

/* Planned shutdown (SIGTERM) of the leader: picks the most up-to-date
 * follower, brings it up to date if needed and sends it TimeoutNow so it
 * starts an election at once. Proposals are refused until the transfer ends
 * (the target wins, or after election_min_ms). Returns 0 and the target in
 * *target; QR_EUNAVAIL when not leader or no follower answered within the
 * lease. */
int election_transfer(election_t *e, int64_t now_ms, uint32_t *target, election_out_t *out);

/* True while a transfer still waits to send TimeoutNow (the target is
 * catching up on the document). On SIGTERM the daemon keeps its loop running
 * until this turns false (TimeoutNow went out, or the transfer expired after
 * election_min_ms), flushes its sockets and exits. */
bool election_transfer_pending(const election_t *e);

/* Operator's forced takeover: raises the term to a takeover term (a new
 * epoch, see docs/election.md, so it can never equal a term elected
 * normally), becomes leader at once and counts a quorum of one until a real
 * majority follows again or this controller stops leading. Returns 0 and the
 * audit facts in *info; QR_EREFUSED (nothing changed) while this controller
 * still hears from a majority within election_max_ms: then there is nothing
 * to take over, only committed state to lose. */
int election_takeover(election_t *e, int64_t now_ms, election_takeover_info_t *info,
                      election_out_t *out);

/* Accessors. */
election_role_t election_role(const election_t *e);
uint64_t election_term(const election_t *e);
uint32_t election_leader(const election_t *e); /* 0: unknown */
uint32_t election_voted_for(const election_t *e);
uint32_t election_self(const election_t *e);
/* True while leading under a takeover's quorum of one. */
bool election_override(const election_t *e);
/* Leader and the lease still holds (a majority answered within lease_ms):
 * the daemon sends agents commands only while this is true. */
bool election_leader_valid(const election_t *e, int64_t now_ms);
/* The current document (borrowed until the next call). */
void election_doc(const election_t *e, election_docid_t *id, const uint8_t **doc, size_t *len);
/* Newest version known committed (leader: counted; follower: as the leader
 * said); {0,0} when none. */
election_docid_t election_doc_committed(const election_t *e);
/* True when version id is committed (it or a newer version of this term). */
bool election_doc_is_committed(const election_t *e, election_docid_t id);
/* The next time election_tick() should run. */
int64_t election_next_tick(const election_t *e);
/* The time of the last message from peer id that proved contact in the
 * current term (leader: acknowledgement; others: any valid message), -1 if
 * none; QR_ENOTFOUND for an unknown id. For `quoratectl status`. */
int election_peer_last_heard(const election_t *e, uint32_t id, int64_t *at_ms);

/* -1, 0, 1 like memcmp: term first, then counter. */
int election_docid_cmp(election_docid_t a, election_docid_t b);
/* "follower", "precandidate", "candidate", "leader". */
const char *election_role_name(election_role_t r);
/* The takeover term a controller with id self_id at term `term` moves to. */
uint64_t election_takeover_term(uint64_t term, uint32_t self_id);

#endif
