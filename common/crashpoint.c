/* QUORATE_TEST_CRASH parsing and the kill itself, shared by every durable
 * writer so that one counter numbers all their writes. Compiled always: the
 * shipped binary is the one tested; unset, it costs one getenv per write. */
#include "crashpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[CRASHPOINT__COUNT] = {
    [CRASHPOINT_NONE] = "none",
    [CRASHPOINT_TEMP_PARTIAL] = "temp_partial",
    [CRASHPOINT_TEMP_WRITTEN] = "temp_written",
    [CRASHPOINT_BEFORE_RENAME] = "before_rename",
    [CRASHPOINT_AFTER_RENAME] = "after_rename",
    [CRASHPOINT_SLOT_PARTIAL] = "slot_partial",
    [CRASHPOINT_SLOT_WRITTEN] = "slot_written",
};

const char *crashpoint_name(crashpoint_t step)
{
    return (unsigned)step < CRASHPOINT__COUNT ? names[step] : "unknown";
}

crashpoint_t crashpoint_next(void)
{
    static unsigned long writes;
    const char *v = getenv("QUORATE_TEST_CRASH");
    if (!v || !*v)
        return CRASHPOINT_NONE;
    unsigned long n = __atomic_add_fetch(&writes, 1, __ATOMIC_SEQ_CST);
    const char *colon = strchr(v, ':');
    size_t len = colon ? (size_t)(colon - v) : strlen(v);
    unsigned long want = colon ? strtoul(colon + 1, NULL, 10) : 1;
    if (n != (want ? want : 1))
        return CRASHPOINT_NONE;
    for (int i = CRASHPOINT_NONE + 1; i < CRASHPOINT__COUNT; i++)
        if (strlen(names[i]) == len && strncmp(names[i], v, len) == 0)
            return (crashpoint_t)i;
    return CRASHPOINT_NONE;
}

void crashpoint_hit(crashpoint_t at, crashpoint_t here, const char *path)
{
    if (at != here || here == CRASHPOINT_NONE)
        return;
    fprintf(stderr, "QUORATE_TEST_CRASH: killing the process at %s of %s\n", crashpoint_name(here),
            path);
    fflush(stderr);
    raise(SIGKILL);
}
