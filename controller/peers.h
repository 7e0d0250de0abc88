/* The controllers' election over ZeroMQ: a ROUTER for the other controllers'
 * messages (CURVE, allowlist "controllers"), a DEALER to each peer, the pure
 * election module in between, its hard state fsync'd before any message that
 * depends on it leaves. With no peers configured the controller elects
 * itself (a majority of one). */
#ifndef QR_PEERS_H
#define QR_PEERS_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "controller_conf.h"
#include "election.h"
#include "err.h"
#include "wire.h"
#include "zap.h"

typedef struct peers peers_t;

/* Called on every role change (and when the leader becomes known). */
typedef void (*peers_role_cb)(void *arg, election_role_t role, uint64_t term, uint32_t leader,
                              const char *reason);

/* conf, cert and zap are borrowed. Restores the persisted state from
 * state_dir/election.state (refuses a corrupt one). */
/* The election module's view of a received ElectionMsg (borrows em's
 * document bytes). */
election_msg_t peers_msg_from_wire(const Quorate__ElectionMsg *em);

int peers_new(uv_loop_t *loop, const controller_conf_t *conf, zcert_t *cert, peers_role_cb cb,
              void *arg, peers_t **out, qr_err_t *err);
/* Binds, connects, arms the election timer. */
int peers_start(peers_t *p, zap_t *zap, qr_err_t *err);
/* Planned stop: a leader hands leadership to an up-to-date follower at once
 * (TimeoutNow, which carries this controller's durable vote for it in the
 * next term). Returns true while the handover is still going (the target is
 * catching up); call again after each loop turn until false, for at most
 * election_min_ms. */
bool peers_handover(peers_t *p);
void peers_stop(peers_t *p);
void peers_destroy(peers_t **self_p);

/* Leader with a valid lease: may command agents. */
bool peers_is_leader(const peers_t *p);
uint64_t peers_term(const peers_t *p);
/* The leader's name and operator endpoint (NULL when unknown or self). */
const char *peers_leader_name(const peers_t *p);
const char *peers_leader_operators(const peers_t *p);
/* {"role","term","leader","self","override","controllers":[{id,name,last_heard_ago_ms}]} */
json_t *peers_status_json(const peers_t *p);

/* Operator takeover after losing the controller majority. Returns 0 with a
 * description in *info (new reference), or QR_EREFUSED (a majority is still
 * reachable) with the reason in err. */
int peers_takeover(peers_t *p, json_t **info, qr_err_t *err);
/* Replicates doc (leader only). Returns 0 or a QR_E* code. */
int peers_propose(peers_t *p, const uint8_t *doc, size_t len);
/* The newest document this controller holds (borrowed). */
void peers_doc(const peers_t *p, const uint8_t **doc, size_t *len);

#endif
