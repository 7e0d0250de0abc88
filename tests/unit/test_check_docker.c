/* The docker check's parsers and evaluator on real-shaped Engine API 1.41
 * replies (tests/fixtures/docker/, captured from Debian's dockerd 20.10 and
 * derived from those captures), hostile replies, and run() against a socket
 * nobody listens on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_docker.h"
#include "check_testlib.h"

static json_t *fixture(const char *name)
{
    char path[1024];
    check_fixture_path("docker", name, path, sizeof path);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("fixture %s: %s", path, e.text);
    return j;
}

/* Builds facts the way probe() does, from fixture replies (NULL = that call
 * was not made). */
static void facts_from(check_docker_facts_t *f, const char *version, const char *info,
                       const char *nodes, const char *services, const char *tasks)
{
    qr_err_t err;
    check_docker_facts_init(f);
    snprintf(f->socket, sizeof f->socket, "/run/test/docker.sock");
    json_t *j = fixture(version);
    f->version_rc = check_docker_parse_version(j, f, &err);
    assert_int_equal(f->version_rc, 0);
    json_decref(j);
    j = fixture(info);
    f->info_rc = check_docker_parse_info(j, f, &err);
    assert_int_equal(f->info_rc, 0);
    json_decref(j);
    if (nodes) {
        f->nodes_probed = true;
        j = fixture(nodes);
        f->nodes_rc = check_docker_parse_nodes(j, f, &err);
        assert_int_equal(f->nodes_rc, 0);
        json_decref(j);
    }
    if (services) {
        f->services_probed = true;
        json_t *s = fixture(services), *t = fixture(tasks);
        f->services_rc = check_docker_parse_services(s, t, f, &err);
        assert_int_equal(f->services_rc, 0);
        json_decref(s);
        json_decref(t);
    }
}

static void eval(const check_docker_facts_t *f, check_result_t *r)
{
    check_result_init(r, "docker");
    check_docker_eval(f, NULL, r);
}

static const char *vstr(const check_result_t *r, const char *key)
{
    return json_string_value(json_object_get(r->values, key));
}

static void test_docker_engine_unreachable_fails(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    check_docker_facts_init(&f);
    snprintf(f.socket, sizeof f.socket, "/var/run/docker.sock");
    f.version_rc = QR_EUNAVAIL;
    snprintf(f.version_error, sizeof f.version_error,
             "cannot connect to /var/run/docker.sock: No such file or directory");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "Docker Engine unreachable"));
    assert_non_null(strstr(r.summary, "/var/run/docker.sock"));
    assert_null(json_object_get(r.values, "engine_version"));
    assert_reasons(&r, "engine_unreachable", NULL);
    check_result_clear(&r);
}

static void test_docker_engine_not_answering_is_unknown_timed_out(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    check_docker_facts_init(&f);
    f.version_rc = QR_ETIMEOUT;
    snprintf(f.version_error, sizeof f.version_error, "no answer within 2000 ms");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_non_null(strstr(r.summary, "timed out"));
    assert_reasons(&r, "engine_timeout", NULL);
    check_result_clear(&r);
}

static void test_docker_swarm_inactive_fails(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_inactive.json", NULL, NULL, NULL);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "swarm inactive"));
    assert_string_equal(vstr(&r, "engine_version"), "20.10.24+dfsg1");
    assert_string_equal(vstr(&r, "api_version"), "1.41");
    assert_string_equal(vstr(&r, "swarm_state"), "inactive");
    assert_null(json_object_get(r.values, "role"));
    assert_reasons(&r, "swarm_inactive", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_swarm_pending_error_locked_fail(void **st)
{
    (void)st;
    const char *files[] = {"info_pending.json", "info_error.json", "info_locked.json"};
    const char *words[] = {"swarm pending", "connection error", "swarm locked"};
    const char *reasons[] = {"swarm_pending", "swarm_error", "swarm_locked"};
    for (int i = 0; i < 3; i++) {
        check_docker_facts_t f;
        check_result_t r;
        facts_from(&f, "version.json", files[i], NULL, NULL, NULL);
        eval(&f, &r);
        assert_int_equal(r.status, CHECK_FAIL);
        if (!strstr(r.summary, words[i]))
            fail_msg("%s: summary '%s' lacks '%s'", files[i], r.summary, words[i]);
        assert_reasons(&r, reasons[i], NULL);
        check_result_clear(&r);
        check_docker_facts_clear(&f);
    }
}

static void test_docker_single_manager_leader_ok_with_labels(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager.json", "nodes_labeled.json",
               "services_all_running.json", "tasks_running.json");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_OK);
    assert_non_null(strstr(r.summary, "manager (leader)"));
    assert_string_equal(vstr(&r, "swarm_state"), "active");
    assert_string_equal(vstr(&r, "role"), "manager");
    assert_string_equal(vstr(&r, "node_id"), "jbqmmjmbj9m3a8k3204fp5w0x");
    assert_true(json_is_true(json_object_get(r.values, "is_leader")));
    assert_int_equal(json_integer_value(json_object_get(r.values, "managers")), 1);
    assert_int_equal(json_integer_value(json_object_get(r.values, "nodes")), 1);
    json_t *labels = json_object_get(r.values, "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "mongo.replica")), "1");
    assert_string_equal(json_string_value(json_object_get(labels, "worker")), "true");
    /* sl: replicated 1/1 running; agent: global with no running task wanted */
    json_t *svcs = json_object_get(r.values, "services");
    assert_int_equal(json_array_size(svcs), 2);
    int seen = 0;
    size_t i;
    json_t *s;
    json_array_foreach(svcs, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (strcmp(name, "sl") == 0) {
            assert_int_equal(json_integer_value(json_object_get(s, "running")), 1);
            assert_int_equal(json_integer_value(json_object_get(s, "desired")), 1);
            assert_string_equal(json_string_value(json_object_get(s, "mode")), "replicated");
            seen++;
        } else if (strcmp(name, "agent") == 0) {
            assert_string_equal(json_string_value(json_object_get(s, "mode")), "global");
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_service_below_desired_replicas_warns(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager.json", "nodes_labeled.json", "services.json",
               "tasks_running.json");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "service web: 0 of 2 replicas running");
    assert_reasons(&r, "service_replicas_low", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_five_nodes_healthy_leader_ok(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager_ai1.json", "nodes_5_healthy.json", NULL, NULL);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_OK);
    assert_true(json_is_true(json_object_get(r.values, "is_leader")));
    assert_int_equal(json_array_size(json_object_get(r.values, "swarm_nodes")), 5);
    assert_int_equal(json_integer_value(json_object_get(r.values, "managers")), 3);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_manager_unreachable_warns(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager_ai1.json", "nodes_manager_unreachable.json", NULL,
               NULL);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "swarm manager ai3 unreachable (2 of 3 managers reachable)");
    assert_int_equal(json_integer_value(json_object_get(r.values, "managers_reachable")), 2);
    /* the unreachable manager is also a node not ready: two problems, two keys */
    assert_reasons(&r, "managers_unreachable", "nodes_not_ready", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_worker_node_down_warns(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager_ai1.json", "nodes_worker_down.json", NULL, NULL);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "swarm node not ready: ai5 (down)");
    assert_reasons(&r, "nodes_not_ready", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_swarm_without_leader_warns(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager_ai1.json", "nodes_no_leader.json", NULL, NULL);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_non_null(strstr(r.summary, "no leader"));
    assert_true(json_is_false(json_object_get(r.values, "has_leader")));
    assert_true(json_is_false(json_object_get(r.values, "is_leader")));
    assert_reasons(&r, "swarm_no_leader", "managers_no_quorum", "managers_unreachable", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

/* Measured in the lab (3 managers, 2 cut off): the leader keeps answering
 * for ~10 s and lists both others unreachable before it steps down. */
static void test_docker_two_of_three_managers_unreachable_says_no_quorum(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    qr_err_t err;
    facts_from(&f, "version.json", "info_manager_ai1.json", NULL, NULL, NULL);
    json_t *nodes = fixture("nodes_5_healthy.json");
    for (int i = 1; i <= 2; i++) {
        json_t *n = json_array_get(nodes, (size_t)i);
        json_object_set_new(json_object_get(n, "ManagerStatus"), "Reachability",
                            json_string("unreachable"));
        json_object_set_new(json_object_get(n, "Status"), "State", json_string("unknown"));
    }
    f.nodes_probed = true;
    f.nodes_rc = check_docker_parse_nodes(nodes, &f, &err);
    assert_int_equal(f.nodes_rc, 0);
    json_decref(nodes);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "swarm managers ai2, ai3 unreachable (1 of 3 managers "
                                   "reachable: no quorum, swarm frozen)");
    /* the lost majority has its own key, before the plain unreachable one */
    assert_reasons(&r, "managers_no_quorum", "managers_unreachable", "nodes_not_ready", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

/* Measured in the lab: after `docker swarm init --force-new-cluster` on ai4 the
 * other managers keep Spec.Role manager but lose their ManagerStatus (not in
 * the Raft any more): not an unreachable majority, a cleanup to do. */
static void test_docker_managers_left_after_force_new_cluster(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    qr_err_t err;
    facts_from(&f, "version.json", "info_manager_ai1.json", NULL, NULL, NULL);
    json_t *nodes = fixture("nodes_5_healthy.json");
    for (int i = 1; i <= 2; i++) {
        json_t *n = json_array_get(nodes, (size_t)i);
        json_object_del(n, "ManagerStatus");
        json_object_set_new(json_object_get(n, "Status"), "State", json_string("unknown"));
    }
    f.nodes_probed = true;
    f.nodes_rc = check_docker_parse_nodes(nodes, &f, &err);
    assert_int_equal(f.nodes_rc, 0);
    json_decref(nodes);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_non_null(strstr(r.summary, "hold the manager role but are not in the swarm's Raft"));
    assert_null(strstr(r.summary, "no quorum"));
    assert_reasons(&r, "managers_not_in_raft", "nodes_not_ready", NULL);
    assert_int_equal(json_integer_value(json_object_get(r.values, "managers_reachable")), 1);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_several_nodes_not_ready_listed(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    qr_err_t err;
    facts_from(&f, "version.json", "info_manager_ai1.json", NULL, NULL, NULL);
    json_t *nodes = fixture("nodes_5_healthy.json");
    json_object_set_new(json_object_get(json_array_get(nodes, 3), "Status"), "State",
                        json_string("down"));
    json_object_set_new(json_object_get(json_array_get(nodes, 4), "Status"), "State",
                        json_string("disconnected"));
    f.nodes_probed = true;
    f.nodes_rc = check_docker_parse_nodes(nodes, &f, &err);
    json_decref(nodes);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "swarm nodes not ready: ai4 (down), ai5 (disconnected)");
    assert_reasons(&r, "nodes_not_ready", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

/* Measured in the lab: in the leaderless window /info itself hangs (the
 * manager asks the leader for the node counts), later /nodes answers 500. */
static void test_docker_leaderless_window_explained(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager_ai1.json", NULL, NULL, NULL);
    f.info_rc = QR_ETIMEOUT;
    snprintf(f.info_error, sizeof f.info_error, "docker api: /info: no answer within 2000 ms");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_non_null(strstr(r.summary, "swarm manager without a leader?"));
    assert_reasons(&r, "info_timeout", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);

    facts_from(&f, "version.json", "info_manager_ai1.json", NULL, NULL, NULL);
    f.nodes_probed = true;
    f.nodes_rc = QR_EREFUSED;
    snprintf(f.nodes_error, sizeof f.nodes_error,
             "docker api: /nodes: HTTP 500: rpc error: code = Unknown desc = The swarm does not "
             "have a leader. It's possible that too few managers are online.");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "swarm has no leader (too few managers online): label "
                                   "updates and scheduling are frozen");
    assert_reasons(&r, "swarm_no_leader", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_manager_calls_timing_out_warn_leaderless_window(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_manager_ai1.json", NULL, NULL, NULL);
    f.nodes_probed = true;
    f.nodes_rc = QR_ETIMEOUT;
    snprintf(f.nodes_error, sizeof f.nodes_error, "docker api: /nodes: no answer within 2000 ms");
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_WARN);
    assert_non_null(strstr(r.summary, "no leader?"));
    assert_string_equal(vstr(&r, "role"), "manager");
    assert_reasons(&r, "control_plane_timeout", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_worker_ok_without_cluster_view(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    facts_from(&f, "version.json", "info_worker.json", NULL, NULL, NULL);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_OK);
    assert_string_equal(vstr(&r, "role"), "worker");
    assert_non_null(strstr(r.summary, "worker"));
    assert_null(json_object_get(r.values, "labels"));
    assert_null(json_object_get(r.values, "is_leader"));
    assert_reasons(&r, NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

/* --- hostile and malformed replies -------------------------------------- */

static void test_docker_info_wrong_types_rejected(void **st)
{
    (void)st;
    const char *bad[] = {
        "{}",
        "{\"Swarm\": []}",
        "{\"Swarm\": {\"LocalNodeState\": 5}}",
        "{\"Swarm\": {\"LocalNodeState\": \"active\", \"Managers\": \"three\"}}",
        "{\"Swarm\": {\"LocalNodeState\": \"active\", \"Managers\": -1}}",
        "{\"Swarm\": {\"LocalNodeState\": \"active\", \"ControlAvailable\": \"yes\"}}",
        "{\"Swarm\": {\"LocalNodeState\": \"active\", \"RemoteManagers\": {}}}",
        "[1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_docker_facts_t f;
        qr_err_t err;
        check_docker_facts_init(&f);
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        int rc = check_docker_parse_info(j, &f, &err);
        if (rc != QR_EPARSE)
            fail_msg("accepted %s", bad[i]);
        json_decref(j);
    }
    check_docker_facts_t f;
    qr_err_t err;
    check_docker_facts_init(&f);
    assert_int_equal(check_docker_parse_version(NULL, &f, &err), QR_EPARSE);
    json_t *v = json_pack("{s:i}", "Version", 20);
    assert_int_equal(check_docker_parse_version(v, &f, &err), QR_EPARSE);
    json_decref(v);
}

static void test_docker_malformed_info_reported_as_fail(void **st)
{
    (void)st;
    check_docker_facts_t f;
    check_result_t r;
    qr_err_t err;
    facts_from(&f, "version.json", "info_inactive.json", NULL, NULL, NULL);
    json_t *j = json_loads("{\"Swarm\": {\"LocalNodeState\": 5}}", 0, NULL);
    f.info_rc = check_docker_parse_info(j, &f, &err);
    snprintf(f.info_error, sizeof f.info_error, "%.200s", err.msg);
    json_decref(j);
    eval(&f, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "/info failed"));
    assert_reasons(&r, "info_failed", NULL);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
}

static void test_docker_nodes_malformed_entries_rejected_without_leaks(void **st)
{
    (void)st;
    json_t *nodes = fixture("nodes_5_healthy.json");
    const char *mutations[] = {"label", "role", "entry", "leader", "version"};
    for (int m = 0; m < 5; m++) {
        json_t *copy = json_deep_copy(nodes);
        json_t *n = json_array_get(copy, 3); /* earlier entries parse fine first */
        switch (m) {
        case 0:
            json_object_set_new(json_object_get(json_object_get(n, "Spec"), "Labels"), "x",
                                json_integer(1));
            break;
        case 1:
            json_object_set_new(json_object_get(n, "Spec"), "Role", json_true());
            break;
        case 2:
            json_array_set_new(copy, 3, json_string("node"));
            break;
        case 3:
            json_object_set_new(json_object_get(json_array_get(copy, 0), "ManagerStatus"), "Leader",
                                json_string("true"));
            break;
        case 4:
            json_object_set_new(n, "Version", json_pack("{s:s}", "Index", "9"));
            break;
        }
        check_docker_facts_t f;
        qr_err_t err;
        check_docker_facts_init(&f);
        if (check_docker_parse_nodes(copy, &f, &err) != QR_EPARSE)
            fail_msg("mutation %s accepted", mutations[m]);
        assert_int_equal(f.n_nodes, 0);
        json_decref(copy);
    }
    json_decref(nodes);
}

static void test_docker_huge_arrays_rejected(void **st)
{
    (void)st;
    json_t *nodes = fixture("nodes_5_healthy.json");
    json_t *one = json_array_get(nodes, 0);
    json_t *huge = json_array();
    for (int i = 0; i <= CHECK_DOCKER_MAX_NODES; i++)
        json_array_append(huge, one);
    check_docker_facts_t f;
    qr_err_t err;
    check_docker_facts_init(&f);
    assert_int_equal(check_docker_parse_nodes(huge, &f, &err), QR_ETOOBIG);
    assert_int_equal(f.n_nodes, 0);
    json_decref(huge);
    json_decref(nodes);

    json_t *svcs = fixture("services.json"), *tasks = fixture("tasks_running.json");
    huge = json_array();
    for (int i = 0; i <= CHECK_DOCKER_MAX_SERVICES; i++)
        json_array_append(huge, json_array_get(svcs, 0));
    assert_int_equal(check_docker_parse_services(huge, tasks, &f, &err), QR_ETOOBIG);
    /* many tasks are fine: they are only counted */
    json_t *many = json_array();
    for (int i = 0; i < 5000; i++)
        json_array_append(many, json_array_get(tasks, 0));
    assert_int_equal(check_docker_parse_services(svcs, many, &f, &err), 0);
    for (size_t i = 0; i < f.n_services; i++)
        if (strcmp(f.services[i].name, "sl") == 0)
            assert_int_equal(f.services[i].running, 5000);
    check_docker_facts_clear(&f);
    json_decref(many);
    json_decref(huge);
    json_decref(svcs);
    json_decref(tasks);
}

static void test_docker_services_wrong_types_rejected(void **st)
{
    (void)st;
    json_t *svcs = fixture("services.json"), *tasks = fixture("tasks_running.json");
    check_docker_facts_t f;
    qr_err_t err;
    check_docker_facts_init(&f);
    json_t *c = json_deep_copy(svcs);
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(json_array_get(c, 0), "Spec"), "Mode"),
                        "Replicated"),
        "Replicas", json_string("2"));
    assert_int_equal(check_docker_parse_services(c, tasks, &f, &err), QR_EPARSE);
    json_decref(c);
    c = json_deep_copy(tasks);
    json_object_set_new(json_array_get(c, 0), "Status", json_pack("{s:i}", "State", 1));
    assert_int_equal(check_docker_parse_services(svcs, c, &f, &err), QR_EPARSE);
    json_decref(c);
    json_t *obj = json_object();
    assert_int_equal(check_docker_parse_services(obj, tasks, &f, &err), QR_EPARSE);
    assert_int_equal(f.n_services, 0);
    json_decref(obj);
    json_decref(svcs);
    json_decref(tasks);
}

/* Every value of every real reply, replaced in turn by each JSON type: the
 * parsers either accept it or return an error, and the evaluator always
 * produces a result. ASan/UBSan watch for the rest. */
typedef int (*mut_fn)(json_t *doc, void *arg);

static int visit_mutations(json_t *root, json_t *node, mut_fn fn, void *arg, size_t *count)
{
    const char *k;
    json_t *v;
    size_t i;
    json_t *kinds[] = {json_null(),   json_integer(-7), json_string("x"), json_array(),
                       json_object(), json_true(),      json_real(1e300)};
    int n = (int)(sizeof kinds / sizeof kinds[0]);
    if (json_is_object(node)) {
        void *tmp;
        json_object_foreach_safe(node, tmp, k, v) {
            json_t *saved = json_incref(v);
            for (int m = 0; m < n; m++) {
                json_object_set(node, k, kinds[m]);
                fn(root, arg);
                (*count)++;
            }
            json_object_set_new(node, k, saved);
            visit_mutations(root, saved, fn, arg, count);
        }
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v) {
            json_t *saved = json_incref(v);
            for (int m = 0; m < n; m++) {
                json_array_set(node, i, kinds[m]);
                fn(root, arg);
                (*count)++;
            }
            json_array_set_new(node, i, saved);
            visit_mutations(root, saved, fn, arg, count);
        }
    }
    for (int m = 0; m < n; m++)
        json_decref(kinds[m]);
    return 0;
}

typedef struct {
    const char *which;
    json_t *tasks, *version, *info, *services;
} mut_arg_t;

static int parse_and_eval(json_t *doc, void *argp)
{
    mut_arg_t *a = argp;
    check_docker_facts_t f;
    check_result_t r;
    qr_err_t err;
    json_t *v = a->version, *info = a->info;
    check_docker_facts_init(&f);
    f.version_rc = check_docker_parse_version(strcmp(a->which, "version") ? v : doc, &f, &err);
    f.info_rc = check_docker_parse_info(strcmp(a->which, "info") ? info : doc, &f, &err);
    if (strcmp(a->which, "nodes") == 0) {
        f.nodes_probed = true;
        f.nodes_rc = check_docker_parse_nodes(doc, &f, &err);
    }
    if (strcmp(a->which, "services") == 0) {
        f.services_probed = true;
        f.services_rc = check_docker_parse_services(doc, a->tasks, &f, &err);
    }
    if (strcmp(a->which, "tasks") == 0) {
        f.services_probed = true;
        f.services_rc = check_docker_parse_services(a->services, doc, &f, &err);
    }
    assert_true(f.version_rc <= 0 && f.info_rc <= 0 && f.nodes_rc <= 0 && f.services_rc <= 0);
    check_result_init(&r, "docker");
    check_docker_eval(&f, NULL, &r);
    assert_true(r.status >= CHECK_OK && r.status <= CHECK_UNKNOWN);
    assert_true(r.summary[0] != '\0');
    json_t *j = check_result_to_json(&r);
    assert_non_null(j);
    json_decref(j);
    check_result_clear(&r);
    check_docker_facts_clear(&f);
    return 0;
}

static void test_docker_type_confusion_in_any_field_never_crashes(void **st)
{
    (void)st;
    struct {
        const char *which, *file;
    } docs[] = {{"version", "version.json"},   {"info", "info_manager_ai1.json"},
                {"info", "info_worker.json"},  {"nodes", "nodes_5_healthy.json"},
                {"services", "services.json"}, {"tasks", "tasks_running.json"}};
    size_t total = 0;
    json_t *tasks = fixture("tasks_running.json"), *version = fixture("version.json");
    json_t *info = fixture("info_manager_ai1.json"), *services = fixture("services.json");
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        json_t *doc = fixture(docs[d].file);
        mut_arg_t a = {docs[d].which, tasks, version, info, services};
        visit_mutations(doc, doc, parse_and_eval, &a, &total);
        json_decref(doc);
    }
    print_message("%zu mutated replies parsed and evaluated\n", total);
    json_decref(tasks);
    json_decref(version);
    json_decref(info);
    json_decref(services);
    assert_true(total > 1000); /* the walk really covered the replies */
}

static void test_docker_run_without_daemon_fails_and_keeps_client(void **st)
{
    (void)st;
    agent_conf_t conf;
    memset(&conf, 0, sizeof conf);
    conf.docker_socket = "/nonexistent/qr/docker.sock";
    conf.docker_timeout_ms = 300;
    void *state = NULL;
    check_result_t r;
    for (int i = 0; i < 2; i++) {
        check_result_init(&r, "docker");
        check_docker_run(&conf, &state, &r);
        assert_int_equal(r.status, CHECK_FAIL);
        assert_non_null(strstr(r.summary, "/nonexistent/qr/docker.sock"));
        assert_non_null(state);
        check_result_clear(&r);
    }
    check_docker_state_free(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_engine_unreachable_fails),
        cmocka_unit_test(test_docker_engine_not_answering_is_unknown_timed_out),
        cmocka_unit_test(test_docker_swarm_inactive_fails),
        cmocka_unit_test(test_docker_swarm_pending_error_locked_fail),
        cmocka_unit_test(test_docker_single_manager_leader_ok_with_labels),
        cmocka_unit_test(test_docker_service_below_desired_replicas_warns),
        cmocka_unit_test(test_docker_five_nodes_healthy_leader_ok),
        cmocka_unit_test(test_docker_manager_unreachable_warns),
        cmocka_unit_test(test_docker_worker_node_down_warns),
        cmocka_unit_test(test_docker_swarm_without_leader_warns),
        cmocka_unit_test(test_docker_two_of_three_managers_unreachable_says_no_quorum),
        cmocka_unit_test(test_docker_managers_left_after_force_new_cluster),
        cmocka_unit_test(test_docker_several_nodes_not_ready_listed),
        cmocka_unit_test(test_docker_leaderless_window_explained),
        cmocka_unit_test(test_docker_manager_calls_timing_out_warn_leaderless_window),
        cmocka_unit_test(test_docker_worker_ok_without_cluster_view),
        cmocka_unit_test(test_docker_info_wrong_types_rejected),
        cmocka_unit_test(test_docker_malformed_info_reported_as_fail),
        cmocka_unit_test(test_docker_nodes_malformed_entries_rejected_without_leaks),
        cmocka_unit_test(test_docker_huge_arrays_rejected),
        cmocka_unit_test(test_docker_services_wrong_types_rejected),
        cmocka_unit_test(test_docker_type_confusion_in_any_field_never_crashes),
        cmocka_unit_test(test_docker_run_without_daemon_fails_and_keeps_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
