/* ZeroMQ <-> libuv glue. */
#include "zuv.h"

#include <errno.h>
#include <stdlib.h>

struct zuv {
    uv_poll_t poll;
    uv_idle_t idle; /* re-checks ZMQ_EVENTS after a send on the next turn */
    zsock_t *sock;
    zuv_recv_cb cb;
    void *arg;
    int closing;
    int pending_close;
};

static void on_idle(uv_idle_t *h);

static void zuv_drain(zuv_t *z)
{
    /* Bounded per turn so one busy socket cannot starve the loop; if more
     * remain, the idle handle brings us back. */
    for (int i = 0; i < 1000 && !z->closing; i++) {
        if (!(zsock_events(z->sock) & ZMQ_POLLIN))
            return;
        zmsg_t *msg = zmsg_recv_nowait(z->sock);
        if (!msg)
            return;
        z->cb(z, &msg, z->arg);
        zmsg_destroy(&msg);
    }
    if (!z->closing)
        uv_idle_start(&z->idle, on_idle);
}

static void on_idle(uv_idle_t *h)
{
    zuv_t *z = h->data;
    uv_idle_stop(h);
    zuv_drain(z);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    zuv_t *z = h->data;
    (void)status;
    (void)events;
    zuv_drain(z);
}

zuv_t *zuv_new(uv_loop_t *loop, zsock_t *sock, zuv_recv_cb cb, void *arg)
{
    zuv_t *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->sock = sock;
    z->cb = cb;
    z->arg = arg;
    if (uv_poll_init(loop, &z->poll, zsock_fd(sock)) != 0) {
        free(z);
        return NULL;
    }
    uv_idle_init(loop, &z->idle);
    z->poll.data = z;
    z->idle.data = z;
    uv_poll_start(&z->poll, UV_READABLE, on_poll);
    /* messages may already be waiting: the edge happened before we looked */
    uv_idle_start(&z->idle, on_idle);
    return z;
}

static void on_closed(uv_handle_t *h)
{
    zuv_t *z = h->data;
    if (--z->pending_close == 0)
        free(z);
}

void zuv_destroy(zuv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zuv_t *z = *self_p;
    z->closing = 1;
    z->pending_close = 2;
    uv_close((uv_handle_t *)&z->poll, on_closed);
    uv_close((uv_handle_t *)&z->idle, on_closed);
    *self_p = NULL;
}

int zuv_send(zuv_t *z, zmsg_t **msg_p)
{
    /* zmsg_send blocks at the high-water mark; we never block the loop. The
     * first frame decides: if it cannot go, nothing went. */
    int rc = 0, e = 0;
    size_t n = zmsg_size(*msg_p), i = 0;
    zframe_t *f;
    while ((f = zmsg_pop(*msg_p)) != NULL) {
        int flags = ZFRAME_DONTWAIT | (++i < n ? ZFRAME_MORE : 0);
        if (zframe_send(&f, z->sock, flags) != 0) {
            e = errno;
            zframe_destroy(&f);
            rc = -1;
            break;
        }
    }
    zmsg_destroy(msg_p);
    if (!z->closing && (zsock_events(z->sock) & ZMQ_POLLIN))
        uv_idle_start(&z->idle, on_idle);
    errno = e;
    return rc;
}

zsock_t *zuv_sock(zuv_t *z)
{
    return z->sock;
}

void zuv_sockopts(zsock_t *sock, size_t max_msg, int hwm)
{
    zsock_set_maxmsgsize(sock, (int)max_msg);
    zsock_set_linger(sock, 0);
    zsock_set_sndhwm(sock, hwm);
    zsock_set_rcvhwm(sock, hwm);
    zsock_set_heartbeat_ivl(sock, 1000);
    zsock_set_heartbeat_timeout(sock, 3000);
    zsock_set_heartbeat_ttl(sock, 3000);
    /* a TCP connect to a peer behind a partition sits in SYN-SENT under the
     * kernel's exponential backoff (tens of seconds after a long cut): give
     * up after 2 s and let libzmq's own reconnect interval retry */
    zsock_set_connect_timeout(sock, 2000);
}
