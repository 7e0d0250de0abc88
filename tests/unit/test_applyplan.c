/* applyplan_prepare_remove (decommission): from a live inventory of 5 nodes
 * (3 members, one eligible spare), the departing member's managed labels come
 * off it, its mongo.replica number goes to the spare, every other member keeps
 * its number; an unknown node and a stale inventory are refused. */
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

#include "controller/applyplan.h"
#include "controller/inventory.h"

typedef struct {
    const char *name, *dc, *role, *labels; /* labels: a JSON object */
    bool leader;
} node_t;

/* ai5 has a small data dir: not eligible, so ai1..ai4 hold 3 members and a spare */
static const node_t NODES[] = {
    {"ai1", "east", "manager", "{\"mongo.replica\":\"1\",\"worker\":\"true\"}", true},
    {"ai2", "east", "worker", "{\"mongo.replica\":\"2\",\"worker\":\"true\",\"minio\":\"true\"}",
     false},
    {"ai3", "west", "manager", "{\"mongo.replica\":\"3\",\"worker\":\"true\",\"minio\":\"true\"}",
     false},
    {"ai4", "west", "worker", "{\"worker\":\"true\"}", false},
    {"ai5", "south", "manager", "{}", false},
};
#define N_NODES (sizeof NODES / sizeof NODES[0])

static void report(inventory_t *inv, int64_t now, const node_t *n, const char *docker,
                   const char *disk)
{
    Quorate__Report rep = QUORATE__REPORT__INIT;
    Quorate__CheckResult c[2] = {QUORATE__CHECK_RESULT__INIT, QUORATE__CHECK_RESULT__INIT};
    Quorate__CheckResult *ptrs[2] = {&c[0], &c[1]};
    c[0].name = "docker";
    c[0].summary = "swarm active";
    c[0].values_json = (char *)docker;
    c[1].name = "disk";
    c[1].status = strcmp(n->name, "ai5") == 0 ? QUORATE__STATUS__STATUS_FAIL : 0;
    c[1].summary = "disk";
    c[1].values_json = (char *)disk;
    rep.node = (char *)n->name;
    rep.dc = (char *)n->dc;
    rep.cycle = 1;
    rep.interval_ms = 2000;
    rep.agent_version = "0.1.0";
    rep.checks = ptrs;
    rep.n_checks = 2;
    qr_err_t err = {""};
    bool up = false;
    assert_int_equal(inventory_seen(inv, now, n->name, n->dc, "", &up, &err), 0);
    assert_int_equal(inventory_report(inv, now, n->name, &rep, &err), 0);
}

/* Every node reports at now; the swarm leader's docker check lists them all. */
static inventory_t *lab(int64_t now)
{
    inventory_t *inv = inventory_new(5000, 100);
    json_t *list = json_array();
    for (size_t i = 0; i < N_NODES; i++)
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "hostname", NODES[i].name, "role",
                      NODES[i].role, "state", "ready", "availability", "active", "reachability",
                      strcmp(NODES[i].role, "manager") == 0 ? "reachable" : "", "leader",
                      NODES[i].leader, "labels", json_loads(NODES[i].labels, 0, NULL)));
    for (size_t i = 0; i < N_NODES; i++) {
        bool mgr = strcmp(NODES[i].role, "manager") == 0;
        json_t *d = json_pack("{s:s, s:i, s:i, s:b, s:b, s:[]}", "role", NODES[i].role, "managers",
                              3, "managers_reachable", 3, "is_leader", NODES[i].leader,
                              "has_leader", 1, "reasons");
        if (mgr)
            json_object_set(d, "swarm_nodes", list);
        char *dj = json_dumps(d, JSON_COMPACT);
        bool small = strcmp(NODES[i].name, "ai5") == 0;
        char disk[160];
        snprintf(disk, sizeof disk,
                 "{\"datadir_separate\":true,\"datadir_gb\":%d,\"root_free_gb\":100}",
                 small ? 40 : 60);
        report(inv, now, &NODES[i], dj, disk);
        free(dj);
        json_decref(d);
    }
    json_decref(list);
    return inv;
}

static const char *label(const json_t *prep, const char *node, const char *key)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(prep, "plan"), "final_labels"), node),
        key));
}

static void test_remove_moves_the_number_to_the_spare_and_keeps_the_others(void **st)
{
    (void)st;
    inventory_t *inv = lab(1000);
    json_t *prep = applyplan_prepare_remove(inv, NULL, 1500, "ai2");
    assert_true(json_is_true(json_object_get(prep, "ok")));
    json_t *changes = json_object_get(prep, "changes");
    /* ai2 loses every managed label; ai4 (the spare) gets number 2 */
    json_t *rm = json_object_get(json_object_get(changes, "ai2"), "remove");
    assert_int_equal(json_array_size(rm), 3);
    assert_null(json_object_get(json_object_get(changes, "ai2"), "add"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(changes, "ai4"), "add"),
                                          "mongo.replica")),
        "2");
    assert_null(
        json_object_get(json_object_get(json_object_get(prep, "plan"), "final_labels"), "ai2"));
    assert_string_equal(label(prep, "ai1", "mongo.replica"), "1");
    assert_string_equal(label(prep, "ai3", "mongo.replica"), "3");
    assert_string_equal(label(prep, "ai4", "mongo.replica"), "2");
    /* ai2's minio moves too (to a healthy node); no other number changes */
    int minio = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(prep, "plan"), "final_labels"), k, v)
        minio += json_object_get(v, "minio") != NULL;
    assert_int_equal(minio, 2);
    assert_null(
        json_object_get(json_object_get(json_object_get(changes, "ai1"), "add"), "mongo.replica"));
    assert_null(
        json_object_get(json_object_get(json_object_get(changes, "ai3"), "add"), "mongo.replica"));
    assert_null(json_object_get(changes, "ai5"));
    /* the swarm leader's node first among the managers to send through */
    assert_string_equal(json_string_value(json_array_get(json_object_get(prep, "managers"), 0)),
                        "ai1");
    json_decref(prep);
    /* without the option: the cluster matches the plan, nothing to change */
    prep = applyplan_prepare(inv, NULL, 1500);
    assert_true(json_is_true(json_object_get(prep, "ok")));
    assert_int_equal(json_object_size(json_object_get(prep, "changes")), 0);
    json_decref(prep);
    inventory_destroy(&inv);
}

static void test_remove_of_an_unknown_node_or_on_a_stale_view_is_refused(void **st)
{
    (void)st;
    inventory_t *inv = lab(1000);
    json_t *prep = applyplan_prepare_remove(inv, NULL, 1500, "ai9");
    assert_false(json_is_true(json_object_get(prep, "ok")));
    char *text = json_dumps(json_object_get(prep, "refused"), 0);
    assert_non_null(strstr(text, "ai9"));
    free(text);
    json_decref(prep);
    prep = applyplan_prepare_remove(inv, NULL, 1000 + 3 * 2000 + 1, "ai2"); /* 3 intervals */
    assert_false(json_is_true(json_object_get(prep, "ok")));
    text = json_dumps(json_object_get(prep, "refused"), 0);
    assert_non_null(strstr(text, "stale"));
    free(text);
    json_decref(prep);
    inventory_destroy(&inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remove_moves_the_number_to_the_spare_and_keeps_the_others),
        cmocka_unit_test(test_remove_of_an_unknown_node_or_on_a_stale_view_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
