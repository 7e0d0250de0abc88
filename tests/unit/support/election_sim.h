/* Deterministic simulation of the election module: 3 and 5 controllers on a
 * seeded, hostile network (delay, loss, duplication, reordering, symmetric and
 * asymmetric partitions), with crashes that keep only what was persisted,
 * pauses (SIGSTOP), planned restarts (SIGTERM -> TimeoutNow), closed
 * connections (real and spurious) and occasional operator takeovers, plus
 * agents that fence commands by term. Invariants are checked after every
 * step (docs/election.md, "The simulation"). */
#ifndef QR_TEST_ELECTION_SIM_H
#define QR_TEST_ELECTION_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Totals over the seeds run with the same stats (esim_run adds to it). */
typedef struct {
    uint64_t steps, refused_cmds, transfers, takeovers, takeovers_refused, takeover_lost;
    size_t ncommits;
    int64_t leader_after_heal_ms; /* the worst */
    char fail[600];               /* the violated invariant of the last failed seed */
} esim_stats_t;

/* Runs one seed (log: print every event). The mutants break the module on
 * purpose to show the checker catches it: amnesia restarts controllers from
 * an empty disk, no_fence lets agents execute every command. Returns true
 * when every invariant held. */
bool esim_run(uint64_t seed, bool log, bool amnesia, bool no_fence, esim_stats_t *stats);

/* How the leader goes away in esim_failover(). */
enum { ESIM_GONE_KILL, ESIM_GONE_SIGTERM, ESIM_GONE_HOST };
extern const char *const esim_gone_name[];

/* Failover on a quiet LAN (1-5 ms delays, no loss, default timers): ms from
 * the leader's end until a successor holds a valid lease and every
 * surviving controller follows it; -1 when none within 10 s. */
int64_t esim_failover(uint64_t seed, int gone);

/* An unsigned environment variable, or dflt when unset or not a number. */
uint64_t esim_env_u64(const char *name, uint64_t dflt);
/* Monotonic seconds. */
double esim_now_s(void);

#endif
