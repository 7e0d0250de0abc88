/* host check: the evaluator (HDD warns, unreadable facts are unknown, node
 * and dc from the config), the SSD resolution on sysfs trees built per test
 * (partition, whole disk, device mapper over SSD+HDD, loop device over a real
 * file, missing entries, anonymous devices), and the probe on this machine. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check_host.h"
#include "check_testlib.h"

static agent_conf_t conf_base(void)
{
    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.datadir = "/datadir";
    c.node = "ai1";
    c.dc = "east";
    return c;
}

static host_facts_t facts_ssd(void)
{
    host_facts_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.hostname, sizeof f.hostname, "ai1.example.net");
    f.cpus = 16;
    f.mem_bytes = 64ull << 30;
    snprintf(f.datadir, sizeof f.datadir, "/datadir");
    f.dev_major = 259;
    f.dev_minor = 1;
    f.rotational = 0;
    snprintf(f.disk, sizeof f.disk, "nvme0n1");
    return f;
}

static check_result_t eval(const host_facts_t *f, const agent_conf_t *c)
{
    check_result_t r;
    check_result_init(&r, "host");
    check_host_eval(f, c, &r);
    return r;
}

static void test_host_ssd_node_is_ok_with_inventory_values(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    host_facts_t f = facts_ssd();
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_summary_has(&r, "16 CPUs, 64.0 GiB RAM, data dir on SSD (nvme0n1)");
    assert_string_equal(json_string_value(json_object_get(r.values, "hostname")),
                        "ai1.example.net");
    assert_string_equal(json_string_value(json_object_get(r.values, "node")), "ai1");
    assert_string_equal(json_string_value(json_object_get(r.values, "dc")), "east");
    assert_int_equal(json_integer_value(json_object_get(r.values, "cpus")), 16);
    assert_true(json_real_value(json_object_get(r.values, "mem_gb")) == 64.0);
    assert_true(json_is_true(json_object_get(r.values, "ssd")));
    assert_string_equal(json_string_value(json_object_get(r.values, "datadir_device")), "259:1");
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_host_hdd_datadir_warns(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    host_facts_t f = facts_ssd();
    f.rotational = 1;
    snprintf(f.disk, sizeof f.disk, "sdb");
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary,
                        "data dir /datadir is on a rotational disk (sdb): MongoDB wants an SSD");
    assert_true(json_is_false(json_object_get(r.values, "ssd")));
    /* the disk's name is not part of the key */
    assert_reasons(&r, "hdd", NULL);
    check_result_clear(&r);
}

static void test_host_unknown_disk_type_is_ok_with_null_ssd(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    host_facts_t f = facts_ssd();
    f.rotational = -1;
    f.disk[0] = '\0';
    snprintf(f.ssd_detail, sizeof f.ssd_detail, "device 0:45 is not a block device");
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_summary_has(&r, "SSD unknown: device 0:45 is not a block device");
    assert_true(json_is_null(json_object_get(r.values, "ssd")));
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_host_unreadable_facts_are_unknown(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    host_facts_t f = facts_ssd();
    f.cpus = -1;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_true(json_is_null(json_object_get(r.values, "cpus")));
    assert_reasons(&r, "cpus_unreadable", NULL);
    check_result_clear(&r);
    f = facts_ssd();
    f.mem_errno = EFAULT;
    r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_summary_has(&r, "sysinfo");
    assert_reasons(&r, "memory_unreadable", NULL);
    check_result_clear(&r);
    f = facts_ssd();
    f.hostname_errno = ENAMETOOLONG;
    r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_summary_has(&r, "gethostname");
    assert_reasons(&r, "hostname_unreadable", NULL);
    check_result_clear(&r);
}

static void test_host_node_defaults_to_hostname_and_dc_to_default(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    c.node = NULL;
    c.dc = NULL;
    host_facts_t f = facts_ssd();
    check_result_t r = eval(&f, &c);
    assert_string_equal(json_string_value(json_object_get(r.values, "node")), "ai1.example.net");
    assert_string_equal(json_string_value(json_object_get(r.values, "dc")), "default");
    check_result_clear(&r);
}

/* ---- a fake /sys ---- */

typedef struct {
    char root[64];
} fakesys_t;

static void mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    mkdir(tmp, 0755);
}

static void put(fakesys_t *s, const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s->root, rel);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdirs(dir);
    put_file(path, text);
}

static void link_to(fakesys_t *s, const char *rel, const char *target)
{
    char path[PATH_MAX], dir[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s->root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdirs(dir);
    assert_int_equal(symlink(target, path), 0);
}

/* A machine with an SSD sda (partition sda1), an HDD sdb, dm-0 on sda1 only,
 * dm-1 mirrored over sda1 and sdb, and a loop device. */
static int fakesys_setup(void **state)
{
    fakesys_t *s = calloc(1, sizeof *s);
    snprintf(s->root, sizeof s->root, "/tmp/qr-sys-XXXXXX");
    assert_non_null(mkdtemp(s->root));
    put(s, "devices/pci0/block/sda/queue/rotational", "0\n");
    put(s, "devices/pci0/block/sda/dev", "8:0\n");
    put(s, "devices/pci0/block/sda/sda1/partition", "1\n");
    put(s, "devices/pci0/block/sda/sda1/dev", "8:1\n");
    put(s, "devices/pci0/block/sdb/queue/rotational", "1\n");
    put(s, "devices/pci0/block/sdb/dev", "8:16\n");
    put(s, "devices/virtual/block/dm-0/queue/rotational", "1\n"); /* slaves decide */
    link_to(s, "devices/virtual/block/dm-0/slaves/sda1", "../../../../pci0/block/sda/sda1");
    put(s, "devices/virtual/block/dm-1/queue/rotational", "0\n");
    link_to(s, "devices/virtual/block/dm-1/slaves/sda1", "../../../../pci0/block/sda/sda1");
    link_to(s, "devices/virtual/block/dm-1/slaves/sdb", "../../../../pci0/block/sdb");
    put(s, "devices/virtual/block/dm-2/queue/rotational", "0\n");
    link_to(s, "devices/virtual/block/dm-2/slaves/sdz", "../../../../pci0/block/sdz");
    link_to(s, "dev/block/8:0", "../../devices/pci0/block/sda");
    link_to(s, "dev/block/8:1", "../../devices/pci0/block/sda/sda1");
    link_to(s, "dev/block/8:16", "../../devices/pci0/block/sdb");
    link_to(s, "dev/block/253:0", "../../devices/virtual/block/dm-0");
    link_to(s, "dev/block/253:1", "../../devices/virtual/block/dm-1");
    link_to(s, "dev/block/253:2", "../../devices/virtual/block/dm-2");
    put(s, "devices/virtual/block/sdx/queue/rotational", "maybe\n");
    link_to(s, "dev/block/8:32", "../../devices/virtual/block/sdx");
    *state = s;
    return 0;
}

static int fakesys_teardown(void **state)
{
    fakesys_t *s = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->root);
    int rc = system(cmd);
    free(s);
    return rc == 0 ? 0 : -1;
}

static int rot(fakesys_t *s, unsigned maj, unsigned min, char *disk, char *detail)
{
    return check_host_rotational(s->root, maj, min, disk, 64, detail, 160);
}

static void test_host_partition_resolves_to_its_disk(void **state)
{
    fakesys_t *s = *state;
    char disk[64], detail[160];
    assert_int_equal(rot(s, 8, 1, disk, detail), 0);
    assert_string_equal(disk, "sda");
    assert_int_equal(rot(s, 8, 16, disk, detail), 1);
    assert_string_equal(disk, "sdb");
}

static void test_host_device_mapper_judged_by_its_slaves(void **state)
{
    fakesys_t *s = *state;
    char disk[64], detail[160];
    /* dm-0's own flag says rotational; its only slave is an SSD */
    assert_int_equal(rot(s, 253, 0, disk, detail), 0);
    assert_string_equal(disk, "sda");
    /* one spinning disk under a mirror makes it HDD */
    assert_int_equal(rot(s, 253, 1, disk, detail), 1);
    assert_non_null(strstr(disk, "sda"));
    assert_non_null(strstr(disk, "sdb"));
    /* a slave that cannot be read: unknown, and why */
    assert_int_equal(rot(s, 253, 2, disk, detail), -1);
    assert_non_null(strstr(detail, "sdz"));
}

static void test_host_unresolvable_devices_are_unknown_with_reason(void **state)
{
    fakesys_t *s = *state;
    char disk[64], detail[160];
    assert_int_equal(rot(s, 0, 45, disk, detail), -1);
    assert_string_equal(detail, "device 0:45 is not a block device");
    assert_int_equal(rot(s, 9, 9, disk, detail), -1);
    assert_non_null(strstr(detail, "dev/block/9:9"));
    assert_int_equal(rot(s, 8, 32, disk, detail), -1); /* garbage in queue/rotational */
    assert_non_null(strstr(detail, "sdx/queue/rotational"));
}

/* A loop device is judged by the disk holding its backing file: a real file
 * here, whose real st_dev the fake /sys maps to an SSD. The probe follows
 * the same path from a data dir on that filesystem. */
static void test_host_loop_device_follows_its_backing_file(void **state)
{
    fakesys_t *s = *state;
    char dir[] = "/tmp/qr-host-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    char rel[64];
    snprintf(rel, sizeof rel, "dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
    if (major(st.st_dev) == 0) {
        rmdir(dir);
        skip(); /* /tmp is tmpfs/overlay here: no block device to map */
    }
    link_to(s, rel, "../../devices/pci0/block/nvme0n1");
    put(s, "devices/pci0/block/nvme0n1/queue/rotational", "0\n");
    char backing[128];
    snprintf(backing, sizeof backing, "%s\n", dir);
    put(s, "devices/virtual/block/loop0/loop/backing_file", backing);
    put(s, "devices/virtual/block/loop0/queue/rotational", "1\n");
    link_to(s, "dev/block/7:0", "../../devices/virtual/block/loop0");
    char disk[64], detail[160];
    assert_int_equal(rot(s, 7, 0, disk, detail), 0);
    assert_string_equal(disk, "nvme0n1");

    agent_conf_t c = conf_base();
    c.datadir = dir;
    host_facts_t f;
    assert_int_equal(check_host_probe_at(&c, s->root, &f), 0);
    assert_int_equal(f.rotational, 0);
    assert_string_equal(f.disk, "nvme0n1");
    rmdir(dir);
}

static void test_host_probe_on_this_machine(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    c.datadir = "/";
    host_facts_t f;
    assert_int_equal(check_host_probe(&c, &f), 0);
    char name[256] = "";
    gethostname(name, sizeof name - 1);
    assert_string_equal(f.hostname, name);
    assert_int_equal(f.cpus, sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(f.mem_bytes > (64ull << 20));
    assert_true(f.rotational >= -1 && f.rotational <= 1);
    if (f.rotational < 0)
        assert_true(f.ssd_detail[0] != '\0');
    check_result_t r = eval(&f, &c);
    assert_true(r.status == CHECK_OK || r.status == CHECK_WARN);
    check_result_clear(&r);

    c.datadir = "/nonexistent/qr";
    assert_int_equal(check_host_probe(&c, &f), 0);
    assert_int_equal(f.rotational, -1);
    r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK); /* host facts are fine; the disk check owns this */
    assert_summary_has(&r, "SSD unknown");
    check_result_clear(&r);
}

/* run() keeps the /sys walk between cycles: its results equal a fresh
 * probe's every cycle, and a data dir that moves to another device or
 * disappears is reported at once, not after CHECK_HOST_REPROBE_CYCLES. */
static void test_host_run_reuses_the_disk_walk_but_sees_a_moved_datadir_at_once(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    void *st = NULL;
    const char *dirs[] = {"/", "/", "/", "/dev/shm", "/dev/shm", "/nonexistent/qr", "/"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        c.datadir = (char *)dirs[i];
        check_result_t run, fresh;
        check_result_init(&run, "host");
        check_host_run(&c, &st, &run);
        assert_non_null(st);
        host_facts_t f;
        check_host_probe(&c, &f);
        fresh = eval(&f, &c);
        assert_int_equal(run.status, fresh.status);
        assert_string_equal(run.summary, fresh.summary);
        assert_true(json_equal(run.values, fresh.values));
        check_result_clear(&run);
        check_result_clear(&fresh);
    }
    for (int i = 0; i < CHECK_HOST_REPROBE_CYCLES + 2; i++) {
        check_result_t run;
        check_result_init(&run, "host");
        check_host_run(&c, &st, &run);
        assert_true(run.status == CHECK_OK || run.status == CHECK_WARN);
        check_result_clear(&run);
    }
    check_host_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_ssd_node_is_ok_with_inventory_values),
        cmocka_unit_test(test_host_hdd_datadir_warns),
        cmocka_unit_test(test_host_unknown_disk_type_is_ok_with_null_ssd),
        cmocka_unit_test(test_host_unreadable_facts_are_unknown),
        cmocka_unit_test(test_host_node_defaults_to_hostname_and_dc_to_default),
        cmocka_unit_test_setup_teardown(test_host_partition_resolves_to_its_disk, fakesys_setup,
                                        fakesys_teardown),
        cmocka_unit_test_setup_teardown(test_host_device_mapper_judged_by_its_slaves, fakesys_setup,
                                        fakesys_teardown),
        cmocka_unit_test_setup_teardown(test_host_unresolvable_devices_are_unknown_with_reason,
                                        fakesys_setup, fakesys_teardown),
        cmocka_unit_test_setup_teardown(test_host_loop_device_follows_its_backing_file,
                                        fakesys_setup, fakesys_teardown),
        cmocka_unit_test(test_host_probe_on_this_machine),
        cmocka_unit_test(test_host_run_reuses_the_disk_walk_but_sees_a_moved_datadir_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
