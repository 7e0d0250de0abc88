/* The registry of agent checks, in report order. Each check lives in its own
 * agent/check_<kind>.c and exports check_<kind>_run (+ optional state_free).
 * The last field is never_blocks (check.h): true only for a probe that cannot
 * wait on a mount or a peer, which then runs on the event loop. */
#include "check.h"
#include "checks.h"

const check_def_t check_defs[] = {
    {"docker", check_docker_run, check_docker_state_free, false},
    {"disk", check_disk_run, check_disk_state_free, false},
    {"ntp", check_ntp_run, NULL, true},
    {"ports", check_ports_run, check_ports_state_free, true},
    {"mongod", check_mongod_run, check_mongod_state_free, false},
    {"web", check_web_run, check_web_state_free, false},
    {"envfile", check_envfile_run, NULL, false},
    {"host", check_host_run, check_host_state_free, false},
    {NULL, NULL, NULL, false},
};
const size_t check_defs_count = sizeof check_defs / sizeof check_defs[0] - 1;
