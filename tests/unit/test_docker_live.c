/* docker_api's label update against a real dockerd (swarm manager). Skipped
 * unless QR_DOCKER_SOCK (the Engine socket) and QR_DOCKER_NODE (a node id or
 * hostname) are set: tests/integration/test_docker_check.sh starts a private
 * dockerd in a network namespace and runs this with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "docker_api.h"

static const char *sock, *node_id;

static json_t *inspect(docker_api_t *api)
{
    json_t *n = NULL;
    qr_err_t err;
    if (docker_api_node_inspect(api, node_id, &n, &err))
        fail_msg("inspect %s: %s", node_id, err.msg);
    return n;
}

static const char *spec_str(json_t *node, const char *key)
{
    return json_string_value(json_object_get(json_object_get(node, "Spec"), key));
}

static const char *label(json_t *node, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(node, "Spec"), "Labels"), key));
}

static json_int_t version_of(json_t *node)
{
    return json_integer_value(json_object_get(json_object_get(node, "Version"), "Index"));
}

static void test_live_label_merge_keeps_role_availability_and_other_labels(void **st)
{
    (void)st;
    if (!sock || !node_id)
        skip();
    docker_api_t *api = docker_api_new(sock, 5000);
    json_t *before = inspect(api);
    char role[32], avail[32];
    snprintf(role, sizeof role, "%s", spec_str(before, "Role"));
    snprintf(avail, sizeof avail, "%s", spec_str(before, "Availability"));
    json_t *add = json_pack("{s:s, s:s}", "mongo.replica", "2", "quorate.live", "1");
    json_t *remove = json_pack("[s]", "quorate.test");
    json_t *labels = NULL;
    int attempts = 0;
    qr_err_t err;
    int rc = docker_api_node_set_labels(api, node_id, add, remove, NULL, &labels, &attempts, &err);
    if (rc)
        fail_msg("set labels: %s", err.msg);
    assert_int_equal(attempts, 1);
    json_t *after = inspect(api);
    assert_string_equal(spec_str(after, "Role"), role);
    assert_string_equal(spec_str(after, "Availability"), avail);
    assert_string_equal(label(after, "mongo.replica"), "2");
    assert_string_equal(label(after, "quorate.live"), "1");
    assert_null(label(after, "quorate.test"));
    /* labels we were not asked to touch survive */
    if (label(before, "keep.me"))
        assert_string_equal(label(after, "keep.me"), label(before, "keep.me"));
    assert_true(version_of(after) > version_of(before));
    assert_true(json_equal(labels, json_object_get(json_object_get(after, "Spec"), "Labels")));
    json_decref(labels);
    json_decref(after);
    json_decref(before);
    json_decref(add);
    json_decref(remove);
    docker_api_destroy(&api);
}

/* Between our read and our write another writer updates the node: our post
 * carries a stale version, the engine answers "update out of sequence", we
 * re-read and retry, and neither update is lost. */
static void racer(void *arg, int attempt)
{
    (void)arg;
    if (attempt != 1)
        return;
    docker_api_t *other = docker_api_new(sock, 5000);
    json_t *add = json_pack("{s:s}", "racer", "1");
    qr_err_t err;
    int rc = docker_api_node_set_labels(other, node_id, add, NULL, NULL, NULL, NULL, &err);
    json_decref(add);
    docker_api_destroy(&other);
    if (rc)
        fail_msg("racing update: %s", err.msg);
}

static void test_live_concurrent_update_between_read_and_write_is_retried(void **st)
{
    (void)st;
    if (!sock || !node_id)
        skip();
    docker_api_t *api = docker_api_new(sock, 5000);
    json_t *add = json_pack("{s:s}", "worker", "true");
    json_t *labels = NULL;
    int attempts = 0;
    qr_err_t err;
    docker_api_label_opts_t o = {.before_write = racer};
    int rc = docker_api_node_set_labels(api, node_id, add, NULL, &o, &labels, &attempts, &err);
    if (rc)
        fail_msg("set labels: %s", err.msg);
    assert_int_equal(attempts, 2);
    json_t *after = inspect(api);
    assert_string_equal(label(after, "worker"), "true");
    assert_string_equal(label(after, "racer"), "1");
    assert_string_equal(label(after, "quorate.live"), "1");
    json_decref(after);
    json_decref(labels);
    json_decref(add);
    docker_api_destroy(&api);
}

static void test_live_removing_labels_leaves_them_gone(void **st)
{
    (void)st;
    if (!sock || !node_id)
        skip();
    docker_api_t *api = docker_api_new(sock, 5000);
    json_t *remove = json_pack("[s, s, s]", "racer", "quorate.live", "never-set");
    qr_err_t err;
    int rc = docker_api_node_set_labels(api, node_id, NULL, remove, NULL, NULL, NULL, &err);
    if (rc)
        fail_msg("remove labels: %s", err.msg);
    json_t *after = inspect(api);
    assert_null(label(after, "racer"));
    assert_null(label(after, "quorate.live"));
    assert_string_equal(label(after, "worker"), "true");
    json_decref(after);
    json_decref(remove);
    docker_api_destroy(&api);
}

int main(void)
{
    sock = getenv("QR_DOCKER_SOCK");
    node_id = getenv("QR_DOCKER_NODE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_label_merge_keeps_role_availability_and_other_labels),
        cmocka_unit_test(test_live_concurrent_update_between_read_and_write_is_retried),
        cmocka_unit_test(test_live_removing_labels_leaves_them_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
