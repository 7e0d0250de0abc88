/* The agent's side of fencing: a monotonic highest-term register. */
#include "fence.h"

#include "err.h"

void fence_init(fence_t *f, uint64_t persisted_highest)
{
    f->highest = persisted_highest;
}

int fence_check(fence_t *f, uint64_t cmd_term, bool *raised)
{
    if (raised)
        *raised = false;
    if (cmd_term < f->highest)
        return QR_ESTALE;
    if (cmd_term > f->highest) {
        f->highest = cmd_term;
        if (raised)
            *raised = true;
    }
    return 0;
}

bool fence_observe(fence_t *f, uint64_t term)
{
    if (term <= f->highest)
        return false;
    f->highest = term;
    return true;
}

uint64_t fence_highest(const fence_t *f)
{
    return f->highest;
}
