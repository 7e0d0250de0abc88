/* The YAML config loader (common/yconf) and its second user, the controller's
 * config: every error names "file:line: reason" with the line of the
 * offending text, defaults survive an empty file, and no error path leaks
 * (LeakSanitizer checks the whole program at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libfyaml.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/yconf.h"
#include "controller/controller_conf.h"

#define CONF_TEST_NAME "conf.yaml"
#include "conf_testlib.h"

/* The error must be "path:line: ..." (or "path:line:col: ...") and mention
 * `what`. */
static void assert_err_at(const qr_err_t *err, const char *path, int line, const char *what)
{
    if (err_line(err, path) != line)
        fail_msg("error '%s' is not at %s:%d", err->msg, path, line);
    if (what && !strstr(err->msg, what))
        fail_msg("error '%s' does not mention '%s'", err->msg, what);
}

/* ---- a table with every field type ------------------------------------ */

typedef struct {
    char *name;
    char *other;
    int count;
    int64_t big;
    double ratio;
    bool flag;
    int list[4];
    size_t n_list;
} demo_t;

static int parse_list(struct fy_node *node, void *base, const char *path, const char *where,
                      qr_err_t *err)
{
    demo_t *d = base;
    if (!fy_node_is_sequence(node))
        return qr_err_set(err, QR_EPARSE, "%s: expected a list", where);
    void *iter = NULL;
    struct fy_node *item;
    d->n_list = 0;
    while ((item = fy_node_sequence_iterate(node, &iter)) != NULL) {
        if (d->n_list >= 4)
            return qr_err_set(err, QR_ERANGE, "%s: at most 4 items", where);
        long long v;
        int rc = yconf_scalar_int(item, where, 0, 99, &v, err);
        if (rc)
            return rc;
        d->list[d->n_list++] = (int)v;
    }
    return 0;
}

static const yconf_field_t demo_fields[] = {
    {"name", YCONF_STR, offsetof(demo_t, name), 0, 0, NULL},
    {"other", YCONF_STR, offsetof(demo_t, other), 0, 0, NULL},
    {"count", YCONF_INT, offsetof(demo_t, count), 1, 10, NULL},
    {"big", YCONF_I64, offsetof(demo_t, big), -5e12, 5e12, NULL},
    {"ratio", YCONF_DOUBLE, offsetof(demo_t, ratio), 0, 1, NULL},
    {"flag", YCONF_BOOL, offsetof(demo_t, flag), 0, 0, NULL},
    {"list", YCONF_CUSTOM, 0, 0, 0, parse_list},
};
#define N_DEMO (sizeof demo_fields / sizeof demo_fields[0])

static void demo_defaults(demo_t *d)
{
    memset(d, 0, sizeof *d);
    d->name = strdup("default-name");
    assert_non_null(d->name);
    d->count = 5;
    d->big = 7;
    d->ratio = 0.5;
    d->flag = true;
}

/* The struct under test; freed with yconf_free after every test (also after
 * a failed one), as the real configs free theirs on every error path. */
static demo_t g;

static int demo_teardown(void **state)
{
    (void)state;
    yconf_free(demo_fields, N_DEMO, &g);
    return 0;
}

/* Loads text into fresh defaults in *d; returns yconf_load's code. */
static int demo_load(const char *text, demo_t *d, qr_err_t *err)
{
    yconf_free(demo_fields, N_DEMO, d);
    demo_defaults(d);
    memset(err, 0, sizeof *err);
    return yconf_load(write_conf(text), demo_fields, N_DEMO, d, err);
}

static void test_yconf_empty_file_keeps_defaults(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("", &g, &err);
    if (rc != 0)
        fail_msg("an empty file was refused: %s", err.msg);
    assert_string_equal(g.name, "default-name");
    assert_null(g.other);
    assert_int_equal(g.count, 5);
    assert_int_equal(g.big, 7);
    assert_true(g.flag);
    yconf_free(demo_fields, N_DEMO, &g);
    assert_null(g.name); /* yconf_free clears what it frees */
}

static void test_yconf_document_marker_only_keeps_defaults(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("# agent settings\n---\n", &g, &err);
    if (rc != 0)
        fail_msg("an empty document was refused: %s", err.msg);
    assert_string_equal(g.name, "default-name");
}

static void test_yconf_comments_only_file_keeps_defaults(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("# nothing set here\n\n# still nothing\n", &g, &err);
    if (rc != 0)
        fail_msg("a file of comments was refused: %s", err.msg);
    assert_string_equal(g.name, "default-name");
    assert_int_equal(g.count, 5);
}

static void test_yconf_sets_every_field_type(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: alpha\n"
                       "other: \"quoted: value\"\n"
                       "count: 10\n"
                       "big: -4000000000000\n"
                       "ratio: 0.25\n"
                       "flag: off\n"
                       "list: [1, 2, 99]\n",
                       &g, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(g.name, "alpha"); /* the default was replaced (and freed) */
    assert_string_equal(g.other, "quoted: value");
    assert_int_equal(g.count, 10);
    assert_true(g.big == -4000000000000LL);
    assert_true(g.ratio == 0.25);
    assert_false(g.flag);
    assert_int_equal(g.n_list, 3);
    assert_int_equal(g.list[2], 99);
}

static void test_yconf_bool_accepts_every_documented_spelling(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool want;
    } cases[] = {{"true", true}, {"yes", true}, {"on", true},     {"1", true},
                 {"TRUE", true}, {"Yes", true}, {"false", false}, {"no", false},
                 {"off", false}, {"0", false},  {"False", false}, {"NO", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "flag: %s\n", cases[i].text);
        qr_err_t err = {""};
        yconf_free(demo_fields, N_DEMO, &g);
        demo_defaults(&g);
        g.flag = !cases[i].want; /* so a parser that ignores the value fails */
        assert_int_equal(yconf_load(write_conf(text), demo_fields, N_DEMO, &g, &err), 0);
        if (g.flag != cases[i].want)
            fail_msg("flag: %s gave %d", cases[i].text, g.flag);
    }
}

static void test_yconf_bad_bool_names_line_and_value(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\ncount: 3\nflag: maybe\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 3, "flag");
    assert_non_null(strstr(err.msg, "'maybe'"));
}

static void test_yconf_unknown_key_names_key_and_line(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\n# a comment\n\ncuont: 3\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 4, "unknown setting 'cuont'");
}

static void test_yconf_int_given_text_names_line(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\ncount: three\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "count");
    assert_non_null(strstr(err.msg, "expected an integer"));
    assert_int_equal(g.count, 5); /* not half-written */
}

static void test_yconf_int_rejects_fraction_hex_and_overflow(void **state)
{
    (void)state;
    static const char *bad[] = {"count: 2.5\n", "count: 0x3\n", "count: 3abc\n",
                                "big: 99999999999999999999999\n", "count: ''\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qr_err_t err;
        int rc = demo_load(bad[i], &g, &err);
        if (rc != QR_EPARSE)
            fail_msg("'%s' gave %d (%s)", bad[i], rc, err.msg);
        assert_err_at(&err, conf_path, 1, NULL);
    }
}

static void test_yconf_string_given_a_list_or_mapping_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("count: 2\nname: [a, b]\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "expected a string");

    rc = demo_load("count: 2\nname: {a: b}\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "expected a string");
}

static void test_yconf_int_given_a_list_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("count: [1]\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 1, "count");
}

static void test_yconf_out_of_range_int_and_double(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\ncount: 11\n", &g, &err);
    assert_int_equal(rc, QR_ERANGE);
    assert_err_at(&err, conf_path, 2, "11 is out of range [1, 10]");

    rc = demo_load("count: 0\n", &g, &err);
    assert_int_equal(rc, QR_ERANGE);
    assert_err_at(&err, conf_path, 1, "count");

    rc = demo_load("\nratio: 1.5\n", &g, &err);
    assert_int_equal(rc, QR_ERANGE);
    assert_err_at(&err, conf_path, 2, "ratio");

    rc = demo_load("big: 5000000000001\n", &g, &err);
    assert_int_equal(rc, QR_ERANGE);
}

static void test_yconf_double_rejects_nan_and_infinity(void **state)
{
    (void)state;
    static const char *bad[] = {"ratio: nan\n", "ratio: inf\n", "ratio: .inf\n", "ratio: 1e999\n",
                                "ratio: half\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qr_err_t err;
        int rc = demo_load(bad[i], &g, &err);
        if (rc == 0)
            fail_msg("'%s' was accepted as %g", bad[i], g.ratio);
        assert_err_at(&err, conf_path, 1, "ratio");
    }
}

static void test_yconf_string_with_nul_byte_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("count: 1\nname: \"ab\\0cd\"\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "name");
}

static void test_yconf_key_without_value_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\ncount:\n", &g, &err);
    assert_int_not_equal(rc, 0);
    assert_int_equal(g.count, 5);
    assert_err_at(&err, conf_path, 2, "count");
}

static void test_yconf_malformed_yaml_names_line(void **state)
{
    (void)state;
    static const char *bad[] = {
        "name: a\ncount: 2\nother: x: y\nflag: true\n",   /* nested mapping on one line */
        "name: a\ncount: 2\nlist: [1, 2]]\nflag: true\n", /* extra closing bracket */
        "name: a\ncount: 2\nother: @x\nflag: true\n",     /* reserved indicator */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qr_err_t err;
        int rc = demo_load(bad[i], &g, &err);
        assert_int_equal(rc, QR_EPARSE);
        assert_err_at(&err, conf_path, 3, "error");
        assert_null(strchr(err.msg, '\n')); /* one line, for `-n` */
    }
}

static void test_yconf_bad_indentation_names_its_line(void **state)
{
    (void)state;
    qr_err_t err;
    /* libfyaml reads "2\n  flag: true" as one plain scalar and reports where
     * it starts */
    int rc = demo_load("name: a\ncount: 2\n  flag: true\nratio: 0.1\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    int line = err_line(&err, conf_path);
    if (line < 2 || line > 3)
        fail_msg("bad indentation reported as '%s'", err.msg);
}

static void test_yconf_duplicate_key_refused_at_second_occurrence(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\ncount: 2\nname: b\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 3, NULL);
}

static void test_yconf_top_level_list_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("# settings\n- name: a\n- count: 2\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "expected a mapping");
    assert_string_equal(g.name, "default-name");
}

static void test_yconf_top_level_scalar_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("\n\njust some text\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 3, "expected a mapping");
}

static void test_yconf_non_scalar_key_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\n[count, flag]: 3\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "setting name");
}

/* An alias would otherwise be read as the text of its anchor's name. */
static void test_yconf_alias_is_resolved_or_refused(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: &n alpha\nother: *n\n", &g, &err);
    if (rc == 0)
        assert_string_equal(g.other, "alpha");
    else
        assert_err_at(&err, conf_path, 2, NULL);
}

static void test_yconf_missing_file_is_io_error_with_path(void **state)
{
    (void)state;
    demo_defaults(&g);
    qr_err_t err = {""};
    char path[200];
    snprintf(path, sizeof path, "%s/does-not-exist.yaml", tmpdir);
    assert_int_equal(yconf_load(path, demo_fields, N_DEMO, &g, &err), QR_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));
    assert_string_equal(g.name, "default-name");
}

static void test_yconf_directory_instead_of_file_refused(void **state)
{
    (void)state;
    demo_defaults(&g);
    qr_err_t err = {""};
    int rc = yconf_load(tmpdir, demo_fields, N_DEMO, &g, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.msg, tmpdir));
}

static void test_yconf_custom_parser_error_carries_line(void **state)
{
    (void)state;
    qr_err_t err;
    int rc = demo_load("name: a\nlist: [1, 2, 3, 4, 5]\n", &g, &err);
    assert_int_equal(rc, QR_ERANGE);
    assert_err_at(&err, conf_path, 2, "at most 4 items");

    rc = demo_load("name: a\nlist: [1, 100]\n", &g, &err);
    assert_int_equal(rc, QR_ERANGE);
    assert_err_at(&err, conf_path, 2, "100 is out of range");

    rc = demo_load("list: 7\n", &g, &err);
    assert_int_equal(rc, QR_EPARSE);
    assert_err_at(&err, conf_path, 1, "expected a list");
}

static void test_yconf_scalar_helpers(void **state)
{
    (void)state;
    struct fy_document *doc = fy_document_build_from_string(NULL, "[12, abc, -3, [x]]", FY_NT);
    assert_non_null(doc);
    struct fy_node *seq = fy_document_root(doc);
    qr_err_t err;
    long long v = 0;
    assert_int_equal(
        yconf_scalar_int(fy_node_sequence_get_by_index(seq, 0), "f:1: k", 0, 20, &v, &err), 0);
    assert_int_equal(v, 12);
    assert_int_equal(
        yconf_scalar_int(fy_node_sequence_get_by_index(seq, 0), "f:1: k", 0, 11, &v, &err),
        QR_ERANGE);
    assert_string_equal(err.msg, "f:1: k: 12 is out of range [0, 11]");
    assert_int_equal(
        yconf_scalar_int(fy_node_sequence_get_by_index(seq, 1), "f:1: k", 0, 20, &v, &err),
        QR_EPARSE);
    assert_int_equal(
        yconf_scalar_int(fy_node_sequence_get_by_index(seq, 2), "f:1: k", -5, 20, &v, &err), 0);
    assert_int_equal(v, -3);
    char *s = NULL;
    assert_int_equal(yconf_scalar_str(fy_node_sequence_get_by_index(seq, 1), "w", &s, &err), 0);
    assert_string_equal(s, "abc");
    free(s);
    s = NULL;
    assert_int_equal(yconf_scalar_str(fy_node_sequence_get_by_index(seq, 3), "w", &s, &err),
                     QR_EPARSE);
    assert_null(s);
    char where[64];
    yconf_where(fy_node_sequence_get_by_index(seq, 1), "x.yaml", where, sizeof where);
    assert_string_equal(where, "x.yaml:1");
    fy_document_destroy(doc);
}

/* ---- controller/controller_conf --------------------------------------- */

static controller_conf_t *ctrl_load_ok(const char *text)
{
    controller_conf_t *c = NULL;
    qr_err_t err = {""};
    int rc = controller_conf_load(write_conf(text), &c, &err);
    if (rc != 0)
        fail_msg("controller config refused: %s", err.msg);
    assert_non_null(c);
    return c;
}

static int ctrl_load_err(const char *text, qr_err_t *err)
{
    controller_conf_t *c = (controller_conf_t *)(uintptr_t)1; /* must stay untouched */
    memset(err, 0, sizeof *err);
    int rc = controller_conf_load(write_conf(text), &c, err);
    assert_int_not_equal(rc, 0);
    assert_true(c == (controller_conf_t *)(uintptr_t)1);
    assert_int_not_equal(err->msg[0], '\0');
    return rc;
}

static void test_controller_conf_defaults(void **state)
{
    (void)state;
    controller_conf_t *c = controller_conf_defaults();
    assert_non_null(c);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(c->id, host);
    assert_string_equal(c->dc, "default");
    assert_string_equal(c->agents_endpoint, "tcp://0.0.0.0:7700");
    assert_string_equal(c->operators_endpoint, "tcp://127.0.0.1:7701");
    assert_true(c->curve);
    assert_null(c->cert);
    assert_string_equal(c->state_dir, "/var/lib/quorate");
    assert_int_equal(c->down_after_ms, 2500);
    assert_int_equal(c->tick_ms, 250);
    assert_int_equal(c->ping_interval_ms, 2000);
    assert_true(c->skew_warn_ms == 100);
    assert_true(c->skew_fail_ms == 500);
    assert_int_equal(c->max_nodes, 1000);
    assert_int_equal(c->max_frame, 1024 * 1024);
    assert_null(c->alerts_config);
    assert_int_equal(c->probe_interval_ms, 30000);
    assert_int_equal(c->probe_timeout_ms, 1000);
    assert_int_equal(c->n_probe_ports, 6);
    assert_int_equal(c->probe_ports[0], 2377);
    assert_int_equal(c->probe_ports[5], 22);
    controller_conf_destroy(&c);
    assert_null(c);
    controller_conf_destroy(&c); /* NULL-safe */
    controller_conf_destroy(NULL);
}

/* CURVE is on by default, so a controller needs its keys configured: an
 * empty file is refused with a message that says which. */
static void test_controller_conf_empty_file_needs_curve_keys(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(ctrl_load_err("", &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, conf_path));
    assert_non_null(strstr(err.msg, "cert"));
    assert_non_null(strstr(err.msg, "agent_keys"));
}

static void test_controller_conf_curve_off_keeps_other_defaults(void **state)
{
    (void)state;
    controller_conf_t *c = ctrl_load_ok("curve: false\n");
    controller_conf_t *d = controller_conf_defaults();
    assert_false(c->curve);
    assert_string_equal(c->path, conf_path);
    assert_string_equal(c->id, d->id);
    assert_string_equal(c->agents_endpoint, d->agents_endpoint);
    assert_int_equal(c->down_after_ms, d->down_after_ms);
    assert_int_equal(c->max_frame, d->max_frame);
    controller_conf_destroy(&c);
    controller_conf_destroy(&d);
}

static void test_controller_conf_sets_every_field(void **state)
{
    (void)state;
    controller_conf_t *c = ctrl_load_ok("id: ctl-east-1\n"
                                        "dc: east\n"
                                        "agents_endpoint: tcp://10.0.0.1:7700\n"
                                        "operators_endpoint: tcp://10.0.0.1:7701\n"
                                        "curve: yes\n"
                                        "cert: /etc/quorate/ctl.key_secret\n"
                                        "agent_keys: /etc/quorate/agents\n"
                                        "operator_keys: /etc/quorate/operators\n"
                                        "state_dir: /srv/quorate\n"
                                        "down_after_ms: 4000\n"
                                        "tick_ms: 100\n"
                                        "ping_interval_ms: 1000\n"
                                        "skew_warn_ms: 50\n"
                                        "skew_fail_ms: 200.5\n"
                                        "max_nodes: 40\n"
                                        "max_frame: 65536\n"
                                        "alerts_config: /etc/quorate/alerts.yaml\n"
                                        "probe_interval_ms: 5000\n"
                                        "probe_timeout_ms: 300\n"
                                        "probe_ports: [22, 3031]\n");
    assert_string_equal(c->id, "ctl-east-1");
    assert_string_equal(c->dc, "east");
    assert_string_equal(c->agents_endpoint, "tcp://10.0.0.1:7700");
    assert_string_equal(c->operators_endpoint, "tcp://10.0.0.1:7701");
    assert_true(c->curve);
    assert_string_equal(c->cert, "/etc/quorate/ctl.key_secret");
    assert_string_equal(c->agent_keys, "/etc/quorate/agents");
    assert_string_equal(c->operator_keys, "/etc/quorate/operators");
    assert_string_equal(c->state_dir, "/srv/quorate");
    assert_int_equal(c->down_after_ms, 4000);
    assert_int_equal(c->tick_ms, 100);
    assert_int_equal(c->ping_interval_ms, 1000);
    assert_true(c->skew_warn_ms == 50);
    assert_true(c->skew_fail_ms == 200.5);
    assert_int_equal(c->max_nodes, 40);
    assert_int_equal(c->max_frame, 65536);
    assert_string_equal(c->alerts_config, "/etc/quorate/alerts.yaml");
    assert_int_equal(c->probe_interval_ms, 5000);
    assert_int_equal(c->probe_timeout_ms, 300);
    assert_int_equal(c->n_probe_ports, 2);
    assert_int_equal(c->probe_ports[0], 22);
    assert_int_equal(c->probe_ports[1], 3031);
    controller_conf_destroy(&c);
}

static void test_controller_conf_field_errors_name_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(ctrl_load_err("curve: false\nid: a\ndown_afer_ms: 100\n", &err), QR_EPARSE);
    assert_err_at(&err, conf_path, 3, "unknown setting 'down_afer_ms'");

    assert_int_equal(ctrl_load_err("curve: false\nmax_frame: 100\n", &err), QR_ERANGE);
    assert_err_at(&err, conf_path, 2, "max_frame");

    assert_int_equal(ctrl_load_err("id: a\ncurve: sometimes\n", &err), QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "curve");

    assert_int_equal(ctrl_load_err("curve: false\ntick_ms: fast\n", &err), QR_EPARSE);
    assert_err_at(&err, conf_path, 2, "tick_ms");

    assert_int_equal(ctrl_load_err("curve: false\nprobe_ports: [22, 0]\n", &err), QR_ERANGE);
    assert_err_at(&err, conf_path, 2, "probe_ports");

    char many[300] = "curve: false\nid: a\nprobe_ports: [1";
    for (int i = 2; i <= 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ", %d", i);
    strcat(many, "]\n");
    assert_int_equal(ctrl_load_err(many, &err), QR_ERANGE);
    assert_err_at(&err, conf_path, 3, "at most 32 ports");

    assert_int_equal(ctrl_load_err("- curve: false\n", &err), QR_EPARSE);
    assert_err_at(&err, conf_path, 1, "expected a mapping");

    assert_int_equal(ctrl_load_err("curve: false\nid: [a\n", &err), QR_EPARSE);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s:", conf_path);
    assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);
}

static void test_controller_conf_missing_file(void **state)
{
    (void)state;
    controller_conf_t *c = NULL;
    qr_err_t err = {""};
    char path[200];
    snprintf(path, sizeof path, "%s/nope.yaml", tmpdir);
    assert_int_equal(controller_conf_load(path, &c, &err), QR_EIO);
    assert_null(c);
    assert_non_null(strstr(err.msg, path));
}

/* Cross-field errors point at the setting to fix, like field errors do. */
static void test_controller_conf_skew_warn_above_fail_names_line(void **state)
{
    (void)state;
    qr_err_t err;
    assert_int_equal(ctrl_load_err("curve: false\nskew_warn_ms: 600\nid: x\n", &err), QR_ERANGE);
    assert_non_null(strstr(err.msg, "skew_warn_ms"));
    assert_err_at(&err, conf_path, 2, "skew_warn_ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_yconf_empty_file_keeps_defaults, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_comments_only_file_keeps_defaults, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_document_marker_only_keeps_defaults, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_sets_every_field_type, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_bool_accepts_every_documented_spelling, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_bad_bool_names_line_and_value, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_unknown_key_names_key_and_line, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_int_given_text_names_line, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_int_rejects_fraction_hex_and_overflow, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_string_given_a_list_or_mapping_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_int_given_a_list_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_out_of_range_int_and_double, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_double_rejects_nan_and_infinity, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_string_with_nul_byte_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_key_without_value_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_malformed_yaml_names_line, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_bad_indentation_names_its_line, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_duplicate_key_refused_at_second_occurrence,
                                  demo_teardown),
        cmocka_unit_test_teardown(test_yconf_top_level_list_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_top_level_scalar_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_non_scalar_key_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_alias_is_resolved_or_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_missing_file_is_io_error_with_path, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_directory_instead_of_file_refused, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_custom_parser_error_carries_line, demo_teardown),
        cmocka_unit_test_teardown(test_yconf_scalar_helpers, demo_teardown),
        cmocka_unit_test(test_controller_conf_defaults),
        cmocka_unit_test(test_controller_conf_empty_file_needs_curve_keys),
        cmocka_unit_test(test_controller_conf_curve_off_keeps_other_defaults),
        cmocka_unit_test(test_controller_conf_sets_every_field),
        cmocka_unit_test(test_controller_conf_field_errors_name_line),
        cmocka_unit_test(test_controller_conf_missing_file),
        cmocka_unit_test(test_controller_conf_skew_warn_above_fail_names_line),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
