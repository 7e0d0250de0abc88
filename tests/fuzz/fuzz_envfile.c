/* Fuzz target: the env-file parser (check_envfile_parse: the bytes of
 * tango.env as `docker --env-file` reads them, NULs and CRLF included) and
 * its evaluator (check_envfile_eval). The probe reads at most
 * ENVFILE_MAX_SIZE bytes, so larger inputs are cut there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/check_envfile.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static agent_conf_t *conf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    conf = agent_conf_defaults();
    if (!conf)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    envfile_facts_t f;
    memset(&f, 0, sizeof f);
    if (size > ENVFILE_MAX_SIZE)
        size = ENVFILE_MAX_SIZE;
    snprintf(f.path, sizeof f.path, "/opt/tango/tango.env");
    f.size = size;
    if (check_envfile_parse((const char *)data, size, &f) != 0)
        abort(); /* only QR_ENOMEM, which ASan's allocator does not return */
    check_result_t r;
    check_result_init(&r, "envfile");
    check_envfile_eval(&f, conf, &r);
    fuzz_check_result(&r);
    check_envfile_facts_clear(&f);
    return 0;
}
