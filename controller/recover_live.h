/* The live side of the forced recovery, the pure parts: what the agents'
 * reports say about the replica set (is there a primary? are the reachable
 * voters a minority? which data centre is gone?), the controller's own
 * evidence added to recover.c's plan, the extra refusals only the live view
 * can make, and the rejoin plan once lost members come back. No I/O, no
 * clock: server_recover.c feeds it the inventory and the agents' replies. */
#ifndef QR_RECOVER_LIVE_H
#define QR_RECOVER_LIVE_H

#include <jansson.h>
#include <stdint.h>

#include "inventory.h"

/* An integer from JSON or Extended JSON ({"$numberInt": "1"}, {"$numberLong":
 * ...}, {"$numberDouble": ...}); dflt when absent or not a number. */
json_int_t recover_live_ejson_int(const json_t *v, json_int_t dflt);

/* From the mongod check values in the reports of the up nodes:
 * {"state": "none" (no replica set reported) | "ok" (a primary exists) |
 *  "electing" (no primary, reachable voters a majority) | "majority_lost",
 *  "summary": one line, "set", "primary", "voters", "reachable_voters",
 *  "lost_dcs": [...], "unreachable": [member hosts], "members": [node names
 *  reporting a member]} (new reference). */
json_t *recover_live_detect(const inventory_t *inv);

/* The inventory node a replica-set member host ("10.0.0.1:27017", "[::1]:27017",
 * "ai1:27017") runs on: matched by address, else by name. NULL if none. */
const inv_node_t *recover_live_node_of(const inventory_t *inv, const char *host);

/* Adds the controller's view to plan (recover_plan_to_json output, modified in
 * place): per evidence member "node", "controller": {"up", "down_for_s",
 * "last_seen_ago_s"} and "unreachable_from": [views that see it down];
 * "asked"/"answered"/"no_answer": the agents asked for their status. Then the
 * refusals only the live view can make (appended to "refused", "ok" cleared):
 * a member to remove whose host's agent still reports to this controller (a
 * partition, not a loss); an agent of a surviving member that did not answer;
 * "removed_dc" from the inventory when the members carry no dc tag. */
void recover_live_annotate(json_t *plan, const inventory_t *inv, const json_t *asked,
                           const json_t *answered, int64_t now_ms);

/* The rejoin plan: members removed by the last forced recovery (audit record
 * "recover_reconfig": {"removed": [{"host","dc"}...]}) whose nodes are up
 * again, against the current config (from the primary): step 1 adds them with
 * votes 0, priority 0 (non-forced reconfig), step 2 gives the votes back once
 * they caught up (keeping the voters odd), plus the rollback warning.
 * config: the current config as Extended JSON (may be NULL: no primary yet).
 * Returns {"ok", "members": [...], "steps": [...], "warnings": [...],
 * "refused": [...]} (new reference). */
json_t *recover_live_rejoin(const inventory_t *inv, const json_t *audit, const json_t *config,
                            const char *primary);

#endif
