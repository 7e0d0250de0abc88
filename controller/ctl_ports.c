/* quoratectl ports: the reachability matrix between the hosts. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"

static void print_matrix(json_t *m)
{
    json_t *results = json_object_get(m, "results");
    /* the hosts, in order of appearance */
    json_t *hosts = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) {
        json_t *names[2] = {json_object_get(r, "from"), json_object_get(r, "to")};
        for (int k = 0; k < 2; k++) {
            bool seen = false;
            size_t h;
            json_t *v;
            json_array_foreach(hosts, h, v) seen |= json_equal(v, names[k]);
            if (!seen)
                json_array_append(hosts, names[k]);
        }
    }
    /* sorted by name, for a stable table */
    for (size_t x = 1; x < json_array_size(hosts); x++)
        for (size_t y = x; y > 0 && strcmp(json_string_value(json_array_get(hosts, y - 1)),
                                           json_string_value(json_array_get(hosts, y))) > 0;
             y--) {
            json_t *t = json_incref(json_array_get(hosts, y));
            json_array_set(hosts, y, json_array_get(hosts, y - 1));
            json_array_set_new(hosts, y - 1, t);
        }
    printf("reachability round %lld, %.1fs ago%s\n",
           (long long)json_integer_value(json_object_get(m, "round")),
           (double)json_integer_value(json_object_get(m, "age_ms")) / 1000.0,
           json_is_true(json_object_get(m, "complete")) ? "" : " (incomplete)");
    printf("%-14s", "FROM \\ TO");
    size_t a, b;
    json_t *ha, *hb;
    json_array_foreach(hosts, b, hb) printf(" %-14s", json_string_value(hb));
    printf("\n");
    json_array_foreach(hosts, a, ha) {
        printf("%-14s", json_string_value(ha));
        json_array_foreach(hosts, b, hb) {
            if (a == b) {
                printf(" %-14s", "-");
                continue;
            }
            char cell[64] = "";
            int n = 0, bad = 0, probed = 0;
            json_array_foreach(results, i, r) {
                if (!json_equal(json_object_get(r, "from"), ha) ||
                    !json_equal(json_object_get(r, "to"), hb))
                    continue;
                probed++;
                const char *err = json_string_value(json_object_get(r, "error"));
                if (!json_is_true(json_object_get(r, "ok")) && !(err && !strcmp(err, "refused"))) {
                    bad++;
                    if (n < (int)sizeof cell - 8)
                        n += snprintf(cell + n, sizeof cell - (size_t)n, "%s%lld", bad > 1 ? "," : "",
                                      (long long)json_integer_value(json_object_get(r, "port")));
                }
            }
            printf(" %-14s", !probed ? "?" : bad ? cell : "ok");
        }
        printf("\n");
    }
    json_t *blocked = json_object_get(m, "blocked");
    if (json_array_size(blocked)) {
        printf("\nblocked (connection dropped on the way):\n");
        json_array_foreach(blocked, i, r)
            printf("  %s -> %s port %lld: %s\n", json_string_value(json_object_get(r, "from")),
                   json_string_value(json_object_get(r, "to")),
                   (long long)json_integer_value(json_object_get(r, "port")),
                   json_string_value(json_object_get(r, "error")) ?: "?");
    } else if (json_array_size(results) && !json_array_size(json_object_get(m, "down"))) {
        printf("\nno port is blocked between the hosts ('refused' = path open, nothing listening: "
               "see the ports check)\n");
    }
    json_t *missing = json_object_get(m, "missing");
    if (json_array_size(missing)) {
        printf("no answer from:");
        json_array_foreach(missing, i, r) printf(" %s", json_string_value(r));
        printf("\n");
    }
    json_t *down = json_object_get(m, "down");
    if (json_array_size(down)) {
        printf("not probed (down for this controller: dead, or cut off from it):");
        json_array_foreach(down, i, r) printf(" %s", json_string_value(r));
        printf("\n");
    }
    printf("udp: %s\n", json_string_value(json_object_get(m, "udp")));
    json_decref(hosts);
}

int ctl_ports_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    bool refresh = false;
    json_t *m = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: quoratectl ports [--refresh] [--json]\n"
                   "The reachability matrix: each host TCP-connects to every other host's "
                   "required ports\n(2377, 7946, 27017, 3031, 9000, 22). --refresh runs a new "
                   "round and waits for it.\nExit: 0 nothing blocked, 1 something blocked, missing "
                   "or down, 2 usage, 3 no answer.\n\n%s",
                   ctl_common_help);
            goto out;
        }
        if (!strcmp(argv[i], "--refresh"))
            refresh = true;
        else
            rc = ctl_opts_arg(&o, "quoratectl ports", argc, argv, &i);
    }
    if (rc || (rc = ctl_opts_finish(&o)))
        goto out;
    if (refresh && o.timeout_ms < 10000)
        o.timeout_ms = 10000;
    char *args[] = {(char *)"refresh"};
    if ((rc = ctl_call(&o, "quoratectl", "ports", refresh ? 1 : 0, args, &m)))
        goto out;
    if (o.json)
        ctl_print_json(m, JSON_REAL_PRECISION(10));
    else
        print_matrix(m);
    rc = json_array_size(json_object_get(m, "blocked")) ||
                 json_array_size(json_object_get(m, "missing")) ||
                 json_array_size(json_object_get(m, "down"))
             ? 1
             : 0;
out:
    json_decref(m);
    ctl_opts_free(&o);
    return rc;
}
