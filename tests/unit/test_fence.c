/* Fencing by term: the agent's highest-term register. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/fence.h"

static void test_fence_accepts_current_and_newer_terms(void **state)
{
    (void)state;
    fence_t f;
    fence_init(&f, 0);
    bool raised;
    assert_int_equal(fence_check(&f, 3, &raised), 0);
    assert_true(raised);
    assert_int_equal(fence_highest(&f), 3);
    assert_int_equal(fence_check(&f, 3, &raised), 0); /* same leader again */
    assert_false(raised);
    assert_int_equal(fence_check(&f, 7, &raised), 0);
    assert_true(raised);
    assert_int_equal(fence_highest(&f), 7);
}

static void test_fence_refuses_deposed_leader_with_current_term(void **state)
{
    (void)state;
    fence_t f;
    fence_init(&f, 0);
    assert_int_equal(fence_check(&f, 5, NULL), 0);
    bool raised = true;
    assert_int_equal(fence_check(&f, 4, &raised), QR_ESTALE);
    assert_false(raised);
    assert_int_equal(fence_highest(&f), 5); /* what the refusal answers with */
}

static void test_fence_heartbeat_term_fences_old_leader_before_any_command(void **state)
{
    (void)state;
    fence_t f;
    fence_init(&f, 2);
    assert_true(fence_observe(&f, 9));
    assert_false(fence_observe(&f, 8));
    assert_int_equal(fence_check(&f, 8, NULL), QR_ESTALE);
    assert_int_equal(fence_check(&f, 9, NULL), 0);
}

static void test_fence_restart_from_persisted_term_still_refuses(void **state)
{
    (void)state;
    fence_t f;
    fence_init(&f, 0);
    bool raised;
    assert_int_equal(fence_check(&f, 11, &raised), 0);
    assert_true(raised);
    uint64_t persisted = fence_highest(&f); /* the agent writes this before executing */
    fence_t after;
    fence_init(&after, persisted);
    assert_int_equal(fence_check(&after, 10, NULL), QR_ESTALE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fence_accepts_current_and_newer_terms),
        cmocka_unit_test(test_fence_refuses_deposed_leader_with_current_term),
        cmocka_unit_test(test_fence_heartbeat_term_fences_old_leader_before_any_command),
        cmocka_unit_test(test_fence_restart_from_persisted_term_still_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
