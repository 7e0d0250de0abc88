/* Fencing by term: every command from a controller carries its leader's term;
 * whoever executes commands (the agent) remembers the highest term it has seen
 * and refuses anything older, so a deposed leader can never act. Pure. */
#ifndef QR_FENCE_H
#define QR_FENCE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t highest; /* highest term seen; persist it whenever it rises */
} fence_t;

/* Starts from the highest term persisted earlier (0 on first start). */
void fence_init(fence_t *f, uint64_t persisted_highest);

/* Decides on a command carrying cmd_term. Returns 0 when it may run (and
 * raises the highest term to cmd_term: *raised is set, and the caller must
 * persist fence_highest() before executing, so a restart cannot forget it);
 * QR_ESTALE when cmd_term is lower than a term already seen: refuse it and
 * answer with fence_highest(). raised may be NULL. */
int fence_check(fence_t *f, uint64_t cmd_term, bool *raised);

/* Notes a term seen outside a command (e.g. a leader's heartbeat): raises the
 * highest term without executing anything. Returns true when it rose. */
bool fence_observe(fence_t *f, uint64_t term);

uint64_t fence_highest(const fence_t *f);

#endif
