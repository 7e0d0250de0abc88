/* ntp check: the evaluator on synthetic kernel states (unsynchronised clock,
 * thresholds on offset / max error / estimated error) and the real probe. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "check_ntp.h"
#include "check_testlib.h"

static agent_conf_t conf_base(void)
{
    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.ntp_warn_ms = 100;
    c.ntp_fail_ms = 500;
    return c;
}

/* chrony-disciplined clock: PLL on, synchronised, small errors */
static ntp_facts_t facts_synced(void)
{
    ntp_facts_t f;
    memset(&f, 0, sizeof f);
    f.state = TIME_OK;
    f.status = STA_PLL | STA_NANO;
    f.offset_ms = 0.25;
    f.maxerror_ms = 12.0;
    f.esterror_ms = 0.5;
    return f;
}

static check_result_t eval(const ntp_facts_t *f, const agent_conf_t *c)
{
    check_result_t r;
    check_result_init(&r, "ntp");
    check_ntp_eval(f, c, &r);
    return r;
}

static void test_ntp_synced_small_errors_is_ok(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_summary_has(&r, "clock synchronised");
    assert_true(json_is_true(json_object_get(r.values, "synced")));
    assert_true(json_real_value(json_object_get(r.values, "offset_ms")) == 0.25);
    assert_true(json_real_value(json_object_get(r.values, "maxerror_ms")) == 12.0);
    assert_true(json_real_value(json_object_get(r.values, "esterror_ms")) == 0.5);
    assert_string_equal(json_string_value(json_object_get(r.values, "state")), "TIME_OK");
    json_t *flags = json_object_get(r.values, "status_flags");
    assert_int_equal(json_array_size(flags), 2);
    assert_string_equal(json_string_value(json_array_get(flags, 0)), "PLL");
    assert_string_equal(json_string_value(json_array_get(flags, 1)), "NANO");
    assert_int_equal(json_integer_value(json_object_get(r.values, "status")), STA_PLL | STA_NANO);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
}

static void test_ntp_unsynchronised_clock_warns_despite_huge_errors(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    /* what an undisciplined kernel reports: 16 s errors, STA_UNSYNC */
    f.state = TIME_ERROR;
    f.status = STA_UNSYNC;
    f.maxerror_ms = 16000;
    f.esterror_ms = 16000;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "clock not synchronised");
    assert_summary_has(&r, "STA_UNSYNC");
    assert_true(json_is_false(json_object_get(r.values, "synced")));
    assert_string_equal(json_string_value(json_object_get(r.values, "state")), "TIME_ERROR");
    /* the 16 s figures are meaningless here: no *_error_high key */
    assert_reasons(&r, "unsynchronised", NULL);
    check_result_clear(&r);
}

static void test_ntp_time_error_state_alone_is_unsynchronised(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    f.state = TIME_ERROR; /* e.g. PPS trouble without STA_UNSYNC */
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "clock not synchronised (TIME_ERROR)");
    assert_reasons(&r, "unsynchronised", NULL);
    check_result_clear(&r);
}

static void test_ntp_offset_at_warn_threshold_is_ok_above_warns(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    f.offset_ms = 100.0;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_OK);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
    f.offset_ms = 100.5;
    r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "offset 100.5 ms > 100 ms");
    assert_reasons(&r, "offset_high", NULL);
    check_result_clear(&r);
}

static void test_ntp_negative_offset_counts_by_magnitude(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    f.offset_ms = -600.0;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "offset 600.0 ms > 500 ms");
    assert_reasons(&r, "offset_high", NULL);
    assert_true(json_real_value(json_object_get(r.values, "offset_ms")) == -600.0);
    check_result_clear(&r);
}

static void test_ntp_max_error_at_fail_threshold_warns_above_fails(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    f.maxerror_ms = 500.0;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "max error 500.0 ms > 100 ms");
    assert_reasons(&r, "max_error_high", NULL);
    check_result_clear(&r);
    f.maxerror_ms = 620.0;
    r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "max error 620.0 ms > 500 ms");
    /* warn and fail share the key: crossing 500 ms changes the severity,
     * not the alert */
    assert_reasons(&r, "max_error_high", NULL);
    check_result_clear(&r);
}

static void test_ntp_summary_names_the_largest_figure(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    f.offset_ms = 150;
    f.maxerror_ms = 90;
    f.esterror_ms = 300;
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "estimated error 300.0 ms");
    /* every figure over a threshold keeps its own key, not only the largest */
    assert_reasons(&r, "offset_high", "est_error_high", NULL);
    check_result_clear(&r);
}

static void test_ntp_reasons_list_the_failing_figure_before_the_warning_one(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f = facts_synced();
    f.offset_ms = 150;   /* warn */
    f.maxerror_ms = 700; /* fail */
    f.esterror_ms = 100; /* at the warn level: passes */
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_reasons(&r, "max_error_high", "offset_high", NULL);
    check_result_clear(&r);
}

static void test_ntp_thresholds_come_from_config(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    c.ntp_warn_ms = 5;
    c.ntp_fail_ms = 10;
    ntp_facts_t f = facts_synced(); /* max error 12 ms */
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_summary_has(&r, "> 10 ms");
    assert_true(json_real_value(json_object_get(r.values, "fail_ms")) == 10.0);
    check_result_clear(&r);
}

static void test_ntp_failed_call_is_unknown(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f;
    memset(&f, 0, sizeof f);
    f.sys_errno = EPERM; /* a seccomp filter that forbids adjtimex */
    check_result_t r = eval(&f, &c);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_summary_has(&r, "ntp_adjtime");
    assert_true(json_is_null(json_object_get(r.values, "synced")));
    assert_reasons(&r, "adjtime_failed", NULL);
    check_result_clear(&r);
}

/* The real kernel answers unprivileged; whatever its state, the result is
 * a judged one (never unknown) and every value is present. */
static void test_ntp_probe_reads_the_kernel_clock(void **state)
{
    (void)state;
    agent_conf_t c = conf_base();
    ntp_facts_t f;
    assert_int_equal(check_ntp_probe(&c, &f), 0);
    assert_int_equal(f.sys_errno, 0);
    assert_true(f.state >= TIME_OK && f.state <= TIME_ERROR);
    assert_true(f.maxerror_ms >= 0);
    check_result_t r;
    check_result_init(&r, "ntp");
    check_ntp_run(&c, NULL, &r);
    assert_int_not_equal(r.status, CHECK_UNKNOWN);
    assert_non_null(json_object_get(r.values, "maxerror_ms"));
    assert_non_null(json_object_get(r.values, "status_flags"));
    bool synced = json_is_true(json_object_get(r.values, "synced"));
    assert_true(synced == !(f.state == TIME_ERROR || (f.status & (STA_UNSYNC | STA_CLOCKERR))));
    check_result_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ntp_synced_small_errors_is_ok),
        cmocka_unit_test(test_ntp_unsynchronised_clock_warns_despite_huge_errors),
        cmocka_unit_test(test_ntp_time_error_state_alone_is_unsynchronised),
        cmocka_unit_test(test_ntp_offset_at_warn_threshold_is_ok_above_warns),
        cmocka_unit_test(test_ntp_negative_offset_counts_by_magnitude),
        cmocka_unit_test(test_ntp_max_error_at_fail_threshold_warns_above_fails),
        cmocka_unit_test(test_ntp_summary_names_the_largest_figure),
        cmocka_unit_test(test_ntp_reasons_list_the_failing_figure_before_the_warning_one),
        cmocka_unit_test(test_ntp_thresholds_come_from_config),
        cmocka_unit_test(test_ntp_failed_call_is_unknown),
        cmocka_unit_test(test_ntp_probe_reads_the_kernel_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
