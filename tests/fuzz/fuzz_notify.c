/* Fuzz target: an alert receiver's HTTP reply as notify (the controller's
 * alert delivery) takes it. The first byte picks the receiver type (slack,
 * mattermost, teams, pagerduty, opsgenie, webhook, alertmanager), the rest is
 * the raw reply a loopback peer sends to the test notification's request
 * (libcurl multi with notify's options). notify reads the status, Retry-After
 * and the start of the body; the run ends at the first outcome (delivered,
 * configuration error, retrying). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/notify.h"
#include "fuzz_util.h"
#include "http_once.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static http_once_t *peer;
static alerts_conf_t *conf;

static const char *const types[] = {"slack",    "mattermost", "teams",       "pagerduty",
                                    "opsgenie", "webhook",    "alertmanager"};
#define NTYPES (sizeof types / sizeof types[0])

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    peer = http_once_new();
    char url[96], yaml[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/fuzz", http_once_port(peer));
    setenv("QR_FUZZ_URL", url, 1);
    setenv("QR_FUZZ_KEY", "0123456789abcdef0123456789abcdef", 1);
    size_t n = 0;
    n += (size_t)snprintf(yaml + n, sizeof yaml - n, "receivers:\n");
    for (size_t i = 0; i < NTYPES; i++) {
        n += (size_t)snprintf(yaml + n, sizeof yaml - n,
                              "  - name: r%zu\n    type: %s\n    timeout: 2s\n", i, types[i]);
        if (i < 3) /* chat webhooks: the URL is the secret */
            n += (size_t)snprintf(yaml + n, sizeof yaml - n, "    url_env: QR_FUZZ_URL\n");
        else
            n += (size_t)snprintf(yaml + n, sizeof yaml - n, "    url: %s\n", url);
        if (i == 3)
            n += (size_t)snprintf(yaml + n, sizeof yaml - n, "    routing_key_env: QR_FUZZ_KEY\n");
        if (i == 4)
            n += (size_t)snprintf(yaml + n, sizeof yaml - n, "    api_key_env: QR_FUZZ_KEY\n");
        if (i == 5)
            n += (size_t)snprintf(yaml + n, sizeof yaml - n, "    secret_env: QR_FUZZ_KEY\n");
    }
    n += (size_t)snprintf(yaml + n, sizeof yaml - n, "routes:\n  - receivers: [r0]\n");
    qr_err_t err = {{0}};
    if (alerts_conf_load(fuzz_tmpfile((const uint8_t *)yaml, n), &conf, &err) != 0) {
        fprintf(stderr, "fuzz_notify: receivers config: %s\n", err.msg);
        abort();
    }
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_result(const notify_result_t *res, void *arg)
{
    int *done = arg;
    fuzz_note(res->receiver, res->outcome == NOTIFY_DELIVERED ? 0 : QR_EREFUSED, res->error);
    if (strnlen(res->response, sizeof res->response) == sizeof res->response)
        abort(); /* the excerpt must be a terminated string */
    *done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    int rcv = data[0] % (int)NTYPES;
    int done = 0;
    notify_params_t p;
    notify_params_default(&p);
    notify_t *n = notify_new(conf, &p, on_result, &done);
    if (!n)
        abort();
    int64_t t0 = now_ms();
    if (notify_submit(n, notify_make_test(conf, rcv, t0), t0) != 0)
        abort();
    http_once_start(peer, data + 1, size - 1);
    notify_perform(n, t0);
    while (!done && now_ms() - t0 < 5000)
        notify_wait(n, 100, now_ms);
    notify_destroy(&n); /* hangs up: the peer's thread ends */
    http_once_finish(peer);
    return 0;
}
