/* Atomic file replacement: contents survive a crash at every step as either
 * the old or the new version, and reads are bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/err.h"
#include "fx_tmpdir.h"

static int fx_setup(void **state)
{
    return fx_make(state, "qr-atomicfile", "state");
}

static void assert_file_is(const char *path, const char *want)
{
    uint8_t *d;
    size_t n;
    qr_err_t err;
    assert_int_equal(atomicfile_read(path, 1 << 20, &d, &n, &err), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(d, want, n);
    free(d);
}

static void test_atomicfile_write_then_read_back(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    assert_int_equal(atomicfile_write(fx->path, "hello", 5, &err), 0);
    assert_file_is(fx->path, "hello");
    assert_int_equal(atomicfile_write(fx->path, "replaced contents", 17, &err), 0);
    assert_file_is(fx->path, "replaced contents");
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", fx->path);
    assert_int_equal(access(tmp, F_OK), -1); /* no debris after success */
}

static void test_atomicfile_empty_file_round_trips(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    assert_int_equal(atomicfile_write(fx->path, "", 0, &err), 0);
    assert_file_is(fx->path, "");
}

static void test_atomicfile_missing_file_is_notfound(void **state)
{
    fx_t *fx = *state;
    uint8_t *d;
    size_t n;
    qr_err_t err;
    assert_int_equal(atomicfile_read(fx->path, 100, &d, &n, &err), QR_ENOTFOUND);
    assert_null(d);
}

static void test_atomicfile_read_refuses_file_above_limit(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    char big[1000];
    memset(big, 'x', sizeof big);
    assert_int_equal(atomicfile_write(fx->path, big, sizeof big, &err), 0);
    uint8_t *d;
    size_t n;
    assert_int_equal(atomicfile_read(fx->path, 999, &d, &n, &err), QR_ETOOBIG);
    assert_null(d);
    assert_non_null(strstr(err.msg, "limit"));
    assert_int_equal(atomicfile_read(fx->path, 1000, &d, &n, &err), 0);
    assert_int_equal(n, 1000);
    free(d);
}

static void test_atomicfile_unwritable_directory_is_clear_error(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(atomicfile_write("/nonexistent-dir-qr/state", "x", 1, &err), QR_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir-qr/state.tmp"));
}

/* A crash at each step of a replacement leaves the old or the new contents,
 * never a mix, and the next write works despite the debris. */
static void test_atomicfile_crash_at_every_step_gives_old_or_new(void **state)
{
    fx_t *fx = *state;
    static const struct {
        atomicfile_stop_t stop;
        bool new_visible;
    } steps[] = {
        {ATOMICFILE_STOP_TEMP_PARTIAL, false},
        {ATOMICFILE_STOP_TEMP_WRITTEN, false},
        {ATOMICFILE_STOP_BEFORE_RENAME, false},
        {ATOMICFILE_STOP_AFTER_RENAME, true},
    };
    const char *old = "old state: term 4";
    const char *new = "new state: term 5, a longer record";
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        qr_err_t err;
        assert_int_equal(atomicfile_write(fx->path, old, strlen(old), &err), 0);
        assert_int_equal(atomicfile_write_ex(fx->path, new, strlen(new), steps[i].stop, &err),
                         QR_EIO);
        assert_non_null(strstr(err.msg, "injected"));
        assert_file_is(fx->path, steps[i].new_visible ? new : old);
        assert_int_equal(atomicfile_write(fx->path, new, strlen(new), &err), 0);
        assert_file_is(fx->path, new);
    }
}

/* QUORATE_TEST_CRASH=STEP:N really kills the process (SIGKILL, nothing
 * flushed, no cleanup) at STEP of its Nth write; the survivor finds the old
 * or the new contents. Writes before the Nth complete normally. */
static void test_atomicfile_env_crash_kills_at_the_named_step(void **state)
{
    fx_t *fx = *state;
    static const struct {
        const char *spec;
        bool new_visible;
    } steps[] = {
        {"temp_partial:2", false},
        {"temp_written:2", false},
        {"before_rename:2", false},
        {"after_rename:2", true},
    };
    const char *old = "old state: term 4";
    const char *new = "new state: term 5, a longer record";
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            qr_err_t err;
            setenv("QUORATE_TEST_CRASH", steps[i].spec, 1);
            if (atomicfile_write(fx->path, old, strlen(old), &err) != 0)
                _exit(10);
            atomicfile_write(fx->path, new, strlen(new), &err);
            _exit(11); /* not reached when the injection works */
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            fail_msg("%s: child was not killed (status 0x%x)", steps[i].spec, (unsigned)st);
        assert_file_is(fx->path, steps[i].new_visible ? new : old);
        qr_err_t err;
        assert_int_equal(atomicfile_write(fx->path, new, strlen(new), &err), 0);
        assert_file_is(fx->path, new);
        assert_int_equal(unlink(fx->path), 0);
    }
    /* unknown step names and other write numbers do nothing */
    setenv("QUORATE_TEST_CRASH", "no_such_step", 1);
    qr_err_t err;
    assert_int_equal(atomicfile_write(fx->path, old, strlen(old), &err), 0);
    setenv("QUORATE_TEST_CRASH", "before_rename:1000000", 1);
    assert_int_equal(atomicfile_write(fx->path, new, strlen(new), &err), 0);
    unsetenv("QUORATE_TEST_CRASH");
    assert_file_is(fx->path, new);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomicfile_write_then_read_back, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_atomicfile_empty_file_round_trips, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_atomicfile_missing_file_is_notfound, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_atomicfile_read_refuses_file_above_limit, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_atomicfile_unwritable_directory_is_clear_error,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_atomicfile_crash_at_every_step_gives_old_or_new,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_atomicfile_env_crash_kills_at_the_named_step, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
