/* A one-connection HTTP peer for the fuzz targets of HTTP replies (web
 * check, alert receivers): it listens on 127.0.0.1, and for each input a
 * thread accepts one connection, sends the input as the raw reply (status
 * line, headers, body: whatever the bytes are), closes its sending side and
 * reads until the client hangs up. The client under test is the real one
 * (libcurl with the options the daemon sets). Loopback (or a unix socket,
 * for the Docker Engine API) only. */
#ifndef QR_FUZZ_HTTP_ONCE_H
#define QR_FUZZ_HTTP_ONCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_once http_once_t;

/* Listens on 127.0.0.1 on a free port. Aborts on failure (a harness bug). */
http_once_t *http_once_new(void);
/* Listens on a unix socket in $TMPDIR (or /tmp), removed at exit. */
http_once_t *http_once_new_unix(void);
/* The port it listens on (0 for a unix socket). */
int http_once_port(const http_once_t *h);
/* The unix socket's path ("" for TCP). */
const char *http_once_path(const http_once_t *h);
/* Serves reply (borrowed until http_once_finish) to the next connection. */
void http_once_start(http_once_t *h, const uint8_t *reply, size_t len);
/* Waits for the serving thread: call after the client closed its
 * connection (curl handle cleaned up), or it waits for its timeout. */
void http_once_finish(http_once_t *h);

#endif
