/* Prepares `quoratectl apply` (pure: the inventory and the current time in,
 * a decision out): plans from the live inventory, and refuses with a reason
 * and the next step when the swarm has no manager quorum, when no manager's
 * agent is up, or when the inventory is stale (a node silent for 3 check
 * intervals). Also compares the labels with the last applied plan (drift). */
#ifndef QR_APPLYPLAN_H
#define QR_APPLYPLAN_H

#include <jansson.h>
#include <stdint.h>

#include "inventory.h"

/* Returns (new reference) {"ok":bool, "refused":[reasons], "hint":text|null,
 * "plan":<plan JSON>, "changes":{...}, "managers":[agents to send through,
 * the swarm leader's node first]}. applied (may be NULL) is the last applied
 * {node: labels}: the plan starts from it as the intended state, so labels
 * changed by hand since (drift) are put back; "changes" is the difference
 * between the live labels and the plan's final labels. */
json_t *applyplan_prepare(const inventory_t *inv, const json_t *applied, int64_t now_ms);
/* applyplan_prepare for `quoratectl decommission`: plans with the planner's
 * remove option (remove_node may be NULL: the same as applyplan_prepare);
 * "changes" also takes the managed labels off the removed node. An unknown
 * node is a refusal ("planner failed: ..."). */
json_t *applyplan_prepare_remove(const inventory_t *inv, const json_t *applied, int64_t now_ms,
                                 const char *remove_node);

/* Drift: for each node of `applied` ({"node": {labels}} as last applied),
 * the managed labels (mongo.replica, worker, minio) that differ now.
 * Returns [{"node","expected":{..},"actual":{..}}] (new reference). Nodes
 * the live inventory does not know (gone from the swarm) are reported with
 * "missing": true when they held mongo.replica. */
json_t *applyplan_drift(const inventory_t *inv, const json_t *applied);

#endif
