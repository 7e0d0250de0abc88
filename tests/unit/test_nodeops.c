/* nodeops: the node_update / node_rm arguments (pure), and the commands'
 * results against a one-shot fake Engine on a unix socket (already removed
 * is "already", docker's refusal is passed on, no socket is unavailable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nodeops.h"

static void test_parse_update_accepts_drain_and_demote(void **st)
{
    (void)st;
    nodeops_update_t u;
    qr_err_t err;
    json_t *a = json_pack("{s:s, s:s}", "node", "ai3", "availability", "drain");
    assert_int_equal(nodeops_parse_update(a, &u, &err), 0);
    assert_string_equal(u.node, "ai3");
    assert_string_equal(u.availability, "drain");
    assert_null(u.role);
    json_decref(a);
    a = json_pack("{s:s, s:s, s:s}", "node", "ai-3.east_1", "role", "worker", "availability",
                  "active");
    assert_int_equal(nodeops_parse_update(a, &u, &err), 0);
    assert_string_equal(u.role, "worker");
    json_decref(a);
}

static void test_parse_update_rejects_bad_arguments(void **st)
{
    (void)st;
    static const char *bad[] = {
        "{}",
        "{\"node\":\"ai3\"}",                                    /* nothing to change */
        "{\"node\":\"ai3\",\"availability\":\"gone\"}",          /* unknown availability */
        "{\"node\":\"ai3\",\"role\":\"leader\"}",                /* unknown role */
        "{\"node\":\"ai3\",\"role\":1}",                         /* not a string */
        "{\"node\":\"ai3; rm -rf /\",\"role\":\"worker\"}",      /* not a name */
        "{\"node\":\"\",\"role\":\"worker\"}",                   /* empty */
        "{\"node\":\"ai3\",\"role\":\"worker\",\"force\":true}", /* never forced */
        "[\"ai3\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *a = json_loads(bad[i], 0, NULL);
        assert_non_null(a);
        nodeops_update_t u;
        qr_err_t err = {{0}};
        assert_int_equal(nodeops_parse_update(a, &u, &err), QR_EINVAL);
        assert_true(err.msg[0] != '\0');
        json_decref(a);
    }
    const char *node = NULL;
    qr_err_t err;
    json_t *a = json_pack("{s:s, s:b}", "node", "ai3", "force", 1);
    assert_int_equal(nodeops_parse_rm(a, &node, &err), QR_EINVAL);
    assert_non_null(strstr(err.msg, "force"));
    json_decref(a);
    a = json_pack("{s:s}", "node", "ai3");
    assert_int_equal(nodeops_parse_rm(a, &node, &err), 0);
    assert_string_equal(node, "ai3");
    json_decref(a);
}

/* --- a one-reply fake Engine -------------------------------------------- */

typedef struct {
    char dir[32], path[64], req_line[256];
    int lfd, status;
    const char *body;
    pthread_t th;
} fake1_t;

static void *fake1_main(void *arg)
{
    fake1_t *f = arg;
    struct pollfd p = {f->lfd, POLLIN, 0};
    if (poll(&p, 1, 3000) <= 0)
        return NULL;
    int cfd = accept(f->lfd, NULL, NULL);
    if (cfd < 0)
        return NULL;
    char buf[4096];
    size_t len = 0;
    while (len + 1 < sizeof buf && !memmem(buf, len, "\r\n\r\n", 4)) {
        ssize_t n = read(cfd, buf + len, sizeof buf - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    char *eol = strstr(buf, "\r\n");
    snprintf(f->req_line, sizeof f->req_line, "%.*s", eol ? (int)(eol - buf) : 0, buf);
    char reply[1024];
    int n = snprintf(reply, sizeof reply,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\n\r\n%s",
                     f->status, strlen(f->body), f->body);
    if (write(cfd, reply, (size_t)n) < 0)
        perror("write");
    close(cfd);
    return NULL;
}

static fake1_t *fake1_start(int status, const char *body)
{
    fake1_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/qr_nodeops.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/docker.sock", f->dir);
    f->status = status;
    f->body = body;
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 2), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake1_main, f), 0);
    return f;
}

/* Waits for the exchange; copies the request line the client sent into line. */
static void fake1_stop(fake1_t *f, char *line, size_t len)
{
    pthread_join(f->th, NULL);
    snprintf(line, len, "%s", f->req_line);
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
}

static agent_conf_t conf_for(const char *socket_path)
{
    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.docker_socket = (char *)socket_path;
    c.docker_timeout_ms = 1000;
    return c;
}

static void test_rm_of_a_node_the_swarm_no_longer_has_is_already_done(void **st)
{
    (void)st;
    fake1_t *f = fake1_start(404, "{\"message\":\"node ai3 not found\"}");
    agent_conf_t c = conf_for(f->path);
    json_t *a = json_pack("{s:s}", "node", "ai3"), *out = NULL;
    qr_err_t err;
    assert_int_equal(nodeops_rm(&c, a, &out, &err), 0);
    char line[256];
    fake1_stop(f, line, sizeof line);
    assert_string_equal(line, "DELETE /v1.41/nodes/ai3 HTTP/1.1");
    assert_true(json_is_true(json_object_get(out, "removed")));
    assert_true(json_is_true(json_object_get(out, "already")));
    json_decref(out);
    json_decref(a);
}

static void test_rm_passes_dockers_refusal_on(void **st)
{
    (void)st;
    fake1_t *f = fake1_start(400, "{\"message\":\"rpc error: code = FailedPrecondition desc = "
                                  "node ai3 is not down and can't be removed\"}");
    agent_conf_t c = conf_for(f->path);
    json_t *a = json_pack("{s:s}", "node", "ai3"), *out = NULL;
    qr_err_t err;
    assert_int_equal(nodeops_rm(&c, a, &out, &err), QR_EREFUSED);
    char line[256];
    fake1_stop(f, line, sizeof line);
    assert_string_equal(line, "DELETE /v1.41/nodes/ai3 HTTP/1.1");
    assert_null(out);
    assert_non_null(strstr(err.msg, "not down"));
    json_decref(a);
}

static void test_update_reports_the_nodes_state(void **st)
{
    (void)st;
    /* already drained: one read, nothing posted, changed false */
    fake1_t *f = fake1_start(200, "{\"ID\":\"x\",\"Version\":{\"Index\":4},\"Spec\":{\"Role\":"
                                  "\"worker\",\"Availability\":\"drain\"},\"Status\":{\"State\":"
                                  "\"down\"}}");
    agent_conf_t c = conf_for(f->path);
    json_t *a = json_pack("{s:s, s:s}", "node", "ai3", "availability", "drain"), *out = NULL;
    qr_err_t err;
    assert_int_equal(nodeops_update(&c, a, &out, &err), 0);
    char line[256];
    fake1_stop(f, line, sizeof line);
    assert_string_equal(line, "GET /v1.41/nodes/ai3 HTTP/1.1");
    assert_false(json_is_true(json_object_get(out, "changed")));
    assert_string_equal(json_string_value(json_object_get(out, "state")), "down");
    assert_string_equal(json_string_value(json_object_get(out, "role")), "worker");
    assert_int_equal(json_integer_value(json_object_get(out, "attempts")), 0);
    json_decref(out);
    json_decref(a);
}

static void test_commands_without_docker_are_unavailable(void **st)
{
    (void)st;
    agent_conf_t c = conf_for("/nonexistent/qr-docker.sock");
    json_t *a = json_pack("{s:s, s:s}", "node", "ai3", "role", "worker"), *out = NULL;
    qr_err_t err;
    assert_int_equal(nodeops_update(&c, a, &out, &err), QR_EUNAVAIL);
    assert_int_equal(nodeops_rm(&c, a, &out, &err), QR_EINVAL); /* role is not an rm argument */
    json_object_del(a, "role");
    assert_int_equal(nodeops_rm(&c, a, &out, &err), QR_EUNAVAIL);
    assert_null(out);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_update_accepts_drain_and_demote),
        cmocka_unit_test(test_parse_update_rejects_bad_arguments),
        cmocka_unit_test(test_rm_of_a_node_the_swarm_no_longer_has_is_already_done),
        cmocka_unit_test(test_rm_passes_dockers_refusal_on),
        cmocka_unit_test(test_update_reports_the_nodes_state),
        cmocka_unit_test(test_commands_without_docker_are_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
