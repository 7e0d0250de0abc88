/* The commands of a forced recovery (issue 8), run by the agent for the leader
 * (registered in commands.c; blocking, on a worker):
 *   mongo_status          replSetGetStatus + replSetGetConfig of the local
 *                         mongod, as canonical Extended JSON: {"node", "status",
 *                         "config", "at_ms"}.
 *   mongo_force_reconfig  {"config", "expect_version", "expect_set", "force": true}:
 *                         re-reads the member's status and config and refuses
 *                         when it sees a PRIMARY, another set, or a version other
 *                         than expect_version (compare-and-swap); otherwise
 *                         replSetReconfig {config, force: true}. Result
 *                         {"node", "old_version", "sent_version", "version_after"}.
 *   swarm_force_new_cluster  on a manager whose swarm lost its Raft quorum
 *                         (GET /nodes does not answer): POST /swarm/init with
 *                         ForceNewCluster, then waits (<= 20 s) until the new
 *                         swarm answers. Refused while the swarm has quorum.
 * Never run on the agent's own initiative: only as a fenced command. */
#ifndef QR_MONGOOPS_H
#define QR_MONGOOPS_H

#include <jansson.h>

#include "agent_conf.h"
#include "err.h"

int mongoops_status(const agent_conf_t *conf, const json_t *args, json_t **out, qr_err_t *err);
int mongoops_force_reconfig(const agent_conf_t *conf, const json_t *args, json_t **out,
                            qr_err_t *err);
int mongoops_swarm_force_new_cluster(const agent_conf_t *conf, const json_t *args, json_t **out,
                                     qr_err_t *err);

#endif
