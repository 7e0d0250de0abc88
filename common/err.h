/* quorate's one error table. Functions return 0 or a negative QR_E* code and
 * put a one-line detail into a caller-provided qr_err_t. */
#ifndef QR_ERR_H
#define QR_ERR_H

#include <stddef.h>

#define QR_ERRORS(X)                                                   \
    X(NOMEM, "out of memory")                                          \
    X(PARSE, "malformed input")                                        \
    X(IO, "i/o error")                                                 \
    X(INVAL, "invalid argument")                                       \
    X(TIMEOUT, "timed out")                                            \
    X(NOTFOUND, "not found")                                           \
    X(PROTO, "protocol error")                                         \
    X(TOOBIG, "message too large")                                     \
    X(VERSION, "unsupported protocol version")                         \
    X(AUTH, "not authorised")                                          \
    X(STALE, "stale data")                                             \
    X(REFUSED, "refused")                                              \
    X(UNAVAIL, "unavailable")                                          \
    X(CONFLICT, "conflicting update")                                  \
    X(RANGE, "value out of range")                                     \
    X(PERM, "permission denied")

enum {
    QR_OK = 0,
#define QR_ERR_ENUM(name, msg) QR_E##name,
    QR__EFIRST = -1000,
    QR_ERRORS(QR_ERR_ENUM)
#undef QR_ERR_ENUM
    QR__ELAST
};

/* A caller-provided buffer for a one-line human readable detail. */
typedef struct {
    char msg[512];
} qr_err_t;

/* Returns a static string for a QR_E* code (or "success" for 0). */
const char *qr_strerror(int code);

/* printf-style: writes the detail into err (if non-NULL) and returns code. */
int qr_err_set(qr_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
