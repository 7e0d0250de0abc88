/* A ZAP (RFC 27) handler in the process's libuv loop. Each server socket sets
 * a ZAP domain ("agents", "operators", "controllers"); each domain has its
 * own allowlist of CURVE public keys (a czmq certificate directory). A
 * rejected key is logged (rate-limited) and counted. We use our own handler
 * rather than czmq's zauth actor because zauth has one certificate store for
 * all sockets and reports nothing we could count. */
#ifndef QR_ZAP_H
#define QR_ZAP_H

#include <czmq.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"

typedef struct zap zap_t;

/* Binds inproc://zeromq.zap.01 in czmq's context and serves it in loop.
 * Must be created before any server socket with a ZAP domain binds. */
int zap_new(uv_loop_t *loop, zap_t **out, qr_err_t *err);
/* Allows the public keys in store (borrowed, must outlive zap) for domain. */
int zap_allow(zap_t *zap, const char *domain, zcertstore_t *store);
/* Counters: accepted and rejected handshakes. */
uint64_t zap_accepted(const zap_t *zap);
uint64_t zap_rejected(const zap_t *zap);
void zap_destroy(zap_t **self_p);

/* After a handshake the peer's key is the message's "User-Id" property;
 * returns the certificate's name (metadata "name") for it, or NULL. */
const char *zap_peer_name(zap_t *zap, const char *domain, const char *user_id);

#endif
