/* env file check: every tango.env rule at its boundary (quotes, trailing
 * whitespace, http vs https, port 9001, LOG_LEVEL=WARN, CRLF, missing keys,
 * duplicates, NUL bytes, long lines), the probe on fixture files
 * (tests/fixtures/env) and on hostile paths, and random input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_envfile.h"
#include "check_testlib.h"

static agent_conf_t conf_with(const char *path)
{
    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.env_file = (char *)path;
    return c;
}

/* Parses text (len bytes, NULs allowed) and evaluates it. */
static check_result_t eval_buf(const char *text, size_t len)
{
    envfile_facts_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "tango.env");
    assert_int_equal(check_envfile_parse(text, len, &f), 0);
    agent_conf_t c = conf_with("tango.env");
    check_result_t r;
    check_result_init(&r, "envfile");
    check_envfile_eval(&f, &c, &r);
    check_envfile_facts_clear(&f);
    return r;
}

static check_result_t eval_text(const char *text)
{
    return eval_buf(text, strlen(text));
}

static check_result_t run_path(const char *path)
{
    agent_conf_t c = conf_with(path);
    check_result_t r;
    check_result_init(&r, "envfile");
    check_envfile_run(&c, NULL, &r);
    return r;
}

static const char *fixture(const char *name, char *buf, size_t size)
{
    return check_fixture_path("env", name, buf, size);
}

/* Is there a finding on `line` whose message contains `needle`? */
static bool has_finding(const check_result_t *r, int line, const char *needle)
{
    json_t *list = json_object_get(r->values, "findings");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *f = json_array_get(list, i);
        if (json_integer_value(json_object_get(f, "line")) == line &&
            strstr(json_string_value(json_object_get(f, "message")), needle))
            return true;
    }
    return false;
}

static size_t n_findings(const check_result_t *r)
{
    return json_array_size(json_object_get(r->values, "findings"));
}

#define GOOD_S3 "S3_ENDPOINT=https://minio1:9000\n"

static void test_envfile_clean_file_is_ok(void **state)
{
    (void)state;
    check_result_t r = eval_text("# comment\n\n" GOOD_S3 "LOG_LEVEL=INFO\nEMPTY=\n");
    assert_int_equal(r.status, CHECK_OK);
    assert_int_equal(n_findings(&r), 0);
    assert_string_equal(json_string_value(json_object_get(r.values, "s3_host")), "minio1");
    assert_int_equal(json_integer_value(json_object_get(r.values, "s3_port")), 9000);
    assert_string_equal(json_string_value(json_object_get(r.values, "log_level")), "INFO");
    assert_int_equal(json_integer_value(json_object_get(r.values, "keys")), 3);
    assert_int_equal(json_integer_value(json_object_get(r.values, "lines")), 5);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_envfile_debug_log_level_is_ok(void **state)
{
    (void)state;
    check_result_t r = eval_text(GOOD_S3 "LOG_LEVEL=DEBUG\n");
    assert_int_equal(r.status, CHECK_OK);
    check_result_clear(&r);
}

static void test_envfile_log_level_warn_warns(void **state)
{
    (void)state;
    check_result_t r = eval_text(GOOD_S3 "LOG_LEVEL=WARN\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "line 2: LOG_LEVEL=WARN, must be INFO or DEBUG");
    assert_reasons(&r, "log_level_invalid", NULL);
    check_result_clear(&r);
}

static void test_envfile_log_level_is_case_sensitive(void **state)
{
    (void)state;
    check_result_t r = eval_text(GOOD_S3 "LOG_LEVEL=info\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "LOG_LEVEL=info");
    check_result_clear(&r);
}

static void test_envfile_missing_log_level_warns(void **state)
{
    (void)state;
    check_result_t r = eval_text(GOOD_S3);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "LOG_LEVEL missing (INFO or DEBUG expected)");
    assert_true(json_is_null(json_object_get(r.values, "log_level")));
    assert_reasons(&r, "log_level_missing", NULL);
    check_result_clear(&r);
}

static void test_envfile_quoted_value_warns_once(void **state)
{
    (void)state;
    check_result_t r = eval_text("S3_ENDPOINT=\"https://minio1:9000\"\nLOG_LEVEL='INFO'\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_true(has_finding(&r, 1, "S3_ENDPOINT: value is quoted"));
    assert_true(has_finding(&r, 2, "LOG_LEVEL: value is quoted"));
    /* the quotes are the finding; the URL and level inside are right */
    assert_int_equal(n_findings(&r), 2);
    assert_summary_has(&r, "line 1: S3_ENDPOINT: value is quoted");
    assert_summary_has(&r, "(+1 more)");
    /* two quoted values, one problem: one key (no key name, no line) */
    assert_reasons(&r, "value_quoted", NULL);
    check_result_clear(&r);
}

static void test_envfile_trailing_space_and_tab_warn(void **state)
{
    (void)state;
    check_result_t r = eval_text(GOOD_S3 "LOG_LEVEL=INFO \nWORKERS=4\t\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_true(has_finding(&r, 2, "LOG_LEVEL: trailing whitespace"));
    assert_true(has_finding(&r, 3, "WORKERS: trailing whitespace"));
    assert_int_equal(n_findings(&r), 2); /* "INFO " is not also a bad level */
    check_result_clear(&r);
}

static void test_envfile_http_endpoint_fails(void **state)
{
    (void)state;
    check_result_t r = eval_text("S3_ENDPOINT=http://minio1:9000\nLOG_LEVEL=INFO\n");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary, "line 1: S3_ENDPOINT uses http://, must be https://");
    assert_string_equal(json_string_value(json_object_get(r.values, "s3_scheme")), "http");
    assert_reasons(&r, "s3_endpoint_not_https", NULL);
    check_result_clear(&r);
}

static void test_envfile_port_9001_fails(void **state)
{
    (void)state;
    check_result_t r = eval_text("LOG_LEVEL=INFO\nS3_ENDPOINT=https://minio1:9001/\n");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary, "line 2: S3_ENDPOINT port 9001, must be 9000");
    assert_int_equal(json_integer_value(json_object_get(r.values, "s3_port")), 9001);
    assert_reasons(&r, "s3_endpoint_wrong_port", NULL);
    check_result_clear(&r);
}

static void test_envfile_endpoint_without_port_fails(void **state)
{
    (void)state;
    check_result_t r = eval_text("LOG_LEVEL=INFO\nS3_ENDPOINT=https://minio1\n");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "has no port");
    assert_reasons(&r, "s3_endpoint_no_port", NULL);
    assert_true(json_is_null(json_object_get(r.values, "s3_port")));
    check_result_clear(&r);
}

static void test_envfile_ipv6_endpoint_is_understood(void **state)
{
    (void)state;
    check_result_t r = eval_text("LOG_LEVEL=INFO\nS3_ENDPOINT=https://[fd00::5]:9000\n");
    assert_int_equal(r.status, CHECK_OK);
    assert_string_equal(json_string_value(json_object_get(r.values, "s3_host")), "[fd00::5]");
    check_result_clear(&r);
}

static void test_envfile_missing_or_empty_or_bogus_endpoint_fails(void **state)
{
    (void)state;
    check_result_t r = eval_text("LOG_LEVEL=INFO\n");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary, "S3_ENDPOINT missing");
    assert_reasons(&r, "s3_endpoint_missing", NULL);
    check_result_clear(&r);
    r = eval_text("LOG_LEVEL=INFO\nS3_ENDPOINT=\n");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "line 2: S3_ENDPOINT is empty");
    assert_reasons(&r, "s3_endpoint_empty", NULL);
    check_result_clear(&r);
    r = eval_text("LOG_LEVEL=INFO\nS3_ENDPOINT=minio1:9000\n");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "line 2: S3_ENDPOINT");
    assert_reasons(&r, "s3_endpoint_not_url", NULL);
    check_result_clear(&r);
}

static void test_envfile_crlf_warns_once_with_first_line(void **state)
{
    (void)state;
    check_result_t r = eval_text("S3_ENDPOINT=https://minio1:9000\r\n# c\r\nLOG_LEVEL=INFO\r\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary,
                        "line 1: CRLF line ending (3 lines): the \\r becomes part of the value");
    /* the values themselves are read without the \r */
    assert_string_equal(json_string_value(json_object_get(r.values, "log_level")), "INFO");
    assert_int_equal(json_integer_value(json_object_get(r.values, "s3_port")), 9000);
    assert_reasons(&r, "crlf_line_endings", NULL);
    check_result_clear(&r);
}

static void test_envfile_duplicate_key_warns_and_last_wins(void **state)
{
    (void)state;
    check_result_t r = eval_text(GOOD_S3 "LOG_LEVEL=WARN\nLOG_LEVEL=INFO\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "line 3: LOG_LEVEL duplicates line 2 (the last one wins)");
    assert_int_equal(n_findings(&r), 1); /* the effective value INFO is fine */
    assert_reasons(&r, "duplicate_key", NULL);
    check_result_clear(&r);
}

static void test_envfile_export_prefix_and_spaces_around_equals_warn(void **state)
{
    (void)state;
    check_result_t r = eval_text("export S3_ENDPOINT=https://minio1:9000\nLOG_LEVEL =INFO\n"
                                 "  X=1\nY= 2\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_true(has_finding(&r, 1, "'export' prefix"));
    assert_true(has_finding(&r, 2, "whitespace before '='"));
    assert_true(has_finding(&r, 3, "leading whitespace"));
    assert_true(has_finding(&r, 4, "whitespace after '='"));
    /* "LOG_LEVEL " is not LOG_LEVEL: that is how docker reads it too */
    assert_true(has_finding(&r, 0, "LOG_LEVEL missing"));
    assert_reasons(&r, "export_prefix", "whitespace_before_equals", "leading_whitespace",
                   "whitespace_after_equals", "log_level_missing", NULL);
    assert_int_equal(json_integer_value(json_object_get(r.values, "s3_port")), 9000);
    check_result_clear(&r);
}

static void test_envfile_line_without_equals_and_bad_name_warn(void **state)
{
    (void)state;
    check_result_t r = eval_text(GOOD_S3 "LOG_LEVEL=INFO\nJUST TEXT\n1BAD=x\n=novalue\n");
    assert_int_equal(r.status, CHECK_WARN);
    assert_true(has_finding(&r, 3, "no '='"));
    assert_true(has_finding(&r, 4, "invalid name '1BAD'"));
    assert_true(has_finding(&r, 5, "invalid name ''"));
    assert_reasons(&r, "line_no_equals", "invalid_name", NULL);
    check_result_clear(&r);
}

static void test_envfile_nul_byte_line_is_reported_not_parsed(void **state)
{
    (void)state;
    static const char text[] = GOOD_S3 "BROKEN=a\0b\nLOG_LEVEL=INFO\n";
    check_result_t r = eval_buf(text, sizeof text - 1);
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "line 2: contains a NUL byte, not checked");
    assert_reasons(&r, "line_nul_byte", NULL);
    assert_string_equal(json_string_value(json_object_get(r.values, "log_level")), "INFO");
    check_result_clear(&r);
}

static void test_envfile_overlong_line_is_reported_not_parsed(void **state)
{
    (void)state;
    size_t n = ENVFILE_MAX_LINE + 100;
    char *text = malloc(n + 64);
    strcpy(text, "LOG_LEVEL=INFO\nBIG=");
    size_t len = strlen(text);
    memset(text + len, 'x', n);
    strcpy(text + len + n, "\n" GOOD_S3);
    check_result_t r = eval_text(text);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "line 2: longer than 8192 bytes");
    assert_reasons(&r, "line_too_long", NULL);
    assert_int_equal(json_integer_value(json_object_get(r.values, "s3_port")), 9000);
    check_result_clear(&r);
    free(text);
}

static void test_envfile_fail_outranks_earlier_warnings_in_summary(void **state)
{
    (void)state;
    check_result_t r = eval_text("A=\"1\"\nB=2 \nS3_ENDPOINT=https://minio1:9001\n");
    assert_int_equal(r.status, CHECK_FAIL);
    /* quotes (1), trailing (2), LOG_LEVEL missing, port: 4 findings */
    assert_string_equal(r.summary, "line 3: S3_ENDPOINT port 9001, must be 9000 (+3 more)");
    /* listed in file order, file-level first */
    json_t *list = json_object_get(r.values, "findings");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "line")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 3), "line")), 3);
    /* the failure first, whatever its line; then the warnings as judged */
    assert_reasons(&r, "s3_endpoint_wrong_port", "value_quoted", "trailing_whitespace",
                   "log_level_missing", NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 3), "reason")),
                        "s3_endpoint_wrong_port");
    check_result_clear(&r);
}

static void test_envfile_empty_file_fails_on_missing_endpoint(void **state)
{
    (void)state;
    check_result_t r = eval_text("");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary, "S3_ENDPOINT missing (+1 more)");
    assert_reasons(&r, "s3_endpoint_missing", "log_level_missing", NULL);
    check_result_clear(&r);
}

/* ---- probe on files ---- */

static void test_envfile_fixture_good_is_ok(void **state)
{
    (void)state;
    char p[512];
    check_result_t r = run_path(fixture("good.env", p, sizeof p));
    assert_int_equal(r.status, CHECK_OK);
    assert_string_equal(json_string_value(json_object_get(r.values, "s3_host")),
                        "minio1.example.net");
    assert_int_equal(json_integer_value(json_object_get(r.values, "keys")), 5);
    check_result_clear(&r);
}

static void test_envfile_fixture_bad_has_line_numbered_findings(void **state)
{
    (void)state;
    char p[512];
    check_result_t r = run_path(fixture("bad.env", p, sizeof p));
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary, "line 2: S3_ENDPOINT uses http://, must be https:// (+7 more)");
    assert_true(has_finding(&r, 2, "port 9001"));
    assert_true(has_finding(&r, 3, "S3_BUCKET: value is quoted"));
    assert_true(has_finding(&r, 4, "LOG_LEVEL=WARN"));
    assert_true(has_finding(&r, 5, "WORKERS: trailing whitespace"));
    assert_true(has_finding(&r, 6, "S3_BUCKET duplicates line 3"));
    assert_true(has_finding(&r, 7, "'export' prefix"));
    assert_true(has_finding(&r, 8, "no '='"));
    assert_int_equal(n_findings(&r), 8);
    assert_reasons(&r, "s3_endpoint_not_https", "s3_endpoint_wrong_port", "value_quoted",
                   "trailing_whitespace", "duplicate_key", "export_prefix", "line_no_equals",
                   "log_level_invalid", NULL);
    check_result_clear(&r);
}

static void test_envfile_fixture_crlf_warns(void **state)
{
    (void)state;
    char p[512];
    check_result_t r = run_path(fixture("crlf.env", p, sizeof p));
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "CRLF line ending (3 lines)");
    check_result_clear(&r);
}

static void test_envfile_fixture_nul_byte(void **state)
{
    (void)state;
    char p[512];
    check_result_t r = run_path(fixture("nul.env", p, sizeof p));
    assert_int_equal(r.status, CHECK_WARN);
    assert_string_equal(r.summary, "line 3: contains a NUL byte, not checked");
    check_result_clear(&r);
}

static void test_envfile_missing_file_fails(void **state)
{
    (void)state;
    check_result_t r = run_path("/nonexistent/qr/tango.env");
    assert_int_equal(r.status, CHECK_FAIL);
    assert_string_equal(r.summary, "env file /nonexistent/qr/tango.env does not exist");
    assert_reasons(&r, "file_missing", NULL);
    check_result_clear(&r);
}

static void test_envfile_fifo_and_directory_are_refused_without_blocking(void **state)
{
    (void)state;
    char dir[] = "/tmp/qr-env-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/tango.env", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    check_result_t r = run_path(fifo); /* no writer: a blocking open would hang here */
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "not a regular file");
    check_result_clear(&r);
    r = run_path(dir);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "not a regular file");
    assert_reasons(&r, "file_not_regular", NULL);
    check_result_clear(&r);
    unlink(fifo);
    rmdir(dir);
}

static void test_envfile_over_one_mib_is_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/qr-env-big-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* sparse: no real disk use */
    assert_int_equal(ftruncate(fd, ENVFILE_MAX_SIZE + 1), 0);
    close(fd);
    check_result_t r = run_path(path);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "larger than 1048576 bytes");
    assert_reasons(&r, "file_too_large", NULL);
    check_result_clear(&r);
    /* exactly 1 MiB is read (and is all NULs: one overlong line) */
    assert_int_equal(truncate(path, ENVFILE_MAX_SIZE), 0);
    r = run_path(path);
    assert_int_not_equal(r.status, CHECK_UNKNOWN);
    assert_true(has_finding(&r, 1, "longer than"));
    check_result_clear(&r);
    unlink(path);
}

/* The read buffer is sized from fstat and grows when the file turns out
 * longer (it grew since, or it is a /proc file that says size 0): every
 * byte is still read. /proc/self/status is a regular file of st_size 0 and
 * over 1 KiB of text. */
static void test_envfile_file_longer_than_its_stat_size_is_read_whole(void **state)
{
    (void)state;
    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.env_file = (char *)"/proc/self/status";
    envfile_facts_t f;
    assert_int_equal(check_envfile_probe(&c, &f), 0);
    assert_int_equal(f.sys_errno, 0);
    assert_false(f.too_big);
    assert_false(f.not_regular);
    assert_true(f.size > 1024 + 1); /* past the first buffer of st_size + 1 KiB */
    assert_true(f.size < 64 * 1024);
    check_envfile_facts_clear(&f);
}

/* Random bytes biased towards the characters the parser cares about: no
 * crash, no leak, and always a judged result (ASan/LSan watch this). */
static void test_envfile_random_input_never_crashes(void **state)
{
    (void)state;
    static const char alphabet[] = "AB_=\n\r\"' \t#x:/9\0";
    unsigned seed = 12345;
    for (int round = 0; round < 300; round++) {
        size_t len = (size_t)(rand_r(&seed) % 400);
        char *buf = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (rand_r(&seed) % 4 == 0) ? (char)(rand_r(&seed) & 0xff)
                                              : alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        check_result_t r = eval_buf(buf, len);
        assert_true(r.status == CHECK_WARN || r.status == CHECK_FAIL || r.status == CHECK_OK);
        assert_null(strchr(r.summary, '\n'));
        check_result_clear(&r);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envfile_clean_file_is_ok),
        cmocka_unit_test(test_envfile_debug_log_level_is_ok),
        cmocka_unit_test(test_envfile_log_level_warn_warns),
        cmocka_unit_test(test_envfile_log_level_is_case_sensitive),
        cmocka_unit_test(test_envfile_missing_log_level_warns),
        cmocka_unit_test(test_envfile_quoted_value_warns_once),
        cmocka_unit_test(test_envfile_trailing_space_and_tab_warn),
        cmocka_unit_test(test_envfile_http_endpoint_fails),
        cmocka_unit_test(test_envfile_port_9001_fails),
        cmocka_unit_test(test_envfile_endpoint_without_port_fails),
        cmocka_unit_test(test_envfile_ipv6_endpoint_is_understood),
        cmocka_unit_test(test_envfile_missing_or_empty_or_bogus_endpoint_fails),
        cmocka_unit_test(test_envfile_crlf_warns_once_with_first_line),
        cmocka_unit_test(test_envfile_duplicate_key_warns_and_last_wins),
        cmocka_unit_test(test_envfile_export_prefix_and_spaces_around_equals_warn),
        cmocka_unit_test(test_envfile_line_without_equals_and_bad_name_warn),
        cmocka_unit_test(test_envfile_nul_byte_line_is_reported_not_parsed),
        cmocka_unit_test(test_envfile_overlong_line_is_reported_not_parsed),
        cmocka_unit_test(test_envfile_fail_outranks_earlier_warnings_in_summary),
        cmocka_unit_test(test_envfile_empty_file_fails_on_missing_endpoint),
        cmocka_unit_test(test_envfile_fixture_good_is_ok),
        cmocka_unit_test(test_envfile_fixture_bad_has_line_numbered_findings),
        cmocka_unit_test(test_envfile_fixture_crlf_warns),
        cmocka_unit_test(test_envfile_fixture_nul_byte),
        cmocka_unit_test(test_envfile_missing_file_fails),
        cmocka_unit_test(test_envfile_fifo_and_directory_are_refused_without_blocking),
        cmocka_unit_test(test_envfile_over_one_mib_is_refused),
        cmocka_unit_test(test_envfile_file_longer_than_its_stat_size_is_read_whole),
        cmocka_unit_test(test_envfile_random_input_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
