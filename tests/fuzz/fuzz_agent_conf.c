/* Fuzz target: the agent's YAML config (agent_conf_load: yconf and the
 * agent's custom fields). The loader takes a path, so each input is written to
 * a scratch file first (tmpfs-fast, and the path is what error messages
 * name). */
#include <stdlib.h>

#include "agent/agent_conf.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) /* configs are small; larger inputs only slow the search */
        return 0;
    const char *path = fuzz_tmpfile(data, size);
    agent_conf_t *c = NULL;
    qr_err_t err = {{0}};
    if (fuzz_note("agent_conf_load", agent_conf_load(path, &c, &err), err.msg) == 0)
        agent_conf_destroy(&c);
    return 0;
}
