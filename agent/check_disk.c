/* disk check: probe (stat, statvfs, a write test or the permission bits) and
 * a pure evaluator. The evaluator is what decides MongoDB eligibility on the
 * controller (datadir_separate, datadir_gb, root_free_gb), so its value names
 * match the inventory's. */
#include "check_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define DISK_MAX_GROUPS 256

static const char *errstr(int e, char *buf, size_t n)
{
    return strerror_r(e, buf, n); /* GNU variant: thread-safe, returns the text */
}

/* The permission class (owner, group, other) that applies to this user. */
static unsigned mode_bits_for(uint32_t uid, const uint32_t *gids, int ngids, uint32_t owner,
                              uint32_t group, uint32_t mode)
{
    if (uid == owner)
        return (mode >> 6) & 7u;
    for (int i = 0; i < ngids; i++)
        if (gids[i] == group)
            return (mode >> 3) & 7u;
    return mode & 7u;
}

bool check_disk_mode_allows_write(uint32_t uid, const uint32_t *gids, int ngids, uint32_t owner,
                                  uint32_t group, uint32_t mode)
{
    if (uid == 0)
        return true; /* CAP_DAC_OVERRIDE */
    /* creating a file needs write and search on the directory */
    return (mode_bits_for(uid, gids, ngids, owner, group, mode) & 3u) == 3u;
}

/* Create, write, fsync and remove a file: what mongod will do, as this user. */
static void write_test(const char *dir, disk_facts_t *out)
{
    char path[PATH_MAX], eb[128];
    out->write_method = DISK_WRITE_TEST;
    if (snprintf(path, sizeof path, "%s/.quorate-write-test.XXXXXX", dir) >= (int)sizeof path) {
        out->writable = -1;
        snprintf(out->write_detail, sizeof out->write_detail, "path too long");
        return;
    }
    int fd = mkstemp(path);
    if (fd < 0) {
        out->writable = 0;
        snprintf(out->write_detail, sizeof out->write_detail, "create: %s",
                 errstr(errno, eb, sizeof eb));
        return;
    }
    static const char data[] = "quorate write test\n";
    const char *step = NULL;
    int e = 0;
    if (write(fd, data, sizeof data - 1) != (ssize_t)(sizeof data - 1)) {
        step = "write";
        e = errno ? errno : ENOSPC;
    } else if (fsync(fd) != 0) {
        step = "fsync";
        e = errno;
    }
    close(fd);
    if (unlink(path) != 0 && !step) {
        step = "unlink";
        e = errno;
    }
    if (step) {
        out->writable = 0;
        snprintf(out->write_detail, sizeof out->write_detail, "%s: %s", step,
                 errstr(e, eb, sizeof eb));
    } else {
        out->writable = 1;
    }
}

/* Another user: judge by owner/group/mode of the data dir and search
 * permission on every ancestor. ACLs are not evaluated; when the dir has an
 * access ACL, the bits alone cannot decide and we say so. */
static void perm_bits_test(const char *dir, const struct passwd *pw, disk_facts_t *out)
{
    char real[PATH_MAX], eb[128];
    out->write_method = DISK_WRITE_PERM_BITS;

    gid_t groups[DISK_MAX_GROUPS];
    int ngroups = DISK_MAX_GROUPS;
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
        ngroups = DISK_MAX_GROUPS; /* truncated list: the first 256 groups count */
    uint32_t gids[DISK_MAX_GROUPS];
    for (int i = 0; i < ngroups; i++)
        gids[i] = (uint32_t)groups[i];

    if (!realpath(dir, real)) {
        out->writable = -1;
        snprintf(out->write_detail, sizeof out->write_detail, "realpath: %s",
                 errstr(errno, eb, sizeof eb));
        return;
    }
    /* every ancestor needs search (x) permission */
    size_t len = strlen(real);
    for (size_t i = 0; i <= len; i++) {
        if (real[i] != '/' && real[i] != '\0')
            continue;
        char save = real[i];
        bool last = save == '\0';
        real[i] = '\0';
        const char *p = i == 0 ? "/" : real;
        struct stat st;
        if (stat(p[0] ? p : "/", &st) != 0) {
            out->writable = -1;
            snprintf(out->write_detail, sizeof out->write_detail, "stat %.100s: %s", p,
                     errstr(errno, eb, sizeof eb));
            return;
        }
        unsigned bits = mode_bits_for((uint32_t)pw->pw_uid, gids, ngroups, (uint32_t)st.st_uid,
                                      (uint32_t)st.st_gid, (uint32_t)st.st_mode);
        if (pw->pw_uid != 0 && !last && !(bits & 1u)) {
            out->writable = 0;
            snprintf(out->write_detail, sizeof out->write_detail,
                     "no search permission on %.100s (mode %03o)", p, (unsigned)st.st_mode & 0777u);
            return;
        }
        if (last) {
            bool ok = check_disk_mode_allows_write((uint32_t)pw->pw_uid, gids, ngroups,
                                                   (uint32_t)st.st_uid, (uint32_t)st.st_gid,
                                                   (uint32_t)st.st_mode);
            if (pw->pw_uid != 0 && getxattr(real, "system.posix_acl_access", NULL, 0) > 0) {
                out->writable = -1;
                snprintf(out->write_detail, sizeof out->write_detail,
                         "has a POSIX ACL: permission bits alone cannot decide "
                         "(run the agent as that user for a write test)");
                return;
            }
            if (out->datadir_readonly) {
                out->writable = 0;
                snprintf(out->write_detail, sizeof out->write_detail, "read-only filesystem");
                return;
            }
            out->writable = ok ? 1 : 0;
            if (!ok)
                snprintf(out->write_detail, sizeof out->write_detail,
                         "owner uid %u gid %u mode %03o grants no write+search",
                         (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)st.st_mode & 0777u);
            return;
        }
        real[i] = save;
    }
}

/* getpw*_r's string buffer, on the heap (see check_disk_run) */
#define DISK_PW_BUF 4096

static void probe_writable(const agent_conf_t *conf, disk_facts_t *out)
{
    char eb[128];
    struct passwd pwbuf, *pw = NULL;
    if (!conf->install_user || !conf->install_user[0]) {
        /* our own user: the write test needs no passwd entry */
        write_test(out->datadir, out);
        return;
    }
    char *buf = malloc(DISK_PW_BUF);
    int e = buf ? getpwnam_r(conf->install_user, &pwbuf, buf, DISK_PW_BUF, &pw) : ENOMEM;
    if (!pw) {
        out->writable = -1;
        if (e)
            snprintf(out->write_detail, sizeof out->write_detail, "getpwnam %s: %s",
                     conf->install_user, errstr(e, eb, sizeof eb));
        else
            snprintf(out->write_detail, sizeof out->write_detail, "no such user: %s",
                     conf->install_user);
        free(buf);
        return;
    }
    /* Only the user itself can really try; for anyone else (the agent runs
     * as quorate or root, the install user is someone else) the bits decide. */
    if (pw->pw_uid == geteuid())
        write_test(out->datadir, out);
    else
        perm_bits_test(out->datadir, pw, out);
    free(buf);
}

/* What run() keeps between cycles: the agent's own user name, which it
 * reports when no install_user is set (a passwd lookup per cycle otherwise:
 * /etc/passwd and nsswitch.conf opened and read each time). */
typedef struct {
    uid_t uid;
    char name[sizeof((disk_facts_t *)0)->install_user];
    /* the last write test: a passing one is repeated every
     * DISK_WRITE_TEST_EVERY cycles while nothing else changes */
    int write_age; /* cycles since it ran; 0: none kept */
    uint64_t write_dev;
    disk_write_method_t write_method;
} disk_state_t;

/* A write test (create, write, fsync, unlink) every cycle was about 8% of
 * the agent's CPU (tests/bench/agent_footprint). A passing result is kept
 * for this many cycles (a minute at the default 5 s): a read-only remount,
 * the usual end of a failing disk (errors=remount-ro), still shows at once
 * from statvfs, a failing result is tested again every cycle, and a data dir
 * on another device is tested at once. */
#define DISK_WRITE_TEST_EVERY 12

static int probe(const agent_conf_t *conf, disk_state_t *cache, disk_facts_t *out);

int check_disk_probe(const agent_conf_t *conf, disk_facts_t *out)
{
    return probe(conf, NULL, out);
}

static int probe(const agent_conf_t *conf, disk_state_t *cache, disk_facts_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->datadir, sizeof out->datadir, "%s", conf->datadir ? conf->datadir : "/datadir");
    snprintf(out->rootdir, sizeof out->rootdir, "%s", conf->rootdir ? conf->rootdir : "/");
    out->writable = -1;
    if (conf->install_user && conf->install_user[0]) {
        snprintf(out->install_user, sizeof out->install_user, "%s", conf->install_user);
    } else if (cache && cache->name[0] && cache->uid == geteuid()) {
        memcpy(out->install_user, cache->name, sizeof out->install_user);
    } else {
        char *buf = malloc(DISK_PW_BUF);
        struct passwd pwbuf, *pw = NULL;
        if (buf)
            getpwuid_r(geteuid(), &pwbuf, buf, DISK_PW_BUF, &pw);
        if (pw)
            snprintf(out->install_user, sizeof out->install_user, "%s", pw->pw_name);
        else
            snprintf(out->install_user, sizeof out->install_user, "uid %u", (unsigned)geteuid());
        free(buf);
        if (cache && pw) {
            cache->uid = geteuid();
            memcpy(cache->name, out->install_user, sizeof cache->name);
        }
    }

    struct stat st;
    struct statvfs vfs;
    if (stat(out->datadir, &st) != 0) {
        out->datadir_errno = errno;
        out->datadir_statvfs_errno = errno;
    } else {
        out->datadir_is_dir = S_ISDIR(st.st_mode);
        out->datadir_dev = (uint64_t)st.st_dev;
        if (statvfs(out->datadir, &vfs) != 0) {
            out->datadir_statvfs_errno = errno;
        } else {
            out->datadir_total_bytes = (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize;
            out->datadir_avail_bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
            out->datadir_readonly = (vfs.f_flag & ST_RDONLY) != 0;
        }
    }
    if (stat(out->rootdir, &st) != 0) {
        out->rootdir_errno = errno;
        out->rootdir_statvfs_errno = errno;
    } else {
        out->rootdir_dev = (uint64_t)st.st_dev;
        if (statvfs(out->rootdir, &vfs) != 0) {
            out->rootdir_statvfs_errno = errno;
        } else {
            out->root_total_bytes = (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize;
            out->root_avail_bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
        }
    }
    if (out->datadir_errno == 0 && out->datadir_is_dir) {
        if (cache && cache->write_age > 0 && cache->write_age < DISK_WRITE_TEST_EVERY &&
            cache->write_dev == out->datadir_dev && !out->datadir_readonly) {
            out->writable = 1; /* kept: it passed write_age cycles ago */
            out->write_method = cache->write_method;
            cache->write_age++;
        } else {
            probe_writable(conf, out);
            if (cache) {
                cache->write_age = out->writable == 1 ? 1 : 0;
                cache->write_dev = out->datadir_dev;
                cache->write_method = out->write_method;
            }
        }
    }
    return 0;
}

/* ---- evaluator (pure) ---- */

static double gb3(uint64_t bytes)
{
    return round((double)bytes / DISK_GB * 1000.0) / 1000.0;
}

/* One decimal, rounded down: 49.99 GB must not print as "50.0 GB < 50 GB". */
static double gb_floor1(uint64_t bytes)
{
    return floor((double)bytes / DISK_GB * 10.0) / 10.0;
}

/* Every finding names a stable reason (lower_snake_case, documented in
 * docs/checks.md): the controller's alert keys are CHECK/NODE/REASON, so a
 * reason must not carry paths or sizes that differ between cycles. */
static void finding(check_result_t *out, json_t *list, check_status_t st, const char *reason,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void finding(check_result_t *out, json_t *list, check_status_t st, const char *reason,
                    const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "status", check_status_str(st),
                                          "reason", reason, "message", msg));
    check_result_worsen(out, st, "%s", msg);
}

/* values.reasons: the reasons of the fail findings, then the warn ones (one
 * alert per distinct problem); only when there is neither, the unknown ones,
 * so an unknown check still gets a key that says what could not be measured. */
static json_t *reasons_of(const json_t *findings)
{
    static const check_status_t order[] = {CHECK_FAIL, CHECK_WARN, CHECK_UNKNOWN};
    json_t *reasons = json_array();
    for (size_t k = 0; k < 3; k++) {
        if (order[k] == CHECK_UNKNOWN && json_array_size(reasons) > 0)
            break;
        for (size_t i = 0; i < json_array_size(findings); i++) {
            const json_t *fd = json_array_get(findings, i);
            if (check_status_parse(json_string_value(json_object_get(fd, "status"))) ==
                (int)order[k])
                check_reasons_add(reasons, json_string_value(json_object_get(fd, "reason")));
        }
    }
    return reasons;
}

void check_disk_eval(const disk_facts_t *f, const agent_conf_t *conf, check_result_t *out)
{
    char eb[128];
    json_t *v = out->values;
    json_t *findings = json_array();
    bool dd_ok = f->datadir_errno == 0 && f->datadir_is_dir;
    bool dd_sizes = dd_ok && f->datadir_statvfs_errno == 0;
    bool root_ok = f->rootdir_errno == 0;
    bool root_sizes = root_ok && f->rootdir_statvfs_errno == 0;
    double min_gb = conf->datadir_min_gb, root_min_gb = conf->root_free_min_gb;

    json_object_set_new(v, "datadir", json_string(f->datadir));
    json_object_set_new(v, "rootdir", json_string(f->rootdir));
    json_object_set_new(v, "datadir_exists", json_boolean(f->datadir_errno == 0));
    json_object_set_new(v, "datadir_is_dir", json_boolean(dd_ok));
    json_object_set_new(v, "datadir_separate",
                        dd_ok && root_ok ? json_boolean(f->datadir_dev != f->rootdir_dev)
                                         : json_null());
    json_object_set_new(v, "datadir_bytes",
                        dd_sizes ? json_integer((json_int_t)f->datadir_total_bytes) : json_null());
    json_object_set_new(v, "datadir_gb",
                        dd_sizes ? json_real(gb3(f->datadir_total_bytes)) : json_null());
    json_object_set_new(v, "datadir_free_gb",
                        dd_sizes ? json_real(gb3(f->datadir_avail_bytes)) : json_null());
    json_object_set_new(v, "datadir_readonly",
                        dd_sizes ? json_boolean(f->datadir_readonly) : json_null());
    json_object_set_new(v, "root_free_bytes",
                        root_sizes ? json_integer((json_int_t)f->root_avail_bytes) : json_null());
    json_object_set_new(v, "root_free_gb",
                        root_sizes ? json_real(gb3(f->root_avail_bytes)) : json_null());
    json_object_set_new(v, "root_gb",
                        root_sizes ? json_real(gb3(f->root_total_bytes)) : json_null());
    json_object_set_new(v, "datadir_min_gb", json_real(min_gb));
    json_object_set_new(v, "root_free_min_gb", json_real(root_min_gb));
    json_object_set_new(v, "install_user", json_string(f->install_user));
    json_object_set_new(v, "writable", f->writable < 0 ? json_null() : json_boolean(f->writable));
    json_object_set_new(v, "write_method",
                        f->write_method == DISK_WRITE_TEST        ? json_string("write-test")
                        : f->write_method == DISK_WRITE_PERM_BITS ? json_string("permission-bits")
                                                                  : json_null());
    if (f->write_detail[0])
        json_object_set_new(v, "write_detail", json_string(f->write_detail));

    /* Order matters for equal severities: the first failure names the summary. */
    if (f->datadir_errno == ENOENT)
        finding(out, findings, CHECK_FAIL, "datadir_missing", "data dir %s does not exist",
                f->datadir);
    else if (f->datadir_errno)
        finding(out, findings, CHECK_FAIL, "datadir_stat_failed", "data dir %s: %s", f->datadir,
                errstr(f->datadir_errno, eb, sizeof eb));
    else if (!f->datadir_is_dir)
        finding(out, findings, CHECK_FAIL, "datadir_not_directory",
                "data dir %s is not a directory", f->datadir);

    if (!root_ok)
        finding(out, findings, CHECK_UNKNOWN, "rootdir_stat_failed", "root dir %s: %s", f->rootdir,
                errstr(f->rootdir_errno, eb, sizeof eb));
    else if (dd_ok && f->datadir_dev == f->rootdir_dev)
        finding(out, findings, CHECK_FAIL, "datadir_not_separate",
                "data dir %s is on the same filesystem as %s (needs its own)", f->datadir,
                f->rootdir);

    if (dd_ok && !dd_sizes)
        finding(out, findings, CHECK_UNKNOWN, "datadir_statvfs_failed", "statvfs %s: %s",
                f->datadir, errstr(f->datadir_statvfs_errno, eb, sizeof eb));
    else if (dd_sizes && (double)f->datadir_total_bytes < min_gb * DISK_GB)
        finding(out, findings, CHECK_FAIL, "datadir_small", "data dir capacity %.1f GB < %g GB",
                gb_floor1(f->datadir_total_bytes), min_gb);

    if (dd_ok) {
        const char *how =
            f->write_method == DISK_WRITE_PERM_BITS ? "permission bits" : "write test";
        if (f->writable == 0)
            finding(out, findings, CHECK_FAIL, "datadir_not_writable",
                    "data dir not writable by %s (%s: %s)", f->install_user, how, f->write_detail);
        else if (f->writable < 0)
            finding(out, findings, CHECK_UNKNOWN, "datadir_writable_unknown",
                    "cannot tell if %s can write the data dir: %s",
                    f->install_user[0] ? f->install_user : "install user", f->write_detail);
    }

    if (root_ok && !root_sizes)
        finding(out, findings, CHECK_UNKNOWN, "rootdir_statvfs_failed", "statvfs %s: %s",
                f->rootdir, errstr(f->rootdir_statvfs_errno, eb, sizeof eb));
    else if (root_sizes && (double)f->root_avail_bytes < root_min_gb * DISK_GB)
        finding(out, findings, CHECK_FAIL, "root_free_low", "root free %.1f GB < %g GB",
                gb_floor1(f->root_avail_bytes), root_min_gb);

    size_t n = json_array_size(findings);
    if (n == 0) {
        check_result_set(out, CHECK_OK,
                         "data dir %s: %.1f GB on its own filesystem, writable by %s "
                         "(%s); root free %.1f GB",
                         f->datadir, gb_floor1(f->datadir_total_bytes), f->install_user,
                         f->write_method == DISK_WRITE_PERM_BITS ? "permission bits" : "write test",
                         gb_floor1(f->root_avail_bytes));
    } else if (n > 1) {
        size_t len = strlen(out->summary);
        snprintf(out->summary + len, sizeof out->summary - len, " (+%zu more)", n - 1);
    }
    json_object_set_new(v, "reasons", reasons_of(findings));
    json_object_set_new(v, "findings", findings);
}

void check_disk_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    disk_state_t *st = state ? *state : NULL;
    if (state && !st)
        *state = st = calloc(1, sizeof *st); /* NULL: look the user up each time */
    /* on the heap: two PATH_MAX paths on a worker's stack would stay that
     * thread's private memory */
    disk_facts_t *facts = malloc(sizeof *facts);
    if (!facts) {
        check_result_set(out, CHECK_UNKNOWN, "out of memory");
        check_result_reason(out, "out_of_memory");
        return;
    }
    probe(conf, st, facts);
    check_disk_eval(facts, conf, out);
    free(facts);
}

void check_disk_state_free(void *state)
{
    free(state);
}
