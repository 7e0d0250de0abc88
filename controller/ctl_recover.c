/* `quoratectl recover`: the forced replica-set recovery after losing the data
 * centre that held the MongoDB majority: offline (--plan-only from saved
 * replSetGetStatus / replSetGetConfig output) or live through the leader
 * (evidence from the agents; --confirm-down DC --yes executes), and
 * `quoratectl rejoin` (the plan that adds the lost members back). The
 * decision itself is controller/recover.c; this file reads, asks and prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "ctl.h"
#include "ctl_client.h"
#include "recover.h"

#define RECOVER_MAX_INPUT (64u << 20) /* a 50-member status is well under 1 MiB */

/* Numbers print with 15 significant digits: 0.1 s, not 0.10000000000000001. */
#define RECOVER_JSON_FLAGS (JSON_REAL_PRECISION(15))

static void usage(FILE *f)
{
    fprintf(f, "usage: quoratectl recover [--json] [common options]\n"
               "       quoratectl recover --confirm-down DC [--config-version N] --yes [--json]\n"
               "       quoratectl recover --plan-only --status FILE --config FILE [--json]\n"
               "\n"
               "Plans the forced reconfiguration of the MongoDB replica set after the data\n"
               "centre holding its voting majority is lost (the runbook's\n"
               "rs.reconfig(cfg, {force: true})).\n"
               "\n"
               "Live (through the leader controller):\n"
               "  (no flags)          gathers every reachable member's replSetGetStatus and\n"
               "                      config through its agent and prints the evidence (who\n"
               "                      sees which member down, for how long, last optimes), the\n"
               "                      plan, the rollback risk and the command that confirms it\n"
               "  --confirm-down DC   executes the plan: DC must be the data centre of the\n"
               "                      members to remove; swarm first when its managers lost\n"
               "                      quorum (docker swarm init --force-new-cluster), then\n"
               "                      replSetReconfig with force on the freshest survivor, then\n"
               "                      waits for a primary. Needs --yes. Every step is audited.\n"
               "  --config-version N  the config version of the plan you checked (the printed\n"
               "                      command has it): refused if the config changed since;\n"
               "                      without it quoratectl reads the plan first and uses its\n"
               "                      version\n"
               "  --skip-swarm        with --confirm-down: do not re-form the swarm first (when\n"
               "                      dockerd is stuck: restart it, re-form the swarm by hand,\n"
               "                      then quoratectl apply); MongoDB is recovered alone\n"
               "Offline:\n"
               "  --plan-only         plan from saved command output, no controller:\n"
               "  --status FILE       replSetGetStatus reply, or a JSON array of them (one per\n"
               "                      reachable member), as `mongosh --json` or libbson print them\n"
               "                      (relaxed or canonical Extended JSON); - reads stdin\n"
               "  --config FILE       the replSetGetConfig config (rs.conf()) or the whole reply\n"
               "  --json              print the plan as JSON instead of a report\n"
               "It refuses when a member is PRIMARY in any view, when a member some view sees\n"
               "down is seen healthy by another (a partition), when the reachable voters still\n"
               "hold a majority, or when no voting member is reachable; live, also when the\n"
               "controller still hears the agent of a member to remove, or a survivor's agent\n"
               "does not answer.\n"
               "\n"
               "exit: 0 plan ready / executed, 1 refused or failed, 2 bad usage or malformed\n"
               "input, 3 no controller answered\n\n%s",
               ctl_common_help);
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

/* The controller's own view, added to each member by the leader. */
static void print_live_view(const json_t *plan)
{
    printf("\nSeen by the leader controller and the agents:\n");
    printf("  %-24s %-8s %-26s %s\n", "MEMBER", "NODE", "CONTROLLER", "SEEN DOWN BY");
    size_t i, k;
    json_t *m, *v;
    json_array_foreach(json_object_get(plan, "evidence"), i, m)
    {
        json_t *c = json_object_get(m, "controller");
        char cv[64] = "-", from[256] = "";
        if (json_is_object(c)) {
            if (json_is_true(json_object_get(c, "up")))
                snprintf(cv, sizeof cv, "up (heard %.1f s ago)",
                         json_number_value(json_object_get(c, "last_seen_ago_s")));
            else
                snprintf(cv, sizeof cv, "DOWN for %.1f s",
                         json_number_value(json_object_get(c, "down_for_s")));
        }
        json_array_foreach(json_object_get(m, "unreachable_from"), k, v)
        {
            size_t n = strlen(from);
            snprintf(from + n, sizeof from - n, "%s%s", k ? ", " : "", json_string_value(v));
        }
        const char *node = json_string_value(json_object_get(m, "node"));
        printf("  %-24s %-8s %-26s %s\n", jstr(m, "host"), node ? node : "-", cv,
               from[0] ? from : "-");
    }
    json_t *na = json_object_get(plan, "no_answer");
    if (json_array_size(na)) {
        printf("  agents that did not answer:");
        json_array_foreach(na, i, v)
        {
            const char *e = json_string_value(
                json_object_get(json_object_get(plan, "agent_errors"), json_string_value(v)));
            printf(" %s%s%s%s", json_string_value(v), e ? " (" : "", e ? e : "", e ? ")" : "");
        }
        printf("\n");
    }
    printf("  evidence digest %s\n", jstr(plan, "evidence_digest"));
}

/* Prints the live plan the leader sent; returns the exit code (0 ready, 1 not). */
static int print_live(const json_t *reply)
{
    const json_t *plan = json_object_get(reply, "plan");
    const char *sum = json_string_value(json_object_get(json_object_get(reply, "detect"), "summary"));
    if (sum)
        printf("%s\n", sum);
    bson_t *cfg = NULL;
    json_t *nc = json_object_get(plan, "new_config");
    if (json_is_object(nc)) {
        char *text = json_dumps(nc, JSON_COMPACT);
        if (text)
            cfg = bson_new_from_json((const uint8_t *)text, -1, NULL);
        free(text);
    }
    bson_t empty = BSON_INITIALIZER;
    print_report(plan, cfg ? cfg : &empty);
    if (cfg)
        bson_destroy(cfg);
    print_live_view(plan);
    bool ok = json_is_true(json_object_get(plan, "ok"));
    if (ok)
        printf("\nTo execute it (after making sure the data centre is really down):\n  %s\n",
               jstr(plan, "confirm_command"));
    return ok ? 0 : 1;
}

/* Step 4 of a confirmed recovery, under the same confirmation: the label
 * re-plan for the surviving hosts (`apply`). Right after the swarm was
 * re-formed the leader may still hold a report saying it has no quorum (and
 * refuse): retried for up to 30 s. Returns {"ok", "apply"|"error"}. */
static json_t *relabel(const ctl_opts_t *o)
{
    qr_err_t err = {{0}};
    json_t *res = NULL;
    for (int tries = 0; tries < 30; tries++) {
        int rc = ctl_request(o, "apply", 0, NULL, &res, &err);
        if (rc == 0)
            return json_pack("{s:b, s:o}", "ok", 1, "apply", res);
        /* only a refusal that goes away by itself is worth waiting for: the
         * swarm's freshly re-formed quorum not yet in the reports, or
         * reports older than the last change */
        if (!(rc == QR_ESTALE || rc == QR_EUNAVAIL ||
              (rc == QR_EREFUSED &&
               (strstr(err.msg, "manager quorum") || strstr(err.msg, "stale")))))
            break;
        sleep(1);
    }
    return json_pack("{s:b, s:s}", "ok", 0, "error", err.msg[0] ? err.msg : "no answer");
}

static int live_main(ctl_opts_t *o, const char *confirm_dc, long long version, bool yes,
                     bool skip_swarm)
{
    json_t *j = NULL;
    int rc;
    if (o->timeout_ms < 20000)
        o->timeout_ms = 20000; /* the leader answers once every agent did */
    if (!confirm_dc) {
        if ((rc = ctl_call(o, "quoratectl recover", "recover", 0, NULL, &j)))
            return rc;
        if (o->json) {
            ctl_print_json(j, RECOVER_JSON_FLAGS);
            rc = json_is_true(json_object_get(json_object_get(j, "plan"), "ok")) ? 0 : 1;
        } else {
            rc = print_live(j);
        }
        json_decref(j);
        return rc;
    }
    if (!yes) {
        fprintf(stderr, "quoratectl recover: --confirm-down forces a replica-set reconfiguration "
                        "that may roll back writes; add --yes to execute it\n");
        return 2;
    }
    if (version < 0) {
        if ((rc = ctl_call(o, "quoratectl recover", "recover", 0, NULL, &j)))
            return rc;
        const json_t *plan = json_object_get(j, "plan");
        if (!json_is_true(json_object_get(plan, "ok"))) {
            if (o->json)
                ctl_print_json(j, RECOVER_JSON_FLAGS);
            else
                print_live(j);
            json_decref(j);
            return 1;
        }
        version = (long long)json_integer_value(json_object_get(plan, "old_version"));
        if (!o->json)
            printf("confirming the plan made from config version %lld (evidence digest %s)\n",
                   version, jstr(plan, "evidence_digest"));
        json_decref(j);
        j = NULL;
    }
    if (o->timeout_ms < 240000)
        o->timeout_ms = 240000; /* swarm re-forming (dockerd: 20-90 s), reconfig, election */
    char vbuf[32];
    snprintf(vbuf, sizeof vbuf, "%lld", version);
    char *args[] = {(char *)"confirm", (char *)confirm_dc, vbuf, (char *)"skip-swarm"};
    if ((rc = ctl_call(o, "quoratectl recover", "recover", skip_swarm ? 4 : 3, args, &j)))
        return rc;
    bool swarm_skipped = false;
    size_t si;
    json_t *sv;
    json_array_foreach(json_object_get(j, "steps"), si, sv)
        swarm_skipped |= json_is_true(json_object_get(sv, "skipped"));
    if (json_is_true(json_object_get(j, "executed")))
        json_object_set_new(j, "labels",
                            swarm_skipped
                                ? json_pack("{s:b, s:s}", "ok", 0, "error",
                                            "the swarm was not re-formed (--skip-swarm)")
                                : relabel(o));
    if (o->json) {
        ctl_print_json(j, RECOVER_JSON_FLAGS);
    } else {
        size_t i;
        json_t *st;
        json_array_foreach(json_object_get(j, "steps"), i, st)
        {
            printf("  %-26s on %-8s %s (%lld ms)%s%s\n", jstr(st, "step"), jstr(st, "node"),
                   json_is_true(json_object_get(st, "skipped")) ? "SKIPPED"
                   : json_is_true(json_object_get(st, "ok"))    ? "done"
                                                                 : "FAILED",
                   (long long)json_integer_value(json_object_get(st, "ms")),
                   json_is_string(json_object_get(st, "error")) ? ": " : "",
                   jstr(st, "error"));
        }
        if (json_is_true(json_object_get(j, "executed")))
            printf("recovered: config version %lld -> %lld, primary %s\n",
                   (long long)json_integer_value(json_object_get(j, "old_version")),
                   (long long)json_integer_value(json_object_get(j, "new_version")),
                   jstr(j, "primary"));
        json_t *lb = json_object_get(j, "labels");
        if (json_is_true(json_object_get(lb, "ok")))
            printf("labels re-planned for the surviving hosts: %zu node(s) changed%s%s\n",
                   json_object_size(json_object_get(json_object_get(lb, "apply"), "changes")),
                   json_is_string(json_object_get(json_object_get(lb, "apply"), "via"))
                       ? " through the agent on "
                       : "",
                   jstr(json_object_get(lb, "apply"), "via"));
        else if (lb)
            printf("labels NOT re-planned: %s; run `quoratectl apply` once the swarm answers\n",
                   jstr(lb, "error"));
        printf("next:\n");
        json_array_foreach(json_object_get(j, "next"), i, st)
            printf("  %s\n", json_string_value(st));
    }
    rc = json_is_true(json_object_get(j, "executed")) ? 0 : 1;
    json_decref(j);
    return rc;
}

int ctl_recover_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    bool plan_only = false, yes = false, skip_swarm = false;
    const char *status_path = NULL, *config_path = NULL, *confirm_dc = NULL;
    long long version = -1;
    int rc = 0;
    /* --config is the replica-set config with --plan-only, else quoratectl's own */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--plan-only"))
            plan_only = true;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            ctl_opts_free(&o);
            return 0;
        } else if (!strcmp(a, "--plan-only")) {
            plan_only = true;
        } else if (!strcmp(a, "--yes")) {
            yes = true;
        } else if (!strcmp(a, "--skip-swarm")) {
            skip_swarm = true;
        } else if (!strcmp(a, "--status") && has_value) {
            status_path = argv[++i];
        } else if (!strcmp(a, "--config") && has_value && plan_only) {
            config_path = argv[++i];
        } else if (!strcmp(a, "--confirm-down") && has_value) {
            confirm_dc = argv[++i];
        } else if (!strcmp(a, "--config-version") && has_value) {
            char *end = NULL;
            version = strtoll(argv[++i], &end, 10);
            if (!end || *end || version < 0) {
                fprintf(stderr, "quoratectl recover: --config-version: expected a number, got "
                                "'%s'\n",
                        argv[i]);
                rc = 2;
            }
        } else if (!strcmp(a, "--status") || !strcmp(a, "--confirm-down") ||
                   !strcmp(a, "--config-version")) {
            fprintf(stderr, "quoratectl recover: %s needs a value\n", a);
            rc = 2;
        } else {
            rc = ctl_opts_arg(&o, "quoratectl recover", argc, argv, &i);
        }
    }
    if (rc) {
        ctl_opts_free(&o);
        return rc;
    }
    if (!plan_only) {
        if (status_path) {
            fprintf(stderr, "quoratectl recover: --status belongs to --plan-only\n");
            ctl_opts_free(&o);
            return 2;
        }
        if ((rc = ctl_opts_finish(&o)) == 0)
            rc = live_main(&o, confirm_dc, version, yes, skip_swarm);
        ctl_opts_free(&o);
        return rc;
    }
    bool as_json = o.json;
    ctl_opts_free(&o);
    if (confirm_dc || yes || version >= 0 || skip_swarm) {
        fprintf(stderr, "quoratectl recover: --plan-only only plans; --confirm-down, "
                        "--config-version and --yes belong to the live recovery\n");
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

/* `quoratectl rejoin`: the non-forced reconfig that adds the members removed by
 * the last forced recovery back, planned by the leader; printed, not run. */
int ctl_rejoin_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    json_t *j = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: quoratectl rejoin [--json] [common options]\n"
                   "Once the hosts of the members a forced recovery removed report again,\n"
                   "plans the normal (not forced) reconfiguration that adds them back: first\n"
                   "with votes 0 and priority 0 so they catch up without touching elections,\n"
                   "then with their votes once they are SECONDARY with a small lag (one stays\n"
                   "non-voting if the voters would be even). Prints the mongosh commands to run\n"
                   "on the primary and where MongoDB keeps rolled-back writes. Runs nothing.\n"
                   "exit: 0 plan ready, 1 nothing to rejoin or no primary, 2 usage, 3 no answer\n\n%s",
                   ctl_common_help);
            goto out;
        }
        rc = ctl_opts_arg(&o, "quoratectl rejoin", argc, argv, &i);
    }
    if (rc || (rc = ctl_opts_finish(&o)))
        goto out;
    if (o.timeout_ms < 20000)
        o.timeout_ms = 20000;
    if ((rc = ctl_call(&o, "quoratectl rejoin", "rejoin", 0, NULL, &j)))
        goto out;
    bool ok = json_is_true(json_object_get(j, "ok"));
    if (o.json) {
        ctl_print_json(j, 0);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(j, "refused"), i, v)
            printf("nothing to do: %s\n", json_string_value(v));
        json_array_foreach(json_object_get(j, "members"), i, v)
            printf("  %-24s %-8s dc %-8s %s\n", jstr(v, "host"), jstr(v, "node"), jstr(v, "dc"),
                   json_is_true(json_object_get(v, "up")) ? "back (its agent reports)"
                                                         : "not back yet");
        json_array_foreach(json_object_get(j, "steps"), i, v)
        {
            printf("\nstep %zu (%s) in mongosh on the primary %s", i + 1, jstr(v, "step"),
                   jstr(v, "on"));
            if (json_is_string(json_object_get(v, "when")))
                printf(", when %s", jstr(v, "when"));
            printf(":\n  %s\n", jstr(v, "mongosh"));
        }
        json_array_foreach(json_object_get(j, "warnings"), i, v)
            printf("%swarning: %s\n", i ? "" : "\n", json_string_value(v));
    }
    rc = ok ? 0 : 1;
out:
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}

/* `quoratectl audit`: the leader's replicated audit log. */
int ctl_audit_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    json_t *j = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: quoratectl audit [--json] [common options]\n"
                   "The audit log every controller holds (replicated with the state document):\n"
                   "applies, takeovers and each step of a forced recovery with the operator's\n"
                   "key, the time, the evidence digest and the config versions. Newest last.\n\n%s",
                   ctl_common_help);
            goto out;
        }
        rc = ctl_opts_arg(&o, "quoratectl audit", argc, argv, &i);
    }
    if (rc || (rc = ctl_opts_finish(&o)))
        goto out;
    if ((rc = ctl_call(&o, "quoratectl audit", "audit", 0, NULL, &j)))
        goto out;
    if (o.json) {
        ctl_print_json(j, 0);
    } else {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(j, "audit"), i, r)
        {
            char *rest = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
            printf("%-18s %lld  %s\n", jstr(r, "event"),
                   (long long)json_integer_value(json_object_get(r, "at_ms")), rest ? rest : "");
            free(rest);
        }
    }
out:
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}
