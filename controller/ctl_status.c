/* quoratectl status / checks / inventory: the controller's live view. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"

/* Exit codes of the live commands: 0 answered and healthy, 1 answered with
 * problems (a node down or a check failing), 2 bad usage, 3 no answer. */
enum { EXIT_HEALTHY = 0, EXIT_PROBLEMS = 1, EXIT_USAGE = 2, EXIT_NOANSWER = 3 };

static int parse_common(ctl_opts_t *o, int argc, char **argv, const char *usage, int *npos,
                        char **pos, int maxpos)
{
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s\n%s", usage, ctl_common_help);
            return -1;
        }
        int r = ctl_opts_parse(o, argc, argv, &i);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || *npos >= maxpos) {
            fprintf(stderr, "quoratectl: unexpected argument '%s'\n%s\n", argv[i], usage);
            return EXIT_USAGE;
        }
        pos[(*npos)++] = argv[i];
    }
    return ctl_opts_finish(o);
}

static const char *check_of(json_t *node, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(node, "checks"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", name) == 0)
            return json_string_value(json_object_get(c, "status"));
    }
    return "-";
}

static const char *check_order[] = {"docker", "disk",    "ntp",  "ports",
                                    "mongod", "web", "envfile", "host"};
#define N_ORDER (sizeof check_order / sizeof check_order[0])

static void print_status(json_t *j)
{
    json_t *ctl = json_object_get(j, "controller"), *counts = json_object_get(j, "counts");
    printf("controller %s (dc %s) %s, term %lld; nodes: %lld, up %lld, down %lld\n",
           json_string_value(json_object_get(ctl, "id")) ?: "?",
           json_string_value(json_object_get(ctl, "dc")) ?: "?",
           json_string_value(json_object_get(ctl, "role")) ?: "?",
           (long long)json_integer_value(json_object_get(ctl, "term")),
           (long long)json_integer_value(json_object_get(counts, "nodes")),
           (long long)json_integer_value(json_object_get(counts, "up")),
           (long long)json_integer_value(json_object_get(counts, "down")));
    json_t *el = json_object_get(j, "election");
    if (el) {
        printf("election: %s, term %lld, leader %s%s; controllers:",
               json_string_value(json_object_get(el, "role")) ?: "?",
               (long long)json_integer_value(json_object_get(el, "term")),
               json_string_value(json_object_get(el, "leader")) ?: "unknown",
               json_is_true(json_object_get(el, "override")) ? " (takeover: leads alone)" : "");
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(el, "controllers"), k, c) {
            json_t *ago = json_object_get(c, "last_heard_ago_ms");
            if (json_is_true(json_object_get(c, "self")))
                printf(" %s (this one)", json_string_value(json_object_get(c, "name")));
            else if (json_is_true(json_object_get(c, "config_mismatch")))
                printf(" %s (CONFIG DIFFERS: another controller list)",
                       json_string_value(json_object_get(c, "name")));
            else if (json_is_integer(ago))
                printf(" %s (%.1fs ago)", json_string_value(json_object_get(c, "name")),
                       (double)json_integer_value(ago) / 1000.0);
            else
                printf(" %s (never heard)", json_string_value(json_object_get(c, "name")));
        }
        printf("\n");
    }
    printf("%-16s %-10s %-6s %-8s %-18s", "NODE", "DC", "STATE", "SEEN", "CLOCK");
    for (size_t k = 0; k < N_ORDER; k++)
        printf(" %-7s", check_order[k]);
    printf("\n");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(j, "nodes"), i, n) {
        bool up = json_is_true(json_object_get(n, "up"));
        char seen[32], clock[32] = "-";
        double ago = (double)json_integer_value(json_object_get(n, "last_seen_ago_ms")) / 1000.0;
        snprintf(seen, sizeof seen, "%.1fs", ago);
        json_t *c = json_object_get(n, "clock");
        if (c)
            snprintf(clock, sizeof clock, "%+.1fms %s",
                     json_real_value(json_object_get(c, "skew_ms")),
                     json_string_value(json_object_get(c, "status")) ?: "");
        printf("%-16s %-10s %-6s %-8s %-18s", json_string_value(json_object_get(n, "name")),
               json_string_value(json_object_get(n, "dc")), up ? "up" : "DOWN", seen, clock);
        for (size_t k = 0; k < N_ORDER; k++)
            printf(" %-7s", up ? check_of(n, check_order[k]) : "-");
        if (json_is_true(json_object_get(n, "unlabeled")))
            printf(" (unlabeled)");
        printf("\n");
    }
    json_t *drift = json_object_get(j, "drift");
    json_array_foreach(drift, i, n) {
        char *e = json_dumps(json_object_get(n, "expected"), JSON_COMPACT);
        char *a = json_dumps(json_object_get(n, "actual"), JSON_COMPACT);
        printf("drift: %s %s (applied %s, now %s); `quoratectl apply` repairs it\n",
               json_string_value(json_object_get(n, "node")),
               json_is_true(json_object_get(n, "missing")) ? "left the swarm holding mongo.replica"
                                                           : "labels changed by hand",
               e ? e : "?", a ? a : "-");
        free(e);
        free(a);
    }
    json_t *rec = json_object_get(j, "recovery");
    const char *rstate = json_string_value(json_object_get(rec, "state"));
    if (rstate && strcmp(rstate, "ok") != 0 && strcmp(rstate, "none") != 0) {
        printf("mongodb: %s\n", json_string_value(json_object_get(rec, "summary")));
        if (json_is_string(json_object_get(rec, "confirm_command")))
            printf("  evidence and plan: `quoratectl recover`; to execute: `%s`\n",
                   json_string_value(json_object_get(rec, "confirm_command")));
    }
    json_t *sec = json_object_get(ctl, "security");
    long long rej = (long long)json_integer_value(json_object_get(sec, "auth_rejected"));
    long long bad = (long long)json_integer_value(json_object_get(sec, "bad_frames"));
    if (rej || bad)
        printf("security: %lld rejected handshakes, %lld dropped messages (see the controller "
               "log)\n",
               rej, bad);
}

static int status_exit(json_t *j)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(j, "nodes"), i, n) {
        const char *w = json_string_value(json_object_get(n, "worst"));
        if (!json_is_true(json_object_get(n, "up")) || (w && strcmp(w, "fail") == 0))
            return EXIT_PROBLEMS;
    }
    return EXIT_HEALTHY;
}

int ctl_status_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    char *pos[1];
    int npos, rc = parse_common(&o, argc, argv,
                                "usage: quoratectl status [--json]\n"
                                "The controller's view: every node, its liveness, clock and "
                                "checks.\nExit: 0 healthy, 1 a node down or a check failing, 2 "
                                "usage, 3 no answer.",
                                &npos, pos, 0);
    if (rc) {
        ctl_opts_free(&o);
        return rc < 0 ? 0 : rc;
    }
    json_t *j = NULL;
    if ((rc = ctl_call(&o, "quoratectl", "status", 0, NULL, &j)) == 0) {
        if (o.json)
            ctl_print_json(j, JSON_REAL_PRECISION(10));
        else
            print_status(j);
        rc = status_exit(j);
    }
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}

int ctl_checks_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    char *pos[1];
    int npos, rc = parse_common(&o, argc, argv,
                                "usage: quoratectl checks NODE [--json]\n"
                                "Every check of one node with its summary and measured values.",
                                &npos, pos, 1);
    if (rc == 0 && npos != 1) {
        fprintf(stderr, "quoratectl checks: name the node (see 'quoratectl status')\n");
        rc = EXIT_USAGE;
    }
    if (rc) {
        ctl_opts_free(&o);
        return rc < 0 ? 0 : rc;
    }
    json_t *j = NULL;
    if ((rc = ctl_call(&o, "quoratectl", "checks", 1, pos, &j)) == 0) {
        if (o.json) {
            ctl_print_json(j, JSON_REAL_PRECISION(10));
        } else {
            printf("node %s (dc %s) %s\n", json_string_value(json_object_get(j, "name")),
                   json_string_value(json_object_get(j, "dc")),
                   json_is_true(json_object_get(j, "up")) ? "up" : "DOWN");
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(j, "checks"), i, c) {
                char *vals = json_dumps(json_object_get(c, "values"), JSON_COMPACT | JSON_REAL_PRECISION(10));
                printf("  %-8s %-7s %s\n           %s\n",
                       json_string_value(json_object_get(c, "name")),
                       json_string_value(json_object_get(c, "status")),
                       json_string_value(json_object_get(c, "summary")), vals ? vals : "{}");
                free(vals);
            }
        }
        const char *w = json_string_value(json_object_get(j, "worst"));
        rc = !json_is_true(json_object_get(j, "up")) || (w && strcmp(w, "fail") == 0)
                 ? EXIT_PROBLEMS
                 : EXIT_HEALTHY;
    }
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}

int ctl_inventory_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    char *pos[1];
    int npos, rc = parse_common(&o, argc, argv,
                                "usage: quoratectl inventory --json\n"
                                "The live inventory in the planner's format (feed it to "
                                "'quoratectl plan --inventory FILE').",
                                &npos, pos, 0);
    if (rc) {
        ctl_opts_free(&o);
        return rc < 0 ? 0 : rc;
    }
    json_t *j = NULL;
    if ((rc = ctl_call(&o, "quoratectl", "inventory", 0, NULL, &j)) == 0)
        ctl_print_json(j, JSON_REAL_PRECISION(10));
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}
