/* Encoding and durable storage of the election's hard state. Little-endian,
 * fixed layout, checksummed; see docs/election.md for the byte layout. */
#include "election_store.h"

#include "common/atomicfile.h"
#include "common/le.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct election_store {
    slotfile_t *file;
    size_t doc_max;
    char note[512];
};

static const uint8_t store_magic[8] = {'Q', 'R', 'E', 'L', 'E', 'C', 'T', '\n'};
#define HDR_LEN 16u   /* magic, version, payload length */
#define FIXED_LEN 32u /* term, voted_for, doc term, doc counter, doc length */
#define CRC_LEN 4u

int election_store_encode(const election_hard_t *h, uint8_t **out, size_t *out_len, qr_err_t *err)
{
    *out = NULL;
    *out_len = 0;
    if (h->doc_len > UINT32_MAX - FIXED_LEN - HDR_LEN - CRC_LEN)
        return qr_err_set(err, QR_ETOOBIG, "state document of %zu bytes", h->doc_len);
    size_t total = HDR_LEN + FIXED_LEN + h->doc_len + CRC_LEN;
    uint8_t *buf = malloc(total);
    if (!buf)
        return qr_err_set(err, QR_ENOMEM, "election state buffer");
    memcpy(buf, store_magic, sizeof store_magic);
    le_put32(buf + 8, ELECTION_STORE_VERSION);
    le_put32(buf + 12, (uint32_t)(FIXED_LEN + h->doc_len));
    uint8_t *p = buf + HDR_LEN;
    le_put64(p, h->term);
    le_put32(p + 8, h->voted_for);
    le_put64(p + 12, h->doc_id.term);
    le_put64(p + 20, h->doc_id.counter);
    le_put32(p + 28, (uint32_t)h->doc_len);
    if (h->doc_len)
        memcpy(p + FIXED_LEN, h->doc, h->doc_len);
    le_put32(buf + total - CRC_LEN, slotfile_crc32(buf, total - CRC_LEN));
    *out = buf;
    *out_len = total;
    return 0;
}

int election_store_decode(const uint8_t *buf, size_t len, size_t doc_max, const char *path,
                          election_hard_t *h, uint8_t **doc_buf, qr_err_t *err)
{
    memset(h, 0, sizeof *h);
    *doc_buf = NULL;
    int rc = 0;
    if (len < HDR_LEN || memcmp(buf, store_magic, sizeof store_magic) != 0) {
        rc = qr_err_set(err, QR_EPARSE, "%s: not an election state file (bad magic)", path);
        goto out;
    }
    uint32_t version = le_get32(buf + 8);
    if (version != ELECTION_STORE_VERSION) {
        rc = qr_err_set(err, QR_EVERSION, "%s: format version %u, this build reads %u", path,
                        version, ELECTION_STORE_VERSION);
        goto out;
    }
    uint32_t plen = le_get32(buf + 12);
    if (plen < FIXED_LEN || (uint64_t)HDR_LEN + plen + CRC_LEN != len) {
        rc = qr_err_set(err, QR_EPARSE, "%s: torn file (%zu bytes, header says %llu)", path, len,
                        (unsigned long long)HDR_LEN + plen + CRC_LEN);
        goto out;
    }
    uint32_t want = le_get32(buf + len - CRC_LEN);
    uint32_t got = slotfile_crc32(buf, len - CRC_LEN);
    if (want != got) {
        rc = qr_err_set(err, QR_EPARSE, "%s: checksum mismatch (stored %08x, computed %08x)", path,
                        want, got);
        goto out;
    }
    const uint8_t *p = buf + HDR_LEN;
    uint32_t dlen = le_get32(p + 28);
    if ((uint64_t)FIXED_LEN + dlen != plen) {
        rc = qr_err_set(err, QR_EPARSE, "%s: document length %u disagrees with the header", path,
                        dlen);
        goto out;
    }
    if (dlen > doc_max) {
        rc = qr_err_set(err, QR_ETOOBIG, "%s: state document of %u bytes, limit %zu", path, dlen,
                        doc_max);
        goto out;
    }
    h->term = le_get64(p);
    h->voted_for = le_get32(p + 8);
    h->doc_id.term = le_get64(p + 12);
    h->doc_id.counter = le_get64(p + 20);
    if (h->doc_id.term > h->term) {
        rc = qr_err_set(err, QR_EPARSE, "%s: document term %llu above the current term %llu", path,
                        (unsigned long long)h->doc_id.term, (unsigned long long)h->term);
        goto out;
    }
    if (dlen) {
        *doc_buf = malloc(dlen);
        if (!*doc_buf) {
            rc = qr_err_set(err, QR_ENOMEM, "state document");
            goto out;
        }
        memcpy(*doc_buf, p + FIXED_LEN, dlen);
    }
    h->doc = *doc_buf;
    h->doc_len = dlen;
out:
    if (rc)
        memset(h, 0, sizeof *h);
    return rc;
}

static size_t record_max(size_t doc_max)
{
    return HDR_LEN + FIXED_LEN + doc_max + CRC_LEN;
}

/* A format 1 file: the record alone, replaced atomically. */
static int load_format1(election_store_t *s, const char *path, election_hard_t *h,
                        uint8_t **doc_buf, qr_err_t *err)
{
    uint8_t *buf;
    size_t len;
    int rc = atomicfile_read(path, record_max(s->doc_max), &buf, &len, err);
    if (rc == QR_ETOOBIG)
        return qr_err_set(err, QR_ETOOBIG, "%s: larger than the state document limit %zu allows",
                          path, s->doc_max);
    if (rc)
        return rc;
    rc = election_store_decode(buf, len, s->doc_max, path, h, doc_buf, err);
    free(buf);
    if (rc == 0)
        snprintf(s->note, sizeof s->note,
                 "%s: format 1 (one record, replaced atomically); rewritten as a two-slot file "
                 "at the next save",
                 path);
    return rc;
}

int election_store_open(const char *path, size_t doc_max, election_store_t **out,
                        election_hard_t *h, uint8_t **doc_buf, qr_err_t *err)
{
    *out = NULL;
    memset(h, 0, sizeof *h);
    *doc_buf = NULL;
    election_store_t *s = calloc(1, sizeof *s);
    if (!s || !(s->file = slotfile_new(path, record_max(doc_max)))) {
        free(s);
        return qr_err_set(err, QR_ENOMEM, "election store");
    }
    s->doc_max = doc_max;
    uint8_t *rec = NULL;
    size_t len = 0;
    int rc = slotfile_load(s->file, &rec, &len, err);
    if (rc == 0) {
        rc = election_store_decode(rec, len, doc_max, path, h, doc_buf, err);
        const char *w = slotfile_warning(s->file);
        if (rc == 0 && w)
            snprintf(s->note, sizeof s->note, "%s", w);
    } else if (rc == QR_EPARSE && slotfile_foreign(s->file)) {
        rc = load_format1(s, path, h, doc_buf, err);
    } else if (rc == QR_ETOOBIG) {
        rc = qr_err_set(err, QR_ETOOBIG, "%s: larger than the state document limit %zu allows",
                        path, doc_max);
    }
    free(rec);
    if (rc != 0 && rc != QR_ENOTFOUND) {
        election_store_destroy(&s);
        return rc;
    }
    *out = s;
    return rc;
}

const char *election_store_note(const election_store_t *s)
{
    return s->note[0] ? s->note : NULL;
}

int election_store_save_ex(election_store_t *s, const election_hard_t *h, crashpoint_t stop,
                           qr_err_t *err)
{
    uint8_t *buf;
    size_t len;
    int rc = election_store_encode(h, &buf, &len, err);
    if (rc)
        return rc;
    rc = slotfile_write_ex(s->file, buf, len, stop, err);
    free(buf);
    return rc;
}

int election_store_save(election_store_t *s, const election_hard_t *h, qr_err_t *err)
{
    return election_store_save_ex(s, h, CRASHPOINT_NONE, err);
}

void election_store_destroy(election_store_t **sp)
{
    if (!sp || !*sp)
        return;
    slotfile_destroy(&(*sp)->file);
    free(*sp);
    *sp = NULL;
}
