/* quoratectl apply [--dry-run] [--yes]: the leader plans from the live
 * inventory; after confirmation the label changes go through a swarm
 * manager's agent (fenced by the leader's term). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_client.h"

static void print_changes(json_t *changes)
{
    const char *node;
    json_t *ch;
    if (json_object_size(changes) == 0) {
        printf("no label changes: the cluster matches the plan\n");
        return;
    }
    printf("label changes:\n");
    json_object_foreach(changes, node, ch) {
        size_t i;
        json_t *k;
        const char *key;
        json_t *v;
        json_array_foreach(json_object_get(ch, "remove"), i, k)
            printf("  %-16s - %s\n", node, json_string_value(k));
        json_object_foreach(json_object_get(ch, "add"), key, v)
            printf("  %-16s + %s=%s\n", node, key, json_string_value(v));
    }
}

int ctl_apply_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    bool dry = false, yes = false;
    json_t *j = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: quoratectl apply [--dry-run] [--yes] [--json]\n"
                   "Plans labels from the live inventory (as `quoratectl plan` does offline),\n"
                   "shows the changes and, once confirmed (--yes), applies them through the\n"
                   "agent of a swarm manager (read, merge, post with the node's version, retry\n"
                   "on conflicts, verify). Refused with the next step when the swarm has no\n"
                   "manager quorum, no manager's agent is up, or the inventory is stale.\n"
                   "Exit: 0 applied (or nothing to do / dry run), 1 refused or partly failed,\n"
                   "2 usage, 3 no answer.\n\n%s",
                   ctl_common_help);
            goto out;
        }
        if (!strcmp(argv[i], "--dry-run"))
            dry = true;
        else if (!strcmp(argv[i], "--yes"))
            yes = true;
        else
            rc = ctl_opts_arg(&o, "quoratectl apply", argc, argv, &i);
    }
    if (rc || (rc = ctl_opts_finish(&o)))
        goto out;
    if (o.timeout_ms < 40000)
        o.timeout_ms = 40000; /* the leader answers once the manager's agent did it */
    char *dryarg[] = {(char *)"dry-run"};
    if (!yes || dry) {
        if ((rc = ctl_call(&o, "quoratectl apply", "apply", 1, dryarg, &j)))
            goto out;
        if (o.json && (dry || !isatty(STDIN_FILENO)))
            ctl_print_json(j, 0);
        else
            print_changes(json_object_get(j, "changes"));
        size_t nchanges = json_object_size(json_object_get(j, "changes"));
        json_decref(j);
        j = NULL;
        if (dry || nchanges == 0)
            goto out;
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "quoratectl apply: confirm with --yes (no terminal to ask on)\n");
            rc = 2;
            goto out;
        }
        fprintf(stderr, "Apply these changes? [y/N] ");
        char line[16] = "";
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            fprintf(stderr, "not confirmed; nothing changed\n");
            rc = 1;
            goto out;
        }
    }
    if ((rc = ctl_call(&o, "quoratectl apply", "apply", 0, NULL, &j)))
        goto out;
    if (o.json) {
        ctl_print_json(j, 0);
    } else {
        print_changes(json_object_get(j, "changes"));
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(json_object_get(j, "result"), "results"), i, r) {
            if (json_is_true(json_object_get(r, "ok")))
                printf("  %-16s applied (%lld attempt(s))\n",
                       json_string_value(json_object_get(r, "node")),
                       (long long)json_integer_value(json_object_get(r, "attempts")));
            else
                printf("  %-16s FAILED: %s\n", json_string_value(json_object_get(r, "node")),
                       json_string_value(json_object_get(r, "error")));
        }
        if (json_object_get(j, "via"))
            printf("through the agent on %s\n", json_string_value(json_object_get(j, "via")));
    }
    rc = json_object_size(json_object_get(j, "changes")) == 0 ||
                 json_is_true(json_object_get(j, "applied"))
             ? 0
             : 1;
out:
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}
