/* ZeroMQ sockets in a libuv loop. ZMQ_FD is edge-triggered: it signals that
 * ZMQ_EVENTS may have changed, so the reader drains every message, and after
 * each send we look at ZMQ_EVENTS again (a send can consume the edge that a
 * pending incoming message raised). */
#ifndef QR_ZUV_H
#define QR_ZUV_H

#include <czmq.h>
#include <uv.h>

typedef struct zuv zuv_t;
/* Called with one received message (caller of the callback owns nothing:
 * the callback takes ownership of *msg_p and must destroy it or leave it for
 * zuv to destroy by not touching it). */
typedef void (*zuv_recv_cb)(zuv_t *z, zmsg_t **msg_p, void *arg);

/* Watches sock (borrowed; it must outlive the zuv) in loop and calls cb for
 * every message. Returns NULL on failure. */
zuv_t *zuv_new(uv_loop_t *loop, zsock_t *sock, zuv_recv_cb cb, void *arg);
/* Stops watching and frees the handle (asynchronously, via uv_close).
 * NULL-safe; clears *self_p. */
void zuv_destroy(zuv_t **self_p);

/* Sends a message without blocking (takes ownership of *msg_p on success
 * and on failure). Returns 0, or -1 with errno (EAGAIN: would block). */
int zuv_send(zuv_t *z, zmsg_t **msg_p);

zsock_t *zuv_sock(zuv_t *z);

/* Applies quorate's standard socket options: max message size, linger 0,
 * ZMTP heartbeats (so a dead peer is noticed even when idle). */
void zuv_sockopts(zsock_t *sock, size_t max_msg, int hwm);

#endif
