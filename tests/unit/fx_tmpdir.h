/* A private temporary directory with one file path in it, for the cmocka
 * tests of the durable writers (atomicfile, slotfile, election_store). The
 * teardown removes the file, its ".tmp" sibling and the directory. */
#ifndef QR_FX_TMPDIR_H
#define QR_FX_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[128];
} fx_t;

/* /tmp/<prefix>-XXXXXX/<file> in *state; -1 when it cannot be made. */
static inline int fx_make(void **state, const char *prefix, const char *file)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, file);
    *state = fx;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_t *fx = *state;
    char p[160];
    unlink(fx->path);
    snprintf(p, sizeof p, "%s.tmp", fx->path);
    unlink(p);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

#endif
