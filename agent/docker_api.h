/* A small Docker Engine API client over the local unix socket (libcurl,
 * API v1.41). One client keeps one curl easy handle, so the connection to
 * dockerd stays open across check cycles. Every call has a short timeout and
 * a response size limit; a malformed or hostile reply is an error, never a
 * crash. Not thread-safe: one client per thread. Never uses the docker CLI. */
#ifndef QR_DOCKER_API_H
#define QR_DOCKER_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define DOCKER_API_PREFIX "/v1.41"
#define DOCKER_API_MAX_REPLY (4u * 1024u * 1024u)

typedef struct docker_api docker_api_t;

/* Creates a client for the Engine API socket at socket_path; each request
 * is limited to timeout_ms. Returns NULL when out of memory. No I/O yet. */
docker_api_t *docker_api_new(const char *socket_path, int timeout_ms);
/* Closes the connection and frees the client; clears *self_p. NULL-safe. */
void docker_api_destroy(docker_api_t **self_p);
/* The socket path the client was made for (owned by the client). */
const char *docker_api_socket(const docker_api_t *api);

/* Performs METHOD DOCKER_API_PREFIX path (path starts with '/'), with body
 * (may be NULL) sent as JSON. On a 2xx reply returns 0 and the decoded JSON
 * body in *out (new reference; NULL when the body is empty; out may be NULL
 * to discard it). Errors: QR_EUNAVAIL (cannot connect), QR_ETIMEOUT,
 * QR_ETOOBIG (reply over DOCKER_API_MAX_REPLY), QR_EPARSE (not JSON),
 * QR_ENOTFOUND (404), QR_ECONFLICT (500 "update out of sequence" or 409),
 * QR_EREFUSED (any other non-2xx; the daemon's "message" is in err).
 * *http_code (may be NULL) receives the HTTP status, 0 when none. */
int docker_api_request(docker_api_t *api, const char *method, const char *path, const json_t *body,
                       long *http_code, json_t **out, qr_err_t *err);

/* GET /version, /info: a JSON object in *out (caller decrefs). */
int docker_api_version(docker_api_t *api, json_t **out, qr_err_t *err);
int docker_api_info(docker_api_t *api, json_t **out, qr_err_t *err);
/* GET /nodes, /services, /tasks?filters={"desired-state":["running"]}:
 * a JSON array in *out (caller decrefs). Manager only; on a worker the
 * daemon answers 503 (QR_EREFUSED). */
int docker_api_nodes(docker_api_t *api, json_t **out, qr_err_t *err);
int docker_api_services(docker_api_t *api, json_t **out, qr_err_t *err);
int docker_api_tasks_running(docker_api_t *api, json_t **out, qr_err_t *err);
/* GET /nodes/{id} (id or hostname): a JSON object in *out. */
int docker_api_node_inspect(docker_api_t *api, const char *id, json_t **out, qr_err_t *err);

/* POST /nodes/{id}/update?version=N with the whole spec (the API replaces
 * the node's spec: Role, Availability and Labels must all be present).
 * QR_ECONFLICT when version is no longer current ("update out of
 * sequence"). */
int docker_api_node_update(docker_api_t *api, const char *id, uint64_t version, const json_t *spec,
                           qr_err_t *err);

/* Pure: reads a node object's Version.Index into *version and a copy of its
 * Spec into *spec (caller decrefs). QR_EPARSE when the shape is wrong or
 * Role/Availability are missing. */
int docker_api_node_spec(const json_t *node, uint64_t *version, json_t **spec, qr_err_t *err);

/* Pure: returns a new spec equal to spec with the labels in remove (an array
 * of key strings, may be NULL) deleted and then those in add (an object of
 * string values, may be NULL) set; every other field (Role, Availability,
 * Name, ...) is kept. Removals apply before additions. NULL with err set on
 * a malformed spec/add/remove. */
json_t *docker_api_merge_labels(const json_t *spec, const json_t *add, const json_t *remove,
                                qr_err_t *err);

/* Options for docker_api_node_set_labels. Zero means the default. */
typedef struct {
    int max_attempts; /* posts tried on "update out of sequence", default 5 */
    int backoff_ms;   /* first retry delay, doubled each time, default 50 */
    /* Called after each read and before the matching write (tests use it to
     * race a concurrent update in between). May be NULL. */
    void (*before_write)(void *arg, int attempt);
    void *arg;
} docker_api_label_opts_t;

/* Applies a label change to node id (id or hostname): reads the node,
 * merges (docker_api_merge_labels), posts it with the version read, and on
 * QR_ECONFLICT re-reads and retries (bounded, with backoff). Then re-reads
 * and verifies that every added label has its value and every removed one
 * is gone. Returns 0 and the node's labels after the change in *labels (may
 * be NULL; caller decrefs), or a negative QR_E* code: QR_ECONFLICT when the
 * attempts ran out, QR_ESTALE when verification failed. *attempts (may be
 * NULL) receives the number of posts made. */
int docker_api_node_set_labels(docker_api_t *api, const char *id, const json_t *add,
                               const json_t *remove, const docker_api_label_opts_t *opts,
                               json_t **labels, int *attempts, qr_err_t *err);

/* Pure: returns a new spec equal to spec with Availability and/or Role set
 * (either may be NULL: kept); every other field (Labels, Name, ...) is kept.
 * availability must be "active", "pause" or "drain", role "worker" or
 * "manager". NULL with err set on a bad value or a malformed spec. */
json_t *docker_api_merge_node_state(const json_t *spec, const char *availability,
                                    const char *role, qr_err_t *err);

/* Sets node id's Availability and/or Role (either may be NULL): reads the
 * node, keeps the whole spec, changes only what is asked and posts it with
 * the version read; on "update out of sequence" (or the swarm between
 * leaders) re-reads and retries as docker_api_node_set_labels does, then
 * re-reads and verifies. When the spec already has the values nothing is
 * posted and *changed is false. Returns 0 with the node as read last in
 * *node (may be NULL; caller decrefs), or a negative QR_E* code (QR_EREFUSED
 * carries the daemon's reason, e.g. demoting the last manager). *attempts
 * (may be NULL) receives the number of posts made. */
int docker_api_node_set_state(docker_api_t *api, const char *id, const char *availability,
                              const char *role, const docker_api_label_opts_t *opts,
                              json_t **node, bool *changed, int *attempts, qr_err_t *err);

/* DELETE /nodes/{id} without force: the daemon itself refuses (QR_EREFUSED
 * with its reason) a node that is not down or is still a manager.
 * QR_ENOTFOUND when the swarm has no such node. */
int docker_api_node_remove(docker_api_t *api, const char *id, qr_err_t *err);

#endif
