/* The log API (after OpenBSD's): one line per event, key=value fields, to
 * stderr (the journal picks it up under systemd). log_warn appends
 * strerror(errno); log_warnx does not; fatal logs and exits 1. */
#ifndef QR_LOG_H
#define QR_LOG_H

#include <stdbool.h>

enum { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the program name and verbosity. Safe to call again. */
void log_init(const char *progname, int level);
void log_set_level(int level);
int log_get_level(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Rate limiting for events a hostile peer can trigger at will: returns true
 * when the caller should log now (at most once per interval_ms per limiter;
 * *suppressed counts the calls that returned false since the last true). */
typedef struct {
    long long last_ms;
    unsigned long suppressed;
} log_limit_t;
bool log_limit_ok(log_limit_t *lim, long long now_ms, long long interval_ms);

#endif
