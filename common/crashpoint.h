/* Test-only crash injection for the durable writers (common/atomicfile.c,
 * common/slotfile.c): the environment variable QUORATE_TEST_CRASH=STEP[:N]
 * makes the process kill itself with SIGKILL at STEP of its Nth durable
 * write (default the first), as a power cut or kill -9 at exactly that point
 * would. Integration tests use it to crash a controller between two steps.
 * Never set it in production (docs/hardening.md). The same step names are
 * the in-process stop points of atomicfile_write_ex()/slotfile_write_ex(). */
#ifndef QR_CRASHPOINT_H
#define QR_CRASHPOINT_H

typedef enum {
    CRASHPOINT_NONE = 0,
    CRASHPOINT_TEMP_PARTIAL,  /* atomicfile: half the data in the temporary file */
    CRASHPOINT_TEMP_WRITTEN,  /* atomicfile: all written, not yet fsync'd */
    CRASHPOINT_BEFORE_RENAME, /* atomicfile: fsync'd, not renamed */
    CRASHPOINT_AFTER_RENAME,  /* atomicfile: renamed, directory not yet fsync'd */
    CRASHPOINT_SLOT_PARTIAL,  /* slotfile: half the record written into its slot */
    CRASHPOINT_SLOT_WRITTEN,  /* slotfile: the record written, not yet fdatasync'd */
    CRASHPOINT__COUNT
} crashpoint_t;

/* Counts one durable write and returns the step at which this write must
 * kill the process (CRASHPOINT_NONE almost always: only when
 * QUORATE_TEST_CRASH names a step and this is its Nth write). */
crashpoint_t crashpoint_next(void);

/* Kills the process with SIGKILL (after one line on stderr naming the step
 * and path) when at == here; returns otherwise. */
void crashpoint_hit(crashpoint_t at, crashpoint_t here, const char *path);

/* "temp_partial", ... as QUORATE_TEST_CRASH spells them ("none" for 0). */
const char *crashpoint_name(crashpoint_t step);

#endif
