/* Forced recovery's new replica-set config (controller/recover.c): what it
 * keeps of every other field, version and demotion fields, Extended JSON
 * round trips; the evidence per view, data centres and warnings; malformed,
 * mismatched, hostile and extreme inputs. The decision itself:
 * unit/test_recover. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recover.h"
#include "recover_fx.h"

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
