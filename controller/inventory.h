/* The controller's live view of the cluster: per node its last report, the
 * time of its last message and its check results. Pure data structure: the
 * caller passes the current (monotonic) time in. */
#ifndef QR_INVENTORY_H
#define QR_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct inventory inventory_t;

/* Creates an empty inventory; a node without a message for down_after_ms is
 * down. Returns NULL on allocation failure. */
inventory_t *inventory_new(int64_t down_after_ms);
/* Frees the inventory and clears *self_p. NULL-safe. */
void inventory_destroy(inventory_t **self_p);

#endif
