/* Fuzz target: the Extended JSON of `quoratectl recover --plan-only`
 * (--status: replSetGetStatus replies; --config: the replica set config),
 * relaxed or canonical, then the forced-reconfiguration decision on what
 * parsed and its JSON report. Input: status text, FUZZ_SEP, config text. */
#include <stdlib.h>
#include <string.h>

#include "controller/recover.h"
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

static void dump_and_free(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    free(s);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    fuzz_part_t p[2];
    size_t n = fuzz_split(data, size, p, 2);
    bson_t **replies = NULL, *config = NULL;
    size_t nreplies = 0;
    qr_err_t err = {{0}};
    int rs = recover_parse_status(p[0].data, p[0].len, &replies, &nreplies, &err);
    int rc = n > 1 ? recover_parse_config(p[1].data, p[1].len, &config, &err) : QR_EPARSE;
    fuzz_note("recover_parse_status/config", rs ? rs : rc, err.msg);
    if (rs == 0 && rc == 0) {
        recover_plan_t *plan = NULL;
        if (fuzz_note("recover_plan_new",
                      recover_plan_new((const bson_t *const *)replies, nreplies, config, &plan, &err),
                      err.msg) == 0) {
            dump_and_free(recover_plan_to_json(plan));
            const bson_t *nc = recover_plan_new_config(plan);
            if (nc)
                dump_and_free(recover_bson_to_ejson(nc));
            const char *dc = NULL;
            recover_plan_removed_dc(plan, &dc, &err);
            const char *const *reasons;
            recover_plan_refusals(plan, &reasons);
            recover_plan_destroy(&plan);
        }
    }
    /* the status documents as the report echoes them */
    for (size_t i = 0; i < nreplies; i++)
        dump_and_free(recover_bson_to_ejson(replies[i]));
    if (config)
        dump_and_free(recover_bson_to_ejson(config));
    recover_replies_free(replies, nreplies);
    if (config)
        bson_destroy(config);
    fuzz_parts_free(p, n);
    return 0;
}
