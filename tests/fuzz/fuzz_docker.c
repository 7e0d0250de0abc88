/* Fuzz target: Docker Engine API reply bodies as the docker check and the
 * label apply interpret them. Input: up to six JSON bodies separated by
 * FUZZ_SEP: GET /version, /info, /nodes, /services, /tasks, and a label
 * change {"add": {...}, "remove": [...]}. They go through the probe's steps
 * and rules (docker_api's JSON decoding and type checks, no /nodes unless a
 * manager, ...), then the evaluator; every node of /nodes then goes through
 * what apply_labels does with GET /nodes/{id}: docker_api_node_spec and
 * docker_api_merge_labels. The HTTP layer is curl's; what curl hands over is
 * this body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/check_docker.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static agent_conf_t *conf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    conf = agent_conf_defaults();
    if (!conf)
        abort();
    return 0;
}

/* docker_api_request + get_typed: decode, then insist on the type */
static int reply(const fuzz_part_t *p, json_type want, json_t **out, qr_err_t *err)
{
    *out = NULL;
    if (p->len == 0)
        return 0; /* an empty 2xx body decodes to NULL, which get_typed refuses */
    json_error_t jerr;
    json_t *j = json_loadb(p->data, p->len, 0, &jerr);
    if (!j)
        return qr_err_set(err, QR_EPARSE, "docker api: bad JSON: %s", jerr.text);
    if (json_typeof(j) != want) {
        json_decref(j);
        return qr_err_set(err, QR_EPARSE, "docker api: expected a JSON %s",
                          want == JSON_ARRAY ? "array" : "object");
    }
    *out = j;
    return 0;
}

#define COPY(dst, src) snprintf(dst, sizeof dst, "%s", src)

/* check_docker_probe with the bodies from the input */
static void probe(const fuzz_part_t *p, size_t n, check_docker_facts_t *f, json_t **nodes)
{
    qr_err_t err = {{0}};
    json_t *j = NULL, *t = NULL;
    COPY(f->socket, "/var/run/docker.sock");
    f->version_rc = reply(&p[0], JSON_OBJECT, &j, &err);
    if (!f->version_rc)
        f->version_rc = j ? check_docker_parse_version(j, f, &err) : QR_EPARSE;
    json_decref(j);
    j = NULL;
    if (f->version_rc) {
        COPY(f->version_error, err.msg);
        return;
    }
    f->info_rc = n > 1 ? reply(&p[1], JSON_OBJECT, &j, &err) : QR_ETIMEOUT;
    if (!f->info_rc)
        f->info_rc = j ? check_docker_parse_info(j, f, &err) : QR_EPARSE;
    json_decref(j);
    j = NULL;
    if (f->info_rc) {
        COPY(f->info_error, err.msg);
        return;
    }
    if (strcmp(f->swarm_state, "active") != 0 || !f->control_available)
        return;
    f->nodes_probed = true;
    f->nodes_rc = n > 2 ? reply(&p[2], JSON_ARRAY, &j, &err) : QR_ETIMEOUT;
    if (!f->nodes_rc)
        f->nodes_rc = j ? check_docker_parse_nodes(j, f, &err) : QR_EPARSE;
    if (f->nodes_rc) {
        json_decref(j);
        COPY(f->nodes_error, err.msg);
        return;
    }
    *nodes = j;
    j = NULL;
    f->services_probed = true;
    f->services_rc = n > 3 ? reply(&p[3], JSON_ARRAY, &j, &err) : QR_ETIMEOUT;
    if (!f->services_rc)
        f->services_rc = n > 4 ? reply(&p[4], JSON_ARRAY, &t, &err) : QR_ETIMEOUT;
    if (!f->services_rc)
        f->services_rc = j && t ? check_docker_parse_services(j, t, f, &err) : QR_EPARSE;
    json_decref(j);
    json_decref(t);
    if (f->services_rc)
        COPY(f->services_error, err.msg);
}

/* agent apply_labels: GET /nodes/{id} (here: each node of /nodes), merge */
static void relabel(const json_t *nodes, const fuzz_part_t *change)
{
    json_t *c = change ? json_loadb(change->data, change->len, 0, NULL) : NULL;
    json_t *add = json_object_get(c, "add"), *remove = json_object_get(c, "remove");
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node) {
        if (i >= 16)
            break;
        uint64_t version = 0;
        json_t *spec = NULL;
        qr_err_t err = {{0}};
        if (docker_api_node_spec(node, &version, &spec, &err) != 0)
            continue;
        json_t *merged = docker_api_merge_labels(spec, add, remove, &err);
        char *s = merged ? json_dumps(merged, JSON_COMPACT) : NULL;
        free(s);
        json_decref(merged);
        json_decref(spec);
    }
    json_decref(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024 * 1024)
        return 0;
    fuzz_part_t p[6];
    size_t n = fuzz_split(data, size, p, 6);
    check_docker_facts_t f;
    check_docker_facts_init(&f);
    json_t *nodes = NULL;
    probe(p, n, &f, &nodes);
    check_result_t r;
    check_result_init(&r, "docker");
    check_docker_eval(&f, conf, &r);
    fuzz_check_result(&r);
    if (nodes)
        relabel(nodes, n > 5 ? &p[5] : NULL);
    json_decref(nodes);
    check_docker_facts_clear(&f);
    fuzz_parts_free(p, n);
    return 0;
}
