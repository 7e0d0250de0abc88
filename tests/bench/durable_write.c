/* What one durable save of the election state costs, by method: the atomic
 * replacement (common/atomicfile.c: temp file, fsync, rename, directory
 * fsync; the baseline, and what quorate used before) against the two-slot
 * write in place (common/slotfile.c: pwrite + fdatasync), interleaved in
 * the same run on the same filesystem with the same record (the election
 * state with a 2 KiB document). A planned leader handover waits for two
 * such saves in a row (the old leader's vote, then the new leader's term),
 * and every agent one more, so this is most of its disk time.
 *
 *   bench_durable_write [DIR] [--writes N]
 *
 * DIR defaults to /tmp (the controller's state_dir must be on a real disk
 * for the numbers to mean anything; tmpfs makes both nearly free). Wall
 * time per save: min / median / p90 / p99 / max in ms, and the ratio of the
 * medians and p99s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/slotfile.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double min, med, p90, p99, max;
} stats_t;

static stats_t stats(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    stats_t s = {v[0], v[n / 2], v[(n * 90 + 99) / 100 - 1], v[(n * 99 + 99) / 100 - 1],
                 v[n - 1]};
    return s;
}

static void print(const char *name, stats_t s)
{
    printf("%-34s %8.3f %8.3f %8.3f %8.3f %8.3f\n", name, s.min, s.med, s.p90, s.p99, s.max);
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp";
    int n = 400;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--writes") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: bench_durable_write [DIR] [--writes N]\n");
            return 0;
        } else
            dir = argv[i];
    }
    if (n < 10) {
        fprintf(stderr, "bench_durable_write: --writes needs at least 10\n");
        return 2;
    }
    char base[4096], a_path[4200], s_path[4200];
    snprintf(base, sizeof base, "%s/qr-durable-XXXXXX", dir);
    if (!mkdtemp(base)) {
        perror("bench_durable_write: mkdtemp");
        return 1;
    }
    snprintf(a_path, sizeof a_path, "%s/atomic.state", base);
    snprintf(s_path, sizeof s_path, "%s/slot.state", base);
    /* the election record: 52 bytes of fixed fields and a 2 KiB document */
    size_t len = 52 + 2048;
    unsigned char *rec = malloc(len);
    double *ta = malloc(sizeof *ta * (size_t)n), *ts = malloc(sizeof *ts * (size_t)n);
    slotfile_t *sf = slotfile_new(s_path, 256 * 1024 + 52);
    if (!rec || !ta || !ts || !sf) {
        fprintf(stderr, "bench_durable_write: out of memory\n");
        return 1;
    }
    qr_err_t err;
    int rc = 0;
    for (int i = -5; i < n && rc == 0; i++) { /* 5 warm-up rounds: file creation */
        memset(rec, 'a' + (i & 15), len);
        double t0 = now_ms();
        rc = atomicfile_write(a_path, rec, len, &err);
        double t1 = now_ms();
        if (rc == 0)
            rc = slotfile_write(sf, rec, len, &err);
        double t2 = now_ms();
        if (i >= 0) {
            ta[i] = t1 - t0;
            ts[i] = t2 - t1;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "bench_durable_write: %s\n", err.msg);
        return 1;
    }
    printf("durable save of a %zu-byte record in %s, %d saves each, interleaved (ms)\n", len, dir,
           n);
    printf("%-34s %8s %8s %8s %8s %8s\n", "method", "min", "median", "p90", "p99", "max");
    stats_t a = stats(ta, n), s = stats(ts, n);
    print("atomic replace (baseline)", a);
    print("two slots in place", s);
    printf("ratio in place / atomic: median %.2f, p99 %.2f\n", s.med / a.med, s.p99 / a.p99);
    slotfile_destroy(&sf);
    unlink(a_path);
    unlink(s_path);
    rmdir(base);
    free(rec);
    free(ta);
    free(ts);
    return 0;
}
