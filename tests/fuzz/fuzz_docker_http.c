/* Fuzz target: a Docker Engine API reply at the HTTP level, as docker_api
 * takes it from the daemon's unix socket: status line, headers, body (size
 * limit, JSON decoding, the status codes' meaning, the daemon's "message" on
 * errors). The first byte picks the call (GET /version, /info, /nodes,
 * /services, /tasks, /nodes/{id}, POST /nodes/{id}/update); the rest is the
 * raw reply a peer on a unix socket sends to the real client (libcurl with
 * docker_api's options). What a call returns goes on into the docker check's
 * parsers. fuzz_docker covers the bodies in depth. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/check_docker.h"
#include "agent/docker_api.h"
#include "fuzz_util.h"
#include "http_once.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static http_once_t *peer;
static json_t *spec;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
    peer = http_once_new_unix();
    spec = json_pack("{s:s, s:s, s:{s:s}}", "Role", "manager", "Availability", "active",
                     "Labels", "mongo.replica", "1");
    if (!spec)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 512 * 1024)
        return 0;
    docker_api_t *api = docker_api_new(http_once_path(peer), 2000);
    if (!api)
        abort();
    check_docker_facts_t f;
    check_docker_facts_init(&f);
    json_t *j = NULL;
    qr_err_t err = {{0}};
    int rc;
    http_once_start(peer, data + 1, size - 1);
    switch (data[0] % 7) {
    case 0:
        if ((rc = docker_api_version(api, &j, &err)) == 0)
            rc = check_docker_parse_version(j, &f, &err);
        break;
    case 1:
        if ((rc = docker_api_info(api, &j, &err)) == 0)
            rc = check_docker_parse_info(j, &f, &err);
        break;
    case 2:
        if ((rc = docker_api_nodes(api, &j, &err)) == 0)
            rc = check_docker_parse_nodes(j, &f, &err);
        break;
    case 3:
        rc = docker_api_services(api, &j, &err);
        break;
    case 4:
        rc = docker_api_tasks_running(api, &j, &err);
        break;
    case 5:
        if ((rc = docker_api_node_inspect(api, "ai1", &j, &err)) == 0) {
            uint64_t version;
            json_t *s = NULL;
            if (docker_api_node_spec(j, &version, &s, &err) == 0)
                json_decref(s);
        }
        break;
    default:
        rc = docker_api_node_update(api, "ai1", 42, spec, &err);
        break;
    }
    fuzz_note("docker_api", rc, err.msg);
    docker_api_destroy(&api); /* hangs up: the peer's thread ends */
    http_once_finish(peer);
    json_decref(j);
    check_docker_facts_clear(&f);
    return 0;
}
