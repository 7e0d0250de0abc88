/* Fuzz target: the inventory JSON of `quoratectl plan --inventory` and of the
 * controller's apply (planner_json_parse), then the planner itself on what
 * parsed (default options, then --members/--lose/--remove picked from the
 * inventory), both renderings of the plan, and the inventory's JSON export,
 * which must parse back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/planner_json.h"
#include "controller/planner_text.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        abort();
    return 0;
}

static void plan_and_render(const planner_inventory_t *inv, const planner_opts_t *opts)
{
    planner_plan_t *plan = NULL;
    qr_err_t err = {{0}};
    if (fuzz_note("planner_plan", planner_plan(inv, opts, &plan, &err), err.msg) != 0)
        return;
    json_t *j = planner_json_plan(plan);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    free(s);
    json_decref(j);
    planner_text_write(devnull, inv, plan);
    planner_plan_destroy(&plan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024) /* the planner is O(n^2) in places; 1000s of nodes are a benchmark */
        return 0;
    planner_inventory_t *inv = NULL;
    qr_err_t err = {{0}};
    if (fuzz_note("planner_json_parse", planner_json_parse((const char *)data, size, &inv, &err),
                  err.msg) != 0)
        return 0;

    plan_and_render(inv, NULL);
    if (inv->nnodes > 0) {
        /* --members N --lose DC, then --remove NODE (they do not combine) */
        static const int members[] = {0, 3, 5, 7};
        planner_opts_t o = {.members = members[size % 4], .lose_dc = inv->nodes[0].dc};
        plan_and_render(inv, &o);
        o = (planner_opts_t){.remove_node = inv->nodes[inv->nnodes - 1].hostname};
        plan_and_render(inv, &o);
    }

    /* what `quoratectl inventory --json` exports must be a valid inventory */
    json_t *dump = planner_json_dump_inventory(inv);
    char *text = dump ? json_dumps(dump, JSON_COMPACT) : NULL;
    if (text) {
        planner_inventory_t *again = NULL;
        if (planner_json_parse(text, strlen(text), &again, &err) != 0) {
            fprintf(stderr, "exported inventory does not parse back: %s\n%s\n", err.msg, text);
            abort();
        }
        planner_inventory_destroy(&again);
    }
    free(text);
    json_decref(dump);
    planner_inventory_destroy(&inv);
    return 0;
}
