/* The agent's configuration: parsed once from YAML into this immutable struct
 * (reload = parse, validate, swap). Every field has a default, so an empty
 * file is a valid config for a single-machine setup. See docs/config.md. */
#ifndef QR_AGENT_CONF_H
#define QR_AGENT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define AGENT_MAX_CONTROLLERS 9
#define AGENT_MAX_PORTS 32

typedef struct {
    char *endpoint;   /* "tcp://10.0.0.1:7700" */
    char *public_key; /* the controller's CURVE public key, Z85 (40 chars) */
} agent_controller_t;

typedef struct agent_conf {
    char *path;       /* the file it was read from (NULL: defaults) */
    char *node;       /* node name; default: gethostname() */
    char *dc;         /* data centre; default "default" */
    char *address;    /* address peers reach this host at (reachability matrix);
                         default: the source address the controller sees */

    int interval_ms;      /* check cycle, default 5000 */
    int heartbeat_ms;     /* liveness message, default 500 */
    int probe_timeout_ms; /* a probe still running after this is "unknown: timed out", default 4000 */
    int queue_max;        /* reports kept while no controller answers, default 64 */

    /* transport */
    bool curve;              /* default true */
    char *cert;              /* agent's secret certificate file (czmq format) */
    char *state_dir;         /* persisted highest term etc., default /var/lib/quorate */
    size_t n_controllers;
    agent_controller_t controllers[AGENT_MAX_CONTROLLERS];

    /* which checks run (all by default) */
    bool check_docker, check_disk, check_ntp, check_ports, check_mongod, check_web,
        check_envfile, check_host;

    /* disk */
    char *datadir;            /* default "/datadir" */
    char *rootdir;            /* filesystem checked for free space, default "/" */
    double datadir_min_gb;    /* default 50 */
    double root_free_min_gb;  /* default 50 */
    char *install_user;       /* must be able to write datadir; default: the agent's own user */

    /* docker */
    char *docker_socket;      /* default "/var/run/docker.sock" */
    int docker_timeout_ms;    /* per Engine API call, default 2000 */

    /* ntp (kernel discipline) */
    double ntp_warn_ms;       /* estimated/max error or |offset| above: warn, default 100 */
    double ntp_fail_ms;       /* default 500 */

    /* ports (required listeners) */
    size_t n_tcp_ports, n_udp_ports;
    int tcp_ports[AGENT_MAX_PORTS]; /* default 2377 7946 27017 3031 9000 32646 22 */
    int udp_ports[AGENT_MAX_PORTS]; /* default 7946 4789 */

    /* mongod */
    char *mongo_uri;          /* default "mongodb://127.0.0.1:27017/?directConnection=true" */
    bool mongo_tls;
    char *mongo_tls_ca_file;
    bool mongo_tls_allow_invalid_hostnames;
    int mongo_timeout_ms;     /* default 2000 */

    /* web */
    char *web_url;            /* default "https://127.0.0.1:3031/login" */
    bool web_tls_verify;      /* default false: the tier usually has a self-signed cert */
    char *web_ca_file;
    int web_timeout_ms;       /* default 2000 */

    /* env file */
    char *env_file;           /* default "/opt/tango/tango.env" */

    /* tests only: shifts the agent's reported wall clock */
    int64_t test_clock_offset_ms;
} agent_conf_t;

/* Returns a config with every default (caller destroys it). */
agent_conf_t *agent_conf_defaults(void);
/* Parses the YAML file at path. Returns 0 and a new config in *out, or a
 * negative QR_E* code with "path:line: reason" in err. */
int agent_conf_load(const char *path, agent_conf_t **out, qr_err_t *err);
/* Frees a config and clears *self_p. NULL-safe. */
void agent_conf_destroy(agent_conf_t **self_p);

#endif
