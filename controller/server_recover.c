/* The live forced recovery on the leader (issue 8):
 *  - every tick: what the reports say (recover_live_detect); when the voting
 *    majority is lost, gather every member's replSetGetStatus/Config through
 *    its agent (command mongo_status) and keep a plan (recover.c decides,
 *    recover_live_annotate adds the controller's evidence), shown in status;
 *  - `recover`: a fresh gather, the evidence and the plan for the operator;
 *  - `recover confirm DC VERSION`: a fresh gather, then (only if the plan is
 *    ok, DC is exactly the DC of the members to remove and VERSION is still
 *    the config version) swarm first when its managers lost quorum
 *    (swarm_force_new_cluster), the forced reconfig through the target's
 *    agent (mongo_force_reconfig: the agent re-checks for a primary and
 *    compares the version again), then waits for a primary; every step in
 *    the replicated audit log;
 *  - `rejoin`: the non-forced reconfig that adds the removed members back.
 * Nothing here runs without an operator's request, except the gathering. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "recover.h"
#include "recover_live.h"
#include "server_int.h"

#define GATHER_EVERY_MS 3000
#define STATUS_TIMEOUT_MS 5000 /* an operator's gather */
/* a background gather: right after a loss the lost hosts are still "up" for
 * down_after_ms and get asked too; their answers never come, and the plan
 * must not wait 5 s for them (a member's agent answers in milliseconds) */
#define BACKGROUND_TIMEOUT_MS 2000
#define PRIMARY_WAIT_MS 30000

typedef enum { G_BACKGROUND, G_SHOW, G_CONFIRM, G_REJOIN } gather_purpose_t;
typedef enum { X_NONE, X_SWARM, X_RECONFIG, X_WAIT_PRIMARY } exec_stage_t;

struct recovery {
    json_t *detect;          /* the last recover_live_detect() */
    json_t *plan;            /* the last gathered plan (annotated), or NULL */
    int64_t plan_at_ms, last_gather_ms;
    /* one gather at a time */
    bool gathering;
    gather_purpose_t purpose;
    json_t *asked, *answered, *results, *errors;
    size_t waiting;
    zmsg_t *to;              /* the operator waiting (all but background) */
    char key[64];            /* the operator's key (audit) */
    char confirm_dc[64];
    int64_t confirm_version;
    bool skip_swarm;         /* the operator re-forms the swarm by hand */
    zmsg_t *queued;          /* an operator request that arrived during a background gather */
    gather_purpose_t queued_purpose;
    /* execution of a confirmed plan */
    exec_stage_t stage;
    json_t *xplan, *steps;
    json_t *managers;        /* {node: true}: nodes last seen as swarm managers */
    char target_node[64], swarm_node[64], digest[65];
    int64_t stage_ms, next_poll_ms, exec_ms;
    bool poll_inflight;
};

static int64_t wall_ms(void)
{
    return wire_now_us() / 1000;
}

/* SHA-256 of the evidence as canonical JSON (sorted keys), lowercase hex. */
static void evidence_digest(const json_t *plan, char out[65])
{
    char *text = json_dumps(json_object_get(plan, "evidence"), JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[32];
    unsigned int len = 0;
    out[0] = '\0';
    if (text && EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL) == 1)
        for (unsigned i = 0; i < len && i < 32; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
    free(text);
}

int server__recover_new(server_t *s)
{
    s->rec = calloc(1, sizeof *s->rec);
    return s->rec ? 0 : QR_ENOMEM;
}

static void reply(server_t *s, zmsg_t **to, int code, const char *error, json_t *result)
{
    if (*to) {
        server__op_reply(s, *to, code, error ? error : "", result);
        zmsg_destroy(to);
    }
}

void server__recover_destroy(server_t *s)
{
    struct recovery *r = s->rec;
    if (!r)
        return;
    json_decref(r->detect);
    json_decref(r->plan);
    json_decref(r->asked);
    json_decref(r->answered);
    json_decref(r->results);
    json_decref(r->errors);
    json_decref(r->xplan);
    json_decref(r->steps);
    json_decref(r->managers);
    zmsg_destroy(&r->to);
    zmsg_destroy(&r->queued);
    free(r);
    s->rec = NULL;
}

/* --- gathering ------------------------------------------------------------- */

static void gather_done(server_t *s);

static void on_status(server_t *s, void *ctx, const char *node, int code, const char *error,
                      json_t *result)
{
    struct recovery *r = s->rec;
    (void)ctx;
    if (!r || !r->gathering)
        return;
    if (code == 0 && json_is_object(json_object_get(result, "status"))) {
        json_array_append(r->results, result);
        json_array_append_new(r->answered, json_string(node));
    } else {
        json_object_set_new(r->errors, node, json_string(error ? error : "no status"));
    }
    if (r->waiting > 0 && --r->waiting == 0)
        gather_done(s);
}

static void gather_start(server_t *s, gather_purpose_t purpose)
{
    struct recovery *r = s->rec;
    json_decref(r->asked);
    json_decref(r->answered);
    json_decref(r->results);
    json_decref(r->errors);
    r->asked = json_array();
    r->answered = json_array();
    r->results = json_array();
    r->errors = json_object();
    r->purpose = purpose;
    r->gathering = true;
    r->waiting = 0;
    r->last_gather_ms = server__now_ms(s);
    json_t *det = recover_live_detect(s->inv);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(det, "members"), i, v)
    {
        qr_err_t err = {{0}};
        json_array_append(r->asked, v);
        if (server__command(s, json_string_value(v), "mongo_status", NULL,
                            purpose == G_BACKGROUND ? BACKGROUND_TIMEOUT_MS : STATUS_TIMEOUT_MS,
                            on_status, NULL, &err) == 0)
            r->waiting++;
        else
            json_object_set_new(r->errors, json_string_value(v), json_string(err.msg));
    }
    json_decref(det);
    if (r->waiting == 0)
        gather_done(s);
}

/* The config with the highest (term, version) among the replies. */
static const json_t *freshest_config(const json_t *results)
{
    const json_t *best = NULL;
    long long bt = -2, bv = -1;
    size_t i;
    json_t *res;
    json_array_foreach(results, i, res)
    {
        json_t *c = json_object_get(res, "config");
        bson_t *b = NULL;
        char *text = json_dumps(c, JSON_COMPACT);
        if (text && recover_parse_config(text, strlen(text), &b, NULL) == 0) {
            bson_iter_t it;
            long long t = -1, v = -1;
            if (bson_iter_init_find(&it, b, "term") && BSON_ITER_HOLDS_NUMBER(&it))
                t = (long long)bson_iter_as_int64(&it);
            if (bson_iter_init_find(&it, b, "version") && BSON_ITER_HOLDS_NUMBER(&it))
                v = (long long)bson_iter_as_int64(&it);
            if (t > bt || (t == bt && v > bv)) {
                best = c;
                bt = t;
                bv = v;
            }
            bson_destroy(b);
        }
        free(text);
    }
    return best;
}

/* recover.c's plan from the gathered replies, annotated with the live view. */
static json_t *make_plan(server_t *s)
{
    struct recovery *r = s->rec;
    qr_err_t err = {{0}};
    size_t n = json_array_size(r->results);
    bson_t **replies = calloc(n ? n : 1, sizeof *replies);
    bson_t *config = NULL;
    recover_plan_t *plan = NULL;
    json_t *pj = NULL;
    size_t got = 0;
    int rc = replies ? 0 : qr_err_set(&err, QR_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *text = json_dumps(json_object_get(json_array_get(r->results, i), "status"),
                                JSON_COMPACT);
        bson_t **one = NULL;
        size_t k = 0;
        rc = text ? recover_parse_status(text, strlen(text), &one, &k, &err) : QR_ENOMEM;
        free(text);
        if (rc == 0 && k == 1) {
            replies[got++] = one[0];
            free(one);
        } else {
            recover_replies_free(one, k);
        }
    }
    const json_t *cj = rc == 0 ? freshest_config(r->results) : NULL;
    if (rc == 0 && !cj)
        rc = qr_err_set(&err, QR_ENOTFOUND,
                        n ? "no agent returned a readable replica-set config"
                          : "no agent returned the status of its mongod");
    if (rc == 0) {
        char *text = json_dumps(cj, JSON_COMPACT);
        rc = text ? recover_parse_config(text, strlen(text), &config, &err) : QR_ENOMEM;
        free(text);
    }
    if (rc == 0)
        rc = recover_plan_new((const bson_t *const *)replies, got, config, &plan, &err);
    if (rc == 0)
        pj = recover_plan_to_json(plan);
    if (!pj)
        pj = json_pack("{s:b, s:[s], s:[], s:[]}", "ok", 0, "refused",
                       err.msg[0] ? err.msg : "out of memory", "evidence", "warnings");
    recover_live_annotate(pj, s->inv, r->asked, r->answered, server__now_ms(s));
    json_object_set(pj, "agent_errors", r->errors);
    char dg[65];
    evidence_digest(pj, dg);
    json_object_set_new(pj, "evidence_digest", json_string(dg));
    json_object_set_new(pj, "gathered_at_ms", json_integer(wall_ms()));
    const char *dc = json_string_value(json_object_get(pj, "removed_dc"));
    if (json_is_true(json_object_get(pj, "ok"))) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "quoratectl recover --confirm-down %s --config-version %lld --yes",
                 dc ? dc : "DC", (long long)json_integer_value(json_object_get(pj, "old_version")));
        json_object_set_new(pj, "confirm_command", json_string(cmd));
    }
    recover_plan_destroy(&plan);
    if (config)
        bson_destroy(config);
    recover_replies_free(replies, got);
    return pj;
}

static void exec_start(server_t *s, json_t *pj);
static void rejoin_done(server_t *s);

static void gather_done(server_t *s)
{
    struct recovery *r = s->rec;
    r->gathering = false;
    if (r->purpose == G_REJOIN) {
        rejoin_done(s);
    } else {
        json_t *pj = make_plan(s);
        json_decref(r->plan);
        r->plan = json_incref(pj);
        r->plan_at_ms = server__now_ms(s);
        log_info("event=recovery_plan ok=%d purpose=%d asked=%zu answered=%zu",
                 json_is_true(json_object_get(pj, "ok")), (int)r->purpose,
                 json_array_size(r->asked), json_array_size(r->answered));
        if (r->purpose == G_SHOW) {
            json_t *out = json_pack("{s:O, s:O}", "detect", r->detect ? r->detect : json_null(),
                                    "plan", pj);
            reply(s, &r->to, 0, NULL, out);
            json_decref(out);
        } else if (r->purpose == G_CONFIRM) {
            exec_start(s, pj);
        }
        json_decref(pj);
    }
    if (r->queued && !r->gathering && r->stage == X_NONE) {
        r->to = r->queued;
        r->queued = NULL;
        gather_start(s, r->queued_purpose);
    }
}

/* --- execution ------------------------------------------------------------- */

static void step(server_t *s, const char *name, const char *node, bool ok, const char *error,
                 json_t *result)
{
    struct recovery *r = s->rec;
    json_t *st = json_pack("{s:s, s:s, s:b, s:I}", "step", name, "node", node, "ok", ok, "ms",
                           (json_int_t)(server__now_ms(s) - r->stage_ms));
    if (error)
        json_object_set_new(st, "error", json_string(error));
    if (result)
        json_object_set(st, "result", result);
    json_array_append_new(r->steps, st);
    r->stage_ms = server__now_ms(s);
    log_warnx("event=recover_step step=%s node=%s ok=%d error=\"%s\"", name, node, ok,
              error ? error : "");
}

static void audit(server_t *s, const char *event, json_t *extra)
{
    struct recovery *r = s->rec;
    json_t *rec = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:I}", "event", event, "at_ms",
                            (json_int_t)wall_ms(), "controller", s->conf->id, "operator", r->key,
                            "evidence_digest", r->digest, "old_version",
                            json_integer_value(json_object_get(r->xplan, "old_version")),
                            "new_version",
                            json_integer_value(json_object_get(r->xplan, "new_version")));
    if (extra) {
        json_object_update(rec, extra);
        json_decref(extra);
    }
    server__audit(s, rec);
}

static void exec_finish(server_t *s, int code, const char *error, const char *primary)
{
    struct recovery *r = s->rec;
    json_t *out = json_pack(
        "{s:b, s:O, s:s?, s:O, s:O, s:s, s:[s]}", "executed", code == 0, "steps", r->steps,
        "primary", primary, "old_version", json_object_get(r->xplan, "old_version"),
        "new_version", json_object_get(r->xplan, "new_version"), "evidence_digest", r->digest,
        "next", "quoratectl rejoin  (once the lost data centre is back)");
    audit(s, "recover_done",
          json_pack("{s:b, s:s?, s:s?}", "ok", code == 0, "error", error, "primary", primary));
    reply(s, &r->to, code, error, out);
    json_decref(out);
    json_decref(r->xplan);
    r->xplan = NULL;
    json_decref(r->steps);
    r->steps = NULL;
    r->stage = X_NONE;
    log_warnx("event=recover_finished ok=%d primary=%s error=\"%s\" ms=%lld", code == 0,
              primary ? primary : "-", error ? error : "",
              (long long)(server__now_ms(s) - r->exec_ms));
}

static void send_reconfig(server_t *s);

static void on_swarm(server_t *s, void *ctx, const char *node, int code, const char *error,
                     json_t *result)
{
    struct recovery *r = s->rec;
    (void)ctx;
    if (r->stage != X_SWARM)
        return;
    step(s, "swarm_force_new_cluster", node, code == 0, error, result);
    audit(s, "recover_swarm", json_pack("{s:s, s:b, s:s?}", "node", node, "ok", code == 0,
                                        "error", error));
    if (code != 0) {
        char msg[700];
        snprintf(msg, sizeof msg,
                 "re-forming the swarm on %s failed: %s; MongoDB was not touched (swarm first)",
                 node, error);
        exec_finish(s, code, msg, NULL);
        return;
    }
    send_reconfig(s);
}

static void on_reconfig(server_t *s, void *ctx, const char *node, int code, const char *error,
                        json_t *result)
{
    struct recovery *r = s->rec;
    (void)ctx;
    if (r->stage != X_RECONFIG)
        return;
    step(s, "mongo_force_reconfig", node, code == 0, error, result);
    json_t *removed = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r->xplan, "evidence"), i, m)
    {
        if (json_is_true(json_object_get(m, "removed")))
            json_array_append_new(removed,
                                  json_pack("{s:O, s:O, s:O}", "host", json_object_get(m, "host"),
                                            "dc", json_object_get(m, "dc"), "_id",
                                            json_object_get(m, "_id")));
    }
    audit(s, "recover_reconfig",
          json_pack("{s:s, s:O, s:o, s:b, s:s?}", "node", node, "target",
                    json_object_get(r->xplan, "target"), "removed", removed, "ok", code == 0,
                    "error", error));
    if (code != 0) {
        char msg[700];
        snprintf(msg, sizeof msg, "the forced reconfig on %s was not done: %s", node, error);
        exec_finish(s, code, msg, NULL);
        return;
    }
    r->stage = X_WAIT_PRIMARY;
    r->next_poll_ms = server__now_ms(s);
}

static void send_reconfig(server_t *s)
{
    struct recovery *r = s->rec;
    qr_err_t err = {{0}};
    json_t *args = json_pack("{s:O, s:O, s:O, s:b}", "config",
                             json_object_get(r->xplan, "new_config"), "expect_version",
                             json_object_get(r->xplan, "old_version"), "expect_set",
                             json_object_get(r->xplan, "set"), "force", 1);
    r->stage = X_RECONFIG;
    r->stage_ms = server__now_ms(s);
    int rc = server__command(s, r->target_node, "mongo_force_reconfig", args, 30000, on_reconfig,
                             NULL, &err);
    json_decref(args);
    if (rc != 0) {
        step(s, "mongo_force_reconfig", r->target_node, false, err.msg, NULL);
        exec_finish(s, rc, err.msg, NULL);
    }
}

/* Remembers which nodes were swarm managers (their docker check said so): a
 * manager whose swarm froze stops answering /info, so its report no longer
 * tells its role. */
static void note_managers(server_t *s)
{
    struct recovery *r = s->rec;
    if (!r->managers)
        r->managers = json_object();
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        size_t k;
        json_t *c;
        json_array_foreach(n->checks, k, c)
        {
            const char *cn = json_string_value(json_object_get(c, "name"));
            json_t *ca = json_object_get(json_object_get(c, "values"), "control_available");
            if (!cn || strcmp(cn, "docker") != 0 || !json_is_boolean(ca))
                continue;
            if (json_is_true(ca))
                json_object_set_new(r->managers, n->name, json_true());
            else
                json_object_del(r->managers, n->name);
        }
    }
}

static bool has_reason(const json_t *values, const char *reason)
{
    size_t q;
    json_t *v;
    json_array_foreach(json_object_get(values, "reasons"), q, v)
    {
        const char *rs = json_string_value(v);
        if (rs && strcmp(rs, reason) == 0)
            return true;
    }
    return false;
}

/* Whether a surviving manager's docker check says the swarm lost its Raft
 * quorum (no leader, a minority of managers reachable, or /info hanging on a
 * known manager); *node: the surviving manager to re-form it on. */
static bool swarm_frozen(server_t *s, char *node, size_t len)
{
    struct recovery *r = s->rec;
    bool frozen = false;
    node[0] = '\0';
    for (size_t i = 0; i < inventory_count(s->inv); i++) {
        const inv_node_t *n = inventory_at(s->inv, i);
        size_t k;
        json_t *c;
        if (!n->up || !json_object_get(r->managers, n->name))
            continue;
        json_array_foreach(n->checks, k, c)
        {
            const char *cn = json_string_value(json_object_get(c, "name"));
            json_t *v = json_object_get(c, "values");
            if (!cn || strcmp(cn, "docker") != 0)
                continue;
            json_int_t managers = json_integer_value(json_object_get(v, "managers"));
            json_int_t reach = json_integer_value(json_object_get(v, "managers_reachable"));
            bool f = has_reason(v, "swarm_no_leader") || has_reason(v, "managers_no_quorum") ||
                     has_reason(v, "info_timeout") || json_is_false(json_object_get(v, "has_leader")) ||
                     (managers > 0 && json_is_integer(json_object_get(v, "managers_reachable")) &&
                      reach * 2 <= managers);
            if (!node[0] || (f && !frozen))
                snprintf(node, len, "%s", n->name);
            frozen |= f;
        }
    }
    return frozen;
}

static void exec_start(server_t *s, json_t *pj)
{
    struct recovery *r = s->rec;
    char msg[1024];
    if (!json_is_true(json_object_get(pj, "ok"))) {
        int n = snprintf(msg, sizeof msg, "refused:");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(pj, "refused"), i, v) if (n < (int)sizeof msg) n +=
            snprintf(msg + n, sizeof msg - (size_t)n, " %s;", json_string_value(v));
        json_t *out = json_pack("{s:O}", "plan", pj);
        reply(s, &r->to, QR_EREFUSED, msg, out);
        json_decref(out);
        log_warnx("event=recover_refused operator=%s reason=\"%s\"", r->key, msg);
        return;
    }
    const char *dc = json_string_value(json_object_get(pj, "removed_dc"));
    if (!dc || strcmp(dc, r->confirm_dc) != 0) {
        snprintf(msg, sizeof msg,
                 "refused: --confirm-down names data centre '%s', but the members to remove are "
                 "%s%s%s: check the evidence (quoratectl recover) and confirm the DC that is down",
                 r->confirm_dc, dc ? "in data centre '" : "not in one data centre",
                 dc ? dc : "", dc ? "'" : "");
        reply(s, &r->to, QR_EREFUSED, msg, NULL);
        log_warnx("event=recover_refused operator=%s reason=\"%s\"", r->key, msg);
        return;
    }
    json_int_t ver = json_integer_value(json_object_get(pj, "old_version"));
    if (r->confirm_version >= 0 && ver != r->confirm_version) {
        snprintf(msg, sizeof msg,
                 "refused: the replica-set config changed since the plan you confirmed (version "
                 "%lld, now %lld): run quoratectl recover again and check the new evidence",
                 (long long)r->confirm_version, (long long)ver);
        reply(s, &r->to, QR_ECONFLICT, msg, NULL);
        log_warnx("event=recover_refused operator=%s reason=\"%s\"", r->key, msg);
        return;
    }
    const inv_node_t *t =
        recover_live_node_of(s->inv, json_string_value(json_object_get(pj, "target")));
    if (!t || !t->up) {
        snprintf(msg, sizeof msg, "refused: the target member %s has no reporting agent",
                 json_string_value(json_object_get(pj, "target")));
        reply(s, &r->to, QR_EUNAVAIL, msg, NULL);
        return;
    }
    snprintf(r->target_node, sizeof r->target_node, "%s", t->name);
    json_decref(r->xplan);
    r->xplan = json_incref(pj);
    json_decref(r->steps);
    r->steps = json_array();
    snprintf(r->digest, sizeof r->digest, "%s",
             json_string_value(json_object_get(pj, "evidence_digest")));
    r->exec_ms = r->stage_ms = server__now_ms(s);
    audit(s, "recover_confirmed",
          json_pack("{s:s, s:O, s:O}", "dc", dc, "target", json_object_get(pj, "target"),
                    "removed", json_object_get(pj, "removed")));
    log_warnx("event=recover_confirmed operator=%s dc=%s target=%s version=%lld digest=%s",
              r->key, dc, t->name, (long long)ver, r->digest);
    bool frozen = swarm_frozen(s, r->swarm_node, sizeof r->swarm_node) && r->swarm_node[0];
    if (frozen && r->skip_swarm) {
        json_array_append_new(
            r->steps, json_pack("{s:s, s:s, s:b, s:b, s:I, s:s}", "step",
                                "swarm_force_new_cluster", "node", r->swarm_node, "ok", 0,
                                "skipped", 1, "ms", (json_int_t)0, "error",
                                "skipped (--skip-swarm): re-form the swarm by hand, then run "
                                "quoratectl apply"));
        audit(s, "recover_swarm_skipped", json_pack("{s:s}", "node", r->swarm_node));
        frozen = false;
    }
    if (frozen) {
        qr_err_t err = {{0}};
        r->stage = X_SWARM;
        const inv_node_t *sn = inventory_find(s->inv, r->swarm_node);
        json_t *sargs = json_pack("{s:s?}", "advertise_addr",
                                  sn && sn->address[0] ? sn->address : NULL);
        int src = server__command(s, r->swarm_node, "swarm_force_new_cluster", sargs, 170000,
                                  on_swarm, NULL, &err);
        json_decref(sargs);
        if (src != 0) {
            step(s, "swarm_force_new_cluster", r->swarm_node, false, err.msg, NULL);
            exec_finish(s, QR_EUNAVAIL, err.msg, NULL);
        }
        return;
    }
    send_reconfig(s);
}

static const char *primary_of(const json_t *status, char *buf, size_t len)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(status, "members"), i, m)
    {
        if (recover_live_ejson_int(json_object_get(m, "state"), 0) == 1 &&
            recover_live_ejson_int(json_object_get(m, "health"), 1) != 0) {
            snprintf(buf, len, "%s", json_string_value(json_object_get(m, "name")));
            return buf;
        }
    }
    return NULL;
}

static void on_poll(server_t *s, void *ctx, const char *node, int code, const char *error,
                    json_t *result)
{
    struct recovery *r = s->rec;
    (void)ctx;
    (void)error;
    r->poll_inflight = false;
    if (r->stage != X_WAIT_PRIMARY)
        return;
    char buf[256];
    const char *p = code == 0 ? primary_of(json_object_get(result, "status"), buf, sizeof buf)
                              : NULL;
    if (p) {
        json_t *res = json_pack("{s:s}", "primary", p);
        step(s, "wait_primary", node, true, NULL, res);
        json_decref(res);
        exec_finish(s, 0, NULL, p);
        return;
    }
    r->next_poll_ms = server__now_ms(s) + 250;
}

void server__recover_tick(server_t *s)
{
    struct recovery *r = s->rec;
    if (!r)
        return;
    json_decref(r->detect);
    r->detect = recover_live_detect(s->inv);
    note_managers(s);
    const char *state = json_string_value(json_object_get(r->detect, "state"));
    bool leader = peers_is_leader(s->peers);
    if (leader && r->stage == X_WAIT_PRIMARY) {
        if (server__now_ms(s) - r->stage_ms > PRIMARY_WAIT_MS) {
            step(s, "wait_primary", r->target_node, false, "no primary within 30 s", NULL);
            exec_finish(s, QR_ETIMEOUT,
                        "the forced reconfig was applied, but no primary was elected within "
                        "30 s: check the survivors' mongod logs (quoratectl status)",
                        NULL);
        } else if (!r->poll_inflight && server__now_ms(s) >= r->next_poll_ms) {
            qr_err_t err = {{0}};
            if (server__command(s, r->target_node, "mongo_status", NULL, 3000, on_poll, NULL,
                                &err) == 0)
                r->poll_inflight = true;
            else
                r->next_poll_ms = server__now_ms(s) + 500;
        }
    }
    if (!state || strcmp(state, "majority_lost") != 0) {
        if (r->plan && r->stage == X_NONE && !r->gathering) {
            json_decref(r->plan);
            r->plan = NULL;
        }
        return;
    }
    /* the plan is prepared by the leader, or by every controller while none
     * leads (the controller majority may be in the lost DC too: the plan is
     * ready when the operator takes over); gathering only reads */
    /* every second until a plan is ready (the first views may still see the
     * lost members, their hosts are marked down only after down_after_ms),
     * then every GATHER_EVERY_MS to keep it fresh */
    int64_t every = r->plan && json_is_true(json_object_get(r->plan, "ok")) ? GATHER_EVERY_MS
                                                                             : 1000;
    if ((leader || !peers_leader_name(s->peers)) && !r->gathering && r->stage == X_NONE &&
        server__now_ms(s) - r->last_gather_ms >= every)
        gather_start(s, G_BACKGROUND);
}

json_t *server__recover_status_json(server_t *s)
{
    struct recovery *r = s->rec;
    if (!r || !r->detect)
        return json_null();
    json_t *o = json_pack("{s:O, s:O}", "state", json_object_get(r->detect, "state"), "summary",
                          json_object_get(r->detect, "summary"));
    const char *state = json_string_value(json_object_get(r->detect, "state"));
    if (r->stage != X_NONE) {
        json_object_set_new(o, "executing", json_true());
    }
    if (state && strcmp(state, "majority_lost") == 0 && r->plan) {
        bool ok = json_is_true(json_object_get(r->plan, "ok"));
        char sum[1024];
        const char *first = json_string_value(json_array_get(json_object_get(r->plan, "refused"), 0));
        snprintf(sum, sizeof sum, "%s; %s%s",
                 json_string_value(json_object_get(r->detect, "summary")),
                 ok ? "recovery plan ready" : "recovery refused: ", ok ? "" : first ? first : "?");
        json_object_set_new(o, "summary", json_string(sum));
        json_object_set_new(o, "plan", json_string(ok ? "ready" : "refused"));
        json_object_set_new(o, "plan_age_ms", json_integer(server__now_ms(s) - r->plan_at_ms));
        json_object_set(o, "removed", json_object_get(r->plan, "removed"));
        json_object_set(o, "target", json_object_get(r->plan, "target"));
        json_object_set(o, "refused", json_object_get(r->plan, "refused"));
        json_object_set(o, "confirm_command", json_object_get(r->plan, "confirm_command"));
    }
    json_object_set(o, "lost_dcs", json_object_get(r->detect, "lost_dcs"));
    return o;
}

/* `recover` [confirm DC VERSION] */
void server__op_recover(server_t *s, zmsg_t *to, const Quorate__OpRequest *req, const char *key)
{
    struct recovery *r = s->rec;
    bool confirm = req->n_args >= 1 && strcmp(req->args[0], "confirm") == 0;
    bool skip = confirm && req->n_args == 4 && strcmp(req->args[3], "skip-swarm") == 0;
    if (confirm && req->n_args != 3 && !skip) {
        server__op_reply(s, to, QR_EINVAL, "recover confirm needs DC and VERSION [skip-swarm]",
                         NULL);
        return;
    }
    if (!confirm && req->n_args != 0) {
        server__op_reply(s, to, QR_EINVAL, "recover takes no arguments or confirm DC VERSION",
                         NULL);
        return;
    }
    if (r->to || r->queued || r->stage != X_NONE) {
        server__op_reply(s, to, QR_ECONFLICT,
                         "a recovery request is already running on this controller", NULL);
        return;
    }
    snprintf(r->key, sizeof r->key, "%s", key && *key ? key : "(no key)");
    if (confirm) {
        char *end = NULL;
        long long v = strtoll(req->args[2], &end, 10);
        if (!end || *end || v < -1) {
            server__op_reply(s, to, QR_EINVAL, "recover confirm: VERSION is not a number", NULL);
            return;
        }
        snprintf(r->confirm_dc, sizeof r->confirm_dc, "%s", req->args[1]);
        r->confirm_version = v;
        r->skip_swarm = skip;
        log_warnx("event=recover_confirm_requested operator=%s dc=%s version=%lld", r->key,
                  r->confirm_dc, v);
    }
    gather_purpose_t p = confirm ? G_CONFIRM : G_SHOW;
    if (r->gathering) { /* a background gather: this one follows it */
        r->queued = zmsg_dup(to);
        r->queued_purpose = p;
        return;
    }
    r->to = zmsg_dup(to);
    gather_start(s, p);
}

static void rejoin_done(server_t *s)
{
    struct recovery *r = s->rec;
    const json_t *config = NULL;
    char pbuf[256];
    const char *primary = NULL;
    size_t i;
    json_t *res;
    json_array_foreach(r->results, i, res)
    {
        const char *p = primary_of(json_object_get(res, "status"), pbuf, sizeof pbuf);
        const char *me = NULL;
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(json_object_get(res, "status"), "members"), k, m)
        {
            if (json_is_true(json_object_get(m, "self")))
                me = json_string_value(json_object_get(m, "name"));
        }
        if (p && me && strcmp(p, me) == 0) {
            primary = p;
            config = json_object_get(res, "config");
            break;
        }
    }
    json_t *out = recover_live_rejoin(s->inv, s->audit, config, primary);
    json_object_set(out, "agent_errors", r->errors);
    reply(s, &r->to, 0, NULL, out);
    json_decref(out);
}

/* `rejoin`: plan only. */
void server__op_rejoin(server_t *s, zmsg_t *to, const Quorate__OpRequest *req, const char *key)
{
    struct recovery *r = s->rec;
    (void)req;
    (void)key;
    if (r->to || r->queued || r->gathering || r->stage != X_NONE) {
        server__op_reply(s, to, QR_ECONFLICT,
                         "a recovery request is running on this controller; try again", NULL);
        return;
    }
    r->to = zmsg_dup(to);
    gather_start(s, G_REJOIN);
}
