/* The mongod check and its command helpers against a live member. Skipped
 * unless QR_MONGO_URI is set: tests/integration/test_mongod_check.sh runs it
 * against mock_mongod.py (mode primary), which also answers a test-only
 * {mockStats: 1} with the number of client connections it has seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "check_mongod.h"

static const char *uri;

static json_t *command(const char *cmd, int *rc)
{
    agent_conf_t conf;
    memset(&conf, 0, sizeof conf);
    conf.mongo_uri = (char *)uri;
    mongoc_client_t *c = NULL;
    qr_err_t err;
    assert_int_equal(check_mongod_client_new(&conf, &c, &err), 0);
    char *reply = NULL;
    *rc = check_mongod_command_json(c, "admin", cmd, &reply, &err);
    json_t *j = reply ? json_loads(reply, 0, NULL) : NULL;
    bson_free(reply);
    mongoc_client_destroy(c);
    return j;
}

static void test_live_check_reuses_one_connection_across_runs(void **st)
{
    (void)st;
    if (!uri)
        skip();
    agent_conf_t conf;
    memset(&conf, 0, sizeof conf);
    conf.mongo_uri = (char *)uri;
    conf.mongo_timeout_ms = 1000;
    void *state = NULL;
    int rc;
    json_t *before = command("{\"mockStats\": 1}", &rc);
    assert_int_equal(rc, 0);
    json_int_t n0 = json_integer_value(json_object_get(before, "connections"));
    for (int i = 0; i < 10; i++) {
        check_result_t r;
        check_result_init(&r, "mongod");
        check_mongod_run(&conf, &state, &r);
        if (r.status != CHECK_OK)
            fail_msg("run %d: %s", i, r.summary);
        check_result_clear(&r);
    }
    json_t *after = command("{\"mockStats\": 1}", &rc);
    /* ten cycles: one connection for the check, one more for this query */
    assert_int_equal(json_integer_value(json_object_get(after, "connections")), n0 + 2);
    /* ... and the config read once: hello's setVersion and the term did not change */
    json_t *c0 = json_object_get(before, "commands"), *c1 = json_object_get(after, "commands");
    /* (at least: the driver's own monitoring may add a hello) */
    assert_true(json_integer_value(json_object_get(c1, "hello")) -
                    json_integer_value(json_object_get(c0, "hello")) >=
                10);
    assert_int_equal(json_integer_value(json_object_get(c1, "replsetgetstatus")) -
                         json_integer_value(json_object_get(c0, "replsetgetstatus")),
                     10);
    assert_int_equal(json_integer_value(json_object_get(c1, "replsetgetconfig")) -
                         json_integer_value(json_object_get(c0, "replsetgetconfig")),
                     1);
    check_mongod_state_free(state);
    json_decref(before);
    json_decref(after);
}

static void test_live_command_json_returns_reply_and_server_errors(void **st)
{
    (void)st;
    if (!uri)
        skip();
    int rc;
    json_t *cfg = command("{\"replSetGetConfig\": 1}", &rc);
    assert_int_equal(rc, 0);
    json_t *c = json_object_get(cfg, "config");
    assert_string_equal(json_string_value(json_object_get(c, "_id")), "rs0");
    assert_int_equal(json_array_size(json_object_get(c, "members")), 3);
    json_decref(cfg);
    json_t *bad = command("{\"noSuchCommand\": 1}", &rc);
    assert_int_equal(rc, QR_EREFUSED);
    assert_string_equal(json_string_value(json_object_get(bad, "codeName")), "CommandNotFound");
    json_decref(bad);
}

static int teardown_all(void **st)
{
    (void)st;
    check_mongod_global_cleanup();
    return 0;
}

int main(void)
{
    uri = getenv("QR_MONGO_URI");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_check_reuses_one_connection_across_runs),
        cmocka_unit_test(test_live_command_json_returns_reply_and_server_errors),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
