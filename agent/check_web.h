/* The web check: what the load balancer sees, an HTTP(S) GET of the web
 * tier's /login (port 3031) answering 200. The probe keeps its curl handle
 * between runs so the connection (and TLS session) is reused. */
#ifndef QR_CHECK_WEB_H
#define QR_CHECK_WEB_H

#include <stdbool.h>

#include "agent_conf.h"
#include "check.h"

typedef struct {
    char url[512];
    bool tls_verify;
    int timeout_ms;
    int curl_code;        /* CURLcode of the transfer, 0 = completed */
    char curl_error[256]; /* curl's detail when curl_code != 0 */
    long http_code;       /* 0 when no reply */
    double time_ms;       /* whole request */
} check_web_facts_t;

/* Performs the GET with handle curl (a CURL *, reused between calls) as conf
 * says (web_url, web_tls_verify, web_ca_file, web_timeout_ms). Blocking,
 * bounded by web_timeout_ms. */
void check_web_probe(void *curl, const agent_conf_t *conf, check_web_facts_t *f);

/* Pure: 200 -> ok; any other status, refused connection, TLS failure or
 * timeout -> fail naming it. */
void check_web_eval(const check_web_facts_t *f, check_result_t *out);

/* check_def_t entry points; *state holds the curl handle between runs. */
void check_web_run(const agent_conf_t *conf, void **state, check_result_t *out);
void check_web_state_free(void *state);

#endif
