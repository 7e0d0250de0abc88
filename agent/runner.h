/* Runs the enabled checks of one cycle off the loop with a deadline. The
 * checks that may block run one after another on the runner's own thread
 * (the chain, started at the first cycle): one thread hand-off a cycle
 * instead of one per check, measured as a fifth of the agent's CPU per
 * cycle (tests/bench/agent_footprint), and the threadpool's workers stay
 * unstarted (their stacks were 0.2 MiB of private memory) unless needed.
 * A chain still running after min(probe timeout / 5, RUNNER_SPLIT_MS) is
 * split: what it finished is taken, what it has not started runs on a
 * threadpool worker of its own, so a probe that hangs delays the checks
 * behind it by that much, never past their deadline. While a hung run keeps
 * the chain's thread, the next cycles run each check on its own threadpool
 * job, as they all did before the chain.
 * A check still running at the deadline is reported "unknown: timed out
 * after Ns" and is not started again until its hung run returns, so a hung
 * NFS mount costs one worker thread, never the event loop. Checks flagged
 * never_blocks (check.h: only kernel calls answered from memory) run on the
 * loop thread inside runner_start instead, after the others were queued:
 * each worker hand-off costs two context switches and a wake-up. */
#ifndef QR_RUNNER_H
#define QR_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "agent_conf.h"
#include "check.h"

/* Longest a check waits behind a slow one in the chain (see above). */
#define RUNNER_SPLIT_MS 200

typedef struct runner runner_t;
typedef void (*runner_done_cb)(runner_t *s, void *arg);

/* The libuv threadpool size the agent needs for these checks: one worker
 * per check that may block (when the chain is split or hung each runs on
 * its own worker, and a hung one keeps it), plus two for the agent's
 * commands. Set as UV_THREADPOOL_SIZE before the first queued work. */
size_t runner_pool_threads(const check_def_t *defs, size_t n_defs);

/* Creates a scheduler for conf's enabled checks (conf borrowed). */
runner_t *runner_new(uv_loop_t *loop, const agent_conf_t *conf);
/* The same with another check table than check_defs[] (tests inject
 * checks that block, fail or count their runs); defs borrowed. */
runner_t *runner_new_defs(uv_loop_t *loop, const agent_conf_t *conf, const check_def_t *defs,
                          size_t n_defs);
/* Starts a cycle; cb runs once every check finished or the deadline passed.
 * Returns -1 if a cycle is already running. */
int runner_start(runner_t *s, runner_done_cb cb, void *arg);
/* The results of the last completed cycle (owned by s; valid until the next
 * cycle completes). */
const check_result_t *runner_results(const runner_t *s, size_t *n);
/* Number of checks whose run is still going (hung). */
size_t runner_in_flight(const runner_t *s);
/* Frees the scheduler; returns how many checks were hung. A hung run keeps
 * its slot (and conf, which the caller must keep alive) until it returns on
 * the loop: the runner is freed then, so the loop must run until then or
 * the process exit without waiting (_exit). */
size_t runner_destroy(runner_t **self_p);

#endif
