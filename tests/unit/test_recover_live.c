/* The live recovery's pure parts: detection from the agents' reports (no
 * primary + a minority of votes reachable = "read-only: majority DC X lost"),
 * member -> node mapping, the controller's refusals (a removed member's agent
 * still reports = a partition; a survivor's agent did not answer) and the
 * rejoin plan (non-voting first, voters kept odd, rollback warning). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/inventory.h"
#include "controller/recover_live.h"

#define KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

/* A report with one mongod check whose values are values_json. */
static void report(inventory_t *inv, int64_t now, const char *node, const char *dc,
                   const char *addr, const char *values_json)
{
    Quorate__Report rep;
    Quorate__CheckResult c, *pc = &c;
    quorate__report__init(&rep);
    quorate__check_result__init(&c);
    rep.node = (char *)node;
    rep.dc = (char *)dc;
    rep.cycle = 1;
    rep.interval_ms = 1000;
    rep.agent_version = (char *)"0.1.0";
    c.name = (char *)"mongod";
    c.status = QUORATE__STATUS__STATUS_OK;
    c.summary = (char *)"x";
    c.values_json = (char *)values_json;
    rep.checks = &pc;
    rep.n_checks = values_json ? 1 : 0;
    qr_err_t err = {""};
    bool up;
    assert_int_equal(inventory_seen(inv, now, node, dc, KEY, &up, &err), 0);
    assert_int_equal(inventory_report(inv, now, node, &rep, &err), 0);
    inventory_address(inv, node, addr, NULL);
}

/* mongod check values: STATE, PRIMARY-or-null, and five members ai1..ai5
 * (10.0.0.11..15, tags dc east x3, west x2) with the given health string
 * (e.g. "00011": ai4, ai5 healthy); self is `self`. */
static char *values(const char *state, const char *primary, const char *health, int self)
{
    json_t *members = json_array();
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "10.0.0.1%d:27017", i + 1);
        json_array_append_new(members,
                              json_pack("{s:i, s:s, s:i, s:b, s:i, s:i, s:{s:s}}", "_id", i, "name",
                                        name, "health", health[i] == '1', "self", i == self,
                                        "votes", 1, "state", health[i] == '1' ? 2 : 8, "tags",
                                        "dc", i < 3 ? "east" : "west"));
    }
    json_t *v = json_pack("{s:s, s:s, s:o, s:o}", "set_name", "rs0", "state", state, "primary",
                          primary ? json_string(primary) : json_null(), "members", members);
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return text;
}

static inventory_t *five(const char *health_ai4, const char *primary)
{
    inventory_t *inv = inventory_new(2500, 64);
    char *v4 = values(primary ? "SECONDARY" : "SECONDARY", primary, health_ai4, 3);
    char *v5 = values("SECONDARY", primary, health_ai4, 4);
    report(inv, 0, "ai4", "west", "10.0.0.14", v4);
    report(inv, 0, "ai5", "west", "10.0.0.15", v5);
    free(v4);
    free(v5);
    return inv;
}

static void test_detect_none_without_replica_set(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(2500, 64);
    report(inv, 0, "ai1", "east", "10.0.0.11", "{\"hosts\": \"127.0.0.1:27017\"}");
    json_t *d = recover_live_detect(inv);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "none");
    json_decref(d);
    inventory_destroy(&inv);
}

static void test_detect_ok_with_primary(void **state)
{
    (void)state;
    inventory_t *inv = five("11111", "10.0.0.11:27017");
    json_t *d = recover_live_detect(inv);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "ok");
    assert_string_equal(json_string_value(json_object_get(d, "primary")), "10.0.0.11:27017");
    json_decref(d);
    inventory_destroy(&inv);
}

static void test_detect_majority_lost_names_the_dc(void **state)
{
    (void)state;
    inventory_t *inv = five("00011", NULL);
    json_t *d = recover_live_detect(inv);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "majority_lost");
    assert_int_equal(json_integer_value(json_object_get(d, "voters")), 5);
    assert_int_equal(json_integer_value(json_object_get(d, "reachable_voters")), 2);
    assert_int_equal(json_array_size(json_object_get(d, "lost_dcs")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "lost_dcs"), 0)),
                        "east");
    assert_non_null(strstr(json_string_value(json_object_get(d, "summary")),
                           "read-only: majority DC east lost (2 of 5 votes reachable)"));
    json_decref(d);
    inventory_destroy(&inv);
}

static void test_detect_electing_when_majority_reachable(void **state)
{
    (void)state;
    /* ai3 is seen by ai4's view: 3 of 5 voters reachable, an election should follow */
    inventory_t *inv = five("00111", NULL);
    json_t *d = recover_live_detect(inv);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "electing");
    json_decref(d);
    inventory_destroy(&inv);
}

static void test_detect_ignores_down_nodes(void **state)
{
    (void)state;
    inventory_t *inv = five("00011", NULL);
    /* a PRIMARY report from a node that went down is not a primary now */
    char *v1 = values("PRIMARY", "10.0.0.11:27017", "11111", 0);
    report(inv, 0, "ai1", "east", "10.0.0.11", v1);
    free(v1);
    inventory_tick(inv, 3000, NULL, NULL); /* everyone silent: all down */
    json_t *d = recover_live_detect(inv);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "none");
    json_decref(d);
    inventory_destroy(&inv);
}

static void test_node_of_matches_address_then_name(void **state)
{
    (void)state;
    inventory_t *inv = five("00011", NULL);
    report(inv, 0, "db6", "west", "::1", NULL);
    assert_string_equal(recover_live_node_of(inv, "10.0.0.14:27017")->name, "ai4");
    assert_string_equal(recover_live_node_of(inv, "[::1]:27017")->name, "db6");
    assert_string_equal(recover_live_node_of(inv, "ai5:27017")->name, "ai5");
    assert_null(recover_live_node_of(inv, "10.0.0.99:27017"));
    assert_null(recover_live_node_of(inv, NULL));
    inventory_destroy(&inv);
}

/* A plan as recover_plan_to_json shapes it: ok, removing ai1 (east). */
static json_t *plan_removing_ai1(bool tagged)
{
    return json_pack("{s:b, s:[s], s:s?, s:[], s:[{s:s, s:s?, s:b, s:[{s:s, s:b, s:b}]},"
                     "{s:s, s:s?, s:b, s:[{s:s, s:b, s:b}]}]}",
                     "ok", 1, "removed", "10.0.0.11:27017", "removed_dc",
                     tagged ? "east" : NULL, "refused", "evidence", "host", "10.0.0.11:27017",
                     "dc", tagged ? "east" : NULL, "removed", 1, "views", "view",
                     "10.0.0.14:27017", "reported", 1, "healthy", 0, "host", "10.0.0.14:27017",
                     "dc", tagged ? "west" : NULL, "removed", 0, "views", "view",
                     "10.0.0.14:27017", "reported", 1, "healthy", 1);
}

static void test_annotate_refuses_a_removed_member_whose_agent_reports(void **state)
{
    (void)state;
    inventory_t *inv = five("00011", NULL);
    report(inv, 0, "ai1", "east", "10.0.0.11", NULL); /* its agent is alive */
    json_t *plan = plan_removing_ai1(true);
    json_t *asked = json_pack("[s]", "ai4"), *answered = json_pack("[s]", "ai4");
    recover_live_annotate(plan, inv, asked, answered, 1000);
    assert_false(json_is_true(json_object_get(plan, "ok")));
    const char *why = json_string_value(json_array_get(json_object_get(plan, "refused"), 0));
    assert_non_null(why);
    assert_non_null(strstr(why, "a partition, not a loss"));
    json_t *ev0 = json_array_get(json_object_get(plan, "evidence"), 0);
    assert_string_equal(json_string_value(json_object_get(ev0, "node")), "ai1");
    assert_true(json_is_true(json_object_get(json_object_get(ev0, "controller"), "up")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(ev0, "unreachable_from"), 0)),
        "10.0.0.14:27017");
    json_decref(plan);
    json_decref(asked);
    json_decref(answered);
    inventory_destroy(&inv);
}

static void test_annotate_keeps_a_real_loss_and_fills_the_dc(void **state)
{
    (void)state;
    inventory_t *inv = five("00011", NULL);
    report(inv, 0, "ai1", "east", "10.0.0.11", NULL);
    inventory_tick(inv, 2000, NULL, NULL);
    report(inv, 2000, "ai4", "west", "10.0.0.14", NULL);
    report(inv, 2000, "ai5", "west", "10.0.0.15", NULL);
    inventory_tick(inv, 3000, NULL, NULL); /* ai1 silent for 3 s: down */
    json_t *plan = plan_removing_ai1(false);
    json_t *asked = json_pack("[s]", "ai4"), *answered = json_pack("[s]", "ai4");
    recover_live_annotate(plan, inv, asked, answered, 4000);
    assert_true(json_is_true(json_object_get(plan, "ok")));
    assert_string_equal(json_string_value(json_object_get(plan, "removed_dc")), "east");
    json_t *c = json_object_get(json_array_get(json_object_get(plan, "evidence"), 0), "controller");
    assert_false(json_is_true(json_object_get(c, "up")));
    assert_true(json_number_value(json_object_get(c, "down_for_s")) >= 0.9);
    json_decref(plan);
    json_decref(asked);
    json_decref(answered);
    inventory_destroy(&inv);
}

static void test_annotate_refuses_when_a_survivor_did_not_answer(void **state)
{
    (void)state;
    inventory_t *inv = five("00011", NULL);
    json_t *plan = plan_removing_ai1(true);
    json_t *asked = json_pack("[s, s]", "ai4", "ai5"), *answered = json_array();
    recover_live_annotate(plan, inv, asked, answered, 1000);
    assert_false(json_is_true(json_object_get(plan, "ok")));
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(plan, "refused"), 0)),
                           "did not answer"));
    assert_int_equal(json_array_size(json_object_get(plan, "no_answer")), 2);
    json_decref(plan);
    json_decref(asked);
    json_decref(answered);
    inventory_destroy(&inv);
}

static json_t *audit_removed(int n)
{
    json_t *removed = json_array();
    for (int i = 0; i < n; i++) {
        char h[32];
        snprintf(h, sizeof h, "10.0.0.1%d:27017", i + 1);
        json_array_append_new(removed, json_pack("{s:s, s:s}", "host", h, "dc", "east"));
    }
    return json_pack("[{s:s, s:b, s:o}]", "event", "recover_reconfig", "ok", 1, "removed",
                     removed);
}

/* The survivors' config after the force: ai4, ai5 (canonical Extended JSON). */
static json_t *config_after(void)
{
    return json_pack("{s:s, s:{s:s}, s:[{s:{s:s}, s:s, s:{s:s}}, {s:{s:s}, s:s, s:{s:s}}]}", "_id",
                     "rs0", "version", "$numberInt", "10004", "members", "_id", "$numberInt",
                     "3", "host", "10.0.0.14:27017", "votes", "$numberInt", "1", "_id",
                     "$numberInt", "4", "host", "10.0.0.15:27017", "votes", "$numberInt", "1");
}

static void test_rejoin_adds_back_non_voting_then_odd_voters(void **state)
{
    (void)state;
    inventory_t *inv = five("11111", "10.0.0.14:27017");
    for (int i = 1; i <= 3; i++) {
        char node[8], addr[16];
        snprintf(node, sizeof node, "ai%d", i);
        snprintf(addr, sizeof addr, "10.0.0.1%d", i);
        report(inv, 0, node, "east", addr, NULL);
    }
    json_t *audit = audit_removed(3), *cfg = config_after();
    json_t *r = recover_live_rejoin(inv, audit, cfg, "10.0.0.14:27017");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_array_size(json_object_get(r, "returning")), 3);
    json_t *steps = json_object_get(r, "steps");
    assert_int_equal(json_array_size(steps), 2);
    const char *add = json_string_value(json_object_get(json_array_get(steps, 0), "mongosh"));
    /* new _ids after the highest (4), votes 0, priority 0, a normal reconfig */
    assert_non_null(strstr(add, "{_id: 5, host: \"10.0.0.11:27017\", votes: 0, priority: 0}"));
    assert_non_null(strstr(add, "_id: 7"));
    assert_null(strstr(add, "force"));
    /* 2 voters + 3 back = 5: all three get their votes */
    const char *vote = json_string_value(json_object_get(json_array_get(steps, 1), "mongosh"));
    assert_non_null(strstr(vote, "10.0.0.13:27017\"); m.votes = 1"));
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "warnings"), 0)),
                           "rollback"));
    json_decref(r);
    json_decref(audit);
    json_decref(cfg);
    inventory_destroy(&inv);
}

static void test_rejoin_keeps_voters_odd_and_waits_for_absent_hosts(void **state)
{
    (void)state;
    inventory_t *inv = five("11111", "10.0.0.14:27017");
    report(inv, 0, "ai1", "east", "10.0.0.11", NULL); /* only ai1 and ai2 are back */
    report(inv, 0, "ai2", "east", "10.0.0.12", NULL);
    json_t *audit = audit_removed(3), *cfg = config_after();
    json_t *r = recover_live_rejoin(inv, audit, cfg, "10.0.0.14:27017");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_array_size(json_object_get(r, "returning")), 2);
    assert_int_equal(json_array_size(json_object_get(r, "not_back")), 1);
    /* 2 voters + 2 back = 4 (even): only one gets its vote */
    const char *vote = json_string_value(
        json_object_get(json_array_get(json_object_get(r, "steps"), 1), "mongosh"));
    assert_non_null(strstr(vote, "10.0.0.11:27017"));
    assert_null(strstr(vote, "10.0.0.12:27017"));
    json_decref(r);
    json_decref(audit);
    json_decref(cfg);
    inventory_destroy(&inv);
}

static void test_rejoin_refuses_without_recovery_or_primary(void **state)
{
    (void)state;
    inventory_t *inv = five("11111", "10.0.0.14:27017");
    json_t *cfg = config_after(), *empty = json_array(), *audit = audit_removed(3);
    json_t *r = recover_live_rejoin(inv, empty, cfg, "10.0.0.14:27017");
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "refused"), 0)),
                           "no forced recovery"));
    json_decref(r);
    r = recover_live_rejoin(inv, audit, NULL, NULL);
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "refused"), 0)),
                           "no primary"));
    json_decref(r);
    json_decref(cfg);
    json_decref(empty);
    json_decref(audit);
    inventory_destroy(&inv);
}

static void test_ejson_int_forms(void **state)
{
    (void)state;
    json_t *a = json_integer(7), *b = json_pack("{s:s}", "$numberInt", "8"),
           *c = json_pack("{s:s}", "$numberLong", "9000000000"),
           *d = json_pack("{s:s}", "$numberDouble", "2.0"), *e = json_string("x");
    assert_int_equal(recover_live_ejson_int(a, -1), 7);
    assert_int_equal(recover_live_ejson_int(b, -1), 8);
    assert_true(recover_live_ejson_int(c, -1) == 9000000000LL);
    assert_int_equal(recover_live_ejson_int(d, -1), 2);
    assert_int_equal(recover_live_ejson_int(e, -1), -1);
    assert_int_equal(recover_live_ejson_int(NULL, 1), 1);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_none_without_replica_set),
        cmocka_unit_test(test_detect_ok_with_primary),
        cmocka_unit_test(test_detect_majority_lost_names_the_dc),
        cmocka_unit_test(test_detect_electing_when_majority_reachable),
        cmocka_unit_test(test_detect_ignores_down_nodes),
        cmocka_unit_test(test_node_of_matches_address_then_name),
        cmocka_unit_test(test_annotate_refuses_a_removed_member_whose_agent_reports),
        cmocka_unit_test(test_annotate_keeps_a_real_loss_and_fills_the_dc),
        cmocka_unit_test(test_annotate_refuses_when_a_survivor_did_not_answer),
        cmocka_unit_test(test_rejoin_adds_back_non_voting_then_odd_voters),
        cmocka_unit_test(test_rejoin_keeps_voters_odd_and_waits_for_absent_hosts),
        cmocka_unit_test(test_rejoin_refuses_without_recovery_or_primary),
        cmocka_unit_test(test_ejson_int_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
