/* ports check: which of the required TCP/UDP ports have a local listener
 * (sock_diag dumps, or /proc/net/{tcp,tcp6,udp,udp6}), and whether UDP 4789, Docker's
 * overlay VXLAN port, is taken by something other than the docker daemon.
 * See docs/checks.md "ports". */
#ifndef QR_CHECK_PORTS_H
#define QR_CHECK_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent_conf.h"
#include "check.h"

#define PORTS_VXLAN 4789
#define PORTS_MAX_SOCKETS 128 /* sockets kept (only those on ports we care about) */
#define PORTS_TCP_LISTEN 0x0A /* TCP_LISTEN in /proc/net/tcp "st" */
#define PORTS_UDP_BOUND 0x07  /* TCP_CLOSE: how an unconnected bound UDP socket shows */

/* /proc/net file indexes */
enum { PORTS_NET_TCP, PORTS_NET_TCP6, PORTS_NET_UDP, PORTS_NET_UDP6, PORTS_NET_N };

typedef struct {
    bool udp;       /* false: tcp */
    uint8_t family; /* 4 or 6 */
    uint8_t state;  /* "st" column */
    uint16_t port;
    char addr[48]; /* local address, printable */
    uint32_t uid;
    uint64_t inode; /* 0: a kernel socket (e.g. a vxlan device), no process */
    /* owner, looked up only for UDP 4789 sockets with an inode */
    int owner_pid; /* 0: not found */
    char owner_comm[32];
} ports_socket_t;

typedef struct {
    int net_errno[PORTS_NET_N]; /* per /proc/net file: 0 read, else errno */
    size_t n;
    ports_socket_t s[PORTS_MAX_SOCKETS];
    size_t dropped;     /* interesting sockets beyond PORTS_MAX_SOCKETS */
    int fd_dirs_denied; /* /proc/PID/fd dirs we could not read in the owner search */
    bool owner_search_done;
    bool tcp_from_diag; /* TCP listeners came from sock_diag, not /proc/net/tcp* */
    bool udp_from_diag; /* UDP sockets came from sock_diag, not /proc/net/udp* */
} ports_facts_t;

/* Gathers the sockets on the ports we care about: TCP listeners on
 * conf->tcp_ports, bound UDP sockets on conf->udp_ports, every UDP socket on
 * 4789. proc_root NULL is the live system: TCP listeners come from a
 * NETLINK_SOCK_DIAG dump filtered to LISTEN (reading /proc/net/tcp costs
 * milliseconds of CPU on a big machine), falling back to /proc/net/tcp{,6}
 * if netlink is not available; UDP the same way (a dump of every UDP socket,
 * /proc/net/udp{,6} as the fallback). A proc_root path
 * (tests, fixtures) reads all four files under <proc_root>/net. For a 4789
 * socket with an inode, finds the owning process through <proc_root>/PID/fd
 * (best effort). Returns 0; unreadable files are recorded in net_errno. */
int check_ports_probe(const agent_conf_t *conf, const char *proc_root, ports_facts_t *out);

/* Parses one line of a /proc/net/{tcp,udp}[6] file into s (family 4 or 6).
 * Returns 0, or -1 for the header or a malformed line. Exported for tests. */
int check_ports_parse_line(const char *line, int family, ports_socket_t *s);

/* Pure: a required port with no listener -> warn (all listed); a UDP 4789
 * socket owned by a process other than dockerd (or by an unknown process;
 * Docker's own VXLAN is a kernel socket with inode 0) -> warn "VXLAN
 * conflict"; /proc/net/tcp or udp unreadable -> unknown. */
void check_ports_eval(const ports_facts_t *facts, const agent_conf_t *conf, check_result_t *out);

/* Frees the owner-search cache kept in the check's state. */
void check_ports_state_free(void *state);

/* probe(live) + eval; out initialised with check_result_init(out, "ports"). */
void check_ports_run(const agent_conf_t *conf, void **state, check_result_t *out);

#endif
