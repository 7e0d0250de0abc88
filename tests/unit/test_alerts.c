/* Alert conditions: stable keys, severities, `for` timing with a simulated
 * clock, resolve, inhibition of a down node's alerts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent/check_disk.h"
#include "controller/alerts.h"

#define T0 1700000000000LL

typedef struct {
    alerts_check_t checks[4];
    alerts_node_t nodes[4];
    json_t *vals[4];
    alerts_snapshot_t snap;
} world_t;

/* Three healthy nodes ai1..ai3 in east/west/north; ai3's disk check is
 * configurable per test. */
static void world_init(world_t *w)
{
    memset(w, 0, sizeof *w);
    static const char *names[] = {"ai1", "ai2", "ai3"};
    static const char *dcs[] = {"east", "west", "north"};
    for (int i = 0; i < 3; i++) {
        w->nodes[i].name = names[i];
        w->nodes[i].dc = dcs[i];
        w->nodes[i].up = true;
    }
    w->snap.nodes = w->nodes;
    w->snap.nnodes = 3;
    w->snap.now_ms = T0;
}

static size_t nfiring(const alerts_list_t *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->v[i].state == ALERTS_FIRING;
    return n;
}

static void world_free(world_t *w)
{
    for (int i = 0; i < 4; i++)
        json_decref(w->vals[i]);
}

static void set_disk_fail(world_t *w, const char *reason_json)
{
    w->vals[0] = json_loads(reason_json, 0, NULL);
    assert_non_null(w->vals[0]);
    w->checks[0] =
        (alerts_check_t){"disk", CHECK_FAIL, "/datadir has 20 GB, needs 50 GB", w->vals[0]};
    w->nodes[2].checks = w->checks;
    w->nodes[2].nchecks = 1;
}

static void test_failing_check_key_from_reason_field(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reason\": \"datadir_small\", \"datadir_gb\": 20}");
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 1);
    const alerts_alert_t *a = alerts_list_find(&out, "disk/ai3/datadir_small");
    assert_non_null(a);
    assert_int_equal(a->severity, ALERTS_SEV_ERROR);
    assert_string_equal(a->node, "ai3");
    assert_string_equal(a->dc, "north");
    assert_non_null(strstr(a->summary, "20 GB"));
    assert_int_equal(json_integer_value(json_object_get(a->values, "datadir_gb")), 20);
    alerts_list_clear(&out);
    world_free(&w);
}

static void test_check_reasons_array_gives_one_alert_each(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reasons\": [\"datadir_small\", \"Root Free/Low\"]}");
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 2);
    assert_non_null(alerts_list_find(&out, "disk/ai3/datadir_small"));
    /* reasons are sanitised so a key always has three parts */
    assert_non_null(alerts_list_find(&out, "disk/ai3/root_free_low"));
    alerts_list_clear(&out);
    world_free(&w);
}

/* The disk check's own evaluator on a 49.9 GB data dir that shares the root
 * filesystem: its values (reasons, findings, sizes) give one key per
 * problem, never the catch-all disk/ai3/disk. */
static void test_real_disk_check_values_give_datadir_small_key(void **state)
{
    (void)state;
    agent_conf_t conf;
    memset(&conf, 0, sizeof conf);
    conf.datadir_min_gb = 50;
    conf.root_free_min_gb = 50;
    disk_facts_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.datadir, sizeof f.datadir, "/datadir");
    snprintf(f.rootdir, sizeof f.rootdir, "/");
    snprintf(f.install_user, sizeof f.install_user, "tango");
    f.datadir_is_dir = true;
    f.datadir_dev = 0x801;
    f.rootdir_dev = 0x802;
    f.datadir_total_bytes = 49900000000ull;
    f.datadir_avail_bytes = 40000000000ull;
    f.root_total_bytes = 100000000000ull;
    f.root_avail_bytes = 80000000000ull;
    f.writable = 1;
    f.write_method = DISK_WRITE_TEST;
    check_result_t r;
    check_result_init(&r, "disk");
    check_disk_eval(&f, &conf, &r);
    assert_int_equal(r.status, CHECK_FAIL);

    world_t w;
    world_init(&w);
    w.vals[0] = json_incref(r.values);
    w.checks[0] = (alerts_check_t){r.name, r.status, r.summary, w.vals[0]};
    w.nodes[2].checks = w.checks;
    w.nodes[2].nchecks = 1;
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 1);
    const alerts_alert_t *a = alerts_list_find(&out, "disk/ai3/datadir_small");
    assert_non_null(a);
    assert_int_equal(a->severity, ALERTS_SEV_ERROR);
    assert_string_equal(a->summary, "ai3: data dir capacity 49.9 GB < 50 GB");
    assert_null(alerts_list_find(&out, "disk/ai3/disk"));
    alerts_list_clear(&out);

    /* the same data dir on the root filesystem: a second, distinct key */
    f.datadir_dev = f.rootdir_dev;
    check_result_clear(&r);
    check_result_init(&r, "disk");
    check_disk_eval(&f, &conf, &r);
    json_decref(w.vals[0]);
    w.vals[0] = json_incref(r.values);
    w.checks[0] = (alerts_check_t){r.name, r.status, r.summary, w.vals[0]};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 2);
    assert_non_null(alerts_list_find(&out, "disk/ai3/datadir_small"));
    assert_non_null(alerts_list_find(&out, "disk/ai3/datadir_not_separate"));
    alerts_list_clear(&out);
    world_free(&w);
    check_result_clear(&r);
}

static void test_check_without_reason_uses_check_name_and_warn_is_warning(void **state)
{
    world_t w;
    world_init(&w);
    w.checks[0] = (alerts_check_t){"ntp", CHECK_WARN, "estimated error 80 ms", NULL};
    w.checks[1] = (alerts_check_t){"web", CHECK_UNKNOWN, "timed out after 5s", NULL};
    w.checks[2] = (alerts_check_t){"docker", CHECK_OK, "fine", NULL};
    w.nodes[0].checks = w.checks;
    w.nodes[0].nchecks = 3;
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 2);
    const alerts_alert_t *a = alerts_list_find(&out, "ntp/ai1/ntp");
    assert_non_null(a);
    assert_int_equal(a->severity, ALERTS_SEV_WARNING);
    a = alerts_list_find(&out, "web/ai1/unknown");
    assert_non_null(a);
    assert_int_equal(a->severity, ALERTS_SEV_WARNING);
    alerts_list_clear(&out);
    world_free(&w);
}

static void test_severity_override_from_check_values(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reason\": \"datadir_missing\", \"severity\": \"critical\"}");
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(alerts_list_find(&out, "disk/ai3/datadir_missing")->severity,
                     ALERTS_SEV_CRITICAL);
    alerts_list_clear(&out);
    world_free(&w);
}

static void test_findings_with_reasons_give_one_alert_each_with_own_severity(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"findings\": ["
                      "{\"status\": \"fail\", \"message\": \"/datadir has 20 GB\", "
                      "\"reason\": \"datadir_small\"},"
                      "{\"status\": \"warn\", \"message\": \"root 60 GB free\", "
                      "\"code\": \"root_low\"},"
                      "{\"status\": \"fail\", \"message\": \"no reason given\"},"
                      "{\"status\": \"ok\", \"message\": \"fine\", \"reason\": \"x\"}]}");
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 2);
    const alerts_alert_t *a = alerts_list_find(&out, "disk/ai3/datadir_small");
    assert_non_null(a);
    assert_int_equal(a->severity, ALERTS_SEV_ERROR);
    assert_string_equal(a->summary, "ai3: /datadir has 20 GB");
    a = alerts_list_find(&out, "disk/ai3/root_low");
    assert_non_null(a);
    assert_int_equal(a->severity, ALERTS_SEV_WARNING);
    alerts_list_clear(&out);
    world_free(&w);
}

static void test_findings_without_reasons_fall_back_to_check_name(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"findings\": [{\"status\": \"fail\", \"message\": \"x\"}]}");
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 1);
    assert_non_null(alerts_list_find(&out, "disk/ai3/disk"));
    alerts_list_clear(&out);
    world_free(&w);
}

static void test_cluster_conditions_have_documented_keys(void **state)
{
    world_t w;
    world_init(&w);
    w.nodes[1].up = false;
    w.nodes[1].down_since_ms = T0 - 5000;
    w.snap.mongo = (alerts_mongo_t){"rs0", false, true, true};
    alerts_placement_t pl[] = {{"east", NULL}};
    alerts_drift_t dr[] = {{"ai2", "mongo.replica=2 missing"}};
    alerts_skew_t sk[] = {{"ai2", 700, CHECK_FAIL}, {"ai1", 20, CHECK_OK}};
    alerts_portfail_t pf[] = {{"ai1", "ai4", 2377, NULL}, {"ai1", "ai3", 4789, "udp"}};
    w.snap.placement = pl;
    w.snap.nplacement = 1;
    w.snap.drift = dr;
    w.snap.ndrift = 1;
    w.snap.skew = sk;
    w.snap.nskew = 2;
    w.snap.ports = pf;
    w.snap.nports = 2;
    w.snap.controllers_no_quorum = true;
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    struct {
        const char *key;
        alerts_sev_t sev;
    } want[] = {
        {"node/ai2/down", ALERTS_SEV_CRITICAL},
        {"mongo/rs0/no_primary", ALERTS_SEV_CRITICAL},
        {"mongo/rs0/minority", ALERTS_SEV_CRITICAL},
        {"controllers/no_quorum", ALERTS_SEV_CRITICAL},
        {"clock/ai2/skew", ALERTS_SEV_ERROR},
        {"ports/ai1->ai4/2377", ALERTS_SEV_ERROR},
        {"ports/ai1->ai3/4789udp", ALERTS_SEV_ERROR},
        {"placement/east/majority", ALERTS_SEV_WARNING},
        {"labels/ai2/drift", ALERTS_SEV_WARNING},
    };
    assert_int_equal(out.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const alerts_alert_t *a = alerts_list_find(&out, want[i].key);
        assert_non_null(a);
        assert_int_equal(a->severity, want[i].sev);
    }
    /* node and dc are filled from the node table for node-level facts */
    assert_string_equal(alerts_list_find(&out, "clock/ai2/skew")->dc, "west");
    assert_string_equal(alerts_list_find(&out, "ports/ai1->ai4/2377")->dc, "east");
    assert_null(alerts_list_find(&out, "clock/ai1/skew"));
    alerts_list_clear(&out);
    world_free(&w);
}

static void test_keys_are_stable_across_evaluations_and_order(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reason\": \"datadir_small\"}");
    w.nodes[0].up = false;
    alerts_list_t a = {0}, b = {0};
    assert_int_equal(alerts_conditions(&w.snap, &a), 0);
    /* a new leader may list nodes in another order */
    alerts_node_t rev[3] = {w.nodes[2], w.nodes[1], w.nodes[0]};
    w.snap.nodes = rev;
    assert_int_equal(alerts_conditions(&w.snap, &b), 0);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_non_null(alerts_list_find(&b, a.v[i].key));
    alerts_list_clear(&a);
    alerts_list_clear(&b);
    world_free(&w);
}

static void test_condition_fires_only_after_for(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reason\": \"datadir_small\"}");
    alerts_params_t p;
    alerts_params_default(&p);
    alerts_state_t st;
    alerts_state_init(&st);
    alerts_list_t out = {0};
    for (int64_t t = 0; t < 30000; t += 5000) {
        w.snap.now_ms = T0 + t;
        assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
        assert_int_equal(out.n, 1); /* listed as pending, not firing */
        assert_int_equal(out.v[0].state, ALERTS_PENDING);
        assert_int_equal(out.v[0].fired_at_ms, 0);
    }
    w.snap.now_ms = T0 + 30000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.v[0].state, ALERTS_FIRING);
    assert_int_equal(out.v[0].active_since_ms, T0);
    assert_int_equal(out.v[0].fired_at_ms, T0 + 30000);
    alerts_list_clear(&out);
    alerts_state_clear(&st);
    world_free(&w);
}

static void test_flapping_condition_never_fires(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reason\": \"datadir_small\"}");
    alerts_params_t p;
    alerts_params_default(&p);
    alerts_state_t st;
    alerts_state_init(&st);
    alerts_list_t out = {0};
    /* holds 20 s, clears, holds 20 s again: each pending period restarts */
    for (int64_t t = 0; t <= 120000; t += 5000) {
        w.snap.now_ms = T0 + t;
        w.nodes[2].nchecks = (t / 25000) % 2 == 0 ? 1 : 0;
        assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
        assert_int_equal(nfiring(&out), 0);
        for (size_t i = 0; i < out.n; i++)
            assert_int_not_equal(out.v[i].state, ALERTS_RESOLVED);
    }
    alerts_list_clear(&out);
    alerts_state_clear(&st);
    world_free(&w);
}

static void test_node_down_fires_immediately_and_resolves_once(void **state)
{
    world_t w;
    world_init(&w);
    alerts_params_t p;
    alerts_params_default(&p);
    alerts_state_t st;
    alerts_state_init(&st);
    alerts_list_t out = {0};
    w.nodes[0].up = false;
    w.nodes[0].down_since_ms = T0 - 12000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.v[0].key, "node/ai1/down");
    assert_int_equal(out.v[0].state, ALERTS_FIRING);
    assert_int_equal(out.v[0].active_since_ms, T0 - 12000);

    w.nodes[0].up = true;
    w.snap.now_ms = T0 + 1000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.v[0].state, ALERTS_RESOLVED);
    assert_int_equal(out.v[0].resolved_at_ms, T0 + 1000);

    w.snap.now_ms = T0 + 2000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_int_equal(out.n, 0); /* the resolve is reported once */
    alerts_list_clear(&out);
    alerts_state_clear(&st);
    world_free(&w);
}

static void test_down_node_inhibits_its_other_alerts_not_others(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reason\": \"datadir_small\"}"); /* on ai3 */
    alerts_skew_t sk[] = {{"ai1", 900, CHECK_FAIL}};
    w.snap.skew = sk;
    w.snap.nskew = 1;
    alerts_params_t p;
    alerts_params_default(&p);
    alerts_state_t st;
    alerts_state_init(&st);
    alerts_list_t out = {0};
    for (int64_t t = 0; t <= 30000; t += 10000) {
        w.snap.now_ms = T0 + t;
        assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    }
    assert_int_equal(out.n, 2);
    assert_false(alerts_list_find(&out, "disk/ai3/datadir_small")->inhibited);

    w.nodes[2].up = false;
    w.nodes[2].down_since_ms = T0 + 35000;
    w.snap.now_ms = T0 + 40000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_int_equal(out.n, 3);
    assert_false(alerts_list_find(&out, "node/ai3/down")->inhibited);
    assert_true(alerts_list_find(&out, "disk/ai3/datadir_small")->inhibited);
    assert_false(alerts_list_find(&out, "clock/ai1/skew")->inhibited);

    /* with inhibition off nothing is muted */
    p.inhibit_node_down = false;
    w.snap.now_ms = T0 + 45000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_false(alerts_list_find(&out, "disk/ai3/datadir_small")->inhibited);
    alerts_list_clear(&out);
    alerts_state_clear(&st);
    world_free(&w);
}

static void test_for_override_by_key_prefix(void **state)
{
    world_t w;
    world_init(&w);
    set_disk_fail(&w, "{\"reason\": \"datadir_small\"}");
    alerts_for_t ov[] = {{"disk/", 120000}};
    alerts_params_t p;
    alerts_params_default(&p);
    p.overrides = ov;
    p.noverrides = 1;
    alerts_state_t st;
    alerts_state_init(&st);
    alerts_list_t out = {0};
    w.snap.now_ms = T0;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    w.snap.now_ms = T0 + 60000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_int_equal(nfiring(&out), 0);
    w.snap.now_ms = T0 + 120000;
    assert_int_equal(alerts_eval(&st, &p, &w.snap, &out), 0);
    assert_int_equal(nfiring(&out), 1);
    alerts_list_clear(&out);
    alerts_state_clear(&st);
    world_free(&w);
}

static void test_hostile_names_cannot_break_key_structure(void **state)
{
    world_t w;
    world_init(&w);
    w.nodes[0].name = "ev/il\nname\xff";
    w.nodes[0].up = false;
    w.checks[0] = (alerts_check_t){"di/sk", CHECK_FAIL, "bad \xc3 utf8\n", NULL};
    w.nodes[1].checks = w.checks;
    w.nodes[1].nchecks = 1;
    alerts_list_t out = {0};
    assert_int_equal(alerts_conditions(&w.snap, &out), 0);
    assert_int_equal(out.n, 2);
    for (size_t i = 0; i < out.n; i++) {
        const char *k = out.v[i].key;
        int slashes = 0;
        for (const char *p = k; *p; p++) {
            slashes += *p == '/';
            assert_true((unsigned char)*p > ' ' && (unsigned char)*p < 0x7f);
        }
        assert_int_equal(slashes, 2);
        json_t *s = json_string(out.v[i].summary); /* valid UTF-8 for payloads */
        assert_non_null(s);
        json_decref(s);
    }
    json_t *j = alerts_list_to_json(&out);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    alerts_list_clear(&out);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_check_key_from_reason_field),
        cmocka_unit_test(test_check_reasons_array_gives_one_alert_each),
        cmocka_unit_test(test_real_disk_check_values_give_datadir_small_key),
        cmocka_unit_test(test_check_without_reason_uses_check_name_and_warn_is_warning),
        cmocka_unit_test(test_severity_override_from_check_values),
        cmocka_unit_test(test_findings_with_reasons_give_one_alert_each_with_own_severity),
        cmocka_unit_test(test_findings_without_reasons_fall_back_to_check_name),
        cmocka_unit_test(test_cluster_conditions_have_documented_keys),
        cmocka_unit_test(test_keys_are_stable_across_evaluations_and_order),
        cmocka_unit_test(test_condition_fires_only_after_for),
        cmocka_unit_test(test_flapping_condition_never_fires),
        cmocka_unit_test(test_node_down_fires_immediately_and_resolves_once),
        cmocka_unit_test(test_down_node_inhibits_its_other_alerts_not_others),
        cmocka_unit_test(test_for_override_by_key_prefix),
        cmocka_unit_test(test_hostile_names_cannot_break_key_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
