/* Forced recovery's decision (controller/recover.c): the realistic 3+2
 * two-data-centre loss from fixtures (mongod 6.0 documents as mongosh prints
 * them, canonical and relaxed), every refusal rule in isolation, target
 * tie-breaks, even-voter demotion, what the new config keeps, Extended JSON
 * round trips, and malformed or mismatched inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recover.h"

/* ---- fixtures --------------------------------------------------------- */

static char *read_fixture(const char *name, size_t *len)
{
    const char *src = getenv("QR_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/recover/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s (is QR_SOURCE_DIR set?)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Plans from status text and config text; returns recover_plan_new's code. */
static int plan_texts(const char *status, size_t slen, const char *config, size_t clen,
                      recover_plan_t **out, qr_err_t *err)
{
    bson_t **replies = NULL, *cfg = NULL;
    size_t n = 0;
    *out = NULL;
    int rc = recover_parse_status(status, slen, &replies, &n, err);
    if (rc)
        return rc;
    rc = recover_parse_config(config, clen, &cfg, err);
    if (rc == 0)
        rc = recover_plan_new((const bson_t *const *)replies, n, cfg, out, err);
    if (cfg)
        bson_destroy(cfg);
    recover_replies_free(replies, n);
    return rc;
}

static recover_plan_t *plan_fixtures(const char *status, const char *config)
{
    size_t slen, clen;
    char *s = read_fixture(status, &slen), *c = read_fixture(config, &clen);
    recover_plan_t *p = NULL;
    qr_err_t err = {{0}};
    int rc = plan_texts(s, slen, c, clen, &p, &err);
    free(s);
    free(c);
    if (rc)
        fail_msg("planning %s + %s failed: %s", status, config, err.msg);
    return p;
}

static const recover_member_t *member_by_host(const recover_plan_t *p, const char *host)
{
    const recover_member_t *m;
    size_t n = recover_plan_members(p, &m);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].host, host) == 0)
            return &m[i];
    fail_msg("no member %s", host);
    return NULL;
}

static bool any_contains(const char *const *v, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(v[i], needle))
            return true;
    return false;
}

/* The member sub-document i of a config. */
static void config_member(const bson_t *cfg, size_t i, bson_t *out)
{
    bson_iter_t it, m;
    char key[32];
    snprintf(key, sizeof key, "members.%zu", i);
    assert_true(bson_iter_init(&it, cfg));
    assert_true(bson_iter_find_descendant(&it, key, &m));
    assert_true(BSON_ITER_HOLDS_DOCUMENT(&m));
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(&m, &len, &data);
    assert_true(bson_init_static(out, data, len));
}

static bson_type_t type_at(const bson_t *doc, const char *dotkey)
{
    bson_iter_t it, d;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, dotkey, &d))
        fail_msg("no %s", dotkey);
    return bson_iter_type(&d);
}

static int64_t int_at(const bson_t *doc, const char *dotkey)
{
    bson_iter_t it, d;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, dotkey, &d))
        fail_msg("no %s", dotkey);
    return bson_iter_as_int64(&d);
}

static double double_at(const bson_t *doc, const char *dotkey)
{
    bson_iter_t it, d;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, dotkey, &d))
        fail_msg("no %s", dotkey);
    return bson_iter_as_double(&d);
}

static size_t count_members(const bson_t *cfg)
{
    bson_iter_t it, m;
    size_t n = 0;
    assert_true(bson_iter_init_find(&it, cfg, "members"));
    assert_true(bson_iter_recurse(&it, &m));
    while (bson_iter_next(&m))
        n++;
    return n;
}

/* ---- synthetic replica sets ------------------------------------------- */

/* Config member i is host "h<i>:27017". */
typedef struct {
    const char *dc;
    int votes;
    double priority;
    bool arbiter;
} cmem_t;

/* How one view sees member i: 'S' secondary, 'P' primary, 'D' down, 'R'
 * recovering, 'A' arbiter, 0 not listed; optime term/secs; last write. */
typedef struct {
    char st;
    int64_t term;
    uint32_t secs;
    uint32_t inc;
} smem_t;

#define SEC(term, secs)                                                                            \
    {                                                                                              \
        'S', term, secs, 1                                                                         \
    }
#define DOWN                                                                                       \
    {                                                                                              \
        'D', -1, 0, 0                                                                              \
    }
#define BASE 1795633200u

static json_t *ejson_ts(uint32_t t, uint32_t i)
{
    return json_pack("{s{sIsI}}", "$timestamp", "t", (json_int_t)t, "i", (json_int_t)i);
}

static json_t *ejson_date(int64_t ms)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)ms);
    return json_pack("{s{ss}}", "$date", "$numberLong", buf);
}

static json_t *mk_config(const char *set, const cmem_t *m, size_t n)
{
    json_t *members = json_array();
    for (size_t i = 0; i < n; i++) {
        char host[32];
        snprintf(host, sizeof host, "h%zu:27017", i);
        json_t *mem =
            json_pack("{sisssbsbsfsi}", "_id", (int)i, "host", host, "arbiterOnly", m[i].arbiter,
                      "hidden", 0, "priority", m[i].priority, "votes", m[i].votes);
        if (m[i].dc)
            json_object_set_new(mem, "tags", json_pack("{ss}", "dc", m[i].dc));
        json_array_append_new(members, mem);
    }
    return json_pack("{sssisosb}", "_id", set, "version", 3, "members", members,
                     "writeConcernMajorityJournalDefault", 1);
}

static json_t *mk_view(const char *set, size_t self, const smem_t *m, size_t n)
{
    json_t *members = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!m[i].st)
            continue;
        char host[32];
        snprintf(host, sizeof host, "h%zu:27017", i);
        int state = m[i].st == 'P'   ? 1
                    : m[i].st == 'S' ? 2
                    : m[i].st == 'R' ? 3
                    : m[i].st == 'A' ? 7
                                     : 8;
        const char *str = m[i].st == 'P'   ? "PRIMARY"
                          : m[i].st == 'S' ? "SECONDARY"
                          : m[i].st == 'R' ? "RECOVERING"
                          : m[i].st == 'A' ? "ARBITER"
                                           : "(not reachable/healthy)";
        bool up = m[i].st != 'D';
        json_t *mem = json_pack("{sisssfsiss}", "_id", (int)i, "name", host, "health",
                                up ? 1.0 : 0.0, "state", state, "stateStr", str);
        json_t *op =
            json_pack("{sosI}", "ts", ejson_ts(up ? BASE + m[i].secs : 0, up ? m[i].inc : 0), "t",
                      (json_int_t)(up ? m[i].term : -1));
        json_object_set_new(mem, "optime", op);
        json_object_set_new(mem, "lastAppliedWallTime",
                            ejson_date(((int64_t)BASE + m[i].secs) * 1000));
        if (!up)
            json_object_set_new(mem, "lastHeartbeatRecv",
                                ejson_date(((int64_t)BASE + m[i].secs) * 1000));
        if (i == self)
            json_object_set_new(mem, "self", json_true());
        json_array_append_new(members, mem);
    }
    return json_pack("{sssosisosf}", "set", set, "date", ejson_date((int64_t)BASE * 1000 + 60000),
                     "myState", m[self].st == 'P' ? 1 : 2, "members", members, "ok", 1.0);
}

/* Plans from jansson documents (views: one reply or an array). */
static int plan_json(json_t *views, json_t *config, recover_plan_t **out, qr_err_t *err)
{
    char *s = json_dumps(views, 0), *c = json_dumps(config, 0);
    int rc = plan_texts(s, strlen(s), c, strlen(c), out, err);
    free(s);
    free(c);
    json_decref(views);
    json_decref(config);
    return rc;
}

static recover_plan_t *plan_ok_or_refused(json_t *views, json_t *config)
{
    recover_plan_t *p = NULL;
    qr_err_t err = {{0}};
    if (plan_json(views, config, &p, &err))
        fail_msg("plan failed: %s", err.msg);
    return p;
}

static const cmem_t FIVE_3_2[] = {
    {"west", 1, 2, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
    {"east", 1, 1, false}, {"east", 1, 1, false},
};

/* ---- the realistic case ----------------------------------------------- */

/* 3+2 over two DCs, the 3-member west lost: ai4 (newest) is the target, the
 * west members go, ai5 gives up its vote so one voter (odd) remains. */
static void test_plan_lost_majority_dc_3_2(void **state)
{
    (void)state;
    recover_plan_t *p =
        plan_fixtures("status-lost-west.ai4.canonical.json", "config-3+2.canonical.json");
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "ai4:27017");
    for (int i = 1; i <= 3; i++) {
        char h[16];
        snprintf(h, sizeof h, "ai%d:27017", i);
        assert_true(member_by_host(p, h)->removed);
        assert_false(member_by_host(p, h)->reachable);
    }
    assert_false(member_by_host(p, "ai4:27017")->removed);
    assert_true(member_by_host(p, "ai5:27017")->demoted);
    assert_int_equal(recover_plan_old_version(p), 7);
    assert_int_equal(recover_plan_new_version(p), 8);
    const char *dc;
    assert_int_equal(recover_plan_removed_dc(p, &dc, NULL), 0);
    assert_string_equal(dc, "west");
    assert_string_equal(member_by_host(p, "ai4:27017")->dc, "east");

    const bson_t *nc = recover_plan_new_config(p);
    assert_non_null(nc);
    assert_int_equal(count_members(nc), 2);
    assert_int_equal(int_at(nc, "members.0._id"), 3);
    assert_int_equal(int_at(nc, "members.0.votes"), 1);
    assert_int_equal(int_at(nc, "members.1._id"), 4);
    assert_int_equal(int_at(nc, "members.1.votes"), 0);
    assert_true(double_at(nc, "members.1.priority") == 0.0);
    assert_int_equal(int_at(nc, "version"), 8);

    /* ai1 applied a write at 19:00:09.412 (last heartbeat), ai4 at 19:00:08.120 */
    json_t *j = recover_plan_to_json(p);
    json_t *rb = json_object_get(j, "rollback_risk");
    assert_true(json_is_true(json_object_get(rb, "known")));
    assert_true(json_real_value(json_object_get(rb, "lag_seconds")) > 1.2915 &&
                json_real_value(json_object_get(rb, "lag_seconds")) < 1.2925);
    assert_string_equal(json_string_value(json_object_get(rb, "removed_last_write_member")),
                        "ai1:27017");
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_array_size(json_object_get(j, "refused")), 0);
    json_decref(j);
    recover_plan_destroy(&p);
    assert_null(p);
}

/* The same loss from the relaxed replies of both survivors (an array) and the
 * relaxed replSetGetConfig reply gives the same decision. */
static void test_plan_relaxed_array_matches_canonical_single(void **state)
{
    (void)state;
    recover_plan_t *a =
        plan_fixtures("status-lost-west.ai4.canonical.json", "config-3+2.canonical.json");
    recover_plan_t *b =
        plan_fixtures("status-lost-west.both.relaxed.json", "config-3+2.reply.relaxed.json");
    assert_true(recover_plan_ok(a) && recover_plan_ok(b));
    assert_string_equal(recover_plan_target(a)->host, recover_plan_target(b)->host);
    const recover_member_t *ma, *mb;
    size_t na = recover_plan_members(a, &ma), nb = recover_plan_members(b, &mb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(ma[i].removed, mb[i].removed);
        assert_int_equal(ma[i].demoted, mb[i].demoted);
        assert_int_equal(ma[i].has_optime, mb[i].has_optime);
        assert_int_equal(recover_optime_cmp(&ma[i].optime, &mb[i].optime), 0);
    }
    /* canonical input keeps MongoDB's longs; relaxed input cannot know them */
    assert_int_equal(type_at(recover_plan_new_config(a), "protocolVersion"), BSON_TYPE_INT64);
    assert_int_equal(type_at(recover_plan_new_config(a), "members.0.secondaryDelaySecs"),
                     BSON_TYPE_INT64);
    assert_int_equal(type_at(recover_plan_new_config(b), "protocolVersion"), BSON_TYPE_INT32);
    recover_plan_destroy(&a);
    recover_plan_destroy(&b);
}

/* One reply on its own and the same reply in a one-element array are the
 * same input. */
static void test_status_single_reply_equals_one_element_array(void **state)
{
    (void)state;
    size_t slen, clen;
    char *s = read_fixture("status-lost-west.ai5.relaxed.json", &slen);
    char *c = read_fixture("config-3+2.canonical.json", &clen);
    char *arr = malloc(slen + 3);
    assert_non_null(arr);
    arr[0] = '[';
    memcpy(arr + 1, s, slen);
    arr[slen + 1] = ']';
    arr[slen + 2] = 0;
    recover_plan_t *a, *b;
    qr_err_t err;
    assert_int_equal(plan_texts(s, slen, c, clen, &a, &err), 0);
    assert_int_equal(plan_texts(arr, slen + 2, c, clen, &b, &err), 0);
    json_t *ja = recover_plan_to_json(a), *jb = recover_plan_to_json(b);
    assert_true(json_equal(ja, jb));
    /* ai5's own view: ai4 is still fresher, so ai4 is the target */
    assert_string_equal(json_string_value(json_object_get(ja, "target")), "ai4:27017");
    json_decref(ja);
    json_decref(jb);
    recover_plan_destroy(&a);
    recover_plan_destroy(&b);
    free(arr);
    free(s);
    free(c);
}

/* ---- refusals ----------------------------------------------------------- */

/* A PRIMARY in any view refuses, even when the reachable voters are a
 * minority (a primary that has not stepped down yet). */
static void test_refuse_primary_in_any_view(void **state)
{
    (void)state;
    smem_t v3[] = {{'P', 4, 50, 1}, DOWN, DOWN, SEC(4, 49), DOWN};
    smem_t v0[] = {{'P', 4, 50, 1}, DOWN, DOWN, SEC(4, 49), DOWN};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 5), mk_view("rs0", 0, v0, 5));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", FIVE_3_2, 5));
    assert_false(recover_plan_ok(p));
    const char *const *r;
    size_t n = recover_plan_refusals(p, &r);
    assert_int_equal(n, 2); /* h0 is PRIMARY in both views; nothing else is wrong */
    assert_non_null(strstr(r[0], "h0:27017 is PRIMARY"));
    assert_null(recover_plan_new_config(p));
    assert_null(recover_plan_target(p));
    json_t *j = recover_plan_to_json(p);
    assert_false(json_is_true(json_object_get(j, "ok")));
    assert_null(json_object_get(j, "new_config"));
    assert_null(json_object_get(j, "target"));
    assert_int_equal(json_array_size(json_object_get(j, "refused")), 2);
    json_decref(j);
    recover_plan_destroy(&p);
}

/* myState 1 alone (a reply without its own member entry) also counts. */
static void test_refuse_reply_with_mystate_primary(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 49), SEC(4, 48)};
    json_t *view = mk_view("rs0", 3, v, 5);
    json_object_set_new(view, "myState", json_integer(1));
    recover_plan_t *p = plan_ok_or_refused(view, mk_config("rs0", FIVE_3_2, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "myState"));
    recover_plan_destroy(&p);
}

/* h2 is down for h3 but healthy for h4: a partition. h2 has no vote, so the
 * reachable votes are still a minority and only the partition rule fires. */
static void test_refuse_member_down_in_one_view_healthy_in_another(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false},
                    {"west", 1, 1, false},
                    {"west", 0, 0, false},
                    {"east", 1, 1, false},
                    {"east", 1, 1, false}};
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 49), SEC(4, 48)};
    smem_t v4[] = {DOWN, DOWN, SEC(4, 47), SEC(4, 49), SEC(4, 48)};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 5), mk_view("rs0", 4, v4, 5));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", cfg, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "h2:27017 is seen down by h3:27017 but healthy by h4:27017"));
    recover_plan_destroy(&p);
}

/* A member's own reply counts as seeing itself healthy: if another view sees
 * it down, that is a partition too. */
static void test_refuse_own_reply_contradicts_down_view(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"east", 1, 1, false}, {"east", 1, 1, false}, {"east", 0, 0, false},
                    {"east", 0, 0, false}};
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 49), SEC(4, 48), DOWN, SEC(4, 40)};
    smem_t v5[] = {DOWN, DOWN, DOWN, {0}, {0}, SEC(4, 45), {0}};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 7), mk_view("rs0", 5, v5, 7));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", cfg, 7));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "h5:27017 is seen down by h3:27017 but healthy by h5:27017"));
    recover_plan_destroy(&p);
}

/* Losing the minority DC: the west members still hold 3 of 5 votes. */
static void test_refuse_reachable_voters_hold_majority(void **state)
{
    (void)state;
    smem_t v0[] = {SEC(4, 50), SEC(4, 50), SEC(4, 49), DOWN, DOWN};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 0, v0, 5), mk_config("rs0", FIVE_3_2, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "3 of 5 votes, a majority"));
    recover_plan_destroy(&p);

    /* and the fixture of that case, where ai1 is still primary */
    p = plan_fixtures("status-lost-east.canonical.json", "config-3+2.canonical.json");
    size_t n = recover_plan_refusals(p, &r);
    assert_false(recover_plan_ok(p));
    assert_true(any_contains(r, n, "ai1:27017 is PRIMARY"));
    assert_true(any_contains(r, n, "a majority"));
    recover_plan_destroy(&p);
}

/* Exactly half the votes is not a majority: 2 of 4 proceeds. */
static void test_half_the_votes_is_not_a_majority(void **state)
{
    (void)state;
    cmem_t cfg[] = {
        {"west", 1, 1, false}, {"west", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 1, false}};
    smem_t v2[] = {DOWN, DOWN, SEC(4, 49), SEC(4, 48)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 2, v2, 4), mk_config("rs0", cfg, 4));
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "h2:27017");
    recover_plan_destroy(&p);
}

/* No reply at all (an empty array) or only a non-voting member reachable. */
static void test_refuse_no_voting_member_reachable(void **state)
{
    (void)state;
    recover_plan_t *p = plan_ok_or_refused(json_array(), mk_config("rs0", FIVE_3_2, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "no voting member"));
    recover_plan_destroy(&p);

    cmem_t cfg[] = {
        {"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false}, {"east", 0, 0, false}};
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 49)};
    p = plan_ok_or_refused(mk_view("rs0", 3, v3, 4), mk_config("rs0", cfg, 4));
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "no voting member is reachable"));
    recover_plan_destroy(&p);
}

/* An arbiter alone cannot become primary. */
static void test_refuse_only_arbiter_reachable(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"east", 1, 0, true}};
    smem_t v2[] = {DOWN, DOWN, {'A', 0, 0, 0}};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 2, v2, 3), mk_config("rs0", cfg, 3));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "only arbiters"));
    recover_plan_destroy(&p);
}

/* ---- target selection --------------------------------------------------- */

/* A higher term wins over a later timestamp of an older term. */
static void test_target_newest_term_beats_later_timestamp(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(5, 10), SEC(4, 90)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 5), mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    assert_true(member_by_host(p, "h4:27017")->demoted);
    recover_plan_destroy(&p);
}

/* Same term: the later timestamp, then the higher increment. */
static void test_target_later_increment_wins(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, {'S', 4, 50, 1}, {'S', 4, 50, 7}};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 3, v, 5), mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    recover_plan_destroy(&p);
}

/* Equal optimes: the higher priority is the target. */
static void test_target_tie_higher_priority_wins(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 2, false},
                    {"west", 1, 1, false},
                    {"west", 1, 1, false},
                    {"east", 1, 1, false},
                    {"east", 1, 3, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 3, v, 5), mk_config("rs0", cfg, 5));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    assert_true(member_by_host(p, "h3:27017")->demoted);
    recover_plan_destroy(&p);
}

/* Equal optimes and priorities: the lower _id is the target. */
static void test_target_tie_lower_id_wins(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 5), mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    assert_true(member_by_host(p, "h4:27017")->demoted);
    recover_plan_destroy(&p);
}

/* A member's optime is the newest any view reports while it is healthy:
 * h3's own (stale) reply says 40, h4 has heard 60 from it since. */
static void test_optime_newest_over_views(void **state)
{
    (void)state;
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 40), SEC(4, 50)};
    smem_t v4[] = {DOWN, DOWN, DOWN, SEC(4, 60), SEC(4, 50)};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 5), mk_view("rs0", 4, v4, 5));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    assert_int_equal(recover_plan_target(p)->optime.secs, BASE + 60);
    recover_plan_destroy(&p);
}

/* A reply counts as seeing its own member healthy, whatever its health
 * field says: h3's own reply makes h3 reachable and the target. */
static void test_reply_sees_its_own_member_healthy(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 40)};
    json_t *view = mk_view("rs0", 3, v, 5);
    json_object_set_new(json_array_get(json_object_get(view, "members"), 3), "health",
                        json_real(0.0));
    recover_plan_t *p = plan_ok_or_refused(view, mk_config("rs0", FIVE_3_2, 5));
    assert_true(recover_plan_ok(p));
    assert_true(member_by_host(p, "h3:27017")->reachable);
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    recover_plan_destroy(&p);
}

/* When a view still holds a lost member's optime (a simulator, or a status
 * taken at the moment of the loss), that optime is evidence for the
 * rollback risk in oplog time, but never the member's "optime while
 * healthy". */
static void test_rollback_risk_in_oplog_time_from_down_member_optime(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 40)};
    json_t *view = mk_view("rs0", 3, v, 5);
    json_t *h0 = json_array_get(json_object_get(view, "members"), 0);
    json_object_set_new(
        h0, "optime",
        json_pack("{sos{ss}}", "ts", ejson_ts(BASE + 57, 4), "t", "$numberLong", "4"));
    json_object_set_new(h0, "lastAppliedWallTime", ejson_date(((int64_t)BASE + 57) * 1000 + 250));
    recover_plan_t *p = plan_ok_or_refused(view, mk_config("rs0", FIVE_3_2, 5));
    assert_true(recover_plan_ok(p));
    assert_false(member_by_host(p, "h0:27017")->has_optime);
    json_t *j = recover_plan_to_json(p);
    json_t *rb = json_object_get(j, "rollback_risk");
    assert_true(json_is_true(json_object_get(rb, "optime_ahead")));
    assert_int_equal(json_integer_value(json_object_get(rb, "optime_lag_seconds")), 7);
    assert_true(json_real_value(json_object_get(rb, "lag_seconds")) == 7.25);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(j, "evidence"), 0), "optime")));
    json_decref(j);
    recover_plan_destroy(&p);
}

/* ---- even voters ---------------------------------------------------------- */

/* 4+4 losing 4: four voters remain; the least fresh (never the target) is
 * demoted, and among equally fresh ones the lower priority. */
static void test_even_voters_least_fresh_demoted(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"west", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 1, false},
                    {"east", 1, 2, false}, {"east", 1, 1, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, DOWN, SEC(4, 70), SEC(4, 30), SEC(4, 30), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 8), mk_config("rs0", cfg, 8));
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    assert_true(member_by_host(p, "h5:27017")->demoted); /* 30 and priority 1 < h6's 2 */
    assert_false(member_by_host(p, "h6:27017")->demoted);
    assert_false(member_by_host(p, "h7:27017")->demoted);
    const bson_t *nc = recover_plan_new_config(p);
    assert_int_equal(count_members(nc), 4);
    assert_int_equal(int_at(nc, "members.1._id"), 5);
    assert_int_equal(int_at(nc, "members.1.votes"), 0);
    assert_true(double_at(nc, "members.1.priority") == 0.0);
    assert_int_equal(type_at(nc, "members.1.priority"), BSON_TYPE_DOUBLE);
    json_t *j = recover_plan_to_json(p);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "votes"), "after")), 3);
    json_decref(j);
    recover_plan_destroy(&p);
}

/* 4+3 losing 4: three voters remain, odd, nobody is demoted. */
static void test_odd_voters_nobody_demoted(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"west", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 1, false},
                    {"east", 1, 1, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, DOWN, SEC(4, 70), SEC(4, 30), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 7), mk_config("rs0", cfg, 7));
    assert_true(recover_plan_ok(p));
    const recover_member_t *m;
    size_t n = recover_plan_members(p, &m);
    for (size_t i = 0; i < n; i++)
        assert_false(m[i].demoted);
    assert_int_equal(count_members(recover_plan_new_config(p)), 3);
    recover_plan_destroy(&p);
}

/* The demoted member is never an arbiter (arbiters must vote) nor an already
 * non-voting member: here the only candidate is h3. */
static void test_even_voters_skip_arbiters_and_non_voters(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"east", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 0, true},
                    {"east", 0, 0, false}, {"west", 1, 1, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 60), SEC(4, 70), {'A', 0, 0, 0}, SEC(4, 10), DOWN};
    /* reachable voters h3, h4, h5(arbiter) = 3 of 7: odd, nobody demoted */
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 8), mk_config("rs0", cfg, 8));
    assert_true(recover_plan_ok(p));
    assert_false(member_by_host(p, "h3:27017")->demoted);
    recover_plan_destroy(&p);

    /* h6 gets a vote: reachable voters h3, h4, h5 (arbiter), h6 = 4 of 8, even;
     * the arbiter is never picked, h6 (least fresh data-bearing) is */
    cfg[6].votes = 1;
    cfg[6].priority = 1;
    p = plan_ok_or_refused(mk_view("rs0", 4, v, 8), mk_config("rs0", cfg, 8));
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    assert_true(member_by_host(p, "h6:27017")->demoted);
    assert_false(member_by_host(p, "h5:27017")->demoted);
    recover_plan_destroy(&p);
}

/* ---- the new config ------------------------------------------------------- */

/* Every field but version and members, and every field of every kept member,
 * comes through unchanged and in order: settings, tags, hidden, priority,
 * arbiterOnly, buildIndexes, secondaryDelaySecs, horizons, fields quorate does
 * not know. */
static void test_new_config_preserves_every_other_field(void **state)
{
    (void)state;
    const char *config =
        "{\"_id\": \"rs0\", \"version\": {\"$numberInt\": \"41\"}, \"term\": {\"$numberInt\": "
        "\"9\"},"
        " \"protocolVersion\": {\"$numberLong\": \"1\"},"
        " \"writeConcernMajorityJournalDefault\": true, \"futureField\": {\"x\": [1, 2.5]},"
        " \"members\": ["
        "  {\"_id\": 0, \"host\": \"w1:27017\", \"priority\": 2.0, \"votes\": 1, \"tags\": "
        "{\"dc\": \"west\"}},"
        "  {\"_id\": 1, \"host\": \"w2:27017\", \"votes\": 1, \"tags\": {\"dc\": \"west\"}},"
        "  {\"_id\": 2, \"host\": \"w3:27017\", \"votes\": 1, \"tags\": {\"dc\": \"west\"}},"
        "  {\"_id\": 5, \"host\": \"e1:27017\", \"arbiterOnly\": false, \"buildIndexes\": true,"
        "   \"hidden\": false, \"priority\": {\"$numberDouble\": \"1.5\"}, \"tags\": {\"dc\": "
        "\"east\","
        "   \"rack\": \"e-r2\", \"ssd\": \"yes\"}, \"secondaryDelaySecs\": {\"$numberLong\": "
        "\"0\"},"
        "   \"votes\": 1, \"horizons\": {\"outside\": \"e1.example.com:27017\"}},"
        "  {\"_id\": 6, \"host\": \"e2:27017\", \"arbiterOnly\": false, \"buildIndexes\": false,"
        "   \"hidden\": true, \"priority\": 0, \"tags\": {\"dc\": \"east\"},"
        "   \"secondaryDelaySecs\": {\"$numberLong\": \"3600\"}, \"votes\": 0},"
        "  {\"_id\": 7, \"host\": \"e3:27017\", \"arbiterOnly\": true, \"votes\": 1,"
        "   \"priority\": 0, \"tags\": {}}"
        " ],"
        " \"settings\": {\"chainingAllowed\": false, \"heartbeatTimeoutSecs\": 10,"
        "  \"electionTimeoutMillis\": {\"$numberLong\": \"12000\"}, \"catchUpTimeoutMillis\": -1,"
        "  \"getLastErrorModes\": {}, \"getLastErrorDefaults\": {\"w\": 1, \"wtimeout\": 0},"
        "  \"replicaSetId\": {\"$oid\": \"6564a0f3c2b1a9e8d7f60512\"}}}";
    const char *status =
        "{\"set\": \"rs0\", \"myState\": 2, \"ok\": 1, \"members\": ["
        " {\"_id\": 0, \"name\": \"w1:27017\", \"health\": 0.0, \"state\": 8},"
        " {\"_id\": 1, \"name\": \"w2:27017\", \"health\": 0.0, \"state\": 8},"
        " {\"_id\": 2, \"name\": \"w3:27017\", \"health\": 0.0, \"state\": 8},"
        " {\"_id\": 5, \"name\": \"e1:27017\", \"health\": 1.0, \"state\": 2, \"self\": true,"
        "  \"optime\": {\"ts\": {\"$timestamp\": {\"t\": 1795633208, \"i\": 2}}, \"t\": 9}},"
        " {\"_id\": 6, \"name\": \"e2:27017\", \"health\": 1.0, \"state\": 2,"
        "  \"optime\": {\"ts\": {\"$timestamp\": {\"t\": 1795629608, \"i\": 1}}, \"t\": 9}},"
        " {\"_id\": 7, \"name\": \"e3:27017\", \"health\": 1.0, \"state\": 7}]}";
    bson_t *old = NULL;
    qr_err_t err;
    assert_int_equal(recover_parse_config(config, strlen(config), &old, &err), 0);
    recover_plan_t *p = NULL;
    assert_int_equal(plan_texts(status, strlen(status), config, strlen(config), &p, &err), 0);
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "e1:27017");
    const bson_t *nc = recover_plan_new_config(p);
    /* voters left: e1 and the arbiter e3 (e2 has no vote) = 2, even, but the
     * only other voter is an arbiter: nothing can be demoted, a warning says so */
    const char *const *w;
    size_t nw = recover_plan_warnings(p, &w);
    assert_true(any_contains(w, nw, "even"));

    /* top level: same keys in the same order, same values, except version */
    bson_iter_t a, b;
    assert_true(bson_iter_init(&a, old) && bson_iter_init(&b, nc));
    while (bson_iter_next(&a)) {
        assert_true(bson_iter_next(&b));
        assert_string_equal(bson_iter_key(&a), bson_iter_key(&b));
        if (strcmp(bson_iter_key(&a), "members") == 0)
            continue;
        if (strcmp(bson_iter_key(&a), "version") == 0) {
            assert_int_equal(bson_iter_type(&b), BSON_TYPE_INT32);
            assert_int_equal(bson_iter_int32(&b), 42);
            continue;
        }
        const bson_value_t *va = bson_iter_value(&a), *vb = bson_iter_value(&b);
        assert_int_equal(va->value_type, vb->value_type);
        if (BSON_ITER_HOLDS_DOCUMENT(&a)) {
            uint32_t la, lb;
            const uint8_t *da, *db;
            bson_iter_document(&a, &la, &da);
            bson_iter_document(&b, &lb, &db);
            assert_int_equal(la, lb);
            assert_memory_equal(da, db, la);
        }
    }
    assert_false(bson_iter_next(&b));

    /* members: old 3, 4, 5 (e1, e2, e3) byte for byte */
    assert_int_equal(count_members(nc), 3);
    for (size_t i = 0; i < 3; i++) {
        bson_t om, nm;
        config_member(old, 3 + i, &om);
        config_member(nc, i, &nm);
        assert_true(bson_equal(&om, &nm));
    }
    assert_int_equal(type_at(nc, "members.1.secondaryDelaySecs"), BSON_TYPE_INT64);
    assert_int_equal(int_at(nc, "members.1.secondaryDelaySecs"), 3600);
    assert_int_equal(type_at(nc, "settings.replicaSetId"), BSON_TYPE_OID);
    assert_int_equal(type_at(nc, "settings.electionTimeoutMillis"), BSON_TYPE_INT64);
    bson_destroy(old);
    recover_plan_destroy(&p);
}

/* A long version stays a long; a demoted member without explicit votes and
 * priority gets both, set to 0. */
static void test_version_raise_keeps_long_and_demotion_adds_fields(void **state)
{
    (void)state;
    const char *config =
        "{\"_id\": \"rs0\", \"version\": {\"$numberLong\": \"100000\"}, \"members\": ["
        " {\"_id\": 0, \"host\": \"w1:27017\"}, {\"_id\": 1, \"host\": \"w2:27017\"},"
        " {\"_id\": 2, \"host\": \"w3:27017\"}, {\"_id\": 3, \"host\": \"e1:27017\"},"
        " {\"_id\": 4, \"host\": \"e2:27017\"}]}";
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 40)};
    json_t *view = mk_view("rs0", 3, v, 5);
    /* mk_view names members h<i>; rename to this config's hosts */
    const char *hosts[] = {"w1:27017", "w2:27017", "w3:27017", "e1:27017", "e2:27017"};
    for (size_t i = 0; i < 5; i++)
        json_object_set_new(json_array_get(json_object_get(view, "members"), i), "name",
                            json_string(hosts[i]));
    char *s = json_dumps(view, 0);
    json_decref(view);
    recover_plan_t *p;
    qr_err_t err;
    assert_int_equal(plan_texts(s, strlen(s), config, strlen(config), &p, &err), 0);
    free(s);
    assert_true(recover_plan_ok(p));
    const bson_t *nc = recover_plan_new_config(p);
    assert_int_equal(type_at(nc, "version"), BSON_TYPE_INT64);
    assert_int_equal(int_at(nc, "version"), 100001);
    assert_int_equal(recover_plan_new_version(p), 100001);
    assert_int_equal(int_at(nc, "members.1._id"), 4);
    assert_int_equal(int_at(nc, "members.1.votes"), 0);
    assert_true(double_at(nc, "members.1.priority") == 0.0);
    /* the target's member document is copied as it was: no votes field added */
    bson_iter_t it, d;
    assert_true(bson_iter_init(&it, nc));
    assert_false(bson_iter_find_descendant(&it, "members.0.votes", &d));
    /* the untagged removed members: no DC for --confirm-down */
    const char *dc;
    assert_int_equal(recover_plan_removed_dc(p, &dc, &err), QR_ENOTFOUND);
    recover_plan_destroy(&p);
}

/* The Extended JSON printed for new_config reads back (libbson, as mongosh
 * and libmongoc do) into exactly the same BSON: int stays int, long long,
 * double double, Timestamp, ObjectId, dates. */
static void test_new_config_ejson_round_trips_types(void **state)
{
    (void)state;
    recover_plan_t *p =
        plan_fixtures("status-lost-west.ai4.canonical.json", "config-3+2.canonical.json");
    const bson_t *nc = recover_plan_new_config(p);
    json_t *j = recover_bson_to_ejson(nc);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    bson_error_t be;
    bson_t *back = bson_new_from_json((const uint8_t *)text, -1, &be);
    assert_non_null(back);
    assert_true(bson_equal(back, nc));
    /* and for types a config may carry that the fixture has not */
    const char *odd =
        "{\"ts\": {\"$timestamp\": {\"t\": 1795633208, \"i\": 3}},"
        " \"d\": {\"$date\": \"2026-11-25T19:00:08.120Z\"},"
        " \"old\": {\"$date\": {\"$numberLong\": \"-5000\"}},"
        " \"l\": {\"$numberLong\": \"5\"}, \"big\": {\"$numberLong\": \"9007199254740993\"},"
        " \"dbl\": {\"$numberDouble\": \"2.0\"}, \"nan\": {\"$numberDouble\": \"NaN\"},"
        " \"bin\": {\"$binary\": {\"base64\": \"AAEC\", \"subType\": \"04\"}},"
        " \"dec\": {\"$numberDecimal\": \"1.10\"}, \"n\": null, \"arr\": [1, \"x\", {}]}";
    bson_t *src = bson_new_from_json((const uint8_t *)odd, -1, &be);
    assert_non_null(src);
    json_t *j2 = recover_bson_to_ejson(src);
    char *t2 = json_dumps(j2, JSON_COMPACT);
    bson_t *back2 = bson_new_from_json((const uint8_t *)t2, -1, &be);
    assert_non_null(back2);
    assert_true(bson_equal(back2, src));
    /* longs are explicit, ints plain: what keeps them apart */
    assert_non_null(strstr(text, "\"protocolVersion\":{\"$numberLong\":\"1\"}"));
    assert_non_null(strstr(text, "\"version\":8,"));
    bson_destroy(back2);
    bson_destroy(src);
    free(t2);
    json_decref(j2);
    bson_destroy(back);
    free(text);
    json_decref(j);
    recover_plan_destroy(&p);
}

/* ---- evidence, data centres, warnings ------------------------------------ */

/* Evidence lists every member with how each view sees it. */
static void test_evidence_has_health_and_optime_per_view(void **state)
{
    (void)state;
    recover_plan_t *p =
        plan_fixtures("status-lost-west.both.relaxed.json", "config-3+2.canonical.json");
    json_t *j = recover_plan_to_json(p);
    json_t *ev = json_object_get(j, "evidence");
    assert_int_equal(json_array_size(ev), 5);
    json_t *ai1 = json_array_get(ev, 0);
    assert_string_equal(json_string_value(json_object_get(ai1, "host")), "ai1:27017");
    assert_string_equal(json_string_value(json_object_get(ai1, "dc")), "west");
    json_t *views = json_object_get(ai1, "views");
    assert_int_equal(json_array_size(views), 2);
    json_t *seen = json_array_get(views, 0);
    assert_string_equal(json_string_value(json_object_get(seen, "view")), "ai4:27017");
    assert_true(json_number_value(json_object_get(seen, "health")) == 0);
    assert_true(json_is_null(json_object_get(seen, "optime")));
    assert_true(json_number_value(json_object_get(seen, "down_seconds")) == 15.5);
    assert_non_null(
        strstr(json_string_value(json_object_get(seen, "message")), "No route to host"));
    json_t *ai4 = json_array_get(ev, 3);
    json_t *self = json_array_get(json_object_get(ai4, "views"), 0);
    assert_true(json_is_true(json_object_get(self, "self")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(self, "optime"), "term")),
                     4);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(self, "optime"), "ts"), "t")),
                     1795633208);
    json_decref(j);
    recover_plan_destroy(&p);
}

/* Removed members in two data centres: no single DC for --confirm-down, and
 * a warning says this is not one site's loss. */
static void test_removed_members_in_two_dcs(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false},
                    {"south", 1, 1, false},
                    {"west", 1, 1, false},
                    {"east", 1, 1, false},
                    {"east", 1, 1, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 40)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 3, v, 5), mk_config("rs0", cfg, 5));
    const char *dc;
    qr_err_t err;
    assert_int_equal(recover_plan_removed_dc(p, &dc, &err), QR_ECONFLICT);
    const char *const *w;
    size_t n = recover_plan_warnings(p, &w);
    assert_true(any_contains(w, n, "more than one data centre"));
    recover_plan_destroy(&p);
}

/* The fixture's write concern mode {bothDCs: {dc: 2}} cannot be met by the
 * east-only config: the plan warns. */
static void test_warns_unsatisfiable_write_concern_mode(void **state)
{
    (void)state;
    recover_plan_t *p =
        plan_fixtures("status-lost-west.ai4.canonical.json", "config-3+2.canonical.json");
    const char *const *w;
    size_t n = recover_plan_warnings(p, &w);
    assert_true(any_contains(w, n, "write concern mode 'bothDCs' needs 2 distinct tags.dc"));
    recover_plan_destroy(&p);
}

/* ---- malformed and mismatched inputs ------------------------------------- */

static void expect_status_parse_error(const char *text)
{
    bson_t **r = NULL;
    size_t n = 99;
    qr_err_t err = {{0}};
    int rc = recover_parse_status(text, strlen(text), &r, &n, &err);
    if (rc != QR_EPARSE)
        fail_msg("status '%s' parsed (rc %d)", text, rc);
    assert_null(r);
    assert_int_equal(n, 0);
    assert_true(err.msg[0] != 0);
}

static void test_malformed_status_text(void **state)
{
    (void)state;
    expect_status_parse_error("");
    expect_status_parse_error("   \n");
    expect_status_parse_error("{\"set\": \"rs0\"");
    expect_status_parse_error("{\"set\": \"rs0\"} trailing");
    expect_status_parse_error("[{\"set\": \"rs0\"}, 5]");
    expect_status_parse_error("[{}] [{}]");
    expect_status_parse_error("\"rs0\"");
    expect_status_parse_error("{\"x\": {\"$timestamp\": {\"t\": -1, \"i\": 0}}}");
    expect_status_parse_error("{\"x\": {\"$date\": \"yesterday\"}}");
    expect_status_parse_error("{\"x\": {\"$numberLong\": \"12a\"}}");
}

/* An empty array is valid input: no views, which refuses (no voter). */
static void test_empty_array_parses_to_no_views(void **state)
{
    (void)state;
    bson_t **r = NULL;
    size_t n = 99;
    qr_err_t err;
    assert_int_equal(recover_parse_status("[ ]", 3, &r, &n, &err), 0);
    assert_int_equal(n, 0);
    recover_replies_free(r, n);
}

static void expect_plan_error(const char *status, const char *config, int code, const char *needle)
{
    recover_plan_t *p = (recover_plan_t *)1;
    qr_err_t err = {{0}};
    int rc = plan_texts(status, strlen(status), config, strlen(config), &p, &err);
    if (rc != code)
        fail_msg("expected %d, got %d (%s) for %s / %s", code, rc, err.msg, status, config);
    assert_null(p);
    if (!strstr(err.msg, needle))
        fail_msg("'%s' does not say '%s'", err.msg, needle);
}

#define CFG2                                                                                       \
    "{\"_id\": \"rs0\", \"version\": 2, \"members\": [{\"_id\": 0, \"host\": \"a:1\"},"            \
    " {\"_id\": 1, \"host\": \"b:1\"}, {\"_id\": 2, \"host\": \"c:1\"}]}"
#define ST_A                                                                                       \
    "{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": \"a:1\", \"health\": 1,"              \
    " \"self\": true}, {\"_id\": 1, \"name\": \"b:1\", \"health\": 0}]}"

static void test_malformed_documents_and_mismatches(void **state)
{
    (void)state;
    expect_plan_error(ST_A, "{\"_id\": \"rs0\", \"version\": 2, \"members\": []}", QR_EINVAL,
                      "no members");
    expect_plan_error(ST_A, "{\"_id\": \"rs0\", \"version\": 2}", QR_EINVAL, "no members");
    expect_plan_error(ST_A, "{\"version\": 2, \"members\": [{\"_id\": 0, \"host\": \"a:1\"}]}",
                      QR_EPARSE, "replica set name");
    expect_plan_error(ST_A, "{\"_id\": \"rs0\", \"members\": [{\"_id\": 0, \"host\": \"a:1\"}]}",
                      QR_EPARSE, "version");
    expect_plan_error(ST_A, "{\"_id\": \"rs0\", \"version\": 2, \"members\": [{\"_id\": 0}]}",
                      QR_EPARSE, "needs _id and host");
    expect_plan_error(ST_A,
                      "{\"_id\": \"rs0\", \"version\": 2, \"members\": [{\"_id\": 0, "
                      "\"host\": \"a:1\"}, {\"_id\": 0, \"host\": \"b:1\"}]}",
                      QR_EPARSE, "twice");
    expect_plan_error(ST_A,
                      "{\"_id\": \"rs0\", \"version\": 2, \"members\": [{\"_id\": 0, "
                      "\"host\": \"a:1\", \"votes\": 7}]}",
                      QR_EPARSE, "votes");
    expect_plan_error(ST_A, "{\"_id\": \"rs0\", \"version\": 2, \"members\": {\"0\": {}}}",
                      QR_EPARSE, "not an array");
    expect_plan_error("{\"set\": \"rs0\", \"members\": []}", CFG2, QR_EPARSE, "empty members");
    expect_plan_error("{\"set\": \"rs0\"}", CFG2, QR_EPARSE, "no members array");
    expect_plan_error("{\"members\": []}", CFG2, QR_EPARSE, "no replica set name");
    expect_plan_error("{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": \"a:1\"}]}", CFG2,
                      QR_EPARSE, "needs _id, name and health");
    expect_plan_error("{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": \"a:1\", "
                      "\"health\": 1, \"optime\": \"yesterday\"}]}",
                      CFG2, QR_EPARSE, "optime");
    expect_plan_error("{\"ok\": 0, \"errmsg\": \"not running with --replSet\", \"code\": 76}", CFG2,
                      QR_EPARSE, "not running with --replSet");
    /* different replica sets: the name, or a host behind a member _id */
    expect_plan_error("{\"set\": \"rs1\", \"members\": [{\"_id\": 0, \"name\": \"a:1\", "
                      "\"health\": 1}]}",
                      CFG2, QR_ECONFLICT, "replica set 'rs1' but the config is for 'rs0'");
    expect_plan_error("{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": \"z:1\", "
                      "\"health\": 1}]}",
                      CFG2, QR_ECONFLICT, "different replica sets");
    expect_plan_error("{\"set\": \"rs0\", \"members\": [{\"_id\": 9, \"name\": \"a:1\", "
                      "\"health\": 1}]}",
                      CFG2, QR_ECONFLICT, "does not have");
    /* the second reply of an array from another set */
    expect_plan_error("[" ST_A ", {\"set\": \"other\", \"members\": [{\"_id\": 1, \"name\": "
                      "\"b:1\", \"health\": 1}]}]",
                      CFG2, QR_ECONFLICT, "status reply 2");
}

/* Hostile shapes never crash: wrong types everywhere are rejected or ignored. */
static void test_hostile_shapes_rejected_cleanly(void **state)
{
    (void)state;
    const char *configs[] = {
        "{\"_id\": 5, \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a\"}]}",
        "{\"_id\": \"rs0\", \"version\": \"1\", \"members\": [{\"_id\": 0, \"host\": \"a\"}]}",
        "{\"_id\": \"rs0\", \"version\": 1.5, \"members\": [{\"_id\": 0, \"host\": \"a\"}]}",
        "{\"_id\": \"rs0\", \"version\": 1, \"members\": [5]}",
        "{\"_id\": \"rs0\", \"version\": 1, \"members\": [{\"_id\": \"x\", \"host\": \"a\"}]}",
        "{\"_id\": \"rs0\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"\"}]}",
        "{\"_id\": \"rs0\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a\", "
        "\"tags\": {\"dc\": 3}}]}",
        "{\"_id\": \"rs0\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a\", "
        "\"priority\": {\"$numberDouble\": \"NaN\"}}]}",
        "{\"_id\": \"rs0\\u0000x\", \"version\": 1, \"members\": [{\"_id\": 0, \"host\": \"a\"}]}",
        "{\"_id\": \"rs0\", \"version\": {\"$numberLong\": \"9223372036854775807\"}, "
        "\"members\": [{\"_id\": 0, \"host\": \"a\"}]}",
        "{\"_id\": \"rs0\", \"version\": 1, \"note\": \"\xff\xfe\", "
        "\"members\": [{\"_id\": 0, \"host\": \"a\"}]}",
    };
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
        recover_plan_t *p = NULL;
        qr_err_t err = {{0}};
        int rc = plan_texts("[]", 2, configs[i], strlen(configs[i]), &p, &err);
        if (rc == 0)
            fail_msg("config %zu accepted: %s", i, configs[i]);
        assert_null(p);
    }
}

/* Extreme but well-typed values (dates at the ends of the range, huge terms
 * and timestamps) give a decision and JSON, no overflow. */
static void test_extreme_values_do_not_overflow(void **state)
{
    (void)state;
    const char *status =
        "{\"set\": \"rs0\", \"date\": {\"$date\": {\"$numberLong\": \"-9223372036854775808\"}},"
        " \"members\": ["
        " {\"_id\": 0, \"name\": \"a:1\", \"health\": 0, \"state\": 8,"
        "  \"lastHeartbeatRecv\": {\"$date\": {\"$numberLong\": \"9223372036854775807\"}},"
        "  \"lastAppliedWallTime\": {\"$date\": {\"$numberLong\": \"9223372036854775807\"}},"
        "  \"optime\": {\"ts\": {\"$timestamp\": {\"t\": 4294967295, \"i\": 4294967295}},"
        "   \"t\": {\"$numberLong\": \"9223372036854775807\"}}},"
        " {\"_id\": 1, \"name\": \"b:1\", \"health\": 0, \"state\": 8},"
        " {\"_id\": 2, \"name\": \"c:1\", \"health\": 1, \"state\": 2, \"self\": true,"
        "  \"lastAppliedWallTime\": {\"$date\": {\"$numberLong\": \"1\"}},"
        "  \"optime\": {\"ts\": {\"$timestamp\": {\"t\": 1, \"i\": 0}},"
        "   \"t\": {\"$numberLong\": \"-9223372036854775808\"}}}]}";
    const char *config = "{\"_id\": \"rs0\", \"version\": 2147483647, \"members\": ["
                         "{\"_id\": 0, \"host\": \"a:1\"}, {\"_id\": 1, \"host\": \"b:1\"},"
                         " {\"_id\": 2, \"host\": \"c:1\"}]}";
    recover_plan_t *p = NULL;
    qr_err_t err;
    assert_int_equal(plan_texts(status, strlen(status), config, strlen(config), &p, &err), 0);
    assert_true(recover_plan_ok(p));
    /* an int32 version at its maximum is raised into a long */
    assert_int_equal(type_at(recover_plan_new_config(p), "version"), BSON_TYPE_INT64);
    assert_int_equal(recover_plan_new_version(p), 2147483648LL);
    json_t *j = recover_plan_to_json(p);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(json_object_get(j, "rollback_risk"), "optime_ahead")));
    json_decref(j);
    recover_plan_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_lost_majority_dc_3_2),
        cmocka_unit_test(test_plan_relaxed_array_matches_canonical_single),
        cmocka_unit_test(test_status_single_reply_equals_one_element_array),
        cmocka_unit_test(test_refuse_primary_in_any_view),
        cmocka_unit_test(test_refuse_reply_with_mystate_primary),
        cmocka_unit_test(test_refuse_member_down_in_one_view_healthy_in_another),
        cmocka_unit_test(test_refuse_own_reply_contradicts_down_view),
        cmocka_unit_test(test_refuse_reachable_voters_hold_majority),
        cmocka_unit_test(test_half_the_votes_is_not_a_majority),
        cmocka_unit_test(test_refuse_no_voting_member_reachable),
        cmocka_unit_test(test_refuse_only_arbiter_reachable),
        cmocka_unit_test(test_target_newest_term_beats_later_timestamp),
        cmocka_unit_test(test_target_later_increment_wins),
        cmocka_unit_test(test_target_tie_higher_priority_wins),
        cmocka_unit_test(test_target_tie_lower_id_wins),
        cmocka_unit_test(test_optime_newest_over_views),
        cmocka_unit_test(test_reply_sees_its_own_member_healthy),
        cmocka_unit_test(test_rollback_risk_in_oplog_time_from_down_member_optime),
        cmocka_unit_test(test_even_voters_least_fresh_demoted),
        cmocka_unit_test(test_odd_voters_nobody_demoted),
        cmocka_unit_test(test_even_voters_skip_arbiters_and_non_voters),
        cmocka_unit_test(test_new_config_preserves_every_other_field),
        cmocka_unit_test(test_version_raise_keeps_long_and_demotion_adds_fields),
        cmocka_unit_test(test_new_config_ejson_round_trips_types),
        cmocka_unit_test(test_evidence_has_health_and_optime_per_view),
        cmocka_unit_test(test_removed_members_in_two_dcs),
        cmocka_unit_test(test_warns_unsatisfiable_write_concern_mode),
        cmocka_unit_test(test_malformed_status_text),
        cmocka_unit_test(test_empty_array_parses_to_no_views),
        cmocka_unit_test(test_malformed_documents_and_mismatches),
        cmocka_unit_test(test_hostile_shapes_rejected_cleanly),
        cmocka_unit_test(test_extreme_values_do_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
