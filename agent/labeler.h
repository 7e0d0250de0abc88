/* Applies the leader's label changes through the Engine API of this host's
 * docker (a swarm manager): per node read, merge, post with the version read,
 * retry on "update out of sequence", verify. Blocking: runs on a worker. */
#ifndef QR_LABELER_H
#define QR_LABELER_H

#include <jansson.h>

/* changes: {"NODE": {"add": {k: v}, "remove": [k]}}. Returns {"results":
 * [{"node","ok","labels"|"error","attempts"}], "applied": N, "failed": N}
 * (new reference). Nodes are processed in name order; one failing node does
 * not stop the others (re-running completes a partial apply). */
json_t *labeler_apply(const char *docker_socket, int timeout_ms, const json_t *changes);

#endif
