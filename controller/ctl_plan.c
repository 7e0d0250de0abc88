/* quoratectl plan: plans labels and MongoDB placement offline from an
 * inventory file, no controller needed. Exit 0 a plan, 1 no valid plan,
 * 2 bad usage or input (DESIGN.md "Contracts"). The whole output is built
 * in memory first, so stdout never carries a partial plan. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "planner.h"
#include "planner_json.h"
#include "planner_text.h"

#define PLAN_MAX_INPUT (256u << 20) /* an inventory of 100k nodes is ~30 MB */

static void plan_usage(FILE *f)
{
    fprintf(f,
            "usage: quoratectl plan --inventory FILE [--members N] [--lose DC] [--remove NODE] "
            "[--json]\n"
            "\n"
            "Plans the swarm labels (mongo.replica=1..N, worker=true, minio=true) and MongoDB\n"
            "member placement across data centres from an inventory JSON file, offline.\n"
            "\n"
            "  --inventory FILE  the inventory ({\"nodes\": [...]}, see docs/planner.md)\n"
            "  --members N       MongoDB members, odd, 3..7 (default: keep a valid layout, else\n"
            "                    the most the data centres can hold without a majority in one)\n"
            "  --lose DC         rehearsal: the steps if DC were lost now, and the plan after\n"
            "  --remove NODE     decommission: move NODE's labels, then drain, demote, rm\n"
            "  --json            the plan as JSON instead of tables\n"
            "\n"
            "exit: 0 a plan (possibly with changes), 1 no valid plan, 2 bad usage or input\n");
}

/* Reads the whole file; NULL with errno set on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= PLAN_MAX_INPUT) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                buf = NULL;
                errno = e;
            }
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int parse_members(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 3 || v > PLANNER_MAX_MEMBERS || v % 2 == 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* Renders the plan into one buffer. Returns 0 or -1 (out of memory). */
static int render(const planner_inventory_t *inv, const planner_plan_t *plan, bool as_json,
                  char **out, size_t *len)
{
    if (as_json) {
        json_t *j = planner_json_plan(plan);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (!s)
            return -1;
        *len = strlen(s);
        /* json_dumps leaves off the final newline */
        char *t = realloc(s, *len + 2);
        if (!t) {
            free(s);
            return -1;
        }
        t[(*len)++] = '\n';
        t[*len] = '\0';
        *out = t;
        return 0;
    }
    FILE *f = open_memstream(out, len);
    if (!f)
        return -1;
    int rc = planner_text_write(f, inv, plan);
    if (fclose(f) != 0 || rc) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int ctl_plan_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"inventory", required_argument, NULL, 'i'},
                                             {"members", required_argument, NULL, 'm'},
                                             {"lose", required_argument, NULL, 'l'},
                                             {"remove", required_argument, NULL, 'r'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *path = NULL;
    planner_opts_t opts = {0};
    bool as_json = false;
    int ch;
    optind = 0; /* glibc: full re-initialisation, as main may have used getopt */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+i:m:l:r:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            path = optarg;
            break;
        case 'm':
            if (parse_members(optarg, &opts.members) < 0) {
                fprintf(stderr,
                        "quoratectl plan: --members %s: expected an odd number from 3 to 7\n",
                        optarg);
                return 2;
            }
            break;
        case 'l':
            opts.lose_dc = optarg;
            break;
        case 'r':
            opts.remove_node = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 'h':
            plan_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "quoratectl plan: %s: %s\n", argv[optind - 1],
                    optopt && strchr("imlr", optopt) ? "needs a value" : "unknown option");
            plan_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "quoratectl plan: unexpected argument '%s'\n", argv[optind]);
        plan_usage(stderr);
        return 2;
    }
    if (!path) {
        fprintf(stderr, "quoratectl plan: --inventory FILE is required\n");
        plan_usage(stderr);
        return 2;
    }
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "quoratectl plan: %s: cannot read: %s\n", path, strerror(errno));
        return 2;
    }
    qr_err_t err = {{0}};
    planner_inventory_t *inv = NULL;
    int rc = planner_json_parse(text, len, &inv, &err);
    free(text);
    if (rc) {
        fprintf(stderr, "quoratectl plan: %s: %s\n", path, err.msg);
        return 2;
    }
    planner_plan_t *plan = NULL;
    rc = planner_plan(inv, &opts, &plan, &err);
    if (rc) {
        fprintf(stderr, "quoratectl plan: %s: %s\n", path, err.msg);
        planner_inventory_destroy(&inv);
        return 2;
    }
    char *out = NULL;
    size_t outlen = 0;
    int exit_code = plan->ok ? 0 : 1;
    if (render(inv, plan, as_json, &out, &outlen) < 0) {
        fprintf(stderr, "quoratectl plan: out of memory\n");
        exit_code = 2;
    } else if (fwrite(out, 1, outlen, stdout) != outlen || fflush(stdout) != 0) {
        fprintf(stderr, "quoratectl plan: writing the plan: %s\n", strerror(errno));
        exit_code = 2;
    }
    free(out);
    planner_plan_destroy(&plan);
    planner_inventory_destroy(&inv);
    return exit_code;
}
