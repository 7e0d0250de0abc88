/* The agent's YAML config: defaults, every setting, and every refusal as
 * "file:line: reason" with the line the user has to fix. No error path leaks
 * (LeakSanitizer checks the program at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent_conf.h"
#include "common/err.h"

#define KEY40 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY40B "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

#define CONF_TEST_NAME "agent.yaml"
#include "conf_testlib.h"

static void assert_err_at(const qr_err_t *err, int line, const char *what)
{
    if (err_line(err, conf_path) != line)
        fail_msg("error '%s' is not at %s:%d", err->msg, conf_path, line);
    if (what && !strstr(err->msg, what))
        fail_msg("error '%s' does not mention '%s'", err->msg, what);
}

/* For errors about a combination of settings: any of the lines involved. */
static void assert_err_at_one_of(const qr_err_t *err, int a, int b, const char *what)
{
    int line = err_line(err, conf_path);
    if (line != a && line != b)
        fail_msg("error '%s' is not at %s:%d or :%d", err->msg, conf_path, a, b);
    if (what && !strstr(err->msg, what))
        fail_msg("error '%s' does not mention '%s'", err->msg, what);
}

static agent_conf_t *load_ok(const char *text)
{
    agent_conf_t *c = NULL;
    qr_err_t err = {""};
    int rc = agent_conf_load(write_conf(text), &c, &err);
    if (rc != 0)
        fail_msg("config refused (%d): %s", rc, err.msg);
    assert_non_null(c);
    return c;
}

/* Loads text expecting a refusal; *out must stay untouched. */
static int load_err(const char *text, qr_err_t *err)
{
    agent_conf_t *sentinel = (agent_conf_t *)(uintptr_t)1, *c = sentinel;
    memset(err, 0, sizeof *err);
    int rc = agent_conf_load(write_conf(text), &c, err);
    if (rc == 0) {
        agent_conf_destroy(&c);
        fail_msg("config accepted:\n%s", text);
    }
    assert_true(c == sentinel);
    assert_int_not_equal(err->msg[0], '\0');
    return rc;
}

static void assert_is_defaults(const agent_conf_t *c)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(c->node, host);
    assert_string_equal(c->dc, "default");
    assert_null(c->address);
    assert_int_equal(c->interval_ms, 5000);
    assert_int_equal(c->heartbeat_ms, 500);
    assert_int_equal(c->probe_timeout_ms, 4000);
    assert_int_equal(c->queue_max, 64);
    assert_true(c->curve);
    assert_null(c->cert);
    assert_string_equal(c->state_dir, "/var/lib/quorate");
    assert_int_equal(c->n_controllers, 0);
    assert_true(c->check_docker && c->check_disk && c->check_ntp && c->check_ports &&
                c->check_mongod && c->check_web && c->check_envfile && c->check_host);
    assert_string_equal(c->datadir, "/datadir");
    assert_string_equal(c->rootdir, "/");
    assert_true(c->datadir_min_gb == 50);
    assert_true(c->root_free_min_gb == 50);
    assert_null(c->install_user);
    assert_string_equal(c->docker_socket, "/var/run/docker.sock");
    assert_int_equal(c->docker_timeout_ms, 2000);
    assert_true(c->ntp_warn_ms == 100);
    assert_true(c->ntp_fail_ms == 500);
    static const int tcp[] = {2377, 7946, 27017, 3031, 9000, 32646, 22};
    assert_int_equal(c->n_tcp_ports, 7);
    assert_memory_equal(c->tcp_ports, tcp, sizeof tcp);
    assert_int_equal(c->n_udp_ports, 2);
    assert_int_equal(c->udp_ports[0], 7946);
    assert_int_equal(c->udp_ports[1], 4789);
    assert_string_equal(c->mongo_uri, "mongodb://127.0.0.1:27017/?directConnection=true");
    assert_false(c->mongo_tls);
    assert_null(c->mongo_tls_ca_file);
    assert_false(c->mongo_tls_allow_invalid_hostnames);
    assert_int_equal(c->mongo_timeout_ms, 2000);
    assert_string_equal(c->web_url, "https://127.0.0.1:3031/login");
    assert_false(c->web_tls_verify);
    assert_null(c->web_ca_file);
    assert_int_equal(c->web_timeout_ms, 2000);
    assert_string_equal(c->env_file, "/opt/tango/tango.env");
    assert_int_equal(c->test_clock_offset_ms, 0);
}

/* ---- defaults and valid files ----------------------------------------- */

static void test_agent_conf_defaults_match_the_documented_values(void **state)
{
    (void)state;
    agent_conf_t *c = agent_conf_defaults();
    assert_non_null(c);
    assert_null(c->path);
    assert_is_defaults(c);
    agent_conf_destroy(&c);
    assert_null(c);
    agent_conf_destroy(&c);
    agent_conf_destroy(NULL);
}

static void test_agent_conf_empty_file_gives_the_defaults(void **state)
{
    (void)state;
    agent_conf_t *c = load_ok("");
    assert_is_defaults(c);
    assert_string_equal(c->path, conf_path);
    agent_conf_destroy(&c);
}

static void test_agent_conf_comment_only_file_gives_the_defaults(void **state)
{
    (void)state;
    agent_conf_t *c = load_ok("# quorate agent\n# every setting has a default\n");
    assert_is_defaults(c);
    agent_conf_destroy(&c);
}

/* A one-setting file changes that setting only. */
static void test_agent_conf_one_setting_keeps_other_defaults(void **state)
{
    (void)state;
    agent_conf_t *c = load_ok("dc: west\n");
    assert_string_equal(c->dc, "west");
    free(c->dc);
    c->dc = strdup("default");
    assert_is_defaults(c);
    agent_conf_destroy(&c);
}

static void test_agent_conf_valid_file_sets_every_field(void **state)
{
    (void)state;
    agent_conf_t *c =
        load_ok("node: ai1\n"
                "dc: east\n"
                "address: 10.0.0.11\n"
                "interval_ms: 2000\n"
                "heartbeat_ms: 250\n"
                "probe_timeout_ms: 1500\n"
                "queue_max: 10\n"
                "curve: on\n"
                "cert: /etc/quorate/ai1.key_secret\n"
                "state_dir: /srv/quorate\n"
                "controllers:\n"
                "  - endpoint: tcp://10.0.0.1:7700\n"
                "    public_key: \"" KEY40 "\"\n"
                "  - {endpoint: \"tcp://10.0.0.2:7700\", public_key: \"" KEY40B "\"}\n"
                "checks: [disk, host, envfile]\n"
                "datadir: /data\n"
                "rootdir: /srv\n"
                "datadir_min_gb: 100.5\n"
                "root_free_min_gb: 20\n"
                "install_user: tango\n"
                "docker_socket: /run/docker.sock\n"
                "docker_timeout_ms: 900\n"
                "ntp_warn_ms: 20\n"
                "ntp_fail_ms: 80\n"
                "tcp_ports: [22, 2377]\n"
                "udp_ports:\n"
                "  - 4789\n"
                "mongo_uri: mongodb://10.0.0.11:27017/\n"
                "mongo_tls: yes\n"
                "mongo_tls_ca_file: /etc/ssl/ca.pem\n"
                "mongo_tls_allow_invalid_hostnames: true\n"
                "mongo_timeout_ms: 700\n"
                "web_url: http://127.0.0.1:3031/login\n"
                "web_tls_verify: true\n"
                "web_ca_file: /etc/ssl/web.pem\n"
                "web_timeout_ms: 800\n"
                "env_file: /opt/app/app.env\n"
                "test_clock_offset_ms: -1500\n");
    assert_string_equal(c->path, conf_path);
    assert_string_equal(c->node, "ai1");
    assert_string_equal(c->dc, "east");
    assert_string_equal(c->address, "10.0.0.11");
    assert_int_equal(c->interval_ms, 2000);
    assert_int_equal(c->heartbeat_ms, 250);
    assert_int_equal(c->probe_timeout_ms, 1500);
    assert_int_equal(c->queue_max, 10);
    assert_true(c->curve);
    assert_string_equal(c->cert, "/etc/quorate/ai1.key_secret");
    assert_string_equal(c->state_dir, "/srv/quorate");
    assert_int_equal(c->n_controllers, 2);
    assert_string_equal(c->controllers[0].endpoint, "tcp://10.0.0.1:7700");
    assert_string_equal(c->controllers[0].public_key, KEY40);
    assert_string_equal(c->controllers[1].endpoint, "tcp://10.0.0.2:7700");
    assert_string_equal(c->controllers[1].public_key, KEY40B);
    assert_false(c->check_docker);
    assert_true(c->check_disk);
    assert_false(c->check_ntp);
    assert_false(c->check_ports);
    assert_false(c->check_mongod);
    assert_false(c->check_web);
    assert_true(c->check_envfile);
    assert_true(c->check_host);
    assert_string_equal(c->datadir, "/data");
    assert_string_equal(c->rootdir, "/srv");
    assert_true(c->datadir_min_gb == 100.5);
    assert_true(c->root_free_min_gb == 20);
    assert_string_equal(c->install_user, "tango");
    assert_string_equal(c->docker_socket, "/run/docker.sock");
    assert_int_equal(c->docker_timeout_ms, 900);
    assert_true(c->ntp_warn_ms == 20);
    assert_true(c->ntp_fail_ms == 80);
    assert_int_equal(c->n_tcp_ports, 2);
    assert_int_equal(c->tcp_ports[0], 22);
    assert_int_equal(c->tcp_ports[1], 2377);
    assert_int_equal(c->n_udp_ports, 1);
    assert_int_equal(c->udp_ports[0], 4789);
    assert_string_equal(c->mongo_uri, "mongodb://10.0.0.11:27017/");
    assert_true(c->mongo_tls);
    assert_string_equal(c->mongo_tls_ca_file, "/etc/ssl/ca.pem");
    assert_true(c->mongo_tls_allow_invalid_hostnames);
    assert_int_equal(c->mongo_timeout_ms, 700);
    assert_string_equal(c->web_url, "http://127.0.0.1:3031/login");
    assert_true(c->web_tls_verify);
    assert_string_equal(c->web_ca_file, "/etc/ssl/web.pem");
    assert_int_equal(c->web_timeout_ms, 800);
    assert_string_equal(c->env_file, "/opt/app/app.env");
    assert_int_equal(c->test_clock_offset_ms, -1500);
    agent_conf_destroy(&c);
}

static void test_agent_conf_curve_off_needs_no_cert_or_keys(void **state)
{
    (void)state;
    agent_conf_t *c = load_ok("curve: false\n"
                              "controllers:\n"
                              "  - endpoint: tcp://127.0.0.1:7700\n");
    assert_false(c->curve);
    assert_int_equal(c->n_controllers, 1);
    assert_null(c->controllers[0].public_key);
    agent_conf_destroy(&c);
}

static void test_agent_conf_empty_checks_list_disables_every_check(void **state)
{
    (void)state;
    agent_conf_t *c = load_ok("checks: []\n");
    assert_false(c->check_docker || c->check_disk || c->check_ntp || c->check_ports ||
                 c->check_mongod || c->check_web || c->check_envfile || c->check_host);
    agent_conf_destroy(&c);
}

/* ---- refusals, each at its line --------------------------------------- */

static void test_agent_conf_missing_file_is_an_io_error(void **state)
{
    (void)state;
    agent_conf_t *c = NULL;
    qr_err_t err = {""};
    char path[200];
    snprintf(path, sizeof path, "%s/absent.yaml", tmpdir);
    assert_int_equal(agent_conf_load(path, &c, &err), QR_EIO);
    assert_null(c);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));
}

static void test_agent_conf_unknown_key_names_it_at_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: ai1\ndc: east\n\n# timing\nintervall_ms: 100\n", &err),
                     QR_EPARSE);
    assert_err_at(&err, 5, "unknown setting 'intervall_ms'");
}

static void test_agent_conf_wrong_type_names_setting_at_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: ai1\ninterval_ms: 5s\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "interval_ms");
    assert_non_null(strstr(err.msg, "'5s'"));

    assert_int_equal(load_err("dc: [east, west]\n", &err), QR_EPARSE);
    assert_err_at(&err, 1, "dc");

    assert_int_equal(load_err("node: a\ndc: b\ndatadir_min_gb: lots\n", &err), QR_EPARSE);
    assert_err_at(&err, 3, "datadir_min_gb");

    assert_int_equal(load_err("node: a\ncontrollers: tcp://1.2.3.4:7700\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "controllers");

    assert_int_equal(load_err("node: a\ncontrollers: [tcp://1.2.3.4:7700]\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "controllers");

    assert_int_equal(load_err("node: a\ntcp_ports: 22\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "tcp_ports");

    assert_int_equal(load_err("node: a\nchecks: host\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "checks");
}

static void test_agent_conf_out_of_range_is_erange_at_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\n\nheartbeat_ms: 10\n", &err), QR_ERANGE);
    assert_err_at(&err, 3, "heartbeat_ms");
    assert_non_null(strstr(err.msg, "out of range"));

    assert_int_equal(load_err("probe_timeout_ms: 99\n", &err), QR_ERANGE);
    assert_err_at(&err, 1, "probe_timeout_ms");

    assert_int_equal(load_err("node: a\nqueue_max: 0\n", &err), QR_ERANGE);
    assert_err_at(&err, 2, "queue_max");

    assert_int_equal(load_err("node: a\nroot_free_min_gb: -1\n", &err), QR_ERANGE);
    assert_err_at(&err, 2, "root_free_min_gb");

    assert_int_equal(load_err("node: a\ntest_clock_offset_ms: 86400001\n", &err), QR_ERANGE);
    assert_err_at(&err, 2, "test_clock_offset_ms");

    assert_int_equal(load_err("node: a\ntcp_ports: [22, 65536]\n", &err), QR_ERANGE);
    assert_err_at(&err, 2, "tcp_ports");

    assert_int_equal(load_err("node: a\nudp_ports: [0]\n", &err), QR_ERANGE);
    assert_err_at(&err, 2, "udp_ports");
}

static void test_agent_conf_bad_bool_at_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\ndc: b\ncurve: enabled\n", &err), QR_EPARSE);
    assert_err_at(&err, 3, "curve");
    assert_non_null(strstr(err.msg, "true or false"));

    assert_int_equal(load_err("mongo_tls: 2\n", &err), QR_EPARSE);
    assert_err_at(&err, 1, "mongo_tls");
}

static void test_agent_conf_malformed_yaml_at_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\ndc: b\ndatadir: /data: x\nrootdir: /\n", &err), QR_EPARSE);
    assert_err_at(&err, 3, NULL);

    assert_int_equal(load_err("node: a\ndc: b\nnode: c\n", &err), QR_EPARSE);
    assert_err_at(&err, 3, "duplicate key");
}

static void test_agent_conf_top_level_list_refused(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("# agent\n- node: a\n- dc: b\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "expected a mapping");
}

static void test_agent_conf_controller_without_endpoint(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(
        load_err("node: a\ncert: /x\ncontrollers:\n  - public_key: \"" KEY40 "\"\n", &err),
        QR_EPARSE);
    assert_err_at(&err, 4, "without endpoint");
}

/* In a list of controllers the error names the entry that is wrong. */
static void test_agent_conf_second_controller_without_endpoint_names_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("cert: /x\n"
                              "controllers:\n"
                              "  - endpoint: tcp://10.0.0.1:7700\n"
                              "    public_key: \"" KEY40 "\"\n"
                              "  - public_key: \"" KEY40B "\"\n",
                              &err),
                     QR_EPARSE);
    assert_err_at(&err, 5, "without endpoint");
}

static void test_agent_conf_public_key_must_be_40_chars(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("cert: /x\n"
                              "controllers:\n"
                              "  - {endpoint: \"tcp://10.0.0.1:7700\", public_key: abc}\n",
                              &err),
                     QR_EPARSE);
    assert_err_at(&err, 3, "40");

    /* 41 characters: one too many */
    assert_int_equal(load_err("cert: /x\n"
                              "controllers:\n"
                              "  - {endpoint: \"tcp://10.0.0.1:7700\", public_key: \"" KEY40
                              "x\"}\n",
                              &err),
                     QR_EPARSE);
    assert_err_at(&err, 3, "public_key");
}

static void test_agent_conf_second_controller_bad_key_names_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("cert: /x\n"
                              "controllers:\n"
                              "  - endpoint: tcp://10.0.0.1:7700\n"
                              "    public_key: \"" KEY40 "\"\n"
                              "  - endpoint: tcp://10.0.0.2:7700\n"
                              "    public_key: short\n",
                              &err),
                     QR_EPARSE);
    int line = err_line(&err, conf_path);
    if (line != 5 && line != 6)
        fail_msg("error '%s' does not point at the second controller (lines 5-6)", err.msg);
}

static void test_agent_conf_too_many_controllers(void **state)
{
    (void)state;
    char text[4096] = "curve: false\ncontrollers:\n";
    for (int i = 0; i <= AGENT_MAX_CONTROLLERS; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "  - endpoint: tcp://10.0.0.%d:7700\n", i + 1);
    qr_err_t err;
    assert_int_equal(load_err(text, &err), QR_ERANGE);
    assert_non_null(strstr(err.msg, "at most 9 controllers"));
    assert_true(err_line(&err, conf_path) >= 2); /* a line inside the list */

    /* exactly the maximum is fine */
    char ok[4096] = "curve: false\ncontrollers:\n";
    for (int i = 0; i < AGENT_MAX_CONTROLLERS; i++)
        snprintf(ok + strlen(ok), sizeof ok - strlen(ok), "  - endpoint: tcp://10.0.0.%d:7700\n",
                 i + 1);
    agent_conf_t *c = load_ok(ok);
    assert_int_equal(c->n_controllers, AGENT_MAX_CONTROLLERS);
    assert_string_equal(c->controllers[8].endpoint, "tcp://10.0.0.9:7700");
    agent_conf_destroy(&c);
}

static void test_agent_conf_curve_on_without_cert_names_a_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\n"
                              "curve: true\n"
                              "controllers:\n"
                              "  - endpoint: tcp://10.0.0.1:7700\n"
                              "    public_key: \"" KEY40 "\"\n",
                              &err),
                     QR_EPARSE);
    assert_non_null(strstr(err.msg, "cert"));
    assert_non_null(strstr(err.msg, "quoratectl keygen"));
    assert_err_at_one_of(&err, 2, 3, "cert");
}

static void test_agent_conf_curve_on_controller_without_public_key(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("cert: /etc/quorate/a.key_secret\n"
                              "controllers:\n"
                              "  - endpoint: tcp://10.0.0.1:7700\n",
                              &err),
                     QR_EPARSE);
    assert_non_null(strstr(err.msg, "tcp://10.0.0.1:7700"));
    assert_non_null(strstr(err.msg, "public_key"));
    assert_err_at_one_of(&err, 2, 3, "public_key");
}

static void test_agent_conf_ntp_warn_above_fail_names_a_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\nntp_warn_ms: 600\n", &err), QR_ERANGE);
    assert_non_null(strstr(err.msg, "ntp_warn_ms"));
    assert_err_at(&err, 2, "ntp_warn_ms");

    assert_int_equal(load_err("ntp_fail_ms: 50\nnode: a\nntp_warn_ms: 60\n", &err), QR_ERANGE);
    assert_err_at_one_of(&err, 1, 3, "ntp_warn_ms");

    /* equal is fine: warn and fail at the same bound */
    agent_conf_t *c = load_ok("ntp_warn_ms: 200\nntp_fail_ms: 200\n");
    agent_conf_destroy(&c);
}

static void test_agent_conf_unknown_check_name(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\nchecks: [host, dsik]\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "unknown check 'dsik'");
    /* the message lists the valid names */
    assert_non_null(strstr(err.msg, "envfile"));

    assert_int_equal(load_err("checks: [host, [disk]]\n", &err), QR_EPARSE);
    assert_err_at(&err, 1, "unknown check");
}

static void test_agent_conf_unknown_check_in_block_list_names_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\nchecks:\n  - host\n  - disk\n  - mongo\n", &err),
                     QR_EPARSE);
    assert_err_at(&err, 5, "unknown check 'mongo'");
}

static void test_agent_conf_too_many_ports(void **state)
{
    (void)state;
    char text[1024] = "node: a\ntcp_ports: [";
    for (int i = 1; i <= AGENT_MAX_PORTS + 1; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%d", i > 1 ? ", " : "",
                 1000 + i);
    strcat(text, "]\n");
    qr_err_t err;
    assert_int_equal(load_err(text, &err), QR_ERANGE);
    assert_err_at(&err, 2, "at most 32 ports");

    /* 32 is the limit, not an error */
    char ok[1024] = "udp_ports: [";
    for (int i = 1; i <= AGENT_MAX_PORTS; i++)
        snprintf(ok + strlen(ok), sizeof ok - strlen(ok), "%s%d", i > 1 ? ", " : "", 2000 + i);
    strcat(ok, "]\n");
    agent_conf_t *c = load_ok(ok);
    assert_int_equal(c->n_udp_ports, AGENT_MAX_PORTS);
    assert_int_equal(c->udp_ports[AGENT_MAX_PORTS - 1], 2000 + AGENT_MAX_PORTS);
    agent_conf_destroy(&c);
}

static void test_agent_conf_port_not_a_number(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: a\ntcp_ports: [22, ssh]\n", &err), QR_EPARSE);
    assert_err_at(&err, 2, "'ssh'");
}

/* Errors after strings were set (node, cert, controllers) must free them:
 * LeakSanitizer fails the program if one leaks. */
static void test_agent_conf_error_late_in_file_after_strings_set(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(load_err("node: ai1\n"
                              "dc: east\n"
                              "cert: /x\n"
                              "datadir: /data\n"
                              "controllers:\n"
                              "  - endpoint: tcp://10.0.0.1:7700\n"
                              "    public_key: \"" KEY40 "\"\n"
                              "  - endpoint: tcp://10.0.0.2:7700\n"
                              "    public_key: short\n",
                              &err),
                     QR_EPARSE);
    assert_int_equal(load_err("node: ai1\ndc: east\nmongo_uri: x\nweb_url: y\nbogus: 1\n", &err),
                     QR_EPARSE);
    assert_int_equal(load_err("node: ai1\nenv_file: /e\nntp_warn_ms: 900\n", &err), QR_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_conf_defaults_match_the_documented_values),
        cmocka_unit_test(test_agent_conf_empty_file_gives_the_defaults),
        cmocka_unit_test(test_agent_conf_comment_only_file_gives_the_defaults),
        cmocka_unit_test(test_agent_conf_one_setting_keeps_other_defaults),
        cmocka_unit_test(test_agent_conf_valid_file_sets_every_field),
        cmocka_unit_test(test_agent_conf_curve_off_needs_no_cert_or_keys),
        cmocka_unit_test(test_agent_conf_empty_checks_list_disables_every_check),
        cmocka_unit_test(test_agent_conf_missing_file_is_an_io_error),
        cmocka_unit_test(test_agent_conf_unknown_key_names_it_at_its_line),
        cmocka_unit_test(test_agent_conf_wrong_type_names_setting_at_its_line),
        cmocka_unit_test(test_agent_conf_out_of_range_is_erange_at_its_line),
        cmocka_unit_test(test_agent_conf_bad_bool_at_its_line),
        cmocka_unit_test(test_agent_conf_malformed_yaml_at_its_line),
        cmocka_unit_test(test_agent_conf_top_level_list_refused),
        cmocka_unit_test(test_agent_conf_controller_without_endpoint),
        cmocka_unit_test(test_agent_conf_second_controller_without_endpoint_names_its_line),
        cmocka_unit_test(test_agent_conf_public_key_must_be_40_chars),
        cmocka_unit_test(test_agent_conf_second_controller_bad_key_names_its_line),
        cmocka_unit_test(test_agent_conf_too_many_controllers),
        cmocka_unit_test(test_agent_conf_curve_on_without_cert_names_a_line),
        cmocka_unit_test(test_agent_conf_curve_on_controller_without_public_key),
        cmocka_unit_test(test_agent_conf_ntp_warn_above_fail_names_a_line),
        cmocka_unit_test(test_agent_conf_unknown_check_name),
        cmocka_unit_test(test_agent_conf_unknown_check_in_block_list_names_its_line),
        cmocka_unit_test(test_agent_conf_too_many_ports),
        cmocka_unit_test(test_agent_conf_port_not_a_number),
        cmocka_unit_test(test_agent_conf_error_late_in_file_after_strings_set),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
