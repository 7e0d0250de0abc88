/* Docker Engine API client over the unix socket (see docker_api.h). The
 * easy handle is reset, not recreated, per request: curl_easy_reset keeps
 * the live connection, so a cycle costs no connect. */
#include "docker_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct docker_api {
    CURL *curl;
    char *socket_path;
    int timeout_ms;
    /* the reply being received */
    char *buf;
    size_t len, cap;
    bool too_big;
};

docker_api_t *docker_api_new(const char *socket_path, int timeout_ms)
{
    docker_api_t *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    api->socket_path = strdup(socket_path ? socket_path : "/var/run/docker.sock");
    api->curl = curl_easy_init();
    api->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    if (!api->socket_path || !api->curl) {
        docker_api_destroy(&api);
        return NULL;
    }
    return api;
}

void docker_api_destroy(docker_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    docker_api_t *api = *self_p;
    if (api->curl)
        curl_easy_cleanup(api->curl);
    free(api->socket_path);
    free(api->buf);
    free(api);
    *self_p = NULL;
}

const char *docker_api_socket(const docker_api_t *api)
{
    return api ? api->socket_path : NULL;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    docker_api_t *api = userdata;
    size_t n = size * nmemb;
    if (n > DOCKER_API_MAX_REPLY - api->len) {
        api->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (api->len + n + 1 > api->cap) {
        size_t cap = api->cap ? api->cap : 16384;
        while (cap < api->len + n + 1)
            cap *= 2;
        char *nb = realloc(api->buf, cap);
        if (!nb)
            return 0;
        api->buf = nb;
        api->cap = cap;
    }
    memcpy(api->buf + api->len, ptr, n);
    api->len += n;
    api->buf[api->len] = '\0';
    return n;
}

/* The daemon's error replies are {"message": "..."}; anything else is
 * summarised by its size so a hostile body never floods the log. */
static void reply_message(const docker_api_t *api, char *msg, size_t msglen)
{
    msg[0] = '\0';
    if (api->len == 0)
        return;
    json_t *j = json_loadb(api->buf, api->len, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "message"));
    if (m)
        snprintf(msg, msglen, "%s", m);
    else
        snprintf(msg, msglen, "(%zu bytes, no message)", api->len);
    json_decref(j);
}

static int request(docker_api_t *api, const char *method, const char *path, const json_t *body,
                   long *http_code, json_t **out, qr_err_t *err)
{
    if (http_code)
        *http_code = 0;
    if (out)
        *out = NULL;
    if (!api || !method || !path || path[0] != '/')
        return qr_err_set(err, QR_EINVAL, "docker api: bad request arguments");

    char url[1024];
    int ul = snprintf(url, sizeof url, "http://localhost" DOCKER_API_PREFIX "%s", path);
    if (ul < 0 || (size_t)ul >= sizeof url)
        return qr_err_set(err, QR_EINVAL, "docker api: path too long");

    char *payload = NULL;
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload)
            return qr_err_set(err, QR_ENOMEM, "docker api: cannot encode request");
    }

    CURL *c = api->curl;
    curl_easy_reset(c);
    api->len = 0;
    api->too_big = false;
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;

    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, api->socket_path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)api->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)api->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* called from worker threads */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, api);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DOCKER_API_MAX_REPLY);
    if (payload) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdrs);
    free(payload);
    if (http_code)
        *http_code = code;

    if (cc != CURLE_OK) {
        const char *why = curl_err[0] ? curl_err : curl_easy_strerror(cc);
        if (api->too_big || cc == CURLE_FILESIZE_EXCEEDED)
            return qr_err_set(err, QR_ETOOBIG, "docker api: %s reply over %u bytes", path,
                              DOCKER_API_MAX_REPLY);
        if (cc == CURLE_OPERATION_TIMEDOUT)
            return qr_err_set(err, QR_ETIMEOUT, "docker api: %s: no answer within %d ms", path,
                              api->timeout_ms);
        if (cc == CURLE_COULDNT_CONNECT) {
            /* curl words it as "localhost port 80"; the socket's errno says
             * what is wrong (no daemon, not in group docker, ...) */
            long os_errno = 0;
            curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
            return qr_err_set(err, QR_EUNAVAIL, "cannot connect to %s: %s", api->socket_path,
                              os_errno ? strerror((int)os_errno) : why);
        }
        return qr_err_set(err, QR_EUNAVAIL, "docker api: %s: %s", path, why);
    }

    if (code < 200 || code > 299) {
        char msg[300];
        reply_message(api, msg, sizeof msg);
        if (code == 404)
            return qr_err_set(err, QR_ENOTFOUND, "docker api: %s: HTTP 404: %s", path, msg);
        if (code == 409 || (code == 500 && strstr(msg, "update out of sequence")))
            return qr_err_set(err, QR_ECONFLICT, "docker api: %s: HTTP %ld: %s", path, code, msg);
        /* the swarm is between leaders (seen right after a partition): worth
         * a bounded retry, unlike a refusal */
        if ((code == 500 || code == 503) &&
            (strstr(msg, "lost leader") || strstr(msg, "does not have a leader") ||
             strstr(msg, "DeadlineExceeded")))
            return qr_err_set(err, QR_EUNAVAIL, "docker api: %s: HTTP %ld: %s", path, code, msg);
        return qr_err_set(err, QR_EREFUSED, "docker api: %s: HTTP %ld: %s", path, code, msg);
    }

    int rc = 0;
    if (api->len > 0 && out) {
        json_error_t jerr;
        *out = json_loadb(api->buf, api->len, JSON_DECODE_ANY, &jerr);
        if (!*out)
            rc = qr_err_set(err, QR_EPARSE, "docker api: %s: bad JSON: %s", path, jerr.text);
    }
    return rc;
}

int docker_api_request(docker_api_t *api, const char *method, const char *path, const json_t *body,
                       long *http_code, json_t **out, qr_err_t *err)
{
    int rc = request(api, method, path, body, http_code, out, err);
    /* one huge reply must not pin megabytes for the agent's lifetime */
    if (api && api->cap > 256 * 1024) {
        free(api->buf);
        api->buf = NULL;
        api->cap = api->len = 0;
    }
    return rc;
}

static int get_typed(docker_api_t *api, const char *path, json_type want, json_t **out,
                     qr_err_t *err)
{
    json_t *j = NULL;
    *out = NULL;
    int rc = docker_api_request(api, "GET", path, NULL, NULL, &j, err);
    if (rc)
        return rc;
    if (!j || json_typeof(j) != want) {
        json_decref(j);
        return qr_err_set(err, QR_EPARSE, "docker api: %s: expected a JSON %s", path,
                          want == JSON_ARRAY ? "array" : "object");
    }
    *out = j;
    return 0;
}

int docker_api_version(docker_api_t *api, json_t **out, qr_err_t *err)
{
    return get_typed(api, "/version", JSON_OBJECT, out, err);
}

int docker_api_info(docker_api_t *api, json_t **out, qr_err_t *err)
{
    return get_typed(api, "/info", JSON_OBJECT, out, err);
}

int docker_api_nodes(docker_api_t *api, json_t **out, qr_err_t *err)
{
    return get_typed(api, "/nodes", JSON_ARRAY, out, err);
}

int docker_api_services(docker_api_t *api, json_t **out, qr_err_t *err)
{
    return get_typed(api, "/services", JSON_ARRAY, out, err);
}

int docker_api_tasks_running(docker_api_t *api, json_t **out, qr_err_t *err)
{
    /* filters={"desired-state":["running"]}, URL-encoded */
    return get_typed(api, "/tasks?filters=%7B%22desired-state%22%3A%5B%22running%22%5D%7D",
                     JSON_ARRAY, out, err);
}

static int node_path(docker_api_t *api, const char *id, const char *suffix, char *path, size_t len,
                     qr_err_t *err)
{
    if (!id || !id[0] || strlen(id) > 256)
        return qr_err_set(err, QR_EINVAL, "docker api: bad node id");
    char *esc = curl_easy_escape(api->curl, id, 0);
    if (!esc)
        return qr_err_set(err, QR_ENOMEM, "docker api: cannot escape node id");
    int n = snprintf(path, len, "/nodes/%s%s", esc, suffix);
    curl_free(esc);
    if (n < 0 || (size_t)n >= len)
        return qr_err_set(err, QR_EINVAL, "docker api: node id too long");
    return 0;
}

int docker_api_node_inspect(docker_api_t *api, const char *id, json_t **out, qr_err_t *err)
{
    char path[900];
    *out = NULL;
    int rc = node_path(api, id, "", path, sizeof path, err);
    return rc ? rc : get_typed(api, path, JSON_OBJECT, out, err);
}

int docker_api_node_update(docker_api_t *api, const char *id, uint64_t version, const json_t *spec,
                           qr_err_t *err)
{
    char suffix[48], path[900];
    if (!json_is_object(spec))
        return qr_err_set(err, QR_EINVAL, "docker api: node spec must be an object");
    snprintf(suffix, sizeof suffix, "/update?version=%llu", (unsigned long long)version);
    int rc = node_path(api, id, suffix, path, sizeof path, err);
    return rc ? rc : docker_api_request(api, "POST", path, spec, NULL, NULL, err);
}

int docker_api_node_spec(const json_t *node, uint64_t *version, json_t **spec, qr_err_t *err)
{
    *spec = NULL;
    json_t *v = json_object_get(json_object_get(node, "Version"), "Index");
    json_t *s = json_object_get(node, "Spec");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return qr_err_set(err, QR_EPARSE, "node has no Version.Index");
    if (!json_is_object(s) || !json_is_string(json_object_get(s, "Role")) ||
        !json_is_string(json_object_get(s, "Availability")))
        return qr_err_set(err, QR_EPARSE, "node Spec lacks Role/Availability");
    json_t *labels = json_object_get(s, "Labels");
    if (labels && !json_is_object(labels) && !json_is_null(labels))
        return qr_err_set(err, QR_EPARSE, "node Spec.Labels is not an object");
    *version = (uint64_t)json_integer_value(v);
    *spec = json_deep_copy(s);
    return *spec ? 0 : qr_err_set(err, QR_ENOMEM, "out of memory");
}

json_t *docker_api_merge_labels(const json_t *spec, const json_t *add, const json_t *remove,
                                qr_err_t *err)
{
    if (!json_is_object(spec)) {
        qr_err_set(err, QR_EINVAL, "spec is not an object");
        return NULL;
    }
    if (add && !json_is_object(add)) {
        qr_err_set(err, QR_EINVAL, "labels to add must be an object");
        return NULL;
    }
    if (remove && !json_is_array(remove)) {
        qr_err_set(err, QR_EINVAL, "labels to remove must be an array");
        return NULL;
    }
    const json_t *old = json_object_get(spec, "Labels");
    if (old && !json_is_object(old) && !json_is_null(old)) {
        qr_err_set(err, QR_EINVAL, "spec Labels is not an object");
        return NULL;
    }
    const char *k;
    json_t *v;
    size_t i;
    json_object_foreach((json_t *)add, k, v) {
        if (!json_is_string(v)) {
            qr_err_set(err, QR_EINVAL, "label %s: value is not a string", k);
            return NULL;
        }
    }
    json_array_foreach(remove, i, v) {
        if (!json_is_string(v)) {
            qr_err_set(err, QR_EINVAL, "labels to remove must be strings");
            return NULL;
        }
    }

    json_t *out = json_deep_copy(spec);
    json_t *labels = json_is_object(old) ? json_deep_copy(old) : json_object();
    if (!out || !labels) {
        json_decref(out);
        json_decref(labels);
        qr_err_set(err, QR_ENOMEM, "out of memory");
        return NULL;
    }
    json_array_foreach(remove, i, v) {
        json_object_del(labels, json_string_value(v));
    }
    json_object_foreach((json_t *)add, k, v) {
        json_object_set(labels, k, v);
    }
    json_object_set_new(out, "Labels", labels);
    return out;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* True when node's labels carry every added value and none of the removed
 * keys (a key both removed and added must carry the added value). */
static bool labels_match(const json_t *labels, const json_t *add, const json_t *remove)
{
    const char *k;
    json_t *v;
    size_t i;
    json_array_foreach(remove, i, v) {
        const char *key = json_string_value(v);
        if (!json_object_get(add, key) && json_object_get(labels, key))
            return false;
    }
    json_object_foreach((json_t *)add, k, v) {
        if (!json_equal(json_object_get(labels, k), v))
            return false;
    }
    return true;
}

/* Builds a node's new spec from its current one, or sets *nothing when the
 * spec already is what the caller wants (no POST needed). */
typedef json_t *(*spec_merge_fn)(const json_t *spec, const void *arg, bool *nothing,
                                 qr_err_t *err);

/* The optimistic-concurrency loop of every node change: read the node's spec
 * and version, merge, POST with that version, and retry a conflict (another
 * writer came first) or an unavailable manager with a growing backoff. With
 * *nothing set by merge, returns 0 at once with the node read in *unchanged.
 * *tries: rounds used; *posts: updates sent. */
static int update_node(docker_api_t *api, const char *id, const docker_api_label_opts_t *opts,
                       spec_merge_fn merge, const void *arg, json_t **unchanged, int *tries,
                       int *posts, qr_err_t *err)
{
    int max_attempts = opts && opts->max_attempts > 0 ? opts->max_attempts : 5;
    int backoff = opts && opts->backoff_ms > 0 ? opts->backoff_ms : 50;
    int rc = QR_ECONFLICT, n;
    *unchanged = NULL;
    *posts = 0;
    for (n = 1; n <= max_attempts; n++) {
        json_t *cur = NULL, *spec = NULL, *merged = NULL;
        uint64_t version = 0;
        bool nothing = false;
        rc = docker_api_node_inspect(api, id, &cur, err);
        if (!rc)
            rc = docker_api_node_spec(cur, &version, &spec, err);
        if (!rc && !(merged = merge(spec, arg, &nothing, err)) && !nothing)
            rc = QR_EINVAL;
        if (!rc && nothing) { /* already so (a re-run, or done by hand) */
            json_decref(spec);
            *unchanged = cur;
            *tries = n;
            return 0;
        }
        if (!rc && opts && opts->before_write)
            opts->before_write(opts->arg, n);
        if (!rc) {
            (*posts)++;
            rc = docker_api_node_update(api, id, version, merged, err);
        }
        json_decref(cur);
        json_decref(spec);
        json_decref(merged);
        if (rc != QR_ECONFLICT && rc != QR_EUNAVAIL)
            break;
        if (n < max_attempts)
            sleep_ms(backoff);
        backoff = backoff < 2000 ? backoff * 2 : backoff;
    }
    *tries = n > max_attempts ? max_attempts : n;
    if (rc == QR_ECONFLICT)
        return qr_err_set(err, QR_ECONFLICT, "node %s: update out of sequence %d times, giving up",
                          id, max_attempts);
    return rc;
}

typedef struct {
    const json_t *add, *remove;
} label_change_t;

static json_t *merge_labels(const json_t *spec, const void *arg, bool *nothing, qr_err_t *err)
{
    const label_change_t *c = arg;
    (void)nothing; /* labels are always written, then read back */
    return docker_api_merge_labels(spec, c->add, c->remove, err);
}

int docker_api_node_set_labels(docker_api_t *api, const char *id, const json_t *add,
                               const json_t *remove, const docker_api_label_opts_t *opts,
                               json_t **labels, int *attempts, qr_err_t *err)
{
    if (labels)
        *labels = NULL;
    label_change_t change = {add, remove};
    json_t *unchanged;
    int tries = 0, posts;
    int rc = update_node(api, id, opts, merge_labels, &change, &unchanged, &tries, &posts, err);
    json_decref(unchanged);
    if (attempts)
        *attempts = tries;
    if (rc)
        return rc;

    /* verify: the swarm's store is what the scheduler uses, read it back */
    json_t *node = NULL;
    rc = docker_api_node_inspect(api, id, &node, err);
    if (rc)
        return rc;
    json_t *got = json_object_get(json_object_get(node, "Spec"), "Labels");
    json_t *empty = json_object();
    if (!json_is_object(got))
        got = empty;
    if (!labels_match(got, add, remove)) {
        json_decref(node);
        json_decref(empty);
        return qr_err_set(err, QR_ESTALE, "node %s: labels not as written after update", id);
    }
    if (labels)
        *labels = json_deep_copy(got);
    json_decref(node);
    json_decref(empty);
    return 0;
}

json_t *docker_api_merge_node_state(const json_t *spec, const char *availability,
                                    const char *role, qr_err_t *err)
{
    if (!json_is_object(spec) || !json_is_string(json_object_get(spec, "Role")) ||
        !json_is_string(json_object_get(spec, "Availability"))) {
        qr_err_set(err, QR_EINVAL, "spec lacks Role/Availability");
        return NULL;
    }
    if (availability && strcmp(availability, "active") != 0 && strcmp(availability, "pause") != 0 &&
        strcmp(availability, "drain") != 0) {
        qr_err_set(err, QR_EINVAL, "availability must be active, pause or drain");
        return NULL;
    }
    if (role && strcmp(role, "worker") != 0 && strcmp(role, "manager") != 0) {
        qr_err_set(err, QR_EINVAL, "role must be worker or manager");
        return NULL;
    }
    json_t *out = json_deep_copy(spec);
    if (!out) {
        qr_err_set(err, QR_ENOMEM, "out of memory");
        return NULL;
    }
    if (availability)
        json_object_set_new(out, "Availability", json_string(availability));
    if (role)
        json_object_set_new(out, "Role", json_string(role));
    return out;
}

static bool state_is(const json_t *spec, const char *availability, const char *role)
{
    const char *a = json_string_value(json_object_get(spec, "Availability"));
    const char *r = json_string_value(json_object_get(spec, "Role"));
    return (!availability || (a && strcmp(a, availability) == 0)) &&
           (!role || (r && strcmp(r, role) == 0));
}

typedef struct {
    const char *availability, *role;
} state_change_t;

static json_t *merge_state(const json_t *spec, const void *arg, bool *nothing, qr_err_t *err)
{
    const state_change_t *c = arg;
    if (state_is(spec, c->availability, c->role)) {
        *nothing = true;
        return NULL;
    }
    return docker_api_merge_node_state(spec, c->availability, c->role, err);
}

int docker_api_node_set_state(docker_api_t *api, const char *id, const char *availability,
                              const char *role, const docker_api_label_opts_t *opts,
                              json_t **node, bool *changed, int *attempts, qr_err_t *err)
{
    if (node)
        *node = NULL;
    if (changed)
        *changed = false;
    if (attempts)
        *attempts = 0;
    if (!availability && !role)
        return qr_err_set(err, QR_EINVAL, "nothing to change (no availability, no role)");
    state_change_t change = {availability, role};
    json_t *unchanged;
    int tries, posts = 0;
    int rc = update_node(api, id, opts, merge_state, &change, &unchanged, &tries, &posts, err);
    if (attempts)
        *attempts = posts;
    if (rc)
        return rc;
    if (unchanged) {
        if (node)
            *node = unchanged;
        else
            json_decref(unchanged);
        return 0;
    }

    json_t *after = NULL, *spec = NULL;
    uint64_t version = 0;
    rc = docker_api_node_inspect(api, id, &after, err);
    if (!rc)
        rc = docker_api_node_spec(after, &version, &spec, err);
    if (!rc && !state_is(spec, availability, role))
        rc = qr_err_set(err, QR_ESTALE, "node %s: availability/role not as written after update",
                        id);
    json_decref(spec);
    if (rc) {
        json_decref(after);
        return rc;
    }
    if (changed)
        *changed = true;
    if (node)
        *node = after;
    else
        json_decref(after);
    return 0;
}

int docker_api_node_remove(docker_api_t *api, const char *id, qr_err_t *err)
{
    char path[900];
    int rc = node_path(api, id, "", path, sizeof path, err);
    return rc ? rc : docker_api_request(api, "DELETE", path, NULL, NULL, NULL, err);
}
