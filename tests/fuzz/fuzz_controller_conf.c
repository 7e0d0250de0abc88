/* Fuzz target: the controller's YAML config (controller_conf_load: yconf,
 * peers, probe ports). The loader takes a path, so each input is written to
 * a scratch file first (tmpfs-fast, and the path is what error messages
 * name). */
#include <stdlib.h>

#include "controller/controller_conf.h"
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
    controller_conf_t *c = NULL;
    qr_err_t err = {{0}};
    if (fuzz_note("controller_conf_load", controller_conf_load(path, &c, &err), err.msg) == 0)
        controller_conf_destroy(&c);
    return 0;
}
