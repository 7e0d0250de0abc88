/* The controller's node table. */
#include "inventory.h"

#include <stdlib.h>

struct inventory {
    int64_t down_after_ms;
};

inventory_t *inventory_new(int64_t down_after_ms)
{
    inventory_t *self = calloc(1, sizeof *self);
    if (self)
        self->down_after_ms = down_after_ms;
    return self;
}

void inventory_destroy(inventory_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}
