/* A small record that must survive a crash and is rewritten often (a
 * controller's term and vote, an agent's highest term), written in place:
 * the file holds two checksummed slots, each write goes to the slot that
 * does not hold the newest record with pwrite() + fdatasync(), so a write
 * costs one data flush instead of atomicfile's temp file, fsync, rename and
 * directory fsync (tests/bench/durable_write.c measures both). A crash
 * during a write leaves that slot unreadable and the other slot holding the
 * previous record, the way LMDB's two meta pages and etcd's torn WAL tail
 * are handled. The file is created, grown and migrated from other formats
 * with an atomic replacement (common/atomicfile.h). Layout: docs/election.md. */
#ifndef QR_SLOTFILE_H
#define QR_SLOTFILE_H

#include "crashpoint.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct slotfile slotfile_t;

/* Fault injection for tests: slotfile_write_ex() stops at this point as if
 * the process had died there (returns QR_EIO): a SLOTFILE_STOP_* step for a
 * write in place, an ATOMICFILE_STOP_* step for a write that replaces the
 * file. QUORATE_TEST_CRASH kills at the same points (common/crashpoint.h). */
#define SLOTFILE_STOP_NONE CRASHPOINT_NONE
#define SLOTFILE_STOP_PARTIAL CRASHPOINT_SLOT_PARTIAL /* half the record in its slot */
#define SLOTFILE_STOP_WRITTEN CRASHPOINT_SLOT_WRITTEN /* written, not fdatasync'd */

/* A handle for path, whose records are at most max_record bytes (larger
 * records still work: the file grows). No I/O yet. NULL without memory. */
slotfile_t *slotfile_new(const char *path, size_t max_record);

/* Closes the file (if open) and frees *f; NULL-safe, clears *f. */
void slotfile_destroy(slotfile_t **f);

/* Reads the newest valid record. Returns 0 and a malloc'd copy in *data
 * (caller frees; NUL-terminated for convenience, not counted in *len);
 * QR_ENOTFOUND: no file (first start); QR_EPARSE: not a slot file (then
 * slotfile_foreign() is true and the caller may read the file in an older
 * format; the next write replaces it), a torn or damaged header, or no
 * readable slot; QR_EVERSION: a newer format; QR_ETOOBIG: the record is above
 * max_record; QR_EIO. err says which and where. */
int slotfile_load(slotfile_t *f, uint8_t **data, size_t *len, qr_err_t *err);

/* After slotfile_load(): true when the file exists but is not a slot file. */
int slotfile_foreign(const slotfile_t *f);

/* After slotfile_load() returned 0: NULL, or a one-line description of a
 * slot that held an unreadable record (the trace of a write cut by a crash,
 * or damage) which was skipped for the other one. The caller logs it. */
const char *slotfile_warning(const slotfile_t *f);

/* Writes len bytes of data as the newest record; durable when it returns 0.
 * Without a loaded slot file (new, foreign, or the record outgrows its slot)
 * the whole file is replaced atomically first. Returns 0 or QR_EIO/QR_ENOMEM
 * with the failing step in err. */
int slotfile_write(slotfile_t *f, const void *data, size_t len, qr_err_t *err);
int slotfile_write_ex(slotfile_t *f, const void *data, size_t len, crashpoint_t stop,
                      qr_err_t *err);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of len bytes. */
uint32_t slotfile_crc32(const uint8_t *p, size_t len);

#endif
