/* The swarm node commands a leader sends for a decommission: node_update
 * (Availability drain/active/pause, Role worker/manager) and node_rm (no
 * force: docker refuses a node that is not down). Run through this host's
 * docker (a swarm manager), on a worker thread (commands.h). */
#ifndef QR_NODEOPS_H
#define QR_NODEOPS_H

#include <jansson.h>
#include <stddef.h>

#include "agent_conf.h"
#include "err.h"

/* A parsed node_update: availability and role may be NULL (unchanged), not
 * both. Strings point into the args object. */
typedef struct {
    const char *node;
    const char *availability;
    const char *role;
} nodeops_update_t;

/* Pure: checks node_update's arguments {"node": NAME, "availability":
 * "active"|"pause"|"drain"?, "role": "worker"|"manager"?}: a node name of
 * [A-Za-z0-9._-] (1..253), at least one of the two, nothing else. Returns 0
 * or QR_EINVAL naming the field. */
int nodeops_parse_update(const json_t *args, nodeops_update_t *out, qr_err_t *err);
/* Pure: checks node_rm's arguments {"node": NAME}; *node points into args. */
int nodeops_parse_rm(const json_t *args, const char **node, qr_err_t *err);

/* Command node_update: returns 0 and {"node", "changed": bool (false: it
 * already was so), "availability", "role", "state", "attempts"} in *out. */
int nodeops_update(const agent_conf_t *conf, const json_t *args, json_t **out, qr_err_t *err);
/* Command node_rm: returns 0 and {"node", "removed": true, "already": bool
 * (the swarm had no such node)} in *out, or QR_EREFUSED with docker's
 * reason (not down, still a manager). */
int nodeops_rm(const agent_conf_t *conf, const json_t *args, json_t **out, qr_err_t *err);

#endif
