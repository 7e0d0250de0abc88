/* disk check: the MongoDB data directory (exists, its own filesystem, big
 * enough, writable by the install user) and free space on the root
 * filesystem. Sizes are decimal: 1 GB = 10^9 bytes, as disk vendors and
 * `df -H` count. See docs/checks.md "disk". */
#ifndef QR_CHECK_DISK_H
#define QR_CHECK_DISK_H

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>

#include "agent_conf.h"
#include "check.h"

#define DISK_GB 1e9 /* bytes per GB: decimal on purpose (see above) */

/* How the writability of the data dir was established. */
typedef enum {
    DISK_WRITE_NONE = 0,  /* not tested (data dir missing, user unknown, ...) */
    DISK_WRITE_TEST,      /* create+write+fsync+unlink of a temp file as that user */
    DISK_WRITE_PERM_BITS, /* owner/group/mode bits for the user's uid and groups */
} disk_write_method_t;

typedef struct {
    char datadir[PATH_MAX];
    char rootdir[PATH_MAX];

    /* stat() of the data dir: datadir_errno 0 = it exists */
    int datadir_errno;
    bool datadir_is_dir;
    uint64_t datadir_dev; /* st_dev */
    /* statvfs() of the data dir: statvfs_errno 0 = the sizes are valid */
    int datadir_statvfs_errno;
    uint64_t datadir_total_bytes; /* f_blocks * f_frsize */
    uint64_t datadir_avail_bytes; /* f_bavail * f_frsize */
    bool datadir_readonly;        /* mounted read-only (ST_RDONLY) */

    int rootdir_errno;
    uint64_t rootdir_dev;
    int rootdir_statvfs_errno;
    uint64_t root_total_bytes;
    uint64_t root_avail_bytes;

    /* writability for install_user: 1 yes, 0 no, -1 could not tell */
    int writable;
    disk_write_method_t write_method;
    char install_user[64];
    char write_detail[160]; /* why not / why unknown; "" when writable */
} disk_facts_t;

/* Gathers the facts for conf->datadir, conf->rootdir and conf->install_user
 * (NULL: the agent's own user). Blocking (stat, statvfs, fsync). Returns 0;
 * every failure is recorded in the facts for the evaluator to judge. */
int check_disk_probe(const agent_conf_t *conf, disk_facts_t *out);

/* Pure: judges facts against conf->datadir_min_gb and conf->root_free_min_gb.
 * Missing / not a directory / same filesystem as root / too small / not
 * writable / root too full are failures; anything not measurable is unknown. */
void check_disk_eval(const disk_facts_t *facts, const agent_conf_t *conf, check_result_t *out);

/* probe + eval; out was initialised with check_result_init(out, "disk"). */
/* The check; *state keeps the agent's own user name (looked up once). */
void check_disk_run(const agent_conf_t *conf, void **state, check_result_t *out);
void check_disk_state_free(void *state);

/* The permission-bits rule, exported for tests: may a user with uid and the
 * given groups create files in a directory with owner/group/mode? Returns
 * true when the user is root or the matching class has write+search bits. */
bool check_disk_mode_allows_write(uint32_t uid, const uint32_t *gids, int ngids, uint32_t owner,
                                  uint32_t group, uint32_t mode);

#endif
