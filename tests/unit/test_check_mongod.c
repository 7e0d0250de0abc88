/* The mongod check's parsers and evaluator on replies shaped like MongoDB
 * 6's hello / replSetGetStatus / replSetGetConfig (built here as BSON),
 * at the boundaries (lag 10 s vs 11 s, no primary, a member down), hostile
 * replies, and a run against a port where nothing listens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_mongod.h"
#include "check_testlib.h"

typedef struct {
    const char *name;
    int state; /* 1 PRIMARY, 2 SECONDARY, 8 DOWN, ... */
    int health;
    uint32_t optime_s;
    bool self;
} mem_t;

static const char *state_str(int s)
{
    switch (s) {
    case 1:
        return "PRIMARY";
    case 2:
        return "SECONDARY";
    case 3:
        return "RECOVERING";
    case 7:
        return "ARBITER";
    case 8:
        return "(not reachable/healthy)";
    default:
        return "STARTUP";
    }
}

#define T0 1764000000u /* a recent time, seconds */

/* replSetGetStatus as MongoDB 6 answers it (the fields the check reads, with
 * the types the server uses: health a double, optime {ts, t}, dates). */
static bson_t *status_doc(const mem_t *m, int n, int64_t term)
{
    bson_t *d = bson_new();
    int my = 0;
    for (int i = 0; i < n; i++)
        if (m[i].self)
            my = m[i].state;
    BSON_APPEND_UTF8(d, "set", "rs0");
    BSON_APPEND_DATE_TIME(d, "date", (int64_t)T0 * 1000 + 500);
    BSON_APPEND_INT32(d, "myState", my);
    BSON_APPEND_INT64(d, "term", term);
    bson_t arr, mem, ot;
    BSON_APPEND_ARRAY_BEGIN(d, "members", &arr);
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        bson_append_document_begin(&arr, key, -1, &mem);
        BSON_APPEND_INT32(&mem, "_id", i);
        BSON_APPEND_UTF8(&mem, "name", m[i].name);
        BSON_APPEND_DOUBLE(&mem, "health", m[i].health);
        BSON_APPEND_INT32(&mem, "state", m[i].state);
        BSON_APPEND_UTF8(&mem, "stateStr", state_str(m[i].state));
        BSON_APPEND_DOCUMENT_BEGIN(&mem, "optime", &ot);
        BSON_APPEND_TIMESTAMP(&ot, "ts", m[i].health ? m[i].optime_s : 0, m[i].health ? 1 : 0);
        BSON_APPEND_INT64(&ot, "t", m[i].health ? term : -1);
        bson_append_document_end(&mem, &ot);
        BSON_APPEND_DATE_TIME(&mem, "optimeDate", m[i].health ? (int64_t)m[i].optime_s * 1000 : 0);
        if (m[i].self)
            BSON_APPEND_BOOL(&mem, "self", true);
        bson_append_document_end(&arr, &mem);
    }
    bson_append_array_end(d, &arr);
    BSON_APPEND_DOUBLE(d, "ok", 1.0);
    return d;
}

static bson_t *from_json(const char *js)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)js, -1, &e);
    if (!b)
        fail_msg("bad test JSON: %s", e.message);
    return b;
}

static const char *HELLO_PRIMARY =
    "{\"topologyVersion\": {\"processId\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}, "
    "\"counter\": {\"$numberLong\": \"6\"}}, \"hosts\": [\"m1:27017\", \"m2:27017\", "
    "\"m3:27017\"], \"setName\": \"rs0\", \"setVersion\": 3, \"isWritablePrimary\": true, "
    "\"secondary\": false, \"primary\": \"m1:27017\", \"me\": \"m1:27017\", "
    "\"maxWireVersion\": 17, \"ok\": 1.0}";

static const char *CONFIG =
    "{\"config\": {\"_id\": \"rs0\", \"version\": 5, \"term\": {\"$numberLong\": \"7\"}, "
    "\"members\": [{\"_id\": 0, \"host\": \"m1:27017\", \"arbiterOnly\": false, "
    "\"buildIndexes\": true, \"hidden\": false, \"priority\": 2.0, \"tags\": {\"dc\": "
    "\"east\"}, \"secondaryDelaySecs\": {\"$numberLong\": \"0\"}, \"votes\": 1}, "
    "{\"_id\": 1, \"host\": \"m2:27017\", \"priority\": 1, \"votes\": 1, \"tags\": {}}, "
    "{\"_id\": 2, \"host\": \"m3:27017\", \"priority\": 0, \"votes\": 0}]}, \"ok\": 1.0}";

/* Facts as the probe builds them from the three replies. */
static void facts_from(check_mongod_facts_t *f, const char *hello, const mem_t *m, int n)
{
    qr_err_t err;
    check_mongod_facts_init(f);
    snprintf(f->hosts, sizeof f->hosts, "m1:27017");
    bson_t *h = from_json(hello);
    f->hello_rc = check_mongod_parse_hello(h, f, &err);
    assert_int_equal(f->hello_rc, 0);
    bson_destroy(h);
    if (!m)
        return;
    bson_t *s = status_doc(m, n, 7);
    f->status_rc = check_mongod_parse_status(s, f, &err);
    assert_int_equal(f->status_rc, 0);
    bson_destroy(s);
    bson_t *c = from_json(CONFIG);
    f->config_rc = check_mongod_parse_config(c, f, &err);
    assert_int_equal(f->config_rc, 0);
    bson_destroy(c);
}

static void eval(check_mongod_facts_t *f, check_result_t *r)
{
    check_result_init(r, "mongod");
    check_mongod_eval(f, r);
    check_mongod_facts_clear(f);
}

static void test_mongod_primary_with_healthy_set_ok(void **st)
{
    (void)st;
    mem_t m[] = {{"m1:27017", 1, 1, T0, true},
                 {"m2:27017", 2, 1, T0, false},
                 {"m3:27017", 2, 1, T0 - 1, false}};
    check_mongod_facts_t f;
    check_result_t r;
    facts_from(&f, HELLO_PRIMARY, m, 3);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_OK);
    assert_non_null(strstr(r.summary, "PRIMARY of rs0"));
    assert_non_null(strstr(r.summary, "3/3 members healthy"));
    json_t *v = r.values;
    assert_string_equal(json_string_value(json_object_get(v, "state")), "PRIMARY");
    assert_string_equal(json_string_value(json_object_get(v, "set_name")), "rs0");
    assert_string_equal(json_string_value(json_object_get(v, "primary")), "m1:27017");
    assert_int_equal(json_integer_value(json_object_get(v, "term")), 7);
    assert_int_equal(json_integer_value(json_object_get(v, "config_version")), 5);
    assert_int_equal(json_integer_value(json_object_get(v, "config_term")), 7);
    json_t *mem = json_object_get(v, "members");
    assert_int_equal(json_array_size(mem), 3);
    json_t *m0 = json_array_get(mem, 0), *m2 = json_array_get(mem, 2);
    assert_true(json_is_true(json_object_get(m0, "self")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m0, "optime"), "ts")), T0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m0, "optime"), "t")), 7);
    assert_true(json_real_value(json_object_get(m0, "priority")) == 2.0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m0, "tags"), "dc")),
                        "east");
    assert_int_equal(json_integer_value(json_object_get(m2, "votes")), 0);
    assert_true(json_real_value(json_object_get(m2, "lag_s")) == 1.0);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_mongod_secondary_ok(void **st)
{
    (void)st;
    mem_t m[] = {
        {"m1:27017", 2, 1, T0, true}, {"m2:27017", 1, 1, T0, false}, {"m3:27017", 2, 1, T0, false}};
    check_mongod_facts_t f;
    check_result_t r;
    facts_from(&f, HELLO_PRIMARY, m, 3);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_OK);
    assert_non_null(strstr(r.summary, "SECONDARY of rs0"));
    assert_string_equal(json_string_value(json_object_get(r.values, "primary")), "m2:27017");
    check_result_clear(&r);
}

static void test_mongod_lag_boundary_10s_ok_11s_warns(void **st)
{
    (void)st;
    for (int lag = 10; lag <= 11; lag++) {
        mem_t m[] = {{"m1:27017", 1, 1, T0, true},
                     {"m2:27017", 2, 1, T0 - (uint32_t)lag, false},
                     {"m3:27017", 2, 1, T0, false}};
        check_mongod_facts_t f;
        check_result_t r;
        facts_from(&f, HELLO_PRIMARY, m, 3);
        eval(&f, &r);
        if (lag == 10) {
            assert_int_equal(r.status, CHECK_OK);
            assert_reasons(&r, NULL);
        } else {
            assert_int_equal(r.status, CHECK_WARN);
            assert_string_equal(r.summary, "member m2:27017 lags the primary by 11 s");
            assert_reasons(&r, "member_lagging", NULL);
        }
        assert_true(json_real_value(json_object_get(r.values, "max_lag_s")) == lag);
        check_result_clear(&r);
    }
}

static void test_mongod_member_down_warns(void **st)
{
    (void)st;
    mem_t m[] = {
        {"m1:27017", 1, 1, T0, true}, {"m2:27017", 2, 1, T0, false}, {"m3:27017", 8, 0, T0, false}};
    check_mongod_facts_t f;
    check_result_t r;
    facts_from(&f, HELLO_PRIMARY, m, 3);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "member m3:27017 unhealthy, state (not reachable/healthy)");
    /* a down member has no lag figure, not a 1.7e9 s one */
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(r.values, "members"), 2), "lag_s")));
    assert_reasons(&r, "member_down", NULL);
    check_result_clear(&r);
}

static void test_mongod_two_down_and_one_lagging_give_one_reason_each(void **st)
{
    (void)st;
    mem_t m[] = {{"m1:27017", 1, 1, T0, true},
                 {"m2:27017", 8, 0, T0, false},
                 {"m3:27017", 8, 0, T0, false},
                 {"m4:27017", 2, 1, T0 - 30, false}};
    check_mongod_facts_t f;
    check_result_t r;
    facts_from(&f, HELLO_PRIMARY, m, 4);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    /* member names are in the summary, never in the keys */
    assert_reasons(&r, "member_down", "member_lagging", NULL);
    check_result_clear(&r);
}

static void test_mongod_no_primary_fails_read_only(void **st)
{
    (void)st;
    mem_t m[] = {
        {"m1:27017", 2, 1, T0, true}, {"m2:27017", 8, 0, T0, false}, {"m3:27017", 8, 0, T0, false}};
    check_mongod_facts_t f;
    check_result_t r;
    facts_from(&f, HELLO_PRIMARY, m, 3);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "no primary: replica set rs0 read-only"));
    assert_true(json_is_null(json_object_get(r.values, "primary")));
    /* the down members are not listed: no primary is the problem */
    assert_reasons(&r, "no_primary", NULL);
    check_result_clear(&r);
}

static void test_mongod_own_state_recovering_warns(void **st)
{
    (void)st;
    mem_t m[] = {
        {"m1:27017", 3, 1, T0, true}, {"m2:27017", 1, 1, T0, false}, {"m3:27017", 2, 1, T0, false}};
    check_mongod_facts_t f;
    check_result_t r;
    facts_from(&f, HELLO_PRIMARY, m, 3);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "this member is RECOVERING");
    assert_reasons(&r, "self_not_primary_or_secondary", NULL);
    check_result_clear(&r);
}

static void test_mongod_standalone_and_uninitiated_fail(void **st)
{
    (void)st;
    check_mongod_facts_t f;
    check_result_t r;
    facts_from(&f, "{\"isWritablePrimary\": true, \"maxWireVersion\": 17, \"ok\": 1}", NULL, 0);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "not in a replica set"));
    assert_reasons(&r, "not_in_replset", NULL);
    check_result_clear(&r);

    facts_from(&f,
               "{\"isWritablePrimary\": false, \"secondary\": false, \"isreplicaset\": true, "
               "\"ok\": 1}",
               NULL, 0);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "not initiated"));
    assert_reasons(&r, "replset_not_initiated", NULL);
    check_result_clear(&r);
}

static void test_mongod_unreachable_fails(void **st)
{
    (void)st;
    check_mongod_facts_t f;
    check_result_t r;
    check_mongod_facts_init(&f);
    snprintf(f.hosts, sizeof f.hosts, "10.0.0.1:27017");
    f.hello_rc = QR_EUNAVAIL;
    snprintf(f.hello_error, sizeof f.hello_error, "No suitable servers found");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary,
                        "mongod unreachable at 10.0.0.1:27017: No suitable servers found");
    assert_reasons(&r, "unreachable", NULL);
    check_result_clear(&r);
}

/* --- hostile replies ------------------------------------------------------ */

static void test_mongod_malformed_status_rejected(void **st)
{
    (void)st;
    const char *bad[] = {
        "{\"set\": \"rs0\", \"ok\": 1}", /* no members */
        "{\"set\": \"rs0\", \"members\": 5, \"ok\": 1}",
        "{\"set\": 7, \"members\": [], \"ok\": 1}",
        "{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": 12}], \"ok\": 1}",
        "{\"set\": \"rs0\", \"members\": [{\"name\": \"a:1\"}], \"ok\": 1}",
        "{\"set\": \"rs0\", \"members\": [\"m1\"], \"ok\": 1}",
        "{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": \"a:1\", \"optime\": "
        "\"yesterday\"}], \"ok\": 1}",
        "{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": \"a:1\", \"optime\": {\"ts\": 5,"
        " \"t\": 1}}], \"ok\": 1}",
        "{\"set\": \"rs0\", \"members\": [{\"_id\": 0, \"name\": \"a:1\", \"health\": "
        "{\"$numberDouble\": \"NaN\"}}], \"ok\": 1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_mongod_facts_t f;
        qr_err_t err;
        check_mongod_facts_init(&f);
        bson_t *b = from_json(bad[i]);
        if (check_mongod_parse_status(b, &f, &err) != QR_EPARSE)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(f.n_members, 0);
        bson_destroy(b);
    }
    check_mongod_facts_t f;
    qr_err_t err;
    check_mongod_facts_init(&f);
    bson_t *h = from_json("{\"setName\": [\"rs0\"], \"ok\": 1}");
    assert_int_equal(check_mongod_parse_hello(h, &f, &err), QR_EPARSE);
    bson_destroy(h);
    bson_t *c = from_json("{\"config\": {\"version\": \"5\", \"members\": []}, \"ok\": 1}");
    assert_int_equal(check_mongod_parse_config(c, &f, &err), QR_EPARSE);
    bson_destroy(c);
    assert_int_equal(check_mongod_parse_status(NULL, &f, &err), QR_EPARSE);
}

static void test_mongod_too_many_members_rejected(void **st)
{
    (void)st;
    static mem_t m[CHECK_MONGOD_MAX_MEMBERS + 1];
    static char names[CHECK_MONGOD_MAX_MEMBERS + 1][32];
    for (int i = 0; i <= CHECK_MONGOD_MAX_MEMBERS; i++) {
        snprintf(names[i], sizeof names[i], "m%d:27017", i);
        m[i] = (mem_t){names[i], i ? 2 : 1, 1, T0, i == 0};
    }
    check_mongod_facts_t f;
    qr_err_t err;
    check_mongod_facts_init(&f);
    bson_t *s = status_doc(m, CHECK_MONGOD_MAX_MEMBERS + 1, 3);
    assert_int_equal(check_mongod_parse_status(s, &f, &err), QR_ETOOBIG);
    assert_int_equal(f.n_members, 0);
    bson_destroy(s);
    s = status_doc(m, CHECK_MONGOD_MAX_MEMBERS, 3);
    assert_int_equal(check_mongod_parse_status(s, &f, &err), 0);
    assert_int_equal(f.n_members, CHECK_MONGOD_MAX_MEMBERS);
    bson_destroy(s);
    check_mongod_facts_clear(&f);
}

/* Every value of real-shaped replies replaced in turn by each BSON-able JSON
 * type (through canonical Extended JSON): the parsers accept or refuse, the
 * evaluator always answers. ASan/UBSan watch for the rest. */
typedef struct {
    int which; /* 0 hello, 1 status, 2 config */
    bson_t *hello, *status, *config;
    size_t tried;
} mut_t;

static void try_mutation(json_t *root, mut_t *m)
{
    char *js = json_dumps(root, JSON_COMPACT);
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)js, -1, &e);
    free(js);
    if (!b)
        return; /* e.g. a broken {"$timestamp": ...} wrapper: not BSON at all */
    m->tried++;
    check_mongod_facts_t *f = calloc(1, sizeof *f);
    qr_err_t err;
    check_mongod_facts_init(f);
    f->hello_rc = check_mongod_parse_hello(m->which == 0 ? b : m->hello, f, &err);
    f->status_rc = check_mongod_parse_status(m->which == 1 ? b : m->status, f, &err);
    f->config_rc = check_mongod_parse_config(m->which == 2 ? b : m->config, f, &err);
    assert_true(f->hello_rc <= 0 && f->status_rc <= 0 && f->config_rc <= 0);
    check_result_t r;
    check_result_init(&r, "mongod");
    check_mongod_eval(f, &r);
    assert_true(r.summary[0] != '\0');
    check_result_clear(&r);
    check_mongod_facts_clear(f);
    free(f);
    bson_destroy(b);
}

static void mutate_all(json_t *root, json_t *node, mut_t *m)
{
    json_t *kinds[] = {json_null(),   json_integer(-7), json_string("x"), json_array(),
                       json_object(), json_true(),      json_real(1e300)};
    int n = (int)(sizeof kinds / sizeof kinds[0]);
    const char *k;
    json_t *v;
    void *tmp;
    size_t i;
    if (json_is_object(node)) {
        json_object_foreach_safe(node, tmp, k, v) {
            json_t *saved = json_incref(v);
            for (int j = 0; j < n; j++) {
                json_object_set(node, k, kinds[j]);
                try_mutation(root, m);
            }
            json_object_set_new(node, k, saved);
            mutate_all(root, saved, m);
        }
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v) {
            json_t *saved = json_incref(v);
            for (int j = 0; j < n; j++) {
                json_array_set(node, i, kinds[j]);
                try_mutation(root, m);
            }
            json_array_set_new(node, i, saved);
            mutate_all(root, saved, m);
        }
    }
    for (int j = 0; j < n; j++)
        json_decref(kinds[j]);
}

static json_t *to_json(const bson_t *b)
{
    char *s = bson_as_canonical_extended_json(b, NULL);
    json_t *j = json_loads(s, 0, NULL);
    bson_free(s);
    assert_non_null(j);
    return j;
}

static void test_mongod_type_confusion_in_any_field_never_crashes(void **st)
{
    (void)st;
    mem_t m3[] = {{"m1:27017", 1, 1, T0, true},
                  {"m2:27017", 2, 1, T0 - 12, false},
                  {"m3:27017", 8, 0, T0, false}};
    mut_t m = {0, from_json(HELLO_PRIMARY), status_doc(m3, 3, 7), from_json(CONFIG), 0};
    bson_t *docs[] = {m.hello, m.status, m.config};
    for (int w = 0; w < 3; w++) {
        json_t *j = to_json(docs[w]);
        m.which = w;
        mutate_all(j, j, &m);
        json_decref(j);
    }
    print_message("%zu mutated replies parsed and evaluated\n", m.tried);
    assert_true(m.tried > 500);
    bson_destroy(m.hello);
    bson_destroy(m.status);
    bson_destroy(m.config);
}

static void test_mongod_client_rejects_bad_uri_and_command(void **st)
{
    (void)st;
    agent_conf_t conf;
    memset(&conf, 0, sizeof conf);
    conf.mongo_uri = "http://not-mongo/";
    mongoc_client_t *c = NULL;
    qr_err_t err;
    assert_int_equal(check_mongod_client_new(&conf, &c, &err), QR_EINVAL);
    assert_null(c);
    conf.mongo_uri = "mongodb://127.0.0.1:1/";
    assert_int_equal(check_mongod_client_new(&conf, &c, &err), 0);
    char *reply = NULL;
    assert_int_equal(check_mongod_command_json(c, "admin", "{not json", &reply, &err), QR_EPARSE);
    assert_null(reply);
    mongoc_client_destroy(c);
}

static void test_mongod_run_nothing_listening_fails_fast(void **st)
{
    (void)st;
    agent_conf_t conf;
    memset(&conf, 0, sizeof conf);
    conf.mongo_uri = "mongodb://127.0.0.1:1/";
    conf.mongo_timeout_ms = 300;
    void *state = NULL;
    check_result_t r;
    check_result_init(&r, "mongod");
    check_mongod_run(&conf, &state, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "mongod unreachable at 127.0.0.1:1"));
    assert_null(state); /* rebuilt next cycle */
    check_result_clear(&r);
    check_mongod_state_free(state);
}

/* A member that accepts connections and never answers (hung mongod): the
 * run ends after the configured timeout with a failure, it does not hang. */
static void test_mongod_run_silent_server_fails_within_timeout(void **st)
{
    (void)st;
    int port;
    int fd = loopback_bound_socket(&port);
    assert_int_equal(listen(fd, 8), 0); /* the kernel accepts; nobody reads */
    char uri[64];
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", port);
    agent_conf_t conf;
    memset(&conf, 0, sizeof conf);
    conf.mongo_uri = uri;
    conf.mongo_timeout_ms = 300;
    void *state = NULL;
    check_result_t r;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    check_result_init(&r, "mongod");
    check_mongod_run(&conf, &state, &r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "mongod unreachable"));
    assert_true(ms < 3000);
    print_message("silent member: %s (%.0f ms)\n", r.summary, ms);
    check_result_clear(&r);
    check_mongod_state_free(state);
    close(fd);
}

static int teardown_all(void **st)
{
    (void)st;
    check_mongod_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mongod_primary_with_healthy_set_ok),
        cmocka_unit_test(test_mongod_secondary_ok),
        cmocka_unit_test(test_mongod_lag_boundary_10s_ok_11s_warns),
        cmocka_unit_test(test_mongod_member_down_warns),
        cmocka_unit_test(test_mongod_two_down_and_one_lagging_give_one_reason_each),
        cmocka_unit_test(test_mongod_no_primary_fails_read_only),
        cmocka_unit_test(test_mongod_own_state_recovering_warns),
        cmocka_unit_test(test_mongod_standalone_and_uninitiated_fail),
        cmocka_unit_test(test_mongod_unreachable_fails),
        cmocka_unit_test(test_mongod_malformed_status_rejected),
        cmocka_unit_test(test_mongod_too_many_members_rejected),
        cmocka_unit_test(test_mongod_type_confusion_in_any_field_never_crashes),
        cmocka_unit_test(test_mongod_client_rejects_bad_uri_and_command),
        cmocka_unit_test(test_mongod_run_nothing_listening_fails_fast),
        cmocka_unit_test(test_mongod_run_silent_server_fails_within_timeout),
    };
    check_mongod_global_init();
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
