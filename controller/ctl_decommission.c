/* quoratectl decommission NODE [--yes]: the leader plans NODE's removal from
 * the live inventory (drain, move its labels, demote, remove once down, the
 * MongoDB reconfig to run by hand); after confirmation it runs the steps
 * through a swarm manager's agent, each fenced by the leader's term. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_client.h"

static void print_steps(const json_t *j)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(j, "steps"), i, st)
    {
        printf("  %zu. %-7s %-40s %s\n", i + 1, json_string_value(json_object_get(st, "step")),
               json_string_value(json_object_get(st, "status")),
               json_string_value(json_object_get(st, "action")));
        const char *detail = json_string_value(json_object_get(st, "detail"));
        if (detail)
            printf("     %s\n", detail);
        json_t *res = json_object_get(st, "result");
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(res, "results"), k, r)
        {
            if (!json_is_true(json_object_get(r, "ok")))
                printf("     %s FAILED: %s\n", json_string_value(json_object_get(r, "node")),
                       json_string_value(json_object_get(r, "error")));
        }
    }
}

/* The request, retried while the leader waits for the agents' reports after
 * a label change (QR_ESTALE): at most ~20 s. */
static int call(const ctl_opts_t *o, char **args, int nargs, json_t **j)
{
    qr_err_t err = {{0}};
    int rc = QR_ESTALE;
    for (int tries = 0; rc == QR_ESTALE && tries < 40; tries++) {
        if (tries)
            nanosleep(&(struct timespec){0, 500 * 1000000L}, NULL);
        rc = ctl_request(o, "decommission", nargs, args, j, &err);
    }
    if (rc == 0)
        return 0;
    fprintf(stderr, "quoratectl decommission: %s\n", err.msg);
    return rc == QR_ETIMEOUT || rc == QR_EIO ? 3 : 1;
}

int ctl_decommission_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    bool yes = false;
    const char *node = NULL;
    json_t *j = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: quoratectl decommission NODE [--yes] [--json]\n"
                   "Plans NODE's removal from the live inventory: drain it, move its labels\n"
                   "to the replacement the planner chooses (its mongo.replica number too),\n"
                   "demote it if it is a manager (refused when that leaves fewer than 3\n"
                   "managers or no manager quorum: promote another first), remove it from\n"
                   "the swarm once it is down, and the MongoDB reconfig to run by hand.\n"
                   "Once confirmed (--yes) the leader runs the steps through a swarm manager's\n"
                   "agent. While NODE is up every step but the removal runs: shut the host\n"
                   "down and run it again (done steps are skipped).\n"
                   "Exit: 0 done (or the plan shown), 1 refused or a step failed, 2 usage,\n"
                   "3 no answer.\n\n%s",
                   ctl_common_help);
            goto out;
        }
        if (!strcmp(argv[i], "--yes"))
            yes = true;
        else if (argv[i][0] != '-' && !node)
            node = argv[i];
        else
            rc = ctl_opts_arg(&o, "quoratectl decommission", argc, argv, &i);
    }
    if (!rc && !node) {
        fprintf(stderr, "quoratectl decommission: which node? usage: quoratectl decommission "
                        "NODE [--yes]\n");
        rc = 2;
    }
    if (rc || (rc = ctl_opts_finish(&o)))
        goto out;
    if (o.timeout_ms < 130000)
        o.timeout_ms = 130000; /* up to four steps of up to 30 s each on the leader */
    char *args[] = {(char *)node, (char *)"yes"};
    if (!yes) {
        if ((rc = call(&o, args, 1, &j)))
            goto out;
        if (o.json && !isatty(STDIN_FILENO)) {
            ctl_print_json(j, 0);
            goto out;
        }
        printf("decommission %s, in this order:\n", node);
        print_steps(j);
        json_decref(j);
        j = NULL;
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "quoratectl decommission: confirm with --yes (no terminal to ask "
                            "on)\n");
            rc = 2;
            goto out;
        }
        fprintf(stderr, "Run these steps? [y/N] ");
        char line[16] = "";
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            fprintf(stderr, "not confirmed; nothing changed\n");
            rc = 1;
            goto out;
        }
    }
    if ((rc = call(&o, args, 2, &j)))
        goto out;
    if (o.json) {
        ctl_print_json(j, 0);
    } else {
        printf("decommission %s:\n", node);
        print_steps(j);
        if (json_object_get(j, "via"))
            printf("through the agent on %s\n", json_string_value(json_object_get(j, "via")));
        if (json_is_true(json_object_get(j, "removed")))
            printf("%s is out of the swarm\n", node);
    }
    rc = json_is_true(json_object_get(j, "ok")) ? 0 : 1;
out:
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}
