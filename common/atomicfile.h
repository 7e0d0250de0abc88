/* Replace a file atomically and durably: write a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory. After
 * a crash at any point the path holds the old contents or the new ones,
 * never a mix. Reads back with a size limit. */
#ifndef QR_ATOMICFILE_H
#define QR_ATOMICFILE_H

#include "crashpoint.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* Fault injection for tests: atomicfile_write_ex() stops at this point as if
 * the process had died there (returns QR_EIO, leaves the debris behind). The
 * environment variable QUORATE_TEST_CRASH (common/crashpoint.h) kills the
 * process at the same steps. */
typedef crashpoint_t atomicfile_stop_t;
#define ATOMICFILE_STOP_NONE CRASHPOINT_NONE
#define ATOMICFILE_STOP_TEMP_PARTIAL CRASHPOINT_TEMP_PARTIAL   /* half written to the temp file */
#define ATOMICFILE_STOP_TEMP_WRITTEN CRASHPOINT_TEMP_WRITTEN   /* all written, not fsync'd */
#define ATOMICFILE_STOP_BEFORE_RENAME CRASHPOINT_BEFORE_RENAME /* fsync'd, not renamed */
#define ATOMICFILE_STOP_AFTER_RENAME CRASHPOINT_AFTER_RENAME   /* renamed, dir not fsync'd */

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
