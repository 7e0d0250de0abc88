/* The web check (see check_web.h). Redirects are not followed: the load
 * balancer's health check does not follow them either, so a 302 to a login
 * page elsewhere is a failure here too. */
#include "check_web.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_URL "https://127.0.0.1:3031/login"

/* The body is not needed; discarding it keeps memory flat whatever the
 * size (a body that never ends hits the timeout). */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

/* The TLS connection stays open between cycles; OpenSSL's two 16 KiB
 * record buffers need not (SSL_MODE_RELEASE_BUFFERS frees them while the
 * connection is idle, which is nearly always). Ignored by a curl built on
 * another TLS library. */
static CURLcode release_tls_buffers(CURL *curl, void *ssl_ctx, void *arg)
{
    (void)curl;
    (void)arg;
    SSL_CTX_set_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    return CURLE_OK;
}

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

void check_web_probe(void *curl, const agent_conf_t *conf, check_web_facts_t *f)
{
    CURL *c = curl;
    const char *url = conf && conf->web_url ? conf->web_url : DEFAULT_URL;
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(f, 0, sizeof *f);
    copy_str(f->url, sizeof f->url, url);
    f->tls_verify = conf ? conf->web_tls_verify : false;
    f->timeout_ms = conf && conf->web_timeout_ms > 0 ? conf->web_timeout_ms : 2000;

    curl_easy_reset(c); /* keeps the live connection */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)f->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "quorate-agent");
    /* the body is discarded: a small receive buffer (curl's default is
     * 16 KiB, kept with the handle) */
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 4096L);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, release_tls_buffers);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, f->tls_verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, f->tls_verify ? 2L : 0L);
    if (conf && conf->web_ca_file && conf->web_ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, conf->web_ca_file);

    CURLcode cc = curl_easy_perform(c);
    curl_off_t us = 0;
    f->curl_code = (int)cc;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->http_code);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &us);
    f->time_ms = (double)us / 1000.0;
    if (cc != CURLE_OK)
        copy_str(f->curl_error, sizeof f->curl_error, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* errbuf goes out of scope */
}

/* values.reasons: the stable reason of a failure, for the controller's alert
 * keys (CHECK/NODE/REASON, docs/checks.md): never the URL or the HTTP code,
 * so a 502 that turns into a 503 stays one alert. Empty when ok. */
static void set_reason(check_result_t *out, const char *reason)
{
    json_t *arr = json_array();
    if (reason)
        json_array_append_new(arr, json_string(reason));
    json_object_set_new(out->values, "reasons", arr);
}

void check_web_eval(const check_web_facts_t *f, check_result_t *out)
{
    json_t *v = out->values;
    json_object_set_new(v, "url", json_string(f->url));
    json_object_set_new(v, "tls_verify", json_boolean(f->tls_verify));
    json_object_set_new(v, "http_code", f->http_code ? json_integer(f->http_code) : json_null());
    json_object_set_new(v, "time_ms", json_real((double)(long long)(f->time_ms * 10) / 10));

    switch (f->curl_code) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_CONNECT:
        check_result_set(out, CHECK_FAIL, "web tier not reachable at %s: %s", f->url,
                         f->curl_error);
        set_reason(out, "unreachable");
        return;
    case CURLE_OPERATION_TIMEDOUT:
        check_result_set(out, CHECK_FAIL, "web tier at %s gave no answer within %d ms", f->url,
                         f->timeout_ms);
        set_reason(out, "timeout");
        return;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        check_result_set(out, CHECK_FAIL, "TLS verification of %s failed: %s", f->url,
                         f->curl_error);
        set_reason(out, "tls_verify_failed");
        return;
    default:
        check_result_set(out, CHECK_FAIL, "GET %s failed: %s", f->url,
                         f->curl_error[0] ? f->curl_error : "transfer error");
        set_reason(out, "request_failed");
        return;
    }
    if (f->http_code != 200) {
        check_result_set(out, CHECK_FAIL, "GET %s answered HTTP %ld, expected 200", f->url,
                         f->http_code);
        set_reason(out, "http_status");
        return;
    }
    set_reason(out, NULL);
    check_result_set(out, CHECK_OK, "GET %s: HTTP 200 in %.0f ms", f->url, f->time_ms);
}

void check_web_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    if (!*state)
        *state = curl_easy_init();
    if (!*state) {
        check_result_set(out, CHECK_UNKNOWN, "cannot create a curl handle");
        set_reason(out, "curl_init_failed");
        return;
    }
    check_web_facts_t f;
    check_web_probe(*state, conf, &f);
    check_web_eval(&f, out);
}

void check_web_state_free(void *state)
{
    if (state)
        curl_easy_cleanup(state);
}
