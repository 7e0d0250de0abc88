/* host check: uname-level facts, the data dir's disk type from sysfs, and a
 * pure evaluator. */
#include "check_host.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define HOST_MAX_DEPTH 4 /* dm on md on loop on ...: deeper is a loop in sysfs */

/* First line of a small sysfs file, without the newline. Returns 0 or -1. */
static int read_line(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -1;
    char *ok = fgets(buf, (int)size, fp);
    fclose(fp);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* dir + suffix into buf; -1 (and an empty buf) if it does not fit. */
static int path_join(char *buf, size_t size, const char *dir, const char *suffix)
{
    int n = snprintf(buf, size, "%s%s", dir, suffix);
    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

static void append_name(char *list, size_t size, const char *name)
{
    size_t len = strlen(list);
    if (len + 1 >= size)
        return;
    snprintf(list + len, size - len, "%s%s", len ? "," : "", name);
}

/* resolve()'s path buffers, on the heap: 16 KiB a level on the stack made
 * this the deepest check (45 KiB with a loop device), and every worker
 * thread that ever ran it kept those stack pages as private memory. */
typedef struct {
    char path[PATH_MAX], dir[PATH_MAX], line[PATH_MAX], devpath[PATH_MAX];
} resolve_buf_t;

static int resolve_in(resolve_buf_t *b, const char *sys_root, unsigned maj, unsigned min,
                      int depth, char *disk, size_t disk_size, char *detail, size_t detail_size);

static int resolve(const char *sys_root, unsigned maj, unsigned min, int depth, char *disk,
                   size_t disk_size, char *detail, size_t detail_size)
{
    resolve_buf_t *b = malloc(sizeof *b);
    if (!b) {
        snprintf(detail, detail_size, "out of memory");
        return -1;
    }
    int r = resolve_in(b, sys_root, maj, min, depth, disk, disk_size, detail, detail_size);
    free(b);
    return r;
}

static int resolve_in(resolve_buf_t *b, const char *sys_root, unsigned maj, unsigned min,
                      int depth, char *disk, size_t disk_size, char *detail, size_t detail_size)
{
    char *path = b->path, *dir = b->dir, *line = b->line;
    char eb[128];
    if (depth > HOST_MAX_DEPTH) {
        snprintf(detail, detail_size, "block device stack deeper than %d levels", HOST_MAX_DEPTH);
        return -1;
    }
    if (maj == 0) {
        /* anonymous device numbers: tmpfs, overlayfs, btrfs, NFS, ... */
        snprintf(detail, detail_size, "device %u:%u is not a block device", maj, min);
        return -1;
    }
    snprintf(path, PATH_MAX, "%s/dev/block/%u:%u", sys_root, maj, min);
    if (!realpath(path, dir)) {
        snprintf(detail, detail_size, "%s: %s", path, strerror_r(errno, eb, sizeof eb));
        return -1;
    }
    /* a partition's directory sits inside its disk's */
    if (path_join(path, PATH_MAX, dir, "/partition") == 0 && access(path, F_OK) == 0) {
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir)
            *slash = '\0';
    }
    const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

    if (path_join(path, PATH_MAX, dir, "/loop/backing_file") == 0 &&
        read_line(path, line, PATH_MAX) == 0) {
        char *del = strstr(line, " (deleted)");
        if (del)
            *del = '\0';
        struct stat st;
        if (stat(line, &st) != 0) {
            snprintf(detail, detail_size, "%s backing file %.80s: %s", name, line,
                     strerror_r(errno, eb, sizeof eb));
            return -1;
        }
        return resolve(sys_root, major(st.st_dev), minor(st.st_dev), depth + 1, disk, disk_size,
                       detail, detail_size);
    }

    /* device mapper (LVM, LUKS) and md RAID: judge the devices underneath */
    DIR *d = path_join(path, PATH_MAX, dir, "/slaves") == 0 ? opendir(path) : NULL;
    if (d) {
        int result = 0, count = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char *devpath = b->devpath;
            unsigned smaj, smin;
            int r;
            int dn = snprintf(devpath, PATH_MAX, "%s/slaves/%s/dev", dir, de->d_name);
            if (dn < 0 || (size_t)dn >= PATH_MAX ||
                read_line(devpath, line, PATH_MAX) != 0 ||
                sscanf(line, "%u:%u", &smaj, &smin) != 2) {
                snprintf(detail, detail_size, "cannot read %.100s", devpath);
                r = -1;
            } else {
                r = resolve(sys_root, smaj, smin, depth + 1, disk, disk_size, detail, detail_size);
            }
            count++;
            if (r == 1)
                result = 1; /* one spinning disk makes the whole stack slow */
            else if (r < 0 && result != 1)
                result = -1;
        }
        closedir(d);
        if (count > 0)
            return result;
    }

    if (path_join(path, PATH_MAX, dir, "/queue/rotational") != 0 ||
        read_line(path, line, PATH_MAX) != 0 || (strcmp(line, "0") && strcmp(line, "1"))) {
        snprintf(detail, detail_size, "cannot read %s/queue/rotational", name);
        return -1;
    }
    append_name(disk, disk_size, name);
    return line[0] == '1' ? 1 : 0;
}

int check_host_rotational(const char *sys_root, unsigned maj, unsigned min, char *disk,
                          size_t disk_size, char *detail, size_t detail_size)
{
    disk[0] = '\0';
    detail[0] = '\0';
    int r =
        resolve(sys_root ? sys_root : "/sys", maj, min, 0, disk, disk_size, detail, detail_size);
    if (r >= 0)
        detail[0] = '\0'; /* a slave's failure that a HDD sibling overruled */
    return r;
}

int check_host_probe_at(const agent_conf_t *conf, const char *sys_root, host_facts_t *out)
{
    memset(out, 0, sizeof *out);
    if (gethostname(out->hostname, sizeof out->hostname - 1) != 0)
        out->hostname_errno = errno;
    out->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        out->mem_errno = errno;
    else
        out->mem_bytes = (uint64_t)si.totalram * (uint64_t)si.mem_unit;

    snprintf(out->datadir, sizeof out->datadir, "%s", conf->datadir ? conf->datadir : "/datadir");
    out->rotational = -1;
    struct stat st;
    if (stat(out->datadir, &st) != 0) {
        char eb[128];
        out->datadir_errno = errno;
        snprintf(out->ssd_detail, sizeof out->ssd_detail, "data dir %.100s: %s", out->datadir,
                 strerror_r(errno, eb, sizeof eb));
        return 0;
    }
    out->dev_major = major(st.st_dev);
    out->dev_minor = minor(st.st_dev);
    out->rotational =
        check_host_rotational(sys_root, out->dev_major, out->dev_minor, out->disk, sizeof out->disk,
                              out->ssd_detail, sizeof out->ssd_detail);
    return 0;
}

int check_host_probe(const agent_conf_t *conf, host_facts_t *out)
{
    return check_host_probe_at(conf, "/sys", out);
}

/* ---- evaluator (pure) ---- */

/* values.reasons: the stable reason of a warn or unknown status, for the
 * controller's alert keys (CHECK/NODE/REASON, docs/checks.md); empty when ok. */
static void set_reason(check_result_t *out, const char *reason)
{
    json_t *arr = json_array();
    if (reason)
        json_array_append_new(arr, json_string(reason));
    json_object_set_new(out->values, "reasons", arr);
}

void check_host_eval(const host_facts_t *f, const agent_conf_t *conf, check_result_t *out)
{
    char eb[128];
    json_t *v = out->values;
    const char *node = conf->node && conf->node[0] ? conf->node : f->hostname;
    const char *dc = conf->dc && conf->dc[0] ? conf->dc : "default";
    double mem_gb = round((double)f->mem_bytes / HOST_MEM_GB * 10.0) / 10.0;

    json_object_set_new(v, "hostname", f->hostname_errno ? json_null() : json_string(f->hostname));
    json_object_set_new(v, "node", json_string(node));
    json_object_set_new(v, "dc", json_string(dc));
    json_object_set_new(v, "cpus", f->cpus > 0 ? json_integer(f->cpus) : json_null());
    json_object_set_new(v, "mem_bytes",
                        f->mem_errno ? json_null() : json_integer((json_int_t)f->mem_bytes));
    json_object_set_new(v, "mem_gb", f->mem_errno ? json_null() : json_real(mem_gb));
    json_object_set_new(v, "datadir", json_string(f->datadir));
    if (!f->datadir_errno) {
        char devnum[32];
        snprintf(devnum, sizeof devnum, "%u:%u", f->dev_major, f->dev_minor);
        json_object_set_new(v, "datadir_device", json_string(devnum));
    }
    json_object_set_new(v, "datadir_disk", f->disk[0] ? json_string(f->disk) : json_null());
    json_object_set_new(v, "ssd",
                        f->rotational < 0 ? json_null() : json_boolean(f->rotational == 0));
    json_object_set_new(v, "rotational",
                        f->rotational < 0 ? json_null() : json_integer(f->rotational));
    if (f->ssd_detail[0])
        json_object_set_new(v, "ssd_detail", json_string(f->ssd_detail));

    if (f->hostname_errno) {
        check_result_set(out, CHECK_UNKNOWN, "gethostname: %s",
                         strerror_r(f->hostname_errno, eb, sizeof eb));
        set_reason(out, "hostname_unreadable");
        return;
    }
    if (f->cpus <= 0) {
        check_result_set(out, CHECK_UNKNOWN, "cannot count CPUs");
        set_reason(out, "cpus_unreadable");
        return;
    }
    if (f->mem_errno) {
        check_result_set(out, CHECK_UNKNOWN, "sysinfo: %s",
                         strerror_r(f->mem_errno, eb, sizeof eb));
        set_reason(out, "memory_unreadable");
        return;
    }
    if (f->rotational == 1) {
        check_result_set(out, CHECK_WARN,
                         "data dir %s is on a rotational disk (%s): MongoDB wants an SSD",
                         f->datadir, f->disk);
        set_reason(out, "hdd");
        return;
    }
    set_reason(out, NULL);
    char ssd[200];
    if (f->rotational == 0)
        snprintf(ssd, sizeof ssd, "data dir on SSD (%s)", f->disk);
    else
        snprintf(ssd, sizeof ssd, "SSD unknown: %s", f->ssd_detail);
    check_result_set(out, CHECK_OK, "%s (node %s, dc %s): %ld CPUs, %.1f GiB RAM, %s", f->hostname,
                     node, dc, f->cpus, mem_gb, ssd);
}

/* What run() keeps between cycles: the last full probe, and its age. */
typedef struct {
    host_facts_t last;
    unsigned age; /* cycles since the full probe; 0: none yet */
} host_state_t;

/* The cheap part of a probe (host name, memory, the data dir's stat); the
 * rest is taken from last. False when last does not hold for this data dir
 * any more (another device, or stat fails): then a full probe is due. */
static bool probe_quick(const agent_conf_t *conf, const host_facts_t *last, host_facts_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->datadir, sizeof out->datadir, "%s", conf->datadir ? conf->datadir : "/datadir");
    struct stat st;
    if (last->datadir_errno || strcmp(out->datadir, last->datadir) != 0 ||
        stat(out->datadir, &st) != 0 || major(st.st_dev) != last->dev_major ||
        minor(st.st_dev) != last->dev_minor)
        return false;
    if (gethostname(out->hostname, sizeof out->hostname - 1) != 0)
        out->hostname_errno = errno;
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        out->mem_errno = errno;
    else
        out->mem_bytes = (uint64_t)si.totalram * (uint64_t)si.mem_unit;
    out->cpus = last->cpus;
    out->dev_major = last->dev_major;
    out->dev_minor = last->dev_minor;
    out->rotational = last->rotational;
    memcpy(out->disk, last->disk, sizeof out->disk);
    memcpy(out->ssd_detail, last->ssd_detail, sizeof out->ssd_detail);
    return true;
}

void check_host_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    host_state_t *st = state ? *state : NULL;
    if (state && !st)
        *state = st = calloc(1, sizeof *st); /* NULL: a full probe every cycle */
    host_facts_t facts;
    if (st && st->age > 0 && st->age < CHECK_HOST_REPROBE_CYCLES &&
        probe_quick(conf, &st->last, &facts)) {
        st->age++;
    } else {
        check_host_probe(conf, &facts);
        if (st) {
            st->last = facts;
            st->age = 1;
        }
    }
    check_host_eval(&facts, conf, out);
}

void check_host_state_free(void *state)
{
    free(state);
}
