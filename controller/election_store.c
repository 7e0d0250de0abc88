/* Encoding and durable storage of the election's hard state. Little-endian,
 * fixed layout, checksummed; see docs/election.md for the byte layout. */
#include "election_store.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t store_magic[8] = {'Q', 'R', 'E', 'L', 'E', 'C', 'T', '\n'};
#define HDR_LEN 16u   /* magic, version, payload length */
#define FIXED_LEN 32u /* term, voted_for, doc term, doc counter, doc length */
#define CRC_LEN 4u

uint32_t election_store_crc32(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

int election_store_save_ex(const char *path, const election_hard_t *h, atomicfile_stop_t stop,
                           qr_err_t *err)
{
    if (h->doc_len > UINT32_MAX - FIXED_LEN - HDR_LEN - CRC_LEN)
        return qr_err_set(err, QR_ETOOBIG, "state document of %zu bytes", h->doc_len);
    size_t total = HDR_LEN + FIXED_LEN + h->doc_len + CRC_LEN;
    uint8_t *buf = malloc(total);
    if (!buf)
        return qr_err_set(err, QR_ENOMEM, "election state buffer");
    memcpy(buf, store_magic, sizeof store_magic);
    put32(buf + 8, ELECTION_STORE_VERSION);
    put32(buf + 12, (uint32_t)(FIXED_LEN + h->doc_len));
    uint8_t *p = buf + HDR_LEN;
    put64(p, h->term);
    put32(p + 8, h->voted_for);
    put64(p + 12, h->doc_id.term);
    put64(p + 20, h->doc_id.counter);
    put32(p + 28, (uint32_t)h->doc_len);
    if (h->doc_len)
        memcpy(p + FIXED_LEN, h->doc, h->doc_len);
    put32(buf + total - CRC_LEN, election_store_crc32(buf, total - CRC_LEN));
    int rc = atomicfile_write_ex(path, buf, total, stop, err);
    free(buf);
    return rc;
}

int election_store_save(const char *path, const election_hard_t *h, qr_err_t *err)
{
    return election_store_save_ex(path, h, ATOMICFILE_STOP_NONE, err);
}

int election_store_load(const char *path, size_t doc_max, election_hard_t *h, uint8_t **doc_buf,
                        qr_err_t *err)
{
    memset(h, 0, sizeof *h);
    *doc_buf = NULL;
    uint8_t *buf;
    size_t len;
    int rc = atomicfile_read(path, HDR_LEN + FIXED_LEN + doc_max + CRC_LEN, &buf, &len, err);
    if (rc == QR_ETOOBIG)
        return qr_err_set(err, QR_ETOOBIG, "%s: larger than the state document limit %zu allows",
                          path, doc_max);
    if (rc)
        return rc;
    if (len < HDR_LEN || memcmp(buf, store_magic, sizeof store_magic) != 0) {
        rc = qr_err_set(err, QR_EPARSE, "%s: not an election state file (bad magic)", path);
        goto out;
    }
    uint32_t version = get32(buf + 8);
    if (version != ELECTION_STORE_VERSION) {
        rc = qr_err_set(err, QR_EVERSION, "%s: format version %u, this build reads %u", path,
                        version, ELECTION_STORE_VERSION);
        goto out;
    }
    uint32_t plen = get32(buf + 12);
    if (plen < FIXED_LEN || (uint64_t)HDR_LEN + plen + CRC_LEN != len) {
        rc = qr_err_set(err, QR_EPARSE, "%s: torn file (%zu bytes, header says %llu)", path, len,
                        (unsigned long long)HDR_LEN + plen + CRC_LEN);
        goto out;
    }
    uint32_t want = get32(buf + len - CRC_LEN);
    uint32_t got = election_store_crc32(buf, len - CRC_LEN);
    if (want != got) {
        rc = qr_err_set(err, QR_EPARSE, "%s: checksum mismatch (stored %08x, computed %08x)", path,
                        want, got);
        goto out;
    }
    const uint8_t *p = buf + HDR_LEN;
    uint32_t dlen = get32(p + 28);
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
    h->term = get64(p);
    h->voted_for = get32(p + 8);
    h->doc_id.term = get64(p + 12);
    h->doc_id.counter = get64(p + 20);
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
    free(buf);
    if (rc)
        memset(h, 0, sizeof *h);
    return rc;
}
