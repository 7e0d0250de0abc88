/* The agent daemon: runs the check cycle every interval, sends each report to
 * every configured controller (DEALER, CURVE), heartbeats for liveness,
 * answers clock probes, and keeps a bounded queue of reports while no
 * controller is connected (oldest dropped, drops counted). */
#ifndef QR_AGENT_H
#define QR_AGENT_H

#include <jansson.h>
#include <uv.h>

#include "agent_conf.h"
#include "check.h"
#include "err.h"

typedef struct agent agent_t;

/* Creates the daemon in loop with conf (agent takes ownership of conf).
 * Returns 0 or a QR_E* code with the reason in err. */
int agent_new(uv_loop_t *loop, agent_conf_t *conf, agent_t **out, qr_err_t *err);
/* Starts timers and sockets. */
int agent_start(agent_t *a, qr_err_t *err);
/* Stops everything (handles closed asynchronously; run the loop to finish). */
void agent_stop(agent_t *a);
/* Frees the daemon. Returns the number of checks still hung in a worker:
 * then the config was kept alive for them and the caller must _exit(). */
size_t agent_destroy(agent_t **self_p);

/* Builds the --once / status JSON of a set of results:
 * {"node":..,"dc":..,"checks":[{name,status,summary,values}]} */
json_t *agent_results_json(const agent_conf_t *conf, const check_result_t *r, size_t n);
/* The worst status of the results (Nagios exit code). */
int agent_results_worst(const check_result_t *r, size_t n);

#endif
