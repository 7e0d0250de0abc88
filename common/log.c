/* Logging to stderr, one line per event. Under systemd stderr goes to the
 * journal, which adds its own timestamp; on a terminal we add one. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "quorate";
static int log_level = LOG_LVL_INFO;

void log_init(const char *progname, int level)
{
    if (progname)
        log_prog = progname;
    log_level = level;
}

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }

static void log_vwrite(const char *lvl, const char *fmt, va_list ap, int errnum)
{
    char line[2048];
    int n = 0;
    if (!getenv("JOURNAL_STREAM")) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    n += snprintf(line + n, sizeof line - (size_t)n, "%s[%d] %s: ", log_prog, (int)getpid(), lvl);
    if (n < (int)sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (errnum && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(errnum));
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    line[n++] = '\n';
    /* One write per line so concurrent processes do not interleave. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

#define LOG_BODY(lvlnum, lvlname, errnum)      \
    do {                                       \
        if (log_level < (lvlnum))              \
            return;                            \
        va_list ap;                            \
        va_start(ap, fmt);                     \
        log_vwrite(lvlname, fmt, ap, errnum);  \
        va_end(ap);                            \
    } while (0)

void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, "info", 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, "debug", 0); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, "warn", 0); }

void log_warn(const char *fmt, ...)
{
    int e = errno;
    LOG_BODY(LOG_LVL_WARN, "warn", e);
}

void fatal(const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite("fatal", fmt, ap, e);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite("fatal", fmt, ap, 0);
    va_end(ap);
    exit(1);
}

bool log_limit_ok(log_limit_t *lim, long long now_ms, long long interval_ms)
{
    if (lim->last_ms == 0 || now_ms - lim->last_ms >= interval_ms) {
        lim->last_ms = now_ms;
        return true;
    }
    lim->suppressed++;
    return false;
}
