/* Replace a file atomically and durably: write a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory. After
 * a crash at any point the path holds the old contents or the new ones,
 * never a mix. Reads back with a size limit. */
#ifndef QR_ATOMICFILE_H
#define QR_ATOMICFILE_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* Fault injection for tests: atomicfile_write_ex() stops at this point as if
 * the process had died there (returns QR_EIO, leaves the debris behind). */
typedef enum {
    ATOMICFILE_STOP_NONE = 0,
    ATOMICFILE_STOP_TEMP_PARTIAL,  /* half the data written to the temporary file */
    ATOMICFILE_STOP_TEMP_WRITTEN,  /* all written, not yet fsync'd */
    ATOMICFILE_STOP_BEFORE_RENAME, /* fsync'd, not renamed */
    ATOMICFILE_STOP_AFTER_RENAME,  /* renamed, directory not yet fsync'd */
} atomicfile_stop_t;

/* Test-only: the environment variable QUORATE_TEST_CRASH=STEP[:N] (STEP one
 * of temp_partial, temp_written, before_rename, after_rename) makes the
 * process kill itself with SIGKILL at that step of its Nth atomic write
 * (default 1); integration tests use it to crash the controller exactly
 * between two steps. Never set it in production (docs/hardening.md). */

/* Writes len bytes of data to path atomically (mode 0600). The temporary file
 * is "<path>.tmp". Returns 0, or QR_EIO with the failing step in err. */
int atomicfile_write(const char *path, const void *data, size_t len, qr_err_t *err);
int atomicfile_write_ex(const char *path, const void *data, size_t len, atomicfile_stop_t stop,
                        qr_err_t *err);

/* Reads the whole file at path. Returns 0 and a malloc'd buffer in *data
 * (caller frees; NUL-terminated for convenience, not counted in *len);
 * QR_ENOTFOUND when it does not exist, QR_ETOOBIG when larger than max,
 * QR_EIO/QR_ENOMEM otherwise. */
int atomicfile_read(const char *path, size_t max, uint8_t **data, size_t *len, qr_err_t *err);

#endif
