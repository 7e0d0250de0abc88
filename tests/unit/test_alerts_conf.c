/* The alert routing config: a full valid file, each validation error with
 * its line number, secrets from files and the environment, and redaction
 * (no secret in errors or in the description). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/alerts_conf.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/qr-alerts-conf-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][128];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* Loads text; expects failure with "<path>:<line>: " and needle in the
 * message. */
static void expect_error(const char *text, int line, const char *needle)
{
    const char *path = write_file("bad.yaml", text);
    alerts_conf_t *c = NULL;
    qr_err_t err = {{0}};
    assert_true(alerts_conf_load(path, &c, &err) < 0);
    assert_null(c);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, needle))
        fail_msg("want \"%s...%s\", got \"%s\"", prefix, needle, err.msg);
}

static void test_valid_config_with_every_receiver_type(void **state)
{
    const char *slack_file =
        write_file("slack.url", "https://hooks.slack.example/T0/B0/SLACKSECRET\n");
    const char *key_file = write_file("pd.key", "PDROUTINGSECRET\n");
    setenv("QR_TEST_OG_KEY", "OPSGENIESECRET", 1);
    setenv("QR_TEST_HMAC", "HMACSECRET", 1);
    char text[4096];
    snprintf(text, sizeof text,
             "for: 45s\n"
             "group_wait: 10s\n"
             "group_interval: 2m\n"
             "repeat_interval: 1h30m\n"
             "send_resolved: true\n"
             "inhibit_node_down: false\n"
             "for_overrides:\n"
             "  disk/: 5m\n"
             "receivers:\n"
             "  - name: ops-slack\n"
             "    type: slack\n"
             "    url_file: %s\n"
             "  - name: mm\n"
             "    type: mattermost\n"
             "    url: https://mm.example/hooks/MMSECRET\n"
             "  - name: teams\n"
             "    type: teams\n"
             "    url: https://teams.example/webhook/TEAMSSECRET\n"
             "  - name: pd\n"
             "    type: pagerduty\n"
             "    routing_key_file: %s\n"
             "  - name: og\n"
             "    type: opsgenie\n"
             "    api_key_env: QR_TEST_OG_KEY\n"
             "    url: https://api.eu.opsgenie.com\n"
             "  - name: hook\n"
             "    type: webhook\n"
             "    url: https://hook.example/in\n"
             "    secret_env: QR_TEST_HMAC\n"
             "    timeout: 3s\n"
             "    send_resolved: false\n"
             "  - name: am\n"
             "    type: alertmanager\n"
             "    url: http://127.0.0.1:9093\n"
             "routes:\n"
             "  - match: {severity: critical}\n"
             "    receivers: [pd, og]\n"
             "    continue: true\n"
             "  - match:\n"
             "      dc: east\n"
             "      key_prefix: disk/\n"
             "    receivers: [ops-slack]\n"
             "    group_by: [dc, node]\n"
             "    repeat_interval: 12h\n"
             "  - receivers: [mm, teams, hook, am]\n",
             slack_file, key_file);
    const char *path = write_file("ok.yaml", text);
    alerts_conf_t *c = NULL;
    qr_err_t err = {{0}};
    int rc = alerts_conf_load(path, &c, &err);
    if (rc)
        fail_msg("load: %s", err.msg);
    assert_int_equal(c->for_ms, 45000);
    assert_int_equal(c->group_wait_ms, 10000);
    assert_int_equal(c->group_interval_ms, 120000);
    assert_int_equal(c->repeat_interval_ms, 5400000);
    assert_false(c->inhibit_node_down);
    assert_int_equal(c->nfor_overrides, 1);
    assert_string_equal(c->for_overrides[0].prefix, "disk/");
    assert_int_equal(c->for_overrides[0].for_ms, 300000);
    assert_int_equal(c->nreceivers, 7);
    assert_string_equal(c->receivers[0].url, "https://hooks.slack.example/T0/B0/SLACKSECRET");
    assert_int_equal(c->receivers[3].type, ALERTS_RCV_PAGERDUTY);
    assert_string_equal(c->receivers[3].key, "PDROUTINGSECRET");
    assert_string_equal(c->receivers[3].url, "https://events.pagerduty.com/v2/enqueue");
    assert_string_equal(c->receivers[4].key, "OPSGENIESECRET");
    assert_string_equal(c->receivers[4].url, "https://api.eu.opsgenie.com");
    assert_string_equal(c->receivers[5].secret, "HMACSECRET");
    assert_int_equal(c->receivers[5].timeout_ms, 3000);
    assert_false(c->receivers[5].send_resolved);
    assert_true(c->receivers[6].send_resolved);
    assert_int_equal(c->nroutes, 3);
    assert_int_equal(c->routes[0].min_severity, ALERTS_SEV_CRITICAL);
    assert_true(c->routes[0].cont);
    assert_int_equal(c->routes[0].nreceivers, 2);
    assert_int_equal(c->routes[0].receivers[1], 4);
    assert_string_equal(c->routes[1].dc, "east");
    assert_string_equal(c->routes[1].key_prefix, "disk/");
    assert_int_equal(c->routes[1].ngroup_by, 2);
    assert_int_equal(c->routes[1].repeat_interval_ms, 12 * 3600000LL);
    assert_int_equal(c->routes[1].group_wait_ms, 10000); /* inherited */
    assert_int_equal(c->routes[1].line, 39);
    assert_int_equal(c->routes[2].nreceivers, 4);

    alerts_params_t p;
    alerts_conf_params(c, &p);
    assert_int_equal(p.for_ms, 45000);
    assert_false(p.inhibit_node_down);

    /* the description names receivers but never a secret */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    alerts_conf_describe(c, f);
    fclose(f);
    assert_non_null(strstr(buf, "ops-slack"));
    assert_non_null(strstr(buf, "https://hooks.slack.example/<redacted>"));
    const char *secrets[] = {"SLACKSECRET",    "MMSECRET",   "TEAMSSECRET", "PDROUTINGSECRET",
                             "OPSGENIESECRET", "HMACSECRET", "T0/B0"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(buf, secrets[i]))
            fail_msg("secret %s in description:\n%s", secrets[i], buf);
    free(buf);
    alerts_conf_destroy(&c);
    assert_null(c);
}

static void test_defaults_when_only_receivers_and_routes(void **state)
{
    const char *path = write_file("min.yaml", "receivers:\n"
                                              "  - {name: am, type: alertmanager, url: "
                                              "'http://127.0.0.1:9093'}\n"
                                              "routes:\n"
                                              "  - receivers: [am]\n");
    alerts_conf_t *c = NULL;
    qr_err_t err;
    assert_int_equal(alerts_conf_load(path, &c, &err), 0);
    assert_int_equal(c->for_ms, 30000);
    assert_int_equal(c->group_wait_ms, 30000);
    assert_int_equal(c->group_interval_ms, 300000);
    assert_int_equal(c->repeat_interval_ms, 4 * 3600000LL);
    assert_true(c->send_resolved);
    assert_true(c->inhibit_node_down);
    assert_int_equal(c->routes[0].min_severity, ALERTS_SEV_INFO);
    alerts_conf_destroy(&c);
}

static const char *RCV = "receivers:\n"
                         "  - name: am\n"
                         "    type: alertmanager\n"
                         "    url: http://127.0.0.1:9093\n";

static void test_errors_name_file_and_line(void **state)
{
    char t[1024];
    expect_error("group_wait: 30s\nbogus: 1\n", 2, "unknown key bogus");
    expect_error("receivers:\n  - name: x\n    type: carrier-pigeon\n    url: http://a/b\n"
                 "routes:\n  - receivers: [x]\n",
                 3, "type: expected slack");
    snprintf(t, sizeof t,
             "%sroutes:\n  - receivers: [am]\n  - receivers:\n      - am\n"
             "      - nobody\n",
             RCV);
    expect_error(t, 9, "no receiver named nobody");
    snprintf(t, sizeof t, "%sroutes:\n  - receivers: [am]\n    group_interval: soon\n", RCV);
    expect_error(t, 7, "group_interval: expected a duration");
    snprintf(t, sizeof t, "%sroutes:\n  - receivers: [am]\n    match: {severity: loud}\n", RCV);
    expect_error(t, 7, "severity: expected critical");
    snprintf(t, sizeof t, "%sroutes:\n  - receivers: [am]\n    group_by: [colour]\n", RCV);
    expect_error(t, 7, "group_by: expected dc");
    expect_error("receivers:\n  - name: s\n    type: slack\nroutes:\n  - receivers: [s]\n", 3,
                 "url, url_file or url_env is required");
    expect_error("receivers:\n  - name: pd\n    type: pagerduty\n    routing_key: abc\n", 4,
                 "routing_key must not be written in the config");
    expect_error("receivers:\n  - name: pd\n    type: pagerduty\n", 3,
                 "pagerduty needs routing_key_file or routing_key_env");
    expect_error("receivers:\n  - name: w\n    type: webhook\n    url: https://x.example/\n", 3,
                 "webhook needs secret_file or secret_env");
    unsetenv("QR_TEST_NOT_SET");
    expect_error("receivers:\n  - name: s\n    type: slack\n\n    url_env: QR_TEST_NOT_SET\n", 5,
                 "environment variable QR_TEST_NOT_SET is not set");
    expect_error("receivers:\n  - name: s\n    type: slack\n    url_file: /nonexistent/qr\n", 4,
                 "cannot read /nonexistent/qr");
    snprintf(t, sizeof t,
             "%s  - name: am\n    type: alertmanager\n    url: http://b/\n"
             "routes:\n  - receivers: [am]\n",
             RCV);
    expect_error(t, 5, "receiver am: defined twice");
    expect_error("receivers: []\n", 1, "receivers: expected a non-empty list");
    snprintf(t, sizeof t, "%sroutes:\n  - match: {dc: east}\n", RCV);
    expect_error(t, 6, "route: receivers is required");
    expect_error("for: 30s\n", 1, "receivers");
}

static void test_yaml_syntax_error_has_line(void **state)
{
    const char *path = write_file("syntax.yaml", "receivers:\n  - name: a\n    type: [slack\n"
                                                 "routes: x\n");
    alerts_conf_t *c = NULL;
    qr_err_t err = {{0}};
    assert_int_equal(alerts_conf_load(path, &c, &err), QR_EPARSE);
    /* libfyaml's own diagnostic: file, line and column */
    char want[160];
    snprintf(want, sizeof want, "%s:", path);
    assert_non_null(strstr(err.msg, want));
    /* the unclosed "[" is detected at the end of the input, line 5 */
    snprintf(want, sizeof want, "%s:5:1: error: flow sequence without a closing bracket", path);
    assert_non_null(strstr(err.msg, want));
    assert_int_equal(alerts_conf_load("/nonexistent/alerts.yaml", &c, &err), QR_EIO);
}

static void test_secrets_never_in_error_messages(void **state)
{
    /* a URL that is wrong but secret-bearing: the error must not echo it */
    setenv("QR_TEST_BAD_URL", "ftp://hooks.example/SUPERSECRETTOKEN", 1);
    const char *path = write_file("s.yaml", "receivers:\n  - name: s\n    type: slack\n"
                                            "    url_env: QR_TEST_BAD_URL\n");
    alerts_conf_t *c = NULL;
    qr_err_t err = {{0}};
    assert_true(alerts_conf_load(path, &c, &err) < 0);
    assert_null(strstr(err.msg, "SUPERSECRETTOKEN"));
    assert_non_null(strstr(err.msg, "http:// or https://"));
    /* two sources for one secret is an error naming the key, not the value */
    const char *kf = write_file("k", "FILESECRET\n");
    char t[512];
    setenv("QR_TEST_K", "ENVSECRET", 1);
    snprintf(t, sizeof t,
             "receivers:\n  - name: pd\n    type: pagerduty\n"
             "    routing_key_file: %s\n    routing_key_env: QR_TEST_K\n",
             kf);
    path = write_file("s2.yaml", t);
    assert_true(alerts_conf_load(path, &c, &err) < 0);
    assert_null(strstr(err.msg, "FILESECRET"));
    assert_null(strstr(err.msg, "ENVSECRET"));
    assert_non_null(strstr(err.msg, ":5: "));
}

static void test_redact_url_keeps_scheme_and_host_only(void **state)
{
    char buf[128];
    alerts_conf_redact_url("https://hooks.slack.com/services/T0/B0/XYZ", buf, sizeof buf);
    assert_string_equal(buf, "https://hooks.slack.com/<redacted>");
    alerts_conf_redact_url("http://user:pw@example.org:8080/x?token=1", buf, sizeof buf);
    assert_string_equal(buf, "http://example.org:8080/<redacted>");
    alerts_conf_redact_url("garbage", buf, sizeof buf);
    assert_string_equal(buf, "<redacted>");
}

/* The shipped example must load; its secret paths point into a temp dir. */
static void test_example_config_in_deploy_loads(void **state)
{
    const char *src = getenv("QR_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/deploy/etc/alerts.yaml", src ? src : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char secrets[128];
    snprintf(secrets, sizeof secrets, "%s/secrets", dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", secrets);
    assert_int_equal(system(cmd), 0);
    write_file("secrets/slack-webhook-url", "https://hooks.slack.example/T/B/C\n");
    write_file("secrets/pagerduty-routing-key", "0123456789abcdef0123456789abcdef\n");
    write_file("secrets/teams-webhook-url", "https://teams.example/webhook/x\n");
    write_file("secrets/webhook-hmac", "hmac\n");
    setenv("QUORATE_OPSGENIE_API_KEY", "og", 1);
    /* rewrite /etc/quorate/secrets -> the temp dir */
    char out[9000] = "";
    const char *from = "/etc/quorate/secrets", *p = text, *q;
    while ((q = strstr(p, from))) {
        strncat(out, p, (size_t)(q - p));
        strcat(out, secrets);
        p = q + strlen(from);
    }
    strcat(out, p);
    const char *cfg = write_file("example.yaml", out);
    alerts_conf_t *c = NULL;
    qr_err_t err;
    if (alerts_conf_load(cfg, &c, &err))
        fail_msg("example: %s", err.msg);
    assert_int_equal(c->nreceivers, 6);
    assert_int_equal(c->nroutes, 4);
    assert_int_equal(c->routes[3].repeat_interval_ms, 120000);
    alerts_conf_destroy(&c);
}

static void test_durations(void **state)
{
    int64_t ms;
    assert_int_equal(alerts_conf_parse_duration("30s", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(alerts_conf_parse_duration("1h30m", &ms), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(alerts_conf_parse_duration("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(alerts_conf_parse_duration("2d", &ms), 0);
    assert_int_equal(ms, 172800000);
    assert_int_equal(alerts_conf_parse_duration("45", &ms), 0);
    assert_int_equal(ms, 45000);
    assert_int_equal(alerts_conf_parse_duration("", &ms), QR_EPARSE);
    assert_int_equal(alerts_conf_parse_duration("5x", &ms), QR_EPARSE);
    assert_int_equal(alerts_conf_parse_duration("-5s", &ms), QR_EPARSE);
    assert_int_equal(alerts_conf_parse_duration("99999999999999h", &ms), QR_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_config_with_every_receiver_type),
        cmocka_unit_test(test_defaults_when_only_receivers_and_routes),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_yaml_syntax_error_has_line),
        cmocka_unit_test(test_secrets_never_in_error_messages),
        cmocka_unit_test(test_redact_url_keeps_scheme_and_host_only),
        cmocka_unit_test(test_example_config_in_deploy_loads),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
