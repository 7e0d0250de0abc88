/* The reachability probe: TCP-connects from this host to every peer's
 * required ports, all in parallel, with one deadline. Blocking: the agent
 * runs it on a worker thread when the leader asks (Command "probe_ports"). */
#ifndef QR_PORTPROBE_H
#define QR_PORTPROBE_H

#include <jansson.h>
#include <stddef.h>

#define PORTPROBE_MAX_SOCKETS 4096

typedef struct {
    char node[64];
    char address[64]; /* numeric IPv4/IPv6 address */
} portprobe_target_t;

/* Returns a JSON array (new reference) with one entry per target and port:
 * {"node","address","port","ok":bool,"ms":connect time,"error":"refused"|
 * "timeout"|"unreachable"|...}. "refused" means the host answered (the path
 * is open, nothing listens); "timeout" means packets are dropped on the way
 * (a firewall, a partition, a dead host). Pairs beyond PORTPROBE_MAX_SOCKETS
 * are reported with error "not probed: too many". With source (a numeric
 * address of this host, may be NULL) the connections leave from it: the
 * address peers know this host by, on a multi-homed server. */
json_t *portprobe_tcp(const portprobe_target_t *targets, size_t n_targets, const int *ports,
                      size_t n_ports, int timeout_ms, const char *source);

/* Parses the leader's command arguments {"targets":[{"node","address"}],
 * "tcp_ports":[..],"timeout_ms":N}; returns 0 or -1 (bad arguments). The
 * caller frees *targets. */
int portprobe_parse_args(const json_t *args, portprobe_target_t **targets, size_t *n_targets,
                         int *ports, size_t *n_ports, size_t max_ports, int *timeout_ms);

#endif
