/* Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): splitting one
 * input into several documents, and handing an input to a loader that wants
 * a path. Not part of any daemon. */
#ifndef QR_FUZZ_UTIL_H
#define QR_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "agent/check.h"

/* Inputs that carry several documents (docker replies, recover status and
 * config) separate them with this line. */
#define FUZZ_SEP "\n%%\n"
#define FUZZ_MAX_PARTS 8

typedef struct {
    char *data; /* NUL-terminated copy (the input may hold NULs: use len) */
    size_t len;
} fuzz_part_t;

/* Splits data at FUZZ_SEP into at most max parts (the last one keeps the
 * rest, separators included). Returns the number of parts (>= 1). Free
 * with fuzz_parts_free. Aborts on allocation failure (a harness bug). */
size_t fuzz_split(const uint8_t *data, size_t size, fuzz_part_t *parts, size_t max);
void fuzz_parts_free(fuzz_part_t *parts, size_t n);

/* Writes data to this process's scratch file (created on first use in
 * $TMPDIR or /tmp, removed at exit) and returns its path. */
const char *fuzz_tmpfile(const uint8_t *data, size_t size);

/* Silences the daemons' log lines (bad input is logged by design; at
 * thousands of inputs per second that is only noise). Set QR_FUZZ_LOG=1 to
 * keep them. */
void fuzz_quiet_logs(void);

/* With QR_FUZZ_LOG=1, prints "what: rc message" for a failed step: to see
 * how far a seed gets (`QR_FUZZ_LOG=1 fuzz_x corpus/x/seed`). Returns rc. */
int fuzz_note(const char *what, int rc, const char *msg);
/* The end of every check target: with QR_FUZZ_LOG=1 prints the result's
 * status and summary, renders it as the agent's report does (JSON text),
 * then clears it. */
void fuzz_check_result(check_result_t *r);

#endif
