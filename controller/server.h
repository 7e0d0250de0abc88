/* The controller daemon's I/O: the agents' ROUTER socket, the operators'
 * ROUTER socket (separate allowlist), the ZAP handler, timers for liveness
 * and clock probes. Decoded messages go to the pure inventory. */
#ifndef QR_SERVER_H
#define QR_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "controller_conf.h"
#include "err.h"

typedef struct server server_t;

/* Creates the server (takes ownership of conf). */
int server_new(uv_loop_t *loop, controller_conf_t *conf, server_t **out, qr_err_t *err);
/* Binds the sockets and starts the timers. */
int server_start(server_t *s, qr_err_t *err);
/* Planned stop, step 1: a leader hands leadership over. Returns true while
 * that is still going (call again a few ms later, then server_stop). */
bool server_handover(server_t *s);
/* Closes every handle (run the loop afterwards to let them finish). */
void server_stop(server_t *s);
void server_destroy(server_t **self_p);

#endif
