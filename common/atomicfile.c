/* Atomic file replacement (temp + fsync + rename + fsync dir) and a bounded
 * whole-file read. Used for every piece of state that must survive a crash. */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The directory entry itself must reach the disk, or the rename can be lost. */
static int fsync_dir_of(const char *path, qr_err_t *err)
{
    char *copy = strdup(path);
    if (!copy)
        return qr_err_set(err, QR_ENOMEM, "path copy");
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int rc = qr_err_set(err, QR_EIO, "open directory %s: %s", dir, strerror(errno));
        free(copy);
        return rc;
    }
    int rc = 0;
    if (fsync(fd) < 0)
        rc = qr_err_set(err, QR_EIO, "fsync directory %s: %s", dir, strerror(errno));
    close(fd);
    free(copy);
    return rc;
}

int atomicfile_write_ex(const char *path, const void *data, size_t len, atomicfile_stop_t stop,
                        qr_err_t *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return qr_err_set(err, QR_EINVAL, "path too long: %s", path);
    crashpoint_t crash = crashpoint_next();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return qr_err_set(err, QR_EIO, "create %s: %s", tmp, strerror(errno));
    const uint8_t *p = data;
    if (crash == ATOMICFILE_STOP_TEMP_PARTIAL && write_all(fd, p, len / 2) == 0)
        crashpoint_hit(crash, CRASHPOINT_TEMP_PARTIAL, path);
    if (stop == ATOMICFILE_STOP_TEMP_PARTIAL) {
        int wrc = write_all(fd, p, len / 2);
        close(fd);
        return qr_err_set(err, QR_EIO, "injected stop after a partial write%s",
                          wrc ? " (and the write failed)" : "");
    }
    if (write_all(fd, p, len) < 0) {
        int rc = qr_err_set(err, QR_EIO, "write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return rc;
    }
    crashpoint_hit(crash, CRASHPOINT_TEMP_WRITTEN, path);
    if (stop == ATOMICFILE_STOP_TEMP_WRITTEN) {
        close(fd);
        return qr_err_set(err, QR_EIO, "injected stop before fsync");
    }
    if (fsync(fd) < 0) {
        int rc = qr_err_set(err, QR_EIO, "fsync %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) < 0) {
        int rc = qr_err_set(err, QR_EIO, "close %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return rc;
    }
    crashpoint_hit(crash, CRASHPOINT_BEFORE_RENAME, path);
    if (stop == ATOMICFILE_STOP_BEFORE_RENAME)
        return qr_err_set(err, QR_EIO, "injected stop before rename");
    if (rename(tmp, path) < 0) {
        int rc = qr_err_set(err, QR_EIO, "rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    crashpoint_hit(crash, CRASHPOINT_AFTER_RENAME, path);
    if (stop == ATOMICFILE_STOP_AFTER_RENAME)
        return qr_err_set(err, QR_EIO, "injected stop before the directory fsync");
    return fsync_dir_of(path, err);
}

int atomicfile_write(const char *path, const void *data, size_t len, qr_err_t *err)
{
    return atomicfile_write_ex(path, data, len, ATOMICFILE_STOP_NONE, err);
}

int atomicfile_read(const char *path, size_t max, uint8_t **data, size_t *len, qr_err_t *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return qr_err_set(err, QR_ENOTFOUND, "%s does not exist", path);
        return qr_err_set(err, QR_EIO, "open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = qr_err_set(err, QR_EIO, "stat %s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return qr_err_set(err, QR_EIO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return qr_err_set(err, QR_ETOOBIG, "%s is %lld bytes, limit %zu", path,
                          (long long)st.st_size, max);
    }
    /* Read up to max+1 regardless of st_size: the file may grow meanwhile. */
    size_t cap = (size_t)st.st_size + 1;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return qr_err_set(err, QR_ENOMEM, "reading %s", path);
    }
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                return qr_err_set(err, QR_ETOOBIG, "%s grew above the limit %zu", path, max);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return qr_err_set(err, QR_ENOMEM, "reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int rc = qr_err_set(err, QR_EIO, "read %s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return qr_err_set(err, QR_ETOOBIG, "%s grew above the limit %zu", path, max);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}
