/* The web check against a real HTTP(S) server on loopback (libmicrohttpd,
 * ephemeral port): 200 ok, 302/500 fail, refused, slow reply times out,
 * keep-alive across runs, TLS verification off / on / with a CA file (a
 * self-signed certificate made here with OpenSSL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_web.h"
#include "check_testlib.h"

typedef struct {
    struct MHD_Daemon *d;
    int port;
    int connections;
} server_t;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size;
    /* answer on the second call: a response queued on the first one makes
     * libmicrohttpd close the connection (no keep-alive to test) */
    static int first_seen;
    if (!*con_cls) {
        *con_cls = &first_seen;
        return MHD_YES;
    }
    int status = 200;
    const char *body = "<html>login</html>";
    if (strcmp(url, "/redirect") == 0)
        status = 302;
    else if (strcmp(url, "/error") == 0)
        status = 500;
    else if (strcmp(url, "/slow") == 0)
        usleep(1500 * 1000);
    else if (strcmp(url, "/login") != 0)
        status = 404;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (status == 302)
        MHD_add_response_header(r, "Location", "/elsewhere");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)c, (void)socket_context;
    server_t *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        __atomic_add_fetch(&s->connections, 1, __ATOMIC_SEQ_CST);
}

static void server_start(server_t *s, const char *key_pem, const char *cert_pem)
{
    memset(s, 0, sizeof *s);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (key_pem)
        s->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handler, s,
                                MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_NOTIFY_CONNECTION,
                                on_connection, s, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_END);
    else
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sin,
                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    assert_non_null(s->d);
    s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    assert_true(s->port > 0);
}

static void server_stop(server_t *s)
{
    MHD_stop_daemon(s->d);
}

static void conf_for(agent_conf_t *conf, char *url, size_t len, const char *scheme, int port,
                     const char *path)
{
    memset(conf, 0, sizeof *conf);
    snprintf(url, len, "%s://127.0.0.1:%d%s", scheme, port, path);
    conf->web_url = url;
    conf->web_timeout_ms = 2000;
}

static void run_once(const agent_conf_t *conf, void **state, check_result_t *r)
{
    check_result_init(r, "web");
    check_web_run(conf, state, r);
}

static void test_web_login_200_ok_with_values(void **st)
{
    (void)st;
    server_t s;
    server_start(&s, NULL, NULL);
    agent_conf_t conf;
    char url[128];
    conf_for(&conf, url, sizeof url, "http", s.port, "/login");
    void *state = NULL;
    check_result_t r;
    run_once(&conf, &state, &r);
    assert_int_equal(r.status, CHECK_OK);
    assert_non_null(strstr(r.summary, "HTTP 200"));
    assert_int_equal(json_integer_value(json_object_get(r.values, "http_code")), 200);
    assert_string_equal(json_string_value(json_object_get(r.values, "url")), url);
    assert_true(json_is_false(json_object_get(r.values, "tls_verify")));
    assert_true(json_is_number(json_object_get(r.values, "time_ms")));
    assert_reasons(&r, NULL);
    check_result_clear(&r);
    check_web_state_free(state);
    server_stop(&s);
}

static void test_web_reuses_connection_across_runs(void **st)
{
    (void)st;
    server_t s;
    server_start(&s, NULL, NULL);
    agent_conf_t conf;
    char url[128];
    conf_for(&conf, url, sizeof url, "http", s.port, "/login");
    void *state = NULL;
    check_result_t r;
    for (int i = 0; i < 5; i++) {
        run_once(&conf, &state, &r);
        assert_int_equal(r.status, CHECK_OK);
        check_result_clear(&r);
    }
    assert_int_equal(__atomic_load_n(&s.connections, __ATOMIC_SEQ_CST), 1);
    check_web_state_free(state);
    server_stop(&s);
}

static void test_web_redirect_and_server_error_fail_with_code(void **st)
{
    (void)st;
    server_t s;
    server_start(&s, NULL, NULL);
    const char *paths[] = {"/redirect", "/error", "/nope"};
    const char *codes[] = {"HTTP 302", "HTTP 500", "HTTP 404"};
    void *state = NULL;
    for (int i = 0; i < 3; i++) {
        agent_conf_t conf;
        char url[128];
        check_result_t r;
        conf_for(&conf, url, sizeof url, "http", s.port, paths[i]);
        run_once(&conf, &state, &r);
        assert_int_equal(r.status, CHECK_FAIL);
        if (!strstr(r.summary, codes[i]))
            fail_msg("summary '%s' lacks '%s'", r.summary, codes[i]);
        /* one key whatever the code: a 502 turning into a 503 is one alert */
        assert_reasons(&r, "http_status", NULL);
        check_result_clear(&r);
    }
    check_web_state_free(state);
    server_stop(&s);
}

static void test_web_connection_refused_fails(void **st)
{
    (void)st;
    /* a port that was free a moment ago and has no listener */
    int port;
    close(loopback_bound_socket(&port));
    agent_conf_t conf;
    char url[128];
    conf_for(&conf, url, sizeof url, "https", port, "/login");
    void *state = NULL;
    check_result_t r;
    run_once(&conf, &state, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "not reachable"));
    assert_reasons(&r, "unreachable", NULL);
    assert_true(json_is_null(json_object_get(r.values, "http_code")));
    check_result_clear(&r);
    check_web_state_free(state);
}

static void test_web_slow_reply_times_out(void **st)
{
    (void)st;
    server_t s;
    server_start(&s, NULL, NULL);
    agent_conf_t conf;
    char url[128];
    conf_for(&conf, url, sizeof url, "http", s.port, "/slow");
    conf.web_timeout_ms = 200;
    void *state = NULL;
    check_result_t r;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    run_once(&conf, &state, &r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "no answer within 200 ms"));
    assert_reasons(&r, "timeout", NULL);
    assert_true(ms < 1200); /* the reply would come after 1500 ms */
    check_result_clear(&r);
    check_web_state_free(state);
    server_stop(&s);
}

static void test_web_eval_only_200_is_ok(void **st)
{
    (void)st;
    long codes[] = {199, 200, 201, 204, 301, 401, 503};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        check_web_facts_t f;
        check_result_t r;
        memset(&f, 0, sizeof f);
        snprintf(f.url, sizeof f.url, "https://127.0.0.1:3031/login");
        f.http_code = codes[i];
        f.time_ms = 12.34;
        check_result_init(&r, "web");
        check_web_eval(&f, &r);
        assert_int_equal(r.status, codes[i] == 200 ? CHECK_OK : CHECK_FAIL);
        if (codes[i] == 200)
            assert_reasons(&r, NULL);
        else
            assert_reasons(&r, "http_status", NULL);
        check_result_clear(&r);
    }
}

/* --- TLS ------------------------------------------------------------------ */

static char *bio_string(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

/* A self-signed certificate for IP 127.0.0.1, as the web tier often has. */
static void make_cert(char **key_pem, char **cert_pem)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    assert_non_null(pk);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, san, -1);
    X509_add_ext(x, bc, -1);
    X509_EXTENSION_free(san);
    X509_EXTENSION_free(bc);
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_X509(cb, x);
    *key_pem = bio_string(kb);
    *cert_pem = bio_string(cb);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void test_web_tls_verification_off_on_and_with_ca_file(void **st)
{
    (void)st;
    char *key, *cert;
    make_cert(&key, &cert);
    server_t s;
    server_start(&s, key, cert);
    agent_conf_t conf;
    char url[128];
    check_result_t r;
    void *state = NULL;

    /* verification off (the default for a self-signed tier): ok */
    conf_for(&conf, url, sizeof url, "https", s.port, "/login");
    run_once(&conf, &state, &r);
    assert_int_equal(r.status, CHECK_OK);
    check_result_clear(&r);

    /* verification on, certificate unknown to the system CAs: fail, says TLS */
    conf.web_tls_verify = true;
    conf.web_ca_file = NULL;
    run_once(&conf, &state, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.summary, "TLS"));
    assert_true(json_is_true(json_object_get(r.values, "tls_verify")));
    assert_reasons(&r, "tls_verify_failed", NULL);
    check_result_clear(&r);

    /* verification on with the tier's certificate as CA file: ok */
    char ca[] = "/tmp/qr_web_ca.XXXXXX";
    int fd = mkstemp(ca);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, cert, strlen(cert)), (ssize_t)strlen(cert));
    close(fd);
    conf.web_ca_file = ca;
    run_once(&conf, &state, &r);
    assert_int_equal(r.status, CHECK_OK);
    check_result_clear(&r);
    unlink(ca);

    check_web_state_free(state);
    server_stop(&s);
    free(key);
    free(cert);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_web_login_200_ok_with_values),
        cmocka_unit_test(test_web_reuses_connection_across_runs),
        cmocka_unit_test(test_web_redirect_and_server_error_fail_with_code),
        cmocka_unit_test(test_web_connection_refused_fails),
        cmocka_unit_test(test_web_slow_reply_times_out),
        cmocka_unit_test(test_web_eval_only_200_is_ok),
        cmocka_unit_test(test_web_tls_verification_off_on_and_with_ca_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
