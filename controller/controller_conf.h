/* The controller's configuration (YAML, immutable once loaded). See
 * docs/config.md for every key. */
#ifndef QR_CONTROLLER_CONF_H
#define QR_CONTROLLER_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define CONTROLLER_MAX_PEERS 8

/* Another controller replica. */
typedef struct {
    int id;                   /* election id 1..255, unique */
    char *name;               /* its `id` (name) */
    char *endpoint;           /* its peers_endpoint */
    char *operators_endpoint; /* where quoratectl is redirected when it leads */
    char *public_key;         /* its CURVE public key */
} controller_peer_t;

typedef struct {
    char *path;
    char *id;                  /* controller name; default hostname */
    char *dc;                  /* default "default" */
    char *agents_endpoint;     /* bind, default "tcp://0.0.0.0:7700" */
    char *operators_endpoint;  /* bind, default "tcp://127.0.0.1:7701" */
    bool curve;                /* default true */
    char *cert;                /* controller's secret certificate */
    char *agent_keys;          /* directory of allowed agent public certs */
    char *operator_keys;       /* directory of allowed operator public certs */
    char *state_dir;           /* default /var/lib/quorate */
    int down_after_ms;         /* silence after which a node is down, default 2500 */
    int tick_ms;               /* liveness evaluation period, default 250 */
    int ping_interval_ms;      /* clock probe period per agent, default 2000 */
    double skew_warn_ms;       /* default 100 */
    double skew_fail_ms;       /* default 500 */
    int max_nodes;             /* default 1000 */
    int max_frame;             /* bytes, default 1 MiB */
    char *alerts_config;       /* alert routing YAML (optional) */
    int election_id;           /* 1..255, unique among the controllers, default 1 */
    char *peers_endpoint;      /* bind for the other controllers, default tcp://127.0.0.1:7702 */
    char *controller_keys;     /* directory of the other controllers' public certs */
    size_t n_peers;
    controller_peer_t peers[CONTROLLER_MAX_PEERS];
    int heartbeat_ms;          /* leader heartbeat, default 100 */
    int election_min_ms;       /* randomised election timeout, default 500..1000 */
    int election_max_ms;
    int probe_interval_ms;     /* reachability matrix round period, default 30000 */
    int probe_timeout_ms;      /* per connect, default 1000 */
    size_t n_probe_ports;
    int probe_ports[32];       /* default 2377 7946 27017 3031 9000 22 */
} controller_conf_t;

controller_conf_t *controller_conf_defaults(void);
/* Parses path. Returns 0 and a new config, or a QR_E* code with
 * "path:line: reason" in err. */
int controller_conf_load(const char *path, controller_conf_t **out, qr_err_t *err);
void controller_conf_destroy(controller_conf_t **self_p);

#endif
