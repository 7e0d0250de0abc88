/* quoratectl takeover --force --yes: make the controller we talk to lead
 * alone after the majority of controllers is gone for good. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_client.h"

static const char explain[] =
    "takeover makes the controller you talk to the leader on its own, with a new\n"
    "term, when the majority of controllers is gone for good (the two-data-centre\n"
    "disaster). Any controller still in the majority keeps its own view; if the\n"
    "\"lost\" controllers are merely partitioned, two sides may act. The controller\n"
    "refuses while it still hears from a majority. The record (who, when, why) is\n"
    "kept in the replicated state and the controller's log.\n"
    "When the lost controllers come back they see the higher term and follow;\n"
    "check `quoratectl status` on each, then fix the controller list if a site\n"
    "is gone for good (docs/election.md, \"Membership\").\n";

int ctl_takeover_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    bool force = false, yes = false;
    const char *reason = "";
    json_t *j = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: quoratectl takeover --force [--yes] [--reason TEXT]\n\n%s\n%s",
                   explain, ctl_common_help);
            goto out;
        }
        if (!strcmp(argv[i], "--force"))
            force = true;
        else if (!strcmp(argv[i], "--yes"))
            yes = true;
        else if (!strcmp(argv[i], "--reason") && i + 1 < argc)
            reason = argv[++i];
        else
            rc = ctl_opts_arg(&o, "quoratectl takeover", argc, argv, &i);
    }
    if (rc)
        goto out;
    if (!force) {
        fprintf(stderr, "%s\nNothing done: add --force to take over.\n", explain);
        rc = 1;
        goto out;
    }
    if ((rc = ctl_opts_finish(&o)))
        goto out;
    if (!yes) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "quoratectl takeover: confirm with --yes (no terminal to ask on)\n");
            rc = 2;
            goto out;
        }
        fprintf(stderr, "%s\nTake over at %s? Type 'takeover' to confirm: ", explain,
                o.controller);
        char line[64] = "";
        if (!fgets(line, sizeof line, stdin) || strncmp(line, "takeover", 8) != 0) {
            fprintf(stderr, "not confirmed; nothing done\n");
            rc = 1;
            goto out;
        }
    }
    char reasonarg[512];
    snprintf(reasonarg, sizeof reasonarg, "reason=%s", reason);
    char *args[] = {(char *)"force", reasonarg};
    if ((rc = ctl_call(&o, "quoratectl takeover", "takeover", 2, args, &j)))
        goto out;
    if (o.json) {
        ctl_print_json(j, 0);
    } else {
        printf("%s now leads alone: term %lld -> %lld.\n",
               json_string_value(json_object_get(j, "controller")) ?: "?",
               (long long)json_integer_value(json_object_get(j, "old_term")),
               (long long)json_integer_value(json_object_get(j, "new_term")));
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(j, "peers"), i, p) {
            long long ago = (long long)json_integer_value(json_object_get(p, "last_heard_ago_ms"));
            if (ago < 0)
                printf("  %s: never heard from\n", json_string_value(json_object_get(p, "name")));
            else
                printf("  %s: last heard %.1f s ago\n",
                       json_string_value(json_object_get(p, "name")), ago / 1000.0);
        }
        printf("When the lost controllers return they see the higher term and follow.\n"
               "Check `quoratectl status` on each; if a site is gone for good, change the\n"
               "controller list (docs/election.md, Membership) with a rolling restart.\n");
    }
out:
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}
