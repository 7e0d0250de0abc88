/* The registry of agent checks, in report order. Each check lives in its own
 * agent/check_<kind>.c and exports check_<kind>_run (+ optional state_free). */
#include "check.h"
#include "checks.h"

const check_def_t check_defs[] = {
    {"docker", check_docker_run, check_docker_state_free},
    {"disk", check_disk_run, NULL},
    {"ntp", check_ntp_run, NULL},
    {"ports", check_ports_run, check_ports_state_free},
    {"mongod", check_mongod_run, check_mongod_state_free},
    {"web", check_web_run, check_web_state_free},
    {"envfile", check_envfile_run, NULL},
    {"host", check_host_run, NULL},
    {NULL, NULL, NULL},
};
const size_t check_defs_count = sizeof check_defs / sizeof check_defs[0] - 1;
