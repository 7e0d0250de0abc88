/* The election module under deterministic simulation
 * (tests/unit/support/election_sim.c): 3 and 5 controllers on a seeded,
 * hostile network with crashes, pauses, planned restarts, closed
 * connections and takeovers; every invariant checked after every step; a
 * failing seed is replayed with its event log. Two mutants show the checker
 * can fail.
 *   QR_SIM_SEEDS=N       number of seeds (default 10000, N=3 and N=5 alternating)
 *   QR_SIM_SEED_BASE=B   first seed (default 1)
 *   QR_SIM_SEED=S        run only seed S, printing its event log */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "election_sim.h"

static const char *sim_argv0 = "./test_election_sim";

/* ---- tests ------------------------------------------------------------------ */

static void test_sim_invariants_hold_for_every_seed(void **state)
{
    (void)state;
    const char *one = getenv("QR_SIM_SEED");
    if (one && *one) {
        uint64_t seed = esim_env_u64("QR_SIM_SEED", 1);
        esim_stats_t st;
        memset(&st, 0, sizeof st);
        bool ok = esim_run(seed, true, false, false, &st);
        fprintf(stderr, "seed %" PRIu64 ": %s\n", seed, ok ? "ok" : st.fail);
        assert_true(ok);
        return;
    }
    /* 10000: 5000 seeds each of N=3 and N=5 (about 4 s of CPU with ASan) */
    uint64_t count = esim_env_u64("QR_SIM_SEEDS", 10000);
    uint64_t base = esim_env_u64("QR_SIM_SEED_BASE", 1);
    esim_stats_t st;
    memset(&st, 0, sizeof st);
    double t0 = esim_now_s();
    for (uint64_t seed = base; seed < base + count; seed++) {
        if (!esim_run(seed, false, false, false, &st)) {
            fprintf(stderr, "\n=== seed %" PRIu64 " FAILED: %s; its event log: ===\n", seed,
                    st.fail);
            esim_stats_t again;
            memset(&again, 0, sizeof again);
            esim_run(seed, true, false, false, &again);
            fprintf(stderr, "=== replay just this seed: QR_SIM_SEED=%" PRIu64 " %s ===\n", seed,
                    sim_argv0);
            fail_msg("seed %" PRIu64 ": %s", seed, st.fail);
        }
    }
    fprintf(
        stderr,
        "election sim: %" PRIu64 " seeds (N=3 and N=5 alternating) in %.1f s, %" PRIu64
        " steps, %zu commits, %" PRIu64 " transfers, %" PRIu64 " takeovers (%" PRIu64
        " refused: majority reachable), %" PRIu64 " stale commands refused by agents, %" PRIu64
        " seeds where a takeover dropped a committed version (allowed), worst leader after heal "
        "%" PRId64 " ms\n",
        count, esim_now_s() - t0, st.steps, st.ncommits, st.transfers, st.takeovers,
        st.takeovers_refused, st.refused_cmds, st.takeover_lost, st.leader_after_heal_ms);
    if (count >= 1000) {
        /* the interesting paths really ran */
        assert_true(st.refused_cmds > 0);
        assert_true(st.transfers > 0);
        assert_true(st.takeovers > 0);
        assert_true(st.takeover_lost > 0);
    }
}

/* The checker must be able to fail: a controller that forgets its vote on
 * restart (no fsync) is caught voting twice in a term. */
static void test_sim_catches_controller_that_forgets_its_vote(void **state)
{
    (void)state;
    if (getenv("QR_SIM_SEED"))
        skip();
    esim_stats_t st;
    memset(&st, 0, sizeof st);
    uint64_t caught = 0;
    for (uint64_t seed = 1; seed <= 400; seed++)
        if (!esim_run(seed, false, true, false, &st))
            caught++;
    fprintf(stderr, "amnesia mutant caught in %" PRIu64 " of 400 seeds (e.g. %s)\n", caught,
            st.fail);
    assert_true(caught > 0);
}

/* ...and an agent that does not fence is caught executing a deposed
 * leader's command. */
static void test_sim_catches_agent_without_fencing(void **state)
{
    (void)state;
    if (getenv("QR_SIM_SEED"))
        skip();
    esim_stats_t st;
    memset(&st, 0, sizeof st);
    uint64_t caught = 0;
    for (uint64_t seed = 1; seed <= 200; seed++)
        if (!esim_run(seed, false, false, true, &st))
            caught++;
    fprintf(stderr, "no-fence mutant caught in %" PRIu64 " of 200 seeds\n", caught);
    assert_true(caught > 0);
}

int main(int argc, char **argv)
{
    if (argc > 0)
        sim_argv0 = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_invariants_hold_for_every_seed),
        cmocka_unit_test(test_sim_catches_controller_that_forgets_its_vote),
        cmocka_unit_test(test_sim_catches_agent_without_fencing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
