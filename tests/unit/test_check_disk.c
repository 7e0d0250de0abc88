/* disk check: the evaluator at its boundaries (49.9 vs 50 GB, same st_dev,
 * missing dir, writability) and the probe on real temp dirs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_disk.h"
#include "check_testlib.h"

static agent_conf_t conf_base(void)
{
    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.datadir = "/datadir";
    c.rootdir = "/";
    c.datadir_min_gb = 50;
    c.root_free_min_gb = 50;
    return c;
}

/* A healthy node: 200 GB data dir on its own device, 80 GB free on /. */
static disk_facts_t facts_good(void)
{
    disk_facts_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.datadir, sizeof f.datadir, "/datadir");
    snprintf(f.rootdir, sizeof f.rootdir, "/");
    f.datadir_is_dir = true;
    f.datadir_dev = 0x801;
    f.rootdir_dev = 0x802;
    f.datadir_total_bytes = 200000000000ull;
    f.datadir_avail_bytes = 190000000000ull;
    f.root_total_bytes = 100000000000ull;
    f.root_avail_bytes = 80000000000ull;
    f.writable = 1;
    f.write_method = DISK_WRITE_TEST;
    snprintf(f.install_user, sizeof f.install_user, "quorate");
    return f;
}

static check_result_t eval(const disk_facts_t *f, const agent_conf_t *c)
{
    check_result_t r;
    check_result_init(&r, "disk");
    check_disk_eval(f, c, &r);
    return r;
}

/* The finding whose reason is `reason` has status `status`. */
static void assert_finding(const check_result_t *r, const char *reason, const char *status)
{
    const json_t *list = json_object_get(r->values, "findings");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *fd = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(fd, "reason")), reason) == 0) {
            assert_string_equal(json_string_value(json_object_get(fd, "status")), status);
            return;
        }
    }
    fail_msg("no finding with reason %s", reason);
}

static void test_disk_healthy_node_is_ok_with_inventory_values(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_summary_has(&r, "200.0 GB");
    assert_true(json_is_true(json_object_get(r.values, "datadir_separate")));
    assert_true(json_real_value(json_object_get(r.values, "datadir_gb")) == 200.0);
    assert_true(json_real_value(json_object_get(r.values, "root_free_gb")) == 80.0);
    assert_true(json_is_true(json_object_get(r.values, "writable")));
    assert_string_equal(json_string_value(json_object_get(r.values, "write_method")), "write-test");
    assert_int_equal(json_array_size(json_object_get(r.values, "findings")), 0);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_disk_capacity_49_9_gb_fails(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.datadir_total_bytes = 49900000000ull;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "capacity 49.9 GB < 50 GB");
    assert_reasons(&r, "datadir_small", NULL);
    assert_finding(&r, "datadir_small", "fail");
    check_result_clear(&r);
}

static void test_disk_capacity_exactly_50_gb_is_ok(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.datadir_total_bytes = 50000000000ull; /* GB = 10^9 bytes */
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_disk_capacity_one_byte_short_fails_without_printing_50(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.datadir_total_bytes = 50000000000ull - 1;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "49.9 GB < 50 GB"); /* rounded down, never "50.0 < 50" */
    assert_reasons(&r, "datadir_small", NULL);
    check_result_clear(&r);
}

static void test_disk_50_gib_is_more_than_50_gb(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.datadir_total_bytes = 50ull << 30;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_true(json_real_value(json_object_get(r.values, "datadir_gb")) == 53.687);
    check_result_clear(&r);
}

static void test_disk_same_st_dev_as_root_fails(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.datadir_dev = f.rootdir_dev;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "same filesystem as /");
    assert_reasons(&r, "datadir_not_separate", NULL);
    assert_finding(&r, "datadir_not_separate", "fail");
    assert_true(json_is_false(json_object_get(r.values, "datadir_separate")));
    check_result_clear(&r);
}

static void test_disk_missing_datadir_fails(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.datadir_errno = ENOENT;
    f.datadir_is_dir = false;
    f.datadir_statvfs_errno = ENOENT;
    f.writable = -1;
    f.write_method = DISK_WRITE_NONE;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary, "data dir /datadir does not exist");
    assert_true(json_is_false(json_object_get(r.values, "datadir_exists")));
    assert_true(json_is_null(json_object_get(r.values, "datadir_gb")));
    assert_true(json_is_null(json_object_get(r.values, "datadir_separate")));
    /* the root filesystem is still measured */
    assert_true(json_real_value(json_object_get(r.values, "root_free_gb")) == 80.0);
    assert_reasons(&r, "datadir_missing", NULL);
    check_result_clear(&r);
}

static void test_disk_datadir_that_is_a_file_fails(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.datadir_is_dir = false;
    f.writable = -1;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "is not a directory");
    assert_reasons(&r, "datadir_not_directory", NULL);
    check_result_clear(&r);
}

static void test_disk_root_free_49_9_gb_fails_and_50_is_ok(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.root_avail_bytes = 49900000000ull;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "root free 49.9 GB < 50 GB");
    assert_reasons(&r, "root_free_low", NULL);
    check_result_clear(&r);
    f.root_avail_bytes = 50000000000ull;
    r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_disk_thresholds_come_from_config(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good(); /* 200 GB, 80 GB free */
    c.datadir_min_gb = 250;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "< 250 GB");
    check_result_clear(&r);
    c.datadir_min_gb = 10;
    c.root_free_min_gb = 100;
    r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "root free 80.0 GB < 100 GB");
    check_result_clear(&r);
}

static void test_disk_not_writable_fails_naming_user_and_method(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.writable = 0;
    f.write_method = DISK_WRITE_PERM_BITS;
    snprintf(f.write_detail, sizeof f.write_detail, "owner uid 0 gid 0 mode 755 grants no write");
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "not writable by quorate (permission bits:");
    assert_reasons(&r, "datadir_not_writable", NULL);
    assert_string_equal(json_string_value(json_object_get(r.values, "write_method")),
                        "permission-bits");
    check_result_clear(&r);
}

static void test_disk_writability_not_decidable_is_unknown(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.writable = -1;
    snprintf(f.write_detail, sizeof f.write_detail, "no such user: quorate");
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_summary_has(&r, "no such user");
    assert_true(json_is_null(json_object_get(r.values, "writable")));
    /* nothing failed: the unknown reason names what could not be judged */
    assert_reasons(&r, "datadir_writable_unknown", NULL);
    assert_finding(&r, "datadir_writable_unknown", "unknown");
    check_result_clear(&r);
}

static void test_disk_failure_beats_unknown_and_summary_counts_the_rest(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    disk_facts_t f = facts_good();
    f.writable = -1;                        /* unknown */
    f.datadir_dev = f.rootdir_dev;          /* fail */
    f.datadir_total_bytes = 10000000000ull; /* fail */
    f.root_avail_bytes = 1000000000ull;     /* fail */
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "same filesystem");
    assert_summary_has(&r, "(+3 more)");
    assert_int_equal(json_array_size(json_object_get(r.values, "findings")), 4);
    /* one key per failure, in the order judged; the unknown one is left to
     * its finding while something failed */
    assert_reasons(&r, "datadir_not_separate", "datadir_small", "root_free_low", NULL);
    assert_finding(&r, "datadir_writable_unknown", "unknown");
    check_result_clear(&r);
}

static void test_disk_mode_bits_rule(void **state)
{
    (void)state;
    uint32_t gids[] = {100, 998};
    /* owner class decides for the owner, even when "other" would allow */
    assert_true(check_disk_mode_allows_write(1000, gids, 2, 1000, 0, 0700));
    assert_false(check_disk_mode_allows_write(1000, gids, 2, 1000, 0, 0577));
    /* group member */
    assert_true(check_disk_mode_allows_write(1000, gids, 2, 0, 998, 0770));
    assert_false(check_disk_mode_allows_write(1000, gids, 2, 0, 998, 0750));
    /* neither: other bits; write without search is not enough */
    assert_false(check_disk_mode_allows_write(1000, gids, 2, 0, 0, 0775));
    assert_true(check_disk_mode_allows_write(1000, gids, 2, 0, 0, 0777));
    assert_false(check_disk_mode_allows_write(1000, gids, 2, 0, 0, 0776));
    /* root always */
    assert_true(check_disk_mode_allows_write(0, NULL, 0, 1000, 1000, 0000));
}

/* ---- probe on real directories ---- */

static char *make_tempdir(void)
{
    char *d = strdup("/tmp/qr-disk-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_disk_probe_write_test_as_own_user_leaves_nothing(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    agent_conf_t c = conf_base();
    c.datadir = dir;
    c.rootdir = "/";
    disk_facts_t f;
    assert_int_equal(check_disk_probe(&c, &f), 0);
    assert_int_equal(f.datadir_errno, 0);
    assert_true(f.datadir_is_dir);
    assert_int_equal(f.writable, 1);
    assert_int_equal(f.write_method, DISK_WRITE_TEST);
    assert_true(f.datadir_total_bytes > 0);
    assert_true(f.root_avail_bytes > 0);
    assert_int_equal(count_entries(dir), 0); /* the temp file was removed */
    rmdir(dir);
    free(dir);
}

static void test_disk_probe_missing_dir_fails(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    char path[256];
    snprintf(path, sizeof path, "%s/nope", dir);
    agent_conf_t c = conf_base();
    c.datadir = path;
    disk_facts_t f;
    check_disk_probe(&c, &f);
    assert_int_equal(f.datadir_errno, ENOENT);
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "does not exist");
    check_result_clear(&r);
    rmdir(dir);
    free(dir);
}

static void test_disk_probe_regular_file_is_not_a_directory(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    char path[256];
    snprintf(path, sizeof path, "%s/file", dir);
    put_file(path, "");
    agent_conf_t c = conf_base();
    c.datadir = path;
    disk_facts_t f;
    check_disk_probe(&c, &f);
    assert_false(f.datadir_is_dir);
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "not a directory");
    check_result_clear(&r);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void test_disk_probe_subdir_is_same_filesystem(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    agent_conf_t c = conf_base();
    c.datadir = dir;
    c.rootdir = "/tmp"; /* the temp dir's own filesystem */
    c.datadir_min_gb = 0;
    c.root_free_min_gb = 0;
    disk_facts_t f;
    check_disk_probe(&c, &f);
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "same filesystem as /tmp");
    check_result_clear(&r);
    rmdir(dir);
    free(dir);
}

/* A real second filesystem without root: /dev/shm (tmpfs) against a temp dir
 * on whatever /tmp is. Only stat/statvfs and a 19-byte write test touch it. */
static void test_disk_probe_detects_a_real_separate_filesystem(void **state)
{
    (void)state;
    struct stat a, b;
    if (stat("/dev/shm", &a) != 0 || stat("/tmp", &b) != 0 || a.st_dev == b.st_dev ||
        access("/dev/shm", W_OK) != 0)
        skip(); /* no second filesystem we can use cheaply */
    agent_conf_t c = conf_base();
    c.datadir = "/dev/shm";
    c.rootdir = "/tmp";
    c.datadir_min_gb = 0;
    c.root_free_min_gb = 0;
    disk_facts_t f;
    check_disk_probe(&c, &f);
    check_result_t r = eval(&f, &c);
    assert_true(json_is_true(json_object_get(r.values, "datadir_separate")));
    assert_int_equal(r.status, CHECK_OK);
    check_result_clear(&r);
}

/* A user other than us and not root, for the permission-bits path. */
static const char *other_user(void)
{
    static const char *const names[] = {"nobody", "daemon", "bin"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct passwd *pw = getpwnam(names[i]);
        if (pw && pw->pw_uid != geteuid() && pw->pw_uid != 0)
            return names[i];
    }
    return NULL;
}

static void test_disk_probe_other_user_judged_by_permission_bits(void **state)
{
    (void)state;
    const char *user = other_user();
    if (!user)
        skip();
    char *dir = make_tempdir(); /* mode 0700, ours */
    agent_conf_t c = conf_base();
    c.datadir = dir;
    c.install_user = (char *)user;
    disk_facts_t f;
    check_disk_probe(&c, &f);
    assert_int_equal(f.write_method, DISK_WRITE_PERM_BITS);
    assert_int_equal(f.writable, 0);
    assert_non_null(strstr(f.write_detail, "mode 700"));

    assert_int_equal(chmod(dir, 0777), 0);
    check_disk_probe(&c, &f);
    assert_int_equal(f.write_method, DISK_WRITE_PERM_BITS);
    assert_int_equal(f.writable, 1);
    rmdir(dir);
    free(dir);
}

static void test_disk_probe_other_user_needs_search_on_every_parent(void **state)
{
    (void)state;
    const char *user = other_user();
    if (!user)
        skip();
    char *dir = make_tempdir(); /* 0700: another user cannot pass through it */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/data", dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    agent_conf_t c = conf_base();
    c.datadir = sub;
    c.install_user = (char *)user;
    disk_facts_t f;
    check_disk_probe(&c, &f);
    assert_int_equal(f.writable, 0);
    assert_non_null(strstr(f.write_detail, "no search permission"));
    rmdir(sub);
    rmdir(dir);
    free(dir);
}

static void test_disk_probe_unknown_install_user_is_unknown(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    agent_conf_t c = conf_base();
    c.datadir = dir;
    c.install_user = "qr-no-such-user";
    c.datadir_min_gb = 0;
    c.root_free_min_gb = 0;
    disk_facts_t f;
    check_disk_probe(&c, &f);
    assert_int_equal(f.writable, -1);
    f.rootdir_dev = f.datadir_dev + 1; /* /tmp is on /: pretend it is not, to isolate */
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_summary_has(&r, "no such user: qr-no-such-user");
    check_result_clear(&r);
    rmdir(dir);
    free(dir);
}

static void test_disk_run_fills_the_result(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    agent_conf_t c = conf_base();
    c.datadir = dir;
    c.rootdir = "/tmp";
    check_result_t r;
    check_result_init(&r, "disk");
    check_disk_run(&c, NULL, &r);
    assert_int_equal(r.status, CHECK_FAIL); /* same filesystem as /tmp */
    assert_string_equal(json_string_value(json_object_get(r.values, "datadir")), dir);
    check_result_clear(&r);
    rmdir(dir);
    free(dir);
}

/* run() with its state, as the agent calls it each cycle: "writable" */
static json_t *run_writable(const agent_conf_t *c, void **st)
{
    check_result_t r;
    check_result_init(&r, "disk");
    check_disk_run(c, st, &r);
    json_t *w = json_incref(json_object_get(r.values, "writable"));
    check_result_clear(&r);
    return w;
}

static int set_immutable(const char *dir, bool on)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int flags = 0;
    int rc = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    if (rc == 0) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        rc = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    close(fd);
    return rc;
}

/* A passing write test is kept for 12 cycles; a failing one is repeated
 * every cycle, so a directory that stops taking files (immutable: even root
 * cannot create in it) shows within 12 cycles, and its repair at once. */
static void test_disk_run_keeps_a_passing_write_test_for_12_cycles(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    agent_conf_t c = conf_base();
    c.datadir = dir;
    c.rootdir = "/";
    void *st = NULL;
    json_t *w = run_writable(&c, &st);
    assert_true(json_is_true(w));
    json_decref(w);
    if (geteuid() != 0 || set_immutable(dir, true) != 0) {
        check_disk_state_free(st);
        rmdir(dir);
        free(dir);
        skip(); /* needs root and a filesystem with the immutable flag (ext4) */
    }
    int cycles = 1;
    for (;;) {
        w = run_writable(&c, &st);
        cycles++;
        bool ok = json_is_true(w);
        json_decref(w);
        if (!ok)
            break;
        assert_true(cycles <= 12); /* kept for at most 12 cycles */
    }
    assert_int_equal(cycles, 13); /* and not less: the test ran once in 12 */
    w = run_writable(&c, &st); /* a failure is tested again every cycle */
    assert_true(json_is_false(w));
    json_decref(w);
    assert_int_equal(set_immutable(dir, false), 0);
    w = run_writable(&c, &st);
    assert_true(json_is_true(w));
    json_decref(w);
    check_disk_state_free(st);
    assert_int_equal(count_entries(dir), 0);
    rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_healthy_node_is_ok_with_inventory_values),
        cmocka_unit_test(test_disk_capacity_49_9_gb_fails),
        cmocka_unit_test(test_disk_capacity_exactly_50_gb_is_ok),
        cmocka_unit_test(test_disk_capacity_one_byte_short_fails_without_printing_50),
        cmocka_unit_test(test_disk_50_gib_is_more_than_50_gb),
        cmocka_unit_test(test_disk_same_st_dev_as_root_fails),
        cmocka_unit_test(test_disk_missing_datadir_fails),
        cmocka_unit_test(test_disk_datadir_that_is_a_file_fails),
        cmocka_unit_test(test_disk_root_free_49_9_gb_fails_and_50_is_ok),
        cmocka_unit_test(test_disk_thresholds_come_from_config),
        cmocka_unit_test(test_disk_not_writable_fails_naming_user_and_method),
        cmocka_unit_test(test_disk_writability_not_decidable_is_unknown),
        cmocka_unit_test(test_disk_failure_beats_unknown_and_summary_counts_the_rest),
        cmocka_unit_test(test_disk_mode_bits_rule),
        cmocka_unit_test(test_disk_probe_write_test_as_own_user_leaves_nothing),
        cmocka_unit_test(test_disk_probe_missing_dir_fails),
        cmocka_unit_test(test_disk_probe_regular_file_is_not_a_directory),
        cmocka_unit_test(test_disk_probe_subdir_is_same_filesystem),
        cmocka_unit_test(test_disk_probe_detects_a_real_separate_filesystem),
        cmocka_unit_test(test_disk_probe_other_user_judged_by_permission_bits),
        cmocka_unit_test(test_disk_probe_other_user_needs_search_on_every_parent),
        cmocka_unit_test(test_disk_probe_unknown_install_user_is_unknown),
        cmocka_unit_test(test_disk_run_fills_the_result),
        cmocka_unit_test(test_disk_run_keeps_a_passing_write_test_for_12_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
