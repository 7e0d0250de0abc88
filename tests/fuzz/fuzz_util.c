/* Helpers for the fuzz targets (see fuzz_util.h). */
#include "fuzz_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

size_t fuzz_split(const uint8_t *data, size_t size, fuzz_part_t *parts, size_t max)
{
    const size_t seplen = strlen(FUZZ_SEP);
    size_t n = 0, start = 0;
    while (n + 1 < max) {
        const uint8_t *hit = size - start >= seplen
                                 ? memmem(data + start, size - start, FUZZ_SEP, seplen)
                                 : NULL;
        if (!hit)
            break;
        size_t end = (size_t)(hit - data);
        parts[n].len = end - start;
        parts[n].data = malloc(parts[n].len + 1);
        if (!parts[n].data)
            abort();
        memcpy(parts[n].data, data + start, parts[n].len);
        parts[n].data[parts[n].len] = '\0';
        n++;
        start = end + seplen;
    }
    parts[n].len = size - start;
    parts[n].data = malloc(parts[n].len + 1);
    if (!parts[n].data)
        abort();
    if (parts[n].len)
        memcpy(parts[n].data, data + start, parts[n].len);
    parts[n].data[parts[n].len] = '\0';
    return n + 1;
}

void fuzz_parts_free(fuzz_part_t *parts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(parts[i].data);
        parts[i].data = NULL;
    }
}

static char tmp_path[4096];
static int tmp_fd = -1;

static void tmp_remove(void)
{
    if (tmp_path[0])
        unlink(tmp_path);
}

const char *fuzz_tmpfile(const uint8_t *data, size_t size)
{
    if (tmp_fd < 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp_path, sizeof tmp_path, "%s/qr-fuzz-XXXXXX.yaml",
                 dir && *dir ? dir : "/tmp");
        tmp_fd = mkstemps(tmp_path, 5);
        if (tmp_fd < 0) {
            perror("fuzz: mkstemps");
            abort();
        }
        atexit(tmp_remove);
    }
    if (ftruncate(tmp_fd, 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(tmp_fd, data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    return tmp_path;
}

static int verbose;

void fuzz_quiet_logs(void)
{
    const char *v = getenv("QR_FUZZ_LOG");
    verbose = v && *v == '1';
    log_init("fuzz", verbose ? LOG_LVL_DEBUG : LOG_LVL_ERR);
}

void fuzz_check_result(check_result_t *r)
{
    if (verbose)
        fprintf(stderr, "fuzz: result: %s: %s\n", check_status_str(r->status), r->summary);
    json_t *j = check_result_to_json(r);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    free(s);
    json_decref(j);
    check_result_clear(r);
}

int fuzz_note(const char *what, int rc, const char *msg)
{
    if (verbose && rc)
        fprintf(stderr, "fuzz: %s: %s (%s)\n", what, msg ? msg : "", qr_strerror(rc));
    return rc;
}
