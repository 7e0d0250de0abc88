/* host check: what the planner needs to know about the machine: hostname,
 * CPUs, memory, whether the data dir sits on an SSD, and the configured node
 * name and data centre. See docs/checks.md "host". */
#ifndef QR_CHECK_HOST_H
#define QR_CHECK_HOST_H

#include <limits.h>
#include <stdint.h>

#include "agent_conf.h"
#include "check.h"

#define HOST_MEM_GB 1073741824.0 /* memory is counted in GiB (2^30), as RAM is sold */

typedef struct {
    char hostname[256];
    int hostname_errno;
    long cpus; /* online CPUs; <= 0: unknown */
    uint64_t mem_bytes;
    int mem_errno; /* sysinfo() failed */

    char datadir[PATH_MAX];
    int datadir_errno;             /* stat() of the data dir failed */
    unsigned dev_major, dev_minor; /* st_dev of the data dir */
    int rotational;                /* 1 HDD, 0 SSD, -1 unknown */
    char disk[64];                 /* the whole disk(s) behind it: "sda", "nvme0n1,nvme1n1" */
    char ssd_detail[160];          /* why unknown, or how it was resolved */
} host_facts_t;

/* Gathers the facts; the SSD question is answered from <sys_root>
 * (NULL: "/sys"). Returns 0; failures are recorded in the facts. */
int check_host_probe_at(const agent_conf_t *conf, const char *sys_root, host_facts_t *out);
/* check_host_probe_at(conf, "/sys", out). */
int check_host_probe(const agent_conf_t *conf, host_facts_t *out);

/* Is block device maj:min rotational? Follows /sys/dev/block/MAJ:MIN to its
 * device, a partition to its disk, a device-mapper or md device to its
 * slaves (all must be SSD for SSD; any HDD makes it HDD), a loop device to
 * the device of its backing file. Returns 1 HDD, 0 SSD, -1 unknown (detail
 * says why); the disk names found go into disk. */
int check_host_rotational(const char *sys_root, unsigned maj, unsigned min, char *disk,
                          size_t disk_size, char *detail, size_t detail_size);

/* Pure: unknown when hostname, CPUs or memory cannot be read; warn when the
 * data dir is on a rotational disk (MongoDB wants SSD); ok otherwise, also
 * when SSD cannot be determined (then "ssd" is null). */
void check_host_eval(const host_facts_t *facts, const agent_conf_t *conf, check_result_t *out);

/* probe + eval; out initialised with check_result_init(out, "host"). */
/* The check; *state keeps the last full probe. The walk through /sys to
 * the data dir's disk(s) and the online CPU count (a dozen path lookups)
 * are done again every CHECK_HOST_REPROBE_CYCLES cycles, and at once when
 * the data dir moves to another device or cannot be stat'ed; host name,
 * memory and the data dir's stat are read every cycle. */
#define CHECK_HOST_REPROBE_CYCLES 12
void check_host_run(const agent_conf_t *conf, void **state, check_result_t *out);
void check_host_state_free(void *state);

#endif
