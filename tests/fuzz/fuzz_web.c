/* Fuzz target: the HTTP reply of the web tier as the web check takes it.
 * Each input is the raw reply (status line, headers, body) a loopback peer
 * sends to check_web_probe, which runs libcurl with the check's own options
 * (no redirects, http/https only, the timeout); then check_web_eval. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/check_web.h"
#include "fuzz_util.h"
#include "http_once.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static agent_conf_t *conf;
static http_once_t *peer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
    peer = http_once_new();
    conf = agent_conf_defaults();
    if (!conf)
        abort();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/login", http_once_port(peer));
    free(conf->web_url);
    conf->web_url = strdup(url);
    conf->web_timeout_ms = 2000;
    if (!conf->web_url)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    CURL *c = curl_easy_init();
    if (!c)
        abort();
    check_web_facts_t f;
    http_once_start(peer, data, size);
    check_web_probe(c, conf, &f);
    curl_easy_cleanup(c); /* hangs up: the peer's thread ends */
    http_once_finish(peer);
    check_result_t r;
    check_result_init(&r, "web");
    check_web_eval(&f, &r);
    fuzz_check_result(&r);
    return 0;
}
