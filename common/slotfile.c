/* Two-slot in-place durable record. The header (4 KiB) is written only by an
 * atomic replacement and never in place, so it is either whole or the file is
 * the previous one; slots are overwritten in place, alternately. */
#include "slotfile.h"

#include "atomicfile.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t file_magic[8] = {'Q', 'R', 'S', 'L', 'O', 'T', 'S', '\n'};
#define FILE_VERSION 1u
#define HEADER_SIZE 4096u   /* magic, version, slot size, CRC; rest zero */
#define REC_MAGIC 0x52535251u /* "QRSR" little-endian */
#define REC_HDR 16u           /* magic, length, sequence */
#define REC_OVERHEAD (REC_HDR + 4u)
#define SLOT_ALIGN 4096u
#define SLOT_MAX (64u * 1024u * 1024u)

struct slotfile {
    char *path;
    size_t max_record;
    int fd;            /* open read-write once a slot file is loaded or written */
    uint32_t slot_size;
    uint64_t seq;      /* sequence of the newest record */
    int newest;        /* slot holding it: 0 or 1 */
    int foreign;
    char warning[400];
};

uint32_t slotfile_crc32(const uint8_t *p, size_t len)
{
    static uint32_t table[256];
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
            table[i] = c;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        c = table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
    return ~c;
}

static uint32_t slot_size_for(size_t record)
{
    size_t need = record + REC_OVERHEAD;
    return (uint32_t)((need + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN);
}

static off_t slot_offset(const slotfile_t *f, int slot)
{
    return (off_t)HEADER_SIZE + (off_t)slot * f->slot_size;
}

slotfile_t *slotfile_new(const char *path, size_t max_record)
{
    slotfile_t *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    f->max_record = max_record;
    f->fd = -1;
    return f;
}

void slotfile_destroy(slotfile_t **fp)
{
    if (!fp || !*fp)
        return;
    slotfile_t *f = *fp;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
    *fp = NULL;
}

int slotfile_foreign(const slotfile_t *f)
{
    return f->foreign;
}

const char *slotfile_warning(const slotfile_t *f)
{
    return f->warning[0] ? f->warning : NULL;
}

/* pread/pwrite all of len bytes at off; -1 on an error or a short file. */
static int io_all(int fd, uint8_t *p, size_t len, off_t off, int writing)
{
    while (len > 0) {
        ssize_t n = writing ? pwrite(fd, p, len, off) : pread(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int pread_all(int fd, uint8_t *p, size_t len, off_t off)
{
    return io_all(fd, p, len, off, 0);
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, off_t off)
{
    return io_all(fd, (uint8_t *)p, len, off, 1);
}

/* One slot: 1 and the record (malloc'd) when valid, 0 when empty (never
 * written), -1 when it holds something unreadable (why in *why). */
typedef struct {
    uint64_t seq;
    uint8_t *data;
    size_t len;
} record_t;

static int read_slot(const slotfile_t *f, int slot, record_t *r, char *why, size_t why_len,
                     qr_err_t *err)
{
    uint8_t hdr[REC_HDR];
    memset(r, 0, sizeof *r);
    if (pread_all(f->fd, hdr, sizeof hdr, slot_offset(f, slot)) != 0)
        return qr_err_set(err, QR_EIO, "read %s slot %d: %s", f->path, slot, strerror(errno));
    uint32_t magic = le_get32(hdr);
    uint32_t len = le_get32(hdr + 4);
    if (magic == 0 && len == 0 && le_get64(hdr + 8) == 0)
        return 0;
    if (magic != REC_MAGIC) {
        snprintf(why, why_len, "no record marker");
        return -1;
    }
    if ((uint64_t)len + REC_OVERHEAD > f->slot_size) {
        snprintf(why, why_len, "length %u does not fit the %u-byte slot", len, f->slot_size);
        return -1;
    }
    uint8_t *buf = malloc((size_t)len + REC_OVERHEAD + 1);
    if (!buf)
        return qr_err_set(err, QR_ENOMEM, "reading %s", f->path);
    if (pread_all(f->fd, buf, (size_t)len + REC_OVERHEAD, slot_offset(f, slot)) != 0) {
        int rc = qr_err_set(err, QR_EIO, "read %s slot %d: %s", f->path, slot, strerror(errno));
        free(buf);
        return rc;
    }
    uint32_t want = le_get32(buf + REC_HDR + len);
    uint32_t got = slotfile_crc32(buf, REC_HDR + (size_t)len);
    if (want != got) {
        snprintf(why, why_len, "checksum mismatch (stored %08x, computed %08x)", want, got);
        free(buf);
        return -1;
    }
    r->seq = le_get64(buf + 8);
    r->len = len;
    memmove(buf, buf + REC_HDR, len);
    buf[len] = 0;
    r->data = buf;
    return 1;
}

/* Header check of an open file. Sets f->foreign for another format. */
static int read_header(slotfile_t *f, qr_err_t *err)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return qr_err_set(err, QR_EIO, "stat %s: %s", f->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return qr_err_set(err, QR_EIO, "%s is not a regular file", f->path);
    uint8_t h[20] = {0};
    size_t have = (uint64_t)st.st_size < sizeof h ? (size_t)st.st_size : sizeof h;
    if (pread_all(f->fd, h, have, 0) != 0)
        return qr_err_set(err, QR_EIO, "read %s: %s", f->path, strerror(errno));
    if (have < sizeof file_magic || memcmp(h, file_magic, sizeof file_magic) != 0) {
        f->foreign = 1;
        return qr_err_set(err, QR_EPARSE, "%s: not a slot file (bad magic)", f->path);
    }
    if (have < sizeof h)
        return qr_err_set(err, QR_EPARSE, "%s: torn file (%lld bytes)", f->path,
                          (long long)st.st_size);
    uint32_t want = le_get32(h + 16), got = slotfile_crc32(h, 16);
    if (want != got)
        return qr_err_set(err, QR_EPARSE,
                          "%s: header checksum mismatch (stored %08x, computed %08x)", f->path,
                          want, got);
    uint32_t version = le_get32(h + 8);
    if (version != FILE_VERSION)
        return qr_err_set(err, QR_EVERSION, "%s: format version %u, this build reads %u", f->path,
                          version, FILE_VERSION);
    uint32_t ss = le_get32(h + 12);
    if (ss < SLOT_ALIGN || ss > SLOT_MAX || ss % SLOT_ALIGN)
        return qr_err_set(err, QR_EPARSE, "%s: slot size %u out of range", f->path, ss);
    if ((uint64_t)st.st_size < (uint64_t)HEADER_SIZE + 2u * ss)
        return qr_err_set(err, QR_EPARSE, "%s: torn file (%lld bytes, slots need %llu)", f->path,
                          (long long)st.st_size, (unsigned long long)HEADER_SIZE + 2u * ss);
    f->slot_size = ss;
    return 0;
}

int slotfile_load(slotfile_t *f, uint8_t **data, size_t *len, qr_err_t *err)
{
    *data = NULL;
    *len = 0;
    f->foreign = 0;
    f->warning[0] = 0;
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    int fd = open(f->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return qr_err_set(err, QR_ENOTFOUND, "%s does not exist", f->path);
        return qr_err_set(err, QR_EIO, "open %s: %s", f->path, strerror(errno));
    }
    f->fd = fd;
    int rc = read_header(f, err);
    record_t r[2] = {{0}};
    char why[2][160] = {"", ""};
    int st[2] = {0, 0};
    for (int i = 0; i < 2 && rc == 0; i++) {
        st[i] = read_slot(f, i, &r[i], why[i], sizeof why[i], err);
        if (st[i] < -1)
            rc = st[i];
    }
    if (rc == 0) {
        int pick = st[0] == 1 && (st[1] != 1 || r[0].seq > r[1].seq) ? 0 : st[1] == 1 ? 1 : -1;
        if (pick < 0) {
            rc = st[0] == 0 && st[1] == 0
                     ? qr_err_set(err, QR_EPARSE, "%s: no record in either slot", f->path)
                     : qr_err_set(err, QR_EPARSE, "%s: no readable slot: slot 0: %s; slot 1: %s",
                                  f->path, st[0] ? why[0] : "empty", st[1] ? why[1] : "empty");
        } else if (r[pick].len > f->max_record) {
            rc = qr_err_set(err, QR_ETOOBIG, "%s: record of %zu bytes, limit %zu", f->path,
                            r[pick].len, f->max_record);
        } else {
            int other = 1 - pick;
            if (st[other] < 0)
                snprintf(f->warning, sizeof f->warning,
                         "%s: slot %d unreadable (%s; a write cut by a crash, or damage): "
                         "using slot %d, record %llu",
                         f->path, other, why[other], pick, (unsigned long long)r[pick].seq);
            f->seq = r[pick].seq;
            f->newest = pick;
            *data = r[pick].data;
            *len = r[pick].len;
            r[pick].data = NULL;
        }
    }
    free(r[0].data);
    free(r[1].data);
    if (rc) {
        close(f->fd);
        f->fd = -1;
    }
    return rc;
}

static void encode_record(uint8_t *buf, uint64_t seq, const void *data, size_t len)
{
    le_put32(buf, REC_MAGIC);
    le_put32(buf + 4, (uint32_t)len);
    le_put64(buf + 8, seq);
    if (len)
        memcpy(buf + REC_HDR, data, len);
    le_put32(buf + REC_HDR + len, slotfile_crc32(buf, REC_HDR + len));
}

/* A new file image: header, the record in slot 0, slot 1 empty; replaces
 * path atomically and opens it. stop: atomicfile's test stop points. */
static int replace_file(slotfile_t *f, const void *data, size_t len, crashpoint_t stop,
                        qr_err_t *err)
{
    size_t want = len > f->max_record ? len : f->max_record;
    if (want > SLOT_MAX - REC_OVERHEAD)
        return qr_err_set(err, QR_ETOOBIG, "%s: record of %zu bytes", f->path, len);
    uint32_t ss = slot_size_for(want);
    size_t total = HEADER_SIZE + 2u * (size_t)ss;
    uint8_t *img = calloc(1, total);
    if (!img)
        return qr_err_set(err, QR_ENOMEM, "%s: file image of %zu bytes", f->path, total);
    memcpy(img, file_magic, sizeof file_magic);
    le_put32(img + 8, FILE_VERSION);
    le_put32(img + 12, ss);
    le_put32(img + 16, slotfile_crc32(img, 16));
    uint64_t seq = f->seq + 1;
    encode_record(img + HEADER_SIZE, seq, data, len);
    int rc = atomicfile_write_ex(f->path, img, total, stop, err);
    free(img);
    if (rc)
        return rc;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = open(f->path, O_RDWR | O_CLOEXEC);
    if (f->fd < 0)
        return qr_err_set(err, QR_EIO, "reopen %s: %s", f->path, strerror(errno));
    f->slot_size = ss;
    f->seq = seq;
    f->newest = 0;
    f->foreign = 0;
    return 0;
}

int slotfile_write_ex(slotfile_t *f, const void *data, size_t len, crashpoint_t stop,
                      qr_err_t *err)
{
    if (f->fd < 0 || len + REC_OVERHEAD > f->slot_size)
        return replace_file(f, data, len, stop <= CRASHPOINT_AFTER_RENAME ? stop : CRASHPOINT_NONE,
                            err); /* atomicfile counts its own crash point */
    crashpoint_t crash = crashpoint_next();
    size_t total = len + REC_OVERHEAD;
    uint8_t *buf = malloc(total);
    if (!buf)
        return qr_err_set(err, QR_ENOMEM, "%s: record buffer", f->path);
    int slot = 1 - f->newest;
    encode_record(buf, f->seq + 1, data, len);
    off_t off = slot_offset(f, slot);
    if (crash == CRASHPOINT_SLOT_PARTIAL && pwrite_all(f->fd, buf, total / 2, off) == 0)
        crashpoint_hit(crash, CRASHPOINT_SLOT_PARTIAL, f->path);
    if (stop == SLOTFILE_STOP_PARTIAL) {
        int wrc = pwrite_all(f->fd, buf, total / 2, off);
        free(buf);
        return qr_err_set(err, QR_EIO, "injected stop after a partial write%s",
                          wrc ? " (and the write failed)" : "");
    }
    int rc = pwrite_all(f->fd, buf, total, off);
    free(buf);
    if (rc != 0)
        return qr_err_set(err, QR_EIO, "write %s slot %d: %s", f->path, slot, strerror(errno));
    crashpoint_hit(crash, CRASHPOINT_SLOT_WRITTEN, f->path);
    if (stop == SLOTFILE_STOP_WRITTEN)
        return qr_err_set(err, QR_EIO, "injected stop before fdatasync");
    if (fdatasync(f->fd) < 0)
        return qr_err_set(err, QR_EIO, "fdatasync %s: %s", f->path, strerror(errno));
    f->seq++;
    f->newest = slot;
    return 0;
}

int slotfile_write(slotfile_t *f, const void *data, size_t len, qr_err_t *err)
{
    return slotfile_write_ex(f, data, len, SLOTFILE_STOP_NONE, err);
}
