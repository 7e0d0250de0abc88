/* The result every agent check produces, and the status scale they share.
 * A check is split into a probe (gathers facts, may block; runs off the loop
 * with a deadline) and a pure evaluator (facts + thresholds -> result). */
#ifndef QR_CHECK_H
#define QR_CHECK_H

#include <jansson.h>
#include <stdbool.h>

/* Order matters: worse is larger, and the Nagios exit code of --once is the
 * worst status (unknown = 3). */
typedef enum {
    CHECK_OK = 0,
    CHECK_WARN = 1,
    CHECK_FAIL = 2,
    CHECK_UNKNOWN = 3,
} check_status_t;

typedef struct {
    char name[32];         /* "disk", "docker", ... */
    check_status_t status;
    char summary[256];     /* one line, no newline */
    json_t *values;        /* object of measured values; owned by the result */
} check_result_t;

/* Returns "ok", "warn", "fail" or "unknown". */
const char *check_status_str(check_status_t s);
/* Parses "ok"/"warn"/"fail"/"unknown"; returns -1 for anything else. */
int check_status_parse(const char *s);

/* Initialises r for check `name`: status unknown, empty summary, an empty
 * values object. */
void check_result_init(check_result_t *r, const char *name);
/* Sets status and a printf-style summary (truncated to one line). */
void check_result_set(check_result_t *r, check_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raises r's status to st if st is worse; the summary is replaced only when
 * the status got worse (so the summary names the worst finding). */
void check_result_worsen(check_result_t *r, check_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends the stable reason (lower_snake_case, docs/checks.md) to r's
 * values.reasons, creating that array if it is missing; a reason already
 * there is not added again, so each distinct problem gets one alert key
 * (CHECK/NODE/REASON). Callers add them worst first. */
void check_result_reason(check_result_t *r, const char *reason);
/* The same on a bare JSON array, for checks that collect the reasons of each
 * status apart before choosing which go into values.reasons. */
void check_reasons_add(json_t *reasons, const char *reason);
/* Frees the values and clears the result. NULL-safe. */
void check_result_clear(check_result_t *r);
/* Returns {"name":..,"status":..,"summary":..,"values":{..}} (new reference). */
json_t *check_result_to_json(const check_result_t *r);

/* A check as the agent's scheduler sees it. run() does the probe and the
 * evaluation; it is called on a worker thread, never twice at once for the
 * same check, and may block (the scheduler enforces the deadline: a run
 * still going at probe_timeout_ms is reported "unknown: timed out after Ns"
 * and not started again until it returns). *state persists between runs so
 * connections (docker socket, mongod, web) are reused; state_free (may be
 * NULL) releases it at shutdown.
 *
 * never_blocks: the probe only makes kernel calls that answer from memory
 * (ntp_adjtime, sock_diag netlink, /proc/net): no file system path that
 * could be a hung mount, no socket to another process. Such a check runs on
 * the event loop itself, saving two thread hand-offs per cycle; one that
 * touches any configured path or peer must leave it false (a hung probe on
 * the loop would stall the agent, which the deadline cannot undo). */
struct agent_conf;
typedef struct {
    const char *name;
    void (*run)(const struct agent_conf *conf, void **state, check_result_t *out);
    void (*state_free)(void *state);
    bool never_blocks;
} check_def_t;

/* The checks in report order, defined in agent/checks.c. */
extern const check_def_t check_defs[];
extern const size_t check_defs_count;

#endif
