/* docker_api: the pure label merge, and the client against a scripted fake
 * Engine on a unix socket (hostile replies, timeouts, the optimistic
 * concurrency retry of node updates, connection reuse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker_api.h"

/* --- a scripted fake Engine --------------------------------------------- */

typedef struct {
    int status;       /* HTTP status; 0 = write raw as is */
    const char *body; /* reply body (or raw bytes) */
    size_t body_len;  /* 0: strlen(body) */
    int delay_ms;     /* before answering */
    size_t pad;       /* extra bytes of JSON whitespace (huge replies) */
} fake_reply_t;

#define FAKE_MAX 16
typedef struct {
    char dir[32], path[64];
    int lfd;
    pthread_t th;
    fake_reply_t replies[FAKE_MAX];
    int n_replies, next;
    /* what the client sent */
    char req_line[FAKE_MAX][256];
    char req_body[FAKE_MAX][2048];
    int connections;
    volatile int stop;
} fake_t;

static ssize_t read_request(int fd, char *buf, size_t cap, char *body, size_t body_cap)
{
    size_t len = 0;
    char *end = NULL;
    while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 3000) <= 0 || len + 1 >= cap)
            return -1;
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    buf[len] = '\0';
    size_t hdr = (size_t)(end - buf) + 4;
    size_t clen = 0;
    char *cl = strcasestr(buf, "Content-Length:");
    if (cl && cl < end)
        clen = strtoul(cl + 15, NULL, 10);
    while (len < hdr + clen) {
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    size_t bl = clen < body_cap - 1 ? clen : body_cap - 1;
    memcpy(body, buf + hdr, bl);
    body[bl] = '\0';
    return (ssize_t)hdr;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL); /* the client may have hung up */
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void *fake_main(void *arg)
{
    fake_t *f = arg;
    static char buf[65536];
    while (!f->stop) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int cfd = accept(f->lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        f->connections++;
        while (!f->stop && f->next < f->n_replies) {
            int i = f->next;
            if (read_request(cfd, buf, sizeof buf, f->req_body[i], sizeof f->req_body[i]) < 0)
                break;
            char *eol = strstr(buf, "\r\n");
            snprintf(f->req_line[i], sizeof f->req_line[i], "%.*s", (int)(eol - buf), buf);
            const fake_reply_t *r = &f->replies[i];
            f->next++;
            if (r->delay_ms)
                usleep((useconds_t)r->delay_ms * 1000);
            size_t bl = r->body_len ? r->body_len : strlen(r->body);
            if (r->status == 0) {
                write_all(cfd, r->body, bl);
                break; /* raw replies end the connection */
            }
            char hdr[256];
            int hl = snprintf(hdr, sizeof hdr,
                              "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n",
                              r->status, bl + r->pad);
            write_all(cfd, hdr, (size_t)hl);
            write_all(cfd, r->body, bl);
            if (r->pad) {
                char *spaces = malloc(65536);
                memset(spaces, ' ', 65536);
                for (size_t left = r->pad; left > 0;) {
                    size_t n = left < 65536 ? left : 65536;
                    write_all(cfd, spaces, n);
                    left -= n;
                }
                free(spaces);
            }
        }
        close(cfd);
    }
    return NULL;
}

static fake_t *fake_start(const fake_reply_t *replies, int n)
{
    fake_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/qr_fakedock.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/docker.sock", f->dir);
    memcpy(f->replies, replies, sizeof *replies * (size_t)n);
    f->n_replies = n;
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
    return f;
}

static void fake_stop(fake_t *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
}

/* --- pure: spec and label merge ----------------------------------------- */

static const char *NODE_JSON =
    "{\"ID\":\"jbqmmjmbj9m3a8k3204fp5w0x\",\"Version\":{\"Index\":11},"
    "\"Spec\":{\"Labels\":{\"mongo.replica\":\"1\",\"worker\":\"true\",\"site\":\"east\"},"
    "\"Role\":\"manager\",\"Availability\":\"drain\",\"Name\":\"keepme\"},"
    "\"Description\":{\"Hostname\":\"ai1\"},\"Status\":{\"State\":\"ready\"}}";

static void test_merge_labels_keeps_spec_and_replaces_planned_labels(void **st)
{
    (void)st;
    json_t *node = json_loads(NODE_JSON, 0, NULL);
    json_t *spec = NULL;
    uint64_t version = 0;
    qr_err_t err;
    assert_int_equal(docker_api_node_spec(node, &version, &spec, &err), 0);
    assert_int_equal(version, 11);
    json_t *add = json_pack("{s:s, s:s}", "mongo.replica", "3", "minio", "true");
    json_t *remove = json_pack("[s, s]", "worker", "not-there");
    json_t *m = docker_api_merge_labels(spec, add, remove, &err);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "Role")), "manager");
    assert_string_equal(json_string_value(json_object_get(m, "Availability")), "drain");
    assert_string_equal(json_string_value(json_object_get(m, "Name")), "keepme");
    json_t *l = json_object_get(m, "Labels");
    assert_int_equal(json_object_size(l), 3);
    assert_string_equal(json_string_value(json_object_get(l, "mongo.replica")), "3");
    assert_string_equal(json_string_value(json_object_get(l, "minio")), "true");
    assert_string_equal(json_string_value(json_object_get(l, "site")), "east");
    assert_null(json_object_get(l, "worker"));
    /* the input spec is not modified */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(spec, "Labels"), "worker")), "true");
    json_decref(m);
    json_decref(add);
    json_decref(remove);
    json_decref(spec);
    json_decref(node);
}

static void test_merge_labels_remove_then_add_same_key_sets_it(void **st)
{
    (void)st;
    json_t *spec =
        json_pack("{s:s, s:s, s:n}", "Role", "worker", "Availability", "active", "Labels");
    json_t *add = json_pack("{s:s}", "worker", "true");
    json_t *remove = json_pack("[s]", "worker");
    qr_err_t err;
    json_t *m = docker_api_merge_labels(spec, add, remove, &err);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "Labels"), "worker")),
                        "true");
    json_decref(m);
    json_decref(add);
    json_decref(remove);
    json_decref(spec);
}

static void test_merge_labels_rejects_malformed_input(void **st)
{
    (void)st;
    qr_err_t err;
    json_t *spec =
        json_pack("{s:s, s:s, s:[]}", "Role", "worker", "Availability", "active", "Labels");
    json_t *bad_add = json_pack("{s:i}", "worker", 1);
    json_t *bad_rm = json_pack("[i]", 3);
    assert_null(docker_api_merge_labels(spec, NULL, NULL, &err)); /* Labels is an array */
    json_object_set_new(spec, "Labels", json_object());
    assert_null(docker_api_merge_labels(spec, bad_add, NULL, &err));
    assert_null(docker_api_merge_labels(spec, NULL, bad_rm, &err));
    json_t *str = json_string("x");
    assert_null(docker_api_merge_labels(str, NULL, NULL, &err));
    json_decref(str);
    json_t *node =
        json_pack("{s:{s:s}, s:{s:s}}", "Version", "Index", "11", "Spec", "Role", "manager");
    json_t *out = NULL;
    uint64_t v;
    assert_int_equal(docker_api_node_spec(node, &v, &out, &err), QR_EPARSE);
    assert_null(out);
    json_decref(node);
    json_decref(bad_add);
    json_decref(bad_rm);
    json_decref(spec);
}

/* --- the client against the fake Engine --------------------------------- */

static void test_client_reuses_one_connection_across_calls(void **st)
{
    (void)st;
    fake_reply_t r[] = {{200, "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\"}", 0, 0, 0},
                        {200, "{\"Swarm\":{\"LocalNodeState\":\"inactive\"}}", 0, 0, 0},
                        {200, "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\"}", 0, 0, 0}};
    fake_t *f = fake_start(r, 3);
    docker_api_t *api = docker_api_new(f->path, 1000);
    json_t *j = NULL;
    qr_err_t err;
    assert_int_equal(docker_api_version(api, &j, &err), 0);
    json_decref(j);
    assert_int_equal(docker_api_info(api, &j, &err), 0);
    json_decref(j);
    assert_int_equal(docker_api_version(api, &j, &err), 0);
    json_decref(j);
    assert_string_equal(f->req_line[0], "GET /v1.41/version HTTP/1.1");
    assert_string_equal(f->req_line[1], "GET /v1.41/info HTTP/1.1");
    assert_int_equal(f->connections, 1);
    docker_api_destroy(&api);
    assert_null(api);
    fake_stop(f);
}

static void test_client_hostile_replies_are_errors(void **st)
{
    (void)st;
    fake_reply_t r[] = {
        {200, "{\"Version\":\"20.1", 0, 0, 0},                /* truncated JSON */
        {200, "[1,2,3]", 0, 0, 0},                            /* array, object wanted */
        {200, "{\"ok\":1}", 0, 0, DOCKER_API_MAX_REPLY + 10}, /* over the size limit */
        {0, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"a\":", 0, 0, 0}, /* cut short */
        {0, "garbage that is no HTTP at all\r\n\r\n", 0, 0, 0},
        {200, "not json", 0, 0, 0},
    };
    fake_t *f = fake_start(r, 6);
    docker_api_t *api = docker_api_new(f->path, 2000);
    json_t *j = NULL;
    qr_err_t err;
    assert_int_equal(docker_api_version(api, &j, &err), QR_EPARSE);
    assert_null(j);
    assert_int_equal(docker_api_version(api, &j, &err), QR_EPARSE);
    assert_null(j);
    assert_int_equal(docker_api_version(api, &j, &err), QR_ETOOBIG);
    assert_null(j);
    int rc = docker_api_version(api, &j, &err);
    assert_true(rc == QR_EUNAVAIL || rc == QR_EPARSE);
    assert_null(j);
    rc = docker_api_version(api, &j, &err);
    assert_true(rc < 0);
    assert_null(j);
    assert_int_equal(docker_api_nodes(api, &j, &err), QR_EPARSE);
    assert_null(j);
    docker_api_destroy(&api);
    fake_stop(f);
}

static void test_client_slow_engine_times_out(void **st)
{
    (void)st;
    fake_reply_t r[] = {{200, "{}", 0, 800, 0}};
    fake_t *f = fake_start(r, 1);
    docker_api_t *api = docker_api_new(f->path, 200);
    json_t *j = NULL;
    qr_err_t err;
    assert_int_equal(docker_api_info(api, &j, &err), QR_ETIMEOUT);
    assert_non_null(strstr(err.msg, "200 ms"));
    docker_api_destroy(&api);
    fake_stop(f);
}

static void test_client_no_socket_is_unavailable(void **st)
{
    (void)st;
    docker_api_t *api = docker_api_new("/nonexistent/qr/docker.sock", 500);
    json_t *j = NULL;
    qr_err_t err;
    assert_int_equal(docker_api_version(api, &j, &err), QR_EUNAVAIL);
    assert_non_null(strstr(err.msg, "/nonexistent/qr/docker.sock"));
    docker_api_destroy(&api);
    docker_api_destroy(&api); /* NULL-safe */
}

static void test_client_error_replies_map_to_codes(void **st)
{
    (void)st;
    fake_reply_t r[] = {
        {503, "{\"message\":\"This node is not a swarm manager.\"}", 0, 0, 0},
        {404, "{\"message\":\"node nope not found\"}", 0, 0, 0},
        {500, "{\"message\":\"rpc error: code = Unknown desc = update out of sequence\"}", 0, 0, 0},
    };
    fake_t *f = fake_start(r, 3);
    docker_api_t *api = docker_api_new(f->path, 1000);
    json_t *j = NULL;
    qr_err_t err;
    assert_int_equal(docker_api_nodes(api, &j, &err), QR_EREFUSED);
    assert_non_null(strstr(err.msg, "not a swarm manager"));
    assert_int_equal(docker_api_node_inspect(api, "nope", &j, &err), QR_ENOTFOUND);
    json_t *spec =
        json_pack("{s:s, s:s, s:{}}", "Role", "worker", "Availability", "active", "Labels");
    assert_int_equal(docker_api_node_update(api, "a/b c", 7, spec, &err), QR_ECONFLICT);
    /* the id is escaped into the path, the version is in the query */
    assert_string_equal(f->req_line[2], "POST /v1.41/nodes/a%2Fb%20c/update?version=7 HTTP/1.1");
    json_decref(spec);
    docker_api_destroy(&api);
    fake_stop(f);
}

/* reads, conflict, re-reads, posts with the new version, verifies */
static void test_set_labels_retries_out_of_sequence_with_new_version(void **st)
{
    (void)st;
    fake_reply_t r[] = {
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":10},\"Spec\":{\"Labels\":{\"worker\":\"true\","
         "\"keep\":\"x\"},\"Role\":\"manager\",\"Availability\":\"active\"}}",
         0, 0, 0},
        {500, "{\"message\":\"rpc error: code = Unknown desc = update out of sequence\"}", 0, 0, 0},
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":12},\"Spec\":{\"Labels\":{\"worker\":\"true\","
         "\"keep\":\"x\",\"other\":\"y\"},\"Role\":\"manager\",\"Availability\":\"pause\"}}",
         0, 0, 0},
        {200, "", 0, 0, 0},
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":13},\"Spec\":{\"Labels\":{\"keep\":\"x\","
         "\"other\":\"y\",\"mongo.replica\":\"2\"},\"Role\":\"manager\",\"Availability\":"
         "\"pause\"}}",
         0, 0, 0},
    };
    fake_t *f = fake_start(r, 5);
    docker_api_t *api = docker_api_new(f->path, 1000);
    json_t *add = json_pack("{s:s}", "mongo.replica", "2");
    json_t *remove = json_pack("[s]", "worker");
    json_t *labels = NULL;
    int attempts = 0;
    qr_err_t err;
    docker_api_label_opts_t o = {.backoff_ms = 1};
    assert_int_equal(
        docker_api_node_set_labels(api, "n1", add, remove, &o, &labels, &attempts, &err), 0);
    assert_int_equal(attempts, 2);
    assert_string_equal(f->req_line[1], "POST /v1.41/nodes/n1/update?version=10 HTTP/1.1");
    assert_string_equal(f->req_line[3], "POST /v1.41/nodes/n1/update?version=12 HTTP/1.1");
    /* the second post carries the re-read spec: the concurrent writer's label and
     * Availability survive, ours is merged in */
    json_t *sent = json_loads(f->req_body[3], 0, NULL);
    assert_non_null(sent);
    assert_string_equal(json_string_value(json_object_get(sent, "Availability")), "pause");
    assert_string_equal(json_string_value(json_object_get(sent, "Role")), "manager");
    json_t *sl = json_object_get(sent, "Labels");
    assert_string_equal(json_string_value(json_object_get(sl, "other")), "y");
    assert_string_equal(json_string_value(json_object_get(sl, "mongo.replica")), "2");
    assert_null(json_object_get(sl, "worker"));
    assert_string_equal(json_string_value(json_object_get(labels, "mongo.replica")), "2");
    json_decref(sent);
    json_decref(labels);
    json_decref(add);
    json_decref(remove);
    docker_api_destroy(&api);
    fake_stop(f);
}

static void test_set_labels_gives_up_after_bounded_attempts(void **st)
{
    (void)st;
    const char *node = "{\"ID\":\"n1\",\"Version\":{\"Index\":10},\"Spec\":{\"Labels\":{},"
                       "\"Role\":\"worker\",\"Availability\":\"active\"}}";
    const char *oos = "{\"message\":\"update out of sequence\"}";
    fake_reply_t r[] = {{200, node, 0, 0, 0}, {500, oos, 0, 0, 0},  {200, node, 0, 0, 0},
                        {500, oos, 0, 0, 0},  {200, node, 0, 0, 0}, {500, oos, 0, 0, 0}};
    fake_t *f = fake_start(r, 6);
    docker_api_t *api = docker_api_new(f->path, 1000);
    json_t *add = json_pack("{s:s}", "worker", "true");
    int attempts = 0;
    qr_err_t err;
    docker_api_label_opts_t o = {.max_attempts = 3, .backoff_ms = 1};
    assert_int_equal(docker_api_node_set_labels(api, "n1", add, NULL, &o, NULL, &attempts, &err),
                     QR_ECONFLICT);
    assert_int_equal(attempts, 3);
    assert_non_null(strstr(err.msg, "3 times"));
    json_decref(add);
    docker_api_destroy(&api);
    fake_stop(f);
}

static void test_set_labels_detects_lost_update_on_verify(void **st)
{
    (void)st;
    const char *node = "{\"ID\":\"n1\",\"Version\":{\"Index\":10},\"Spec\":{\"Labels\":{},"
                       "\"Role\":\"worker\",\"Availability\":\"active\"}}";
    fake_reply_t r[] = {{200, node, 0, 0, 0}, {200, "", 0, 0, 0}, {200, node, 0, 0, 0}};
    fake_t *f = fake_start(r, 3);
    docker_api_t *api = docker_api_new(f->path, 1000);
    json_t *add = json_pack("{s:s}", "worker", "true");
    qr_err_t err;
    assert_int_equal(docker_api_node_set_labels(api, "n1", add, NULL, NULL, NULL, NULL, &err),
                     QR_ESTALE);
    json_decref(add);
    docker_api_destroy(&api);
    fake_stop(f);
}

/* --- node availability / role, node removal (decommission) --------------- */

static void test_merge_node_state_keeps_labels_and_rejects_bad_values(void **st)
{
    (void)st;
    json_t *node = json_loads(NODE_JSON, 0, NULL);
    json_t *spec = json_object_get(node, "Spec");
    qr_err_t err;
    json_t *out = docker_api_merge_node_state(spec, "drain", "worker", &err);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "Availability")), "drain");
    assert_string_equal(json_string_value(json_object_get(out, "Role")), "worker");
    assert_string_equal(json_string_value(json_object_get(out, "Name")), "keepme");
    assert_true(json_equal(json_object_get(out, "Labels"), json_object_get(spec, "Labels")));
    json_decref(out);
    out = docker_api_merge_node_state(spec, NULL, "worker", &err); /* availability kept */
    assert_string_equal(json_string_value(json_object_get(out, "Availability")), "drain");
    json_decref(out);
    assert_null(docker_api_merge_node_state(spec, "gone", NULL, &err));
    assert_null(docker_api_merge_node_state(spec, NULL, "leader", &err));
    json_t *bad = json_pack("{s:s}", "Role", "worker"); /* no Availability */
    assert_null(docker_api_merge_node_state(bad, "drain", NULL, &err));
    json_decref(bad);
    json_decref(node);
}

static void test_set_state_retries_out_of_sequence_and_keeps_labels(void **st)
{
    (void)st;
    fake_reply_t r[] = {
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":20},\"Spec\":{\"Labels\":{\"mongo.replica\":\"3\"},"
         "\"Role\":\"manager\",\"Availability\":\"active\"},\"Status\":{\"State\":\"ready\"}}",
         0, 0, 0},
        {500, "{\"message\":\"update out of sequence\"}", 0, 0, 0},
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":21},\"Spec\":{\"Labels\":{\"mongo.replica\":\"3\","
         "\"x\":\"7\"},\"Role\":\"manager\",\"Availability\":\"active\"}}",
         0, 0, 0},
        {200, "", 0, 0, 0},
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":22},\"Spec\":{\"Labels\":{\"mongo.replica\":\"3\","
         "\"x\":\"7\"},\"Role\":\"manager\",\"Availability\":\"drain\"},\"Status\":{\"State\":"
         "\"ready\"}}",
         0, 0, 0},
    };
    fake_t *f = fake_start(r, 5);
    docker_api_t *api = docker_api_new(f->path, 1000);
    json_t *node = NULL;
    bool changed = false;
    int attempts = 0;
    qr_err_t err;
    docker_api_label_opts_t o = {.backoff_ms = 1};
    assert_int_equal(docker_api_node_set_state(api, "ai3", "drain", NULL, &o, &node, &changed,
                                               &attempts, &err),
                     0);
    assert_true(changed);
    assert_int_equal(attempts, 2);
    assert_string_equal(f->req_line[1], "POST /v1.41/nodes/ai3/update?version=20 HTTP/1.1");
    assert_string_equal(f->req_line[3], "POST /v1.41/nodes/ai3/update?version=21 HTTP/1.1");
    json_t *sent = json_loads(f->req_body[3], 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent, "Availability")), "drain");
    assert_string_equal(json_string_value(json_object_get(sent, "Role")), "manager");
    /* the concurrent writer's label survives: the spec is re-read, not replayed */
    assert_string_equal(json_string_value(json_object_get(json_object_get(sent, "Labels"), "x")),
                        "7");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(node, "Version"), "Index")),
                     22);
    json_decref(sent);
    json_decref(node);
    docker_api_destroy(&api);
    fake_stop(f);
}

static void test_set_state_already_so_posts_nothing(void **st)
{
    (void)st;
    fake_reply_t r[] = {
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":5},\"Spec\":{\"Role\":\"worker\","
         "\"Availability\":\"drain\"},\"Status\":{\"State\":\"down\"}}",
         0, 0, 0},
    };
    fake_t *f = fake_start(r, 1);
    docker_api_t *api = docker_api_new(f->path, 1000);
    bool changed = true;
    int attempts = -1;
    qr_err_t err;
    assert_int_equal(docker_api_node_set_state(api, "ai3", "drain", "worker", NULL, NULL, &changed,
                                               &attempts, &err),
                     0);
    assert_false(changed);
    assert_int_equal(attempts, 0);
    assert_int_equal(f->next, 1); /* only the read */
    assert_int_equal(docker_api_node_set_state(api, "ai3", NULL, NULL, NULL, NULL, NULL, NULL,
                                               &err),
                     QR_EINVAL);
    docker_api_destroy(&api);
    fake_stop(f);
}

static void test_set_state_refusal_carries_daemons_reason(void **st)
{
    (void)st;
    fake_reply_t r[] = {
        {200,
         "{\"ID\":\"n1\",\"Version\":{\"Index\":5},\"Spec\":{\"Role\":\"manager\","
         "\"Availability\":\"drain\"}}",
         0, 0, 0},
        {400,
         "{\"message\":\"rpc error: code = FailedPrecondition desc = attempting to demote the "
         "last manager of the swarm\"}",
         0, 0, 0},
    };
    fake_t *f = fake_start(r, 2);
    docker_api_t *api = docker_api_new(f->path, 1000);
    int attempts = 0;
    qr_err_t err;
    assert_int_equal(docker_api_node_set_state(api, "ai1", NULL, "worker", NULL, NULL, NULL,
                                               &attempts, &err),
                     QR_EREFUSED);
    assert_int_equal(attempts, 1); /* a refusal is not retried */
    assert_non_null(strstr(err.msg, "last manager"));
    docker_api_destroy(&api);
    fake_stop(f);
}

static void test_node_remove_sends_delete_without_force(void **st)
{
    (void)st;
    fake_reply_t r[] = {
        {200, "", 0, 0, 0},
        {400, "{\"message\":\"rpc error: code = FailedPrecondition desc = node n1 is not down "
              "and can't be removed\"}",
         0, 0, 0},
        {404, "{\"message\":\"node ai9 not found\"}", 0, 0, 0},
    };
    fake_t *f = fake_start(r, 3);
    docker_api_t *api = docker_api_new(f->path, 1000);
    qr_err_t err;
    assert_int_equal(docker_api_node_remove(api, "ai3", &err), 0);
    assert_string_equal(f->req_line[0], "DELETE /v1.41/nodes/ai3 HTTP/1.1");
    assert_int_equal(docker_api_node_remove(api, "ai3", &err), QR_EREFUSED);
    assert_non_null(strstr(err.msg, "not down"));
    assert_int_equal(docker_api_node_remove(api, "ai9", &err), QR_ENOTFOUND);
    assert_int_equal(docker_api_node_remove(api, "", &err), QR_EINVAL);
    docker_api_destroy(&api);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_labels_keeps_spec_and_replaces_planned_labels),
        cmocka_unit_test(test_merge_labels_remove_then_add_same_key_sets_it),
        cmocka_unit_test(test_merge_labels_rejects_malformed_input),
        cmocka_unit_test(test_client_reuses_one_connection_across_calls),
        cmocka_unit_test(test_client_hostile_replies_are_errors),
        cmocka_unit_test(test_client_slow_engine_times_out),
        cmocka_unit_test(test_client_no_socket_is_unavailable),
        cmocka_unit_test(test_client_error_replies_map_to_codes),
        cmocka_unit_test(test_set_labels_retries_out_of_sequence_with_new_version),
        cmocka_unit_test(test_set_labels_gives_up_after_bounded_attempts),
        cmocka_unit_test(test_set_labels_detects_lost_update_on_verify),
        cmocka_unit_test(test_merge_node_state_keeps_labels_and_rejects_bad_values),
        cmocka_unit_test(test_set_state_retries_out_of_sequence_and_keeps_labels),
        cmocka_unit_test(test_set_state_already_so_posts_nothing),
        cmocka_unit_test(test_set_state_refusal_carries_daemons_reason),
        cmocka_unit_test(test_node_remove_sends_delete_without_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
