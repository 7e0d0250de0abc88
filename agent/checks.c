/* The registry of agent checks, in report order. Each check lives in its own
 * agent/check_<kind>.c and exports check_<kind>_run (+ optional state_free). */
#include "check.h"
#include "checks.h"

const check_def_t check_defs[] = {
    /* {"disk", check_disk_run, NULL}, -- one line per check */
    {NULL, NULL, NULL},
};
const size_t check_defs_count = sizeof check_defs / sizeof check_defs[0] - 1;
