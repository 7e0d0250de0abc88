/* The two-slot in-place record file: the newest record always reads back,
 * a write cut anywhere (in-process stops and a real SIGKILL) leaves the old
 * or the new record, a damaged slot falls back to the other one with a
 * warning, and damage beyond that is refused, never silently reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/err.h"
#include "common/slotfile.h"
#include "fx_tmpdir.h"

#define HEADER 4096

static int fx_setup(void **state)
{
    return fx_make(state, "qr-slotfile", "state");
}

/* Opens path afresh (as a restarted process does) and returns load's code;
 * on 0 the record must equal want (when want is not NULL). */
static int reload(const char *path, size_t max, const char *want, char *warning, size_t wlen)
{
    slotfile_t *f = slotfile_new(path, max);
    assert_non_null(f);
    uint8_t *d;
    size_t n;
    qr_err_t err;
    int rc = slotfile_load(f, &d, &n, &err);
    if (rc == 0 && want) {
        assert_int_equal(n, strlen(want));
        assert_memory_equal(d, want, n);
        assert_int_equal(d[n], 0);
    }
    if (warning) {
        const char *w = rc == 0 ? slotfile_warning(f) : err.msg;
        snprintf(warning, wlen, "%s", w ? w : "");
    }
    free(d);
    slotfile_destroy(&f);
    return rc;
}

static slotfile_t *opened(const char *path, size_t max)
{
    slotfile_t *f = slotfile_new(path, max);
    assert_non_null(f);
    uint8_t *d;
    size_t n;
    qr_err_t err;
    int rc = slotfile_load(f, &d, &n, &err);
    assert_true(rc == 0 || rc == QR_ENOTFOUND);
    free(d);
    return f;
}

static void put_bytes(const char *path, off_t off, const void *p, size_t len)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, p, len, off), (ssize_t)len);
    close(fd);
}

static off_t slot_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (st.st_size - HEADER) / 2;
}

static void test_slotfile_new_file_then_many_writes_read_back(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(reload(fx->path, 100, NULL, NULL, 0), QR_ENOTFOUND);
    slotfile_t *f = opened(fx->path, 100);
    qr_err_t err;
    struct stat st0;
    char rec[64];
    for (int i = 0; i < 40; i++) {
        int n = snprintf(rec, sizeof rec, "term %d%s", i, i % 3 ? "" : " with a longer tail");
        assert_int_equal(slotfile_write(f, rec, (size_t)n, &err), 0);
        struct stat st;
        assert_int_equal(stat(fx->path, &st), 0);
        if (i == 0)
            st0 = st;
        assert_int_equal(st.st_ino, st0.st_ino); /* in place after the first write */
        assert_int_equal(st.st_size, st0.st_size);
        char w[400];
        assert_int_equal(reload(fx->path, 100, rec, w, sizeof w), 0);
        assert_string_equal(w, ""); /* after the second write both slots hold records */
    }
    assert_int_equal(slotfile_write(f, "", 0, &err), 0); /* empty record */
    assert_int_equal(reload(fx->path, 100, "", NULL, 0), 0);
    slotfile_destroy(&f);
    slotfile_destroy(&f); /* NULL-safe */
}

/* A record above the slot grows the file by an atomic replacement; a reader
 * with a smaller limit refuses rather than truncates. */
static void test_slotfile_grows_for_big_record_and_limit_is_enforced(void **state)
{
    fx_t *fx = *state;
    slotfile_t *f = opened(fx->path, 16);
    qr_err_t err;
    assert_int_equal(slotfile_write(f, "small", 5, &err), 0);
    off_t before = slot_size(fx->path);
    char big[10000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(slotfile_write(f, big, strlen(big), &err), 0);
    assert_true(slot_size(fx->path) > before);
    assert_int_equal(reload(fx->path, sizeof big, big, NULL, 0), 0);
    assert_int_equal(slotfile_write(f, "small again", 11, &err), 0);
    assert_int_equal(reload(fx->path, 16, "small again", NULL, 0), 0);
    slotfile_destroy(&f);
    char w[400];
    assert_int_equal(slotfile_write(f = opened(fx->path, 16), big, 100, &err), 0);
    slotfile_destroy(&f);
    assert_int_equal(reload(fx->path, 99, NULL, w, sizeof w), QR_ETOOBIG);
    assert_non_null(strstr(w, "limit 99"));
}

/* In-process stops: half a record in its slot leaves the old record (and a
 * warning naming the slot); a whole record not yet flushed is read back. */
static void test_slotfile_stop_points_give_old_or_new(void **state)
{
    fx_t *fx = *state;
    static const struct {
        crashpoint_t stop;
        bool new_visible;
    } steps[] = {
        {SLOTFILE_STOP_PARTIAL, false},
        {SLOTFILE_STOP_WRITTEN, true},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        for (int prior = 1; prior <= 2; prior++) { /* the cut slot empty, or holding a record */
            unlink(fx->path);
            slotfile_t *f = opened(fx->path, 200);
            qr_err_t err;
            const char *old = "old record: term 4";
            const char *new = "new record: term 5, longer than the old one";
            for (int k = 0; k < prior; k++)
                assert_int_equal(slotfile_write(f, old, strlen(old), &err), 0);
            assert_int_equal(slotfile_write_ex(f, new, strlen(new), steps[i].stop, &err), QR_EIO);
            assert_non_null(strstr(err.msg, "injected"));
            slotfile_destroy(&f);
            char w[400];
            assert_int_equal(reload(fx->path, 200, steps[i].new_visible ? new : old, w, sizeof w),
                             0);
            if (!steps[i].new_visible)
                assert_non_null(strstr(w, "unreadable"));
            f = opened(fx->path, 200);
            assert_int_equal(slotfile_write(f, new, strlen(new), &err), 0); /* over the debris */
            slotfile_destroy(&f);
            assert_int_equal(reload(fx->path, 200, new, NULL, 0), 0);
        }
    }
}

/* QUORATE_TEST_CRASH=slot_partial:N / slot_written:N kill the process for
 * real at that point of its Nth durable write. */
static void test_slotfile_env_crash_kills_at_the_named_step(void **state)
{
    fx_t *fx = *state;
    static const struct {
        const char *spec;
        bool new_visible;
    } steps[] = {
        {"slot_partial:3", false},
        {"slot_written:3", true},
        {"temp_written:1", false}, /* the first write creates the file */
    };
    const char *old = "old record: term 4";
    const char *new = "new record: term 5, a longer one";
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        unlink(fx->path);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            qr_err_t err;
            setenv("QUORATE_TEST_CRASH", steps[i].spec, 1);
            slotfile_t *f = slotfile_new(fx->path, 100);
            if (!f)
                _exit(9);
            if (steps[i].spec[0] != 't' && (slotfile_write(f, old, strlen(old), &err) != 0 ||
                                            slotfile_write(f, old, strlen(old), &err) != 0))
                _exit(10);
            slotfile_write(f, new, strlen(new), &err);
            _exit(11); /* not reached when the injection works */
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            fail_msg("%s: child was not killed (status 0x%x)", steps[i].spec, (unsigned)st);
        if (steps[i].spec[0] == 't')
            assert_int_equal(reload(fx->path, 100, NULL, NULL, 0), QR_ENOTFOUND);
        else
            assert_int_equal(reload(fx->path, 100, steps[i].new_visible ? new : old, NULL, 0), 0);
    }
    unsetenv("QUORATE_TEST_CRASH");
}

/* A power cut can leave any bytes in the slot being written: random bytes
 * there are skipped with a warning; damage in both slots or in the header
 * is refused with the reason; the header never falls back. */
static void test_slotfile_damage_falls_back_once_then_refuses(void **state)
{
    fx_t *fx = *state;
    slotfile_t *f = opened(fx->path, 100);
    qr_err_t err;
    assert_int_equal(slotfile_write(f, "record 1", 8, &err), 0); /* slot 0 */
    assert_int_equal(slotfile_write(f, "record 2", 8, &err), 0); /* slot 1 */
    slotfile_destroy(&f);
    off_t ss = slot_size(fx->path);
    uint8_t noise[300];
    srand(7);
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)rand();
    put_bytes(fx->path, HEADER + ss, noise, sizeof noise); /* slot 1: the newest */
    char w[400];
    assert_int_equal(reload(fx->path, 100, "record 1", w, sizeof w), 0);
    assert_non_null(strstr(w, "slot 1 unreadable"));
    assert_non_null(strstr(w, "using slot 0, record 1"));
    /* the next write goes to the damaged slot, and both read again */
    f = opened(fx->path, 100);
    assert_int_equal(slotfile_write(f, "record 3", 8, &err), 0);
    slotfile_destroy(&f);
    assert_int_equal(reload(fx->path, 100, "record 3", w, sizeof w), 0);
    assert_string_equal(w, "");
    /* one flipped bit in each slot: refused, both reasons named */
    uint8_t b = 0x5a;
    put_bytes(fx->path, HEADER + 20, &b, 1);
    put_bytes(fx->path, HEADER + ss + 20, &b, 1);
    assert_int_equal(reload(fx->path, 100, NULL, w, sizeof w), QR_EPARSE);
    assert_non_null(strstr(w, "no readable slot"));
    assert_non_null(strstr(w, "slot 0: checksum mismatch"));
    assert_non_null(strstr(w, "slot 1: checksum mismatch"));
    /* the header: a flipped slot size is refused, not guessed */
    unlink(fx->path);
    f = opened(fx->path, 100);
    assert_int_equal(slotfile_write(f, "record 1", 8, &err), 0);
    slotfile_destroy(&f);
    b = 0xff;
    put_bytes(fx->path, 13, &b, 1);
    assert_int_equal(reload(fx->path, 100, NULL, w, sizeof w), QR_EPARSE);
    assert_non_null(strstr(w, "header checksum mismatch"));
    /* cut short */
    unlink(fx->path);
    f = opened(fx->path, 100);
    assert_int_equal(slotfile_write(f, "record 1", 8, &err), 0);
    slotfile_destroy(&f);
    assert_int_equal(truncate(fx->path, HEADER + 10), 0);
    assert_int_equal(reload(fx->path, 100, NULL, w, sizeof w), QR_EPARSE);
    assert_non_null(strstr(w, "torn file"));
}

/* Another format at the path: reported as foreign (the caller may read it
 * its own way), never overwritten by a load, replaced by the next write. */
static void test_slotfile_foreign_file_is_reported_then_replaced(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    assert_int_equal(atomicfile_write(fx->path, "17\n", 3, &err), 0);
    slotfile_t *f = slotfile_new(fx->path, 64);
    uint8_t *d;
    size_t n;
    assert_int_equal(slotfile_load(f, &d, &n, &err), QR_EPARSE);
    assert_true(slotfile_foreign(f));
    assert_non_null(strstr(err.msg, "bad magic"));
    assert_null(d);
    assert_int_equal(reload(fx->path, 64, NULL, NULL, 0), QR_EPARSE); /* still there */
    assert_int_equal(slotfile_write(f, "18\n", 3, &err), 0);
    assert_false(slotfile_foreign(f));
    slotfile_destroy(&f);
    assert_int_equal(reload(fx->path, 64, "18\n", NULL, 0), 0);
    /* a directory or an unreadable path is an I/O error, not "first start" */
    f = slotfile_new(fx->dir, 64);
    assert_int_equal(slotfile_load(f, &d, &n, &err), QR_EIO);
    slotfile_destroy(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_slotfile_new_file_then_many_writes_read_back),
        T(test_slotfile_grows_for_big_record_and_limit_is_enforced),
        T(test_slotfile_stop_points_give_old_or_new),
        T(test_slotfile_env_crash_kills_at_the_named_step),
        T(test_slotfile_damage_falls_back_once_then_refuses),
        T(test_slotfile_foreign_file_is_reported_then_replaced),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
