/* `quoratectl recover`: the forced replica-set recovery after losing the data
 * centre that held the MongoDB majority. Today only the offline plan
 * (--plan-only from saved replSetGetStatus / replSetGetConfig output); the
 * decision itself is controller/recover.c, this file reads files and prints. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "ctl.h"
#include "recover.h"

#define RECOVER_MAX_INPUT (64u << 20) /* a 50-member status is well under 1 MiB */

/* Numbers print with 15 significant digits: 0.1 s, not 0.10000000000000001. */
#define RECOVER_JSON_FLAGS (JSON_REAL_PRECISION(15))

static void usage(FILE *f)
{
    fprintf(f, "usage: quoratectl recover --plan-only --status FILE --config FILE [--json]\n"
               "\n"
               "Plans the forced reconfiguration of the MongoDB replica set after the data\n"
               "centre holding its voting majority is lost (the runbook's\n"
               "rs.reconfig(cfg, {force: true})), from saved command output:\n"
               "  --status FILE   replSetGetStatus reply, or a JSON array of them (one per\n"
               "                  reachable member), as `mongosh --json` or libbson print them\n"
               "                  (relaxed or canonical Extended JSON); - reads stdin\n"
               "  --config FILE   the replSetGetConfig config (rs.conf()) or the whole reply\n"
               "  --json          print the plan as JSON instead of a report\n"
               "It refuses when a member is PRIMARY in any view, when a member some view sees\n"
               "down is seen healthy by another (a partition), when the reachable voters still\n"
               "hold a majority, or when no voting member is reachable.\n"
               "\n"
               "exit: 0 plan ready, 1 refused, 2 bad usage or malformed input\n"
               "\n"
               "Without --plan-only (live recovery through the controller, confirmed with\n"
               "--confirm-down DC --yes) it needs a controller.\n");
}

/* Reads a whole file ("-": stdin), bounded. Returns a NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len, qr_err_t *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        qr_err_set(err, QR_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= RECOVER_MAX_INPUT) {
                qr_err_set(err, QR_ETOOBIG, "%s: larger than %u MiB", path,
                           RECOVER_MAX_INPUT >> 20);
                free(buf);
                buf = NULL;
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
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                qr_err_set(err, QR_EIO, "%s: %s", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    if (!buf && err->msg[0] == 0)
        qr_err_set(err, QR_ENOMEM, "%s: out of memory", path);
    if (f != stdin)
        fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void fmt_optime(char *buf, size_t len, const json_t *o)
{
    if (!json_is_object(o)) {
        snprintf(buf, len, "-");
        return;
    }
    json_t *ts = json_object_get(o, "ts");
    snprintf(buf, len, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(o, "term")),
             json_integer_value(json_object_get(ts, "t")),
             json_integer_value(json_object_get(ts, "i")));
}

/* A JSON text inside a JavaScript single-quoted string literal. */
static void print_js_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\\' || *s == '\'')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void print_evidence(const json_t *plan)
{
    printf("\nEvidence (each member as each status reply sees it; optime = term/seconds:inc):\n");
    printf("  %-24s %-8s %-5s %-5s %-24s %-6s %-24s %-18s %-24s %s\n", "MEMBER", "DC", "VOTES",
           "PRIO", "VIEW", "HEALTH", "STATE", "OPTIME", "LAST WRITE", "DOWN FOR");
    size_t i, j;
    json_t *m, *s;
    json_array_foreach(json_object_get(plan, "evidence"), i, m)
    {
        char member[64];
        snprintf(member, sizeof member, "%s (_id %" JSON_INTEGER_FORMAT ")", jstr(m, "host"),
                 json_integer_value(json_object_get(m, "_id")));
        const char *dc = json_string_value(json_object_get(m, "dc"));
        char prio[16];
        snprintf(prio, sizeof prio, "%g", json_number_value(json_object_get(m, "priority")));
        json_t *views = json_object_get(m, "views");
        if (json_array_size(views) == 0)
            printf("  %-24s %-8s %-5" JSON_INTEGER_FORMAT " %-5s %s\n", member, dc ? dc : "-",
                   json_integer_value(json_object_get(m, "votes")), prio, "(no status reply)");
        json_array_foreach(views, j, s)
        {
            char view[64], optime[48], down[24];
            snprintf(view, sizeof view, "%s%s", jstr(s, "view"),
                     json_is_true(json_object_get(s, "self")) ? " (self)" : "");
            const char *left = j == 0 ? member : "";
            if (!json_is_true(json_object_get(s, "reported"))) {
                printf("  %-24s %-8s %-5s %-5s %-24s %s\n", left, j == 0 && dc ? dc : "", "", "",
                       view, "not listed");
                continue;
            }
            fmt_optime(optime, sizeof optime, json_object_get(s, "optime"));
            json_t *ds = json_object_get(s, "down_seconds");
            if (json_is_number(ds))
                snprintf(down, sizeof down, "%.1f s", json_number_value(ds));
            else
                snprintf(down, sizeof down, "-");
            const char *wall = json_string_value(json_object_get(s, "last_applied_wall"));
            char votes[16] = "";
            if (j == 0)
                snprintf(votes, sizeof votes, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(json_object_get(m, "votes")));
            printf("  %-24s %-8s %-5s %-5s %-24s %-6s %-24s %-18s %-24s %s\n", left,
                   j == 0 ? (dc ? dc : "-") : "", votes, j == 0 ? prio : "", view,
                   json_is_true(json_object_get(s, "healthy")) ? "up" : "DOWN",
                   jstr(s, "state_str"), optime, wall ? wall : "-", down);
            const char *msg = json_string_value(json_object_get(s, "message"));
            if (msg && !json_is_true(json_object_get(s, "healthy")))
                printf("  %-24s %-8s %-5s %-5s   \"%s\"\n", "", "", "", "", msg);
        }
    }
}

static void print_report(const json_t *plan, const bson_t *new_config)
{
    json_t *votes = json_object_get(plan, "votes");
    size_t i;
    json_t *v;
    printf("replica set %s: config version %" JSON_INTEGER_FORMAT
           ", %zu members, %" JSON_INTEGER_FORMAT " votes; %zu status replies",
           jstr(plan, "set"), json_integer_value(json_object_get(plan, "old_version")),
           json_array_size(json_object_get(plan, "evidence")),
           json_integer_value(json_object_get(votes, "total")),
           json_array_size(json_object_get(plan, "views")));
    json_array_foreach(json_object_get(plan, "views"), i, v)
        printf("%s%s", i ? ", " : " (from ", json_string_value(v));
    printf("%s\n", json_array_size(json_object_get(plan, "views")) ? ")" : "");
    print_evidence(plan);

    if (!json_is_true(json_object_get(plan, "ok"))) {
        printf("\nDecision: REFUSED, no forced reconfig\n");
        json_array_foreach(json_object_get(plan, "refused"), i, v)
            printf("  - %s\n", json_string_value(v));
    } else {
        char optime[48];
        fmt_optime(optime, sizeof optime, json_object_get(plan, "target_optime"));
        printf("\nDecision: forced reconfig planned\n");
        printf("  target    %s (_id %" JSON_INTEGER_FORMAT "), the freshest reachable member, "
               "optime %s\n",
               jstr(plan, "target"), json_integer_value(json_object_get(plan, "target_id")),
               optime);
        printf("  removed  ");
        json_array_foreach(json_object_get(plan, "removed"), i, v)
            printf(" %s", json_string_value(v));
        const char *dc = json_string_value(json_object_get(plan, "removed_dc"));
        printf("%s%s%s\n", dc ? " (data centre " : "", dc ? dc : "", dc ? ")" : "");
        printf("  votes     %" JSON_INTEGER_FORMAT " in the old config, %" JSON_INTEGER_FORMAT
               " reachable, %" JSON_INTEGER_FORMAT " in the new one",
               json_integer_value(json_object_get(votes, "total")),
               json_integer_value(json_object_get(votes, "reachable")),
               json_integer_value(json_object_get(votes, "after")));
        json_array_foreach(json_object_get(plan, "demoted"), i, v)
            printf("%s%s", i ? ", " : "; votes 0, priority 0 for ", json_string_value(v));
        printf("%s\n", json_array_size(json_object_get(plan, "demoted"))
                           ? " (the least fresh, so the voters stay odd)"
                           : "");
        printf("  version   %" JSON_INTEGER_FORMAT " -> %" JSON_INTEGER_FORMAT "\n",
               json_integer_value(json_object_get(plan, "old_version")),
               json_integer_value(json_object_get(plan, "new_version")));

        json_t *rb = json_object_get(plan, "rollback_risk");
        printf("\nRollback risk\n");
        if (json_is_true(json_object_get(rb, "known"))) {
            printf("  newest write seen on a removed member: %s (%s)\n",
                   jstr(rb, "removed_last_write"), jstr(rb, "removed_last_write_member"));
            printf("  the target's newest write:             %s\n", jstr(rb, "target_last_write"));
            printf("  the target lags it by %.3f s",
                   json_number_value(json_object_get(rb, "lag_seconds")));
            if (json_is_integer(json_object_get(rb, "optime_lag_seconds")))
                printf(" (oplog time: %" JSON_INTEGER_FORMAT " s)",
                       json_integer_value(json_object_get(rb, "optime_lag_seconds")));
            printf("; writes in that window are rolled back when the removed members rejoin\n");
        } else {
            printf("  unknown: no view reports when the removed members last wrote\n");
        }
        if (json_is_string(json_object_get(rb, "removed_last_heard")))
            printf("  last heard from a removed member:      %s\n", jstr(rb, "removed_last_heard"));

        /* what the runbook's operator would type, and what quorate will send */
        json_t *ejson = recover_bson_to_ejson(new_config);
        char *cfg = ejson ? json_dumps(ejson, JSON_COMPACT | RECOVER_JSON_FLAGS) : NULL;
        printf("\nCommand (only after making sure %s%s is down; in mongosh connected to %s):\n  "
               "db.adminCommand({replSetReconfig: EJSON.parse(",
               dc ? "data centre " : "every removed member", dc ? dc : "", jstr(plan, "target"));
        print_js_string(stdout, cfg ? cfg : "{}");
        printf("), force: true})\n");
        free(cfg);
        json_decref(ejson);
    }
    json_t *warnings = json_object_get(plan, "warnings");
    if (json_array_size(warnings)) {
        printf("\nWarnings\n");
        json_array_foreach(warnings, i, v) printf("  - %s\n", json_string_value(v));
    }
}

int ctl_recover_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"plan-only", no_argument, NULL, 'p'},
        {"status", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"confirm-down", required_argument, NULL, 'd'},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool plan_only = false, as_json = false, live_flags = false;
    const char *status_path = NULL, *config_path = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            plan_only = true;
            break;
        case 's':
            status_path = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 'd':
        case 'y':
            live_flags = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "quoratectl recover: unknown option or missing argument: %s\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "quoratectl recover: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!plan_only) {
        fprintf(stderr, "quoratectl recover: live recovery (evidence from the agents, "
                        "--confirm-down DC --yes) needs a controller and is not available in "
                        "this build yet; use --plan-only --status FILE --config FILE\n");
        return 2;
    }
    if (live_flags) {
        fprintf(stderr, "quoratectl recover: --plan-only only plans; --confirm-down and --yes "
                        "belong to the live recovery\n");
        return 2;
    }
    if (!status_path || !config_path) {
        fprintf(stderr, "quoratectl recover: --plan-only needs --status FILE and --config "
                        "FILE\n");
        return 2;
    }
    if (strcmp(status_path, "-") == 0 && strcmp(config_path, "-") == 0) {
        fprintf(stderr, "quoratectl recover: only one of --status and --config can be -\n");
        return 2;
    }

    qr_err_t err = {{0}};
    size_t slen = 0, clen = 0, n = 0;
    bson_t **replies = NULL, *config = NULL;
    recover_plan_t *plan = NULL;
    json_t *out = NULL;
    int code = 2;
    char *stext = slurp(status_path, &slen, &err);
    char *ctext = stext ? slurp(config_path, &clen, &err) : NULL;
    if (!stext || !ctext) {
        fprintf(stderr, "quoratectl recover: %s\n", err.msg);
        goto done;
    }
    if (recover_parse_status(stext, slen, &replies, &n, &err)) {
        fprintf(stderr, "quoratectl recover: --status %s: %s\n", status_path, err.msg);
        goto done;
    }
    if (recover_parse_config(ctext, clen, &config, &err)) {
        fprintf(stderr, "quoratectl recover: --config %s: %s\n", config_path, err.msg);
        goto done;
    }
    if (recover_plan_new((const bson_t *const *)replies, n, config, &plan, &err)) {
        fprintf(stderr, "quoratectl recover: %s\n", err.msg);
        goto done;
    }
    if (!(out = recover_plan_to_json(plan))) {
        fprintf(stderr, "quoratectl recover: out of memory\n");
        goto done;
    }
    if (as_json) {
        char *text = json_dumps(out, JSON_INDENT(2) | RECOVER_JSON_FLAGS);
        if (!text) {
            fprintf(stderr, "quoratectl recover: out of memory\n");
            goto done;
        }
        printf("%s\n", text);
        free(text);
    } else {
        print_report(out, recover_plan_new_config(plan));
    }
    code = recover_plan_ok(plan) ? 0 : 1;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "quoratectl recover: writing the plan: %s\n", strerror(errno));
        code = 2;
    }
done:
    json_decref(out);
    recover_plan_destroy(&plan);
    if (config)
        bson_destroy(config);
    recover_replies_free(replies, n);
    free(stext);
    free(ctext);
    return code;
}
