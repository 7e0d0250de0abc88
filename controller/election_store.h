/* The election's hard state on disk: {term, voted_for, document version and
 * bytes} in one file, written atomically (common/atomicfile.h) with a version
 * header and a CRC-32, so a torn or corrupted file is detected and refused
 * instead of silently restarting from an older term. Format: docs/election.md. */
#ifndef QR_ELECTION_STORE_H
#define QR_ELECTION_STORE_H

#include "common/atomicfile.h"
#include "election.h"

#define ELECTION_STORE_VERSION 1

/* Writes h to path (durable when it returns 0). QR_EIO with the step in err. */
int election_store_save(const char *path, const election_hard_t *h, qr_err_t *err);
/* The same with a fault-injection stop point (tests). */
int election_store_save_ex(const char *path, const election_hard_t *h, atomicfile_stop_t stop,
                           qr_err_t *err);

/* Loads path. Returns 0 and fills *h, whose doc points into *doc_buf (malloc'd,
 * caller frees; NULL for an empty document). QR_ENOTFOUND: no file (first
 * start); QR_EPARSE: torn or corrupt (bad magic, size or checksum: refuse to
 * start, the operator must look); QR_EVERSION: written by a newer format;
 * QR_ETOOBIG: document above doc_max; QR_EIO. err says which and where. */
int election_store_load(const char *path, size_t doc_max, election_hard_t *h, uint8_t **doc_buf,
                        qr_err_t *err);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of len bytes. */
uint32_t election_store_crc32(const uint8_t *p, size_t len);

#endif
