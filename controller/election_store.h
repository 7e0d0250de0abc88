/* The election's hard state on disk: {term, voted_for, document version and
 * bytes} as one record with a version header and a CRC-32, kept in a
 * two-slot file written in place (common/slotfile.h): one pwrite + fdatasync
 * per save, and a write cut by a crash leaves the previous state readable. A
 * damaged file is refused instead of silently restarting from an older term.
 * Format 1 files (the record alone, replaced atomically) are still read and
 * become slot files at the next save. Format: docs/election.md. */
#ifndef QR_ELECTION_STORE_H
#define QR_ELECTION_STORE_H

#include "common/slotfile.h"
#include "election.h"

#define ELECTION_STORE_VERSION 1

typedef struct election_store election_store_t;

/* Opens the state at path for documents up to doc_max bytes. Returns 0 and
 * the restored state in *h, whose doc points into *doc_buf (malloc'd, caller
 * frees; NULL for an empty document); QR_ENOTFOUND: no file (first start).
 * With either, *out is a store ready to save (caller destroys it). Otherwise
 * *out is NULL and: QR_EPARSE: torn or corrupt (bad magic, size or checksum:
 * refuse to start, the operator must look); QR_EVERSION: written by a newer
 * format; QR_ETOOBIG: document above doc_max; QR_EIO. err says which. */
int election_store_open(const char *path, size_t doc_max, election_store_t **out,
                        election_hard_t *h, uint8_t **doc_buf, qr_err_t *err);

/* After election_store_open() returned 0: NULL, or one line the caller logs
 * (a slot skipped as the trace of a cut write, or a format 1 file). */
const char *election_store_note(const election_store_t *s);

/* Writes h (durable when it returns 0). QR_EIO with the step in err. */
int election_store_save(election_store_t *s, const election_hard_t *h, qr_err_t *err);
/* The same with a fault-injection stop point (tests; common/slotfile.h). */
int election_store_save_ex(election_store_t *s, const election_hard_t *h, crashpoint_t stop,
                           qr_err_t *err);

/* NULL-safe; clears *s. */
void election_store_destroy(election_store_t **s);

/* The record's bytes (pure): encode returns 0 and a malloc'd buffer; decode
 * fills *h and *doc_buf like election_store_open(), what names the source in
 * errors. */
int election_store_encode(const election_hard_t *h, uint8_t **buf, size_t *len, qr_err_t *err);
int election_store_decode(const uint8_t *buf, size_t len, size_t doc_max, const char *what,
                          election_hard_t *h, uint8_t **doc_buf, qr_err_t *err);

#endif
