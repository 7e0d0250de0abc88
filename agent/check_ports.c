/* ports check: TCP listeners and UDP sockets from sock_diag dumps (or
 * /proc/net/tcp*, udp*), a best-effort socket-owner search for the
 * VXLAN port, and a pure evaluator. */
#include "check_ports.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *const net_files[PORTS_NET_N] = {"tcp", "tcp6", "udp", "udp6"};

int check_ports_parse_line(const char *line, int family, ports_socket_t *s)
{
    char addr_hex[40];
    unsigned port, state, uid;
    unsigned long long inode;
    /* sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode */
    if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %u %*d %llu",
               addr_hex, &port, &state, &uid, &inode) != 5)
        return -1;
    if (port > 65535 || state > 0xff)
        return -1;
    memset(s, 0, sizeof *s);
    s->family = (uint8_t)family;
    s->port = (uint16_t)port;
    s->state = (uint8_t)state;
    s->uid = uid;
    s->inode = inode;
    /* The kernel prints each 32-bit word of the address with %08X of its
     * in-memory value, so parsing a word back as a native integer restores
     * the original bytes on any endianness. */
    if (family == 4) {
        if (strlen(addr_hex) != 8)
            return -1;
        struct in_addr a;
        a.s_addr = (uint32_t)strtoul(addr_hex, NULL, 16);
        inet_ntop(AF_INET, &a, s->addr, sizeof s->addr);
    } else {
        if (strlen(addr_hex) != 32)
            return -1;
        struct in6_addr a;
        for (int i = 0; i < 4; i++) {
            char w[9];
            memcpy(w, addr_hex + 8 * i, 8);
            w[8] = '\0';
            uint32_t word = (uint32_t)strtoul(w, NULL, 16);
            memcpy(&a.s6_addr[4 * i], &word, 4);
        }
        inet_ntop(AF_INET6, &a, s->addr, sizeof s->addr);
    }
    return 0;
}

static bool port_in(const int *ports, size_t n, unsigned port)
{
    for (size_t i = 0; i < n && i < AGENT_MAX_PORTS; i++)
        if (ports[i] == (int)port)
            return true;
    return false;
}

static void read_net_file(const agent_conf_t *conf, const char *proc_root, int which,
                          ports_facts_t *out)
{
    char path[PATH_MAX], line[512];
    snprintf(path, sizeof path, "%s/net/%s", proc_root, net_files[which]);
    FILE *fp = fopen(path, "re");
    if (!fp) {
        out->net_errno[which] = errno;
        return;
    }
    bool udp = which == PORTS_NET_UDP || which == PORTS_NET_UDP6;
    int family = (which == PORTS_NET_TCP6 || which == PORTS_NET_UDP6) ? 6 : 4;
    while (fgets(line, sizeof line, fp)) {
        ports_socket_t s;
        if (check_ports_parse_line(line, family, &s) != 0)
            continue;
        s.udp = udp;
        bool keep =
            udp ? (s.port == PORTS_VXLAN || (s.state == PORTS_UDP_BOUND &&
                                             port_in(conf->udp_ports, conf->n_udp_ports, s.port)))
                : (s.state == PORTS_TCP_LISTEN &&
                   port_in(conf->tcp_ports, conf->n_tcp_ports, s.port));
        if (!keep)
            continue;
        if (out->n < PORTS_MAX_SOCKETS)
            out->s[out->n++] = s;
        else
            out->dropped++;
    }
    fclose(fp);
}

/* The NETLINK_SOCK_DIAG socket the check keeps between runs (opening two
 * sockets per cycle cost more than the dumps themselves). */
typedef struct {
    int fd; /* -1: none open */
    uint32_t seq;
} diag_sock_t;

static int diag_open(diag_sock_t *d)
{
    if (d->fd >= 0)
        return 0;
    d->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (d->fd < 0)
        return -errno;
    /* the kernel answers a dump from memory, in recv(): this is a guard */
    struct timeval tv = {.tv_sec = 2};
    setsockopt(d->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return 0;
}

static void diag_close(diag_sock_t *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

/* One NETLINK_SOCK_DIAG dump of a family's TCP sockets in state LISTEN, or
 * of its UDP sockets (any state), keeping the ones the check cares about
 * (the same choice as read_net_file). Reading /proc/net/tcp walks the whole
 * established-connection hash table (sized by RAM: ~3.5 ms of CPU per file
 * on a 24 GB machine, more on big servers); the diag dump with a state
 * filter only walks the listeners (~0.02 ms). For UDP the kernel walks the
 * same table either way, but once per family and without formatting text
 * (/proc/net/udp restarts its walk for every read). Messages of an earlier,
 * interrupted dump (another sequence number) are skipped. Returns 0 or
 * -errno; on an error the socket is closed, so the next run starts clean. */
static int diag_dump(const agent_conf_t *conf, diag_sock_t *d, int family, bool udp,
                     ports_facts_t *out)
{
    int rc = diag_open(d);
    if (rc)
        return rc;
    uint32_t seq = ++d->seq;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    memset(&msg, 0, sizeof msg);
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.nlh.nlmsg_seq = seq;
    msg.req.sdiag_family = (uint8_t)family;
    msg.req.sdiag_protocol = udp ? IPPROTO_UDP : IPPROTO_TCP;
    msg.req.idiag_states = udp ? ~0u : 1u << PORTS_TCP_LISTEN;
    if (send(d->fd, &msg, sizeof msg, 0) != (ssize_t)sizeof msg) {
        rc = -errno;
        diag_close(d);
        return rc;
    }
    /* aligned for struct nlmsghdr */
    long buf[8192 / sizeof(long)];
    for (bool done = false; !done;) {
        ssize_t len = recv(d->fd, buf, sizeof buf, 0);
        if (len < 0 && errno == EINTR)
            continue;
        if (len <= 0) {
            rc = len < 0 ? -errno : -EPROTO;
            break;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE) {
                done = true;
                break;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *err = NLMSG_DATA(h);
                rc = h->nlmsg_len >= NLMSG_LENGTH(sizeof *err) && err->error ? err->error : -EPROTO;
                done = true;
                break;
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                continue;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            unsigned port = ntohs(m->id.idiag_sport);
            bool keep = udp ? (port == PORTS_VXLAN ||
                               (m->idiag_state == PORTS_UDP_BOUND &&
                                port_in(conf->udp_ports, conf->n_udp_ports, port)))
                            : (m->idiag_state == PORTS_TCP_LISTEN &&
                               port_in(conf->tcp_ports, conf->n_tcp_ports, port));
            if (!keep)
                continue;
            ports_socket_t s;
            memset(&s, 0, sizeof s);
            s.udp = udp;
            s.family = family == AF_INET6 ? 6 : 4;
            s.state = m->idiag_state;
            s.port = (uint16_t)port;
            s.uid = m->idiag_uid;
            s.inode = m->idiag_inode;
            inet_ntop(family, m->id.idiag_src, s.addr, sizeof s.addr);
            if (out->n < PORTS_MAX_SOCKETS)
                out->s[out->n++] = s;
            else
                out->dropped++;
        }
    }
    if (rc)
        diag_close(d);
    return rc;
}

/* TCP listeners or UDP sockets of both families via sock_diag; on any
 * failure (no netlink in a sandbox, an old kernel, udp_diag not loadable)
 * the partial result is dropped and the caller reads /proc. */
static bool sockets_diag(const agent_conf_t *conf, diag_sock_t *d, bool udp, ports_facts_t *out)
{
    size_t n0 = out->n, d0 = out->dropped;
    if (diag_dump(conf, d, AF_INET, udp, out) == 0) {
        int r6 = diag_dump(conf, d, AF_INET6, udp, out);
        /* IPv6 disabled: the family is simply absent */
        if (r6 == 0 || r6 == -EAFNOSUPPORT || r6 == -ENOENT)
            return true;
    }
    out->n = n0;
    out->dropped = d0;
    return false;
}

/* Walks <proc_root>/PID/fd once and fills the owner of every 4789 socket
 * with an inode. Without privilege only our own processes' fds are
 * readable; the others are counted in fd_dirs_denied. */
static void find_owners(const char *proc_root, ports_facts_t *out)
{
    bool need = false;
    for (size_t i = 0; i < out->n; i++)
        if (out->s[i].udp && out->s[i].port == PORTS_VXLAN && out->s[i].inode != 0)
            need = true;
    if (!need)
        return;
    out->owner_search_done = true;
    DIR *proc = opendir(proc_root);
    if (!proc) {
        out->fd_dirs_denied++;
        return;
    }
    struct dirent *de;
    while ((de = readdir(proc))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || !isdigit((unsigned char)de->d_name[0]))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%ld/fd", proc_root, pid);
        DIR *fds = opendir(path);
        if (!fds) {
            if (errno == EACCES || errno == EPERM)
                out->fd_dirs_denied++;
            continue; /* ENOENT: the process exited meanwhile */
        }
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            if (fe->d_name[0] == '.')
                continue;
            char target[64];
            ssize_t len = readlinkat(dirfd(fds), fe->d_name, target, sizeof target - 1);
            if (len <= 0)
                continue;
            target[len] = '\0';
            unsigned long long ino;
            if (sscanf(target, "socket:[%llu]", &ino) != 1)
                continue;
            for (size_t i = 0; i < out->n; i++) {
                ports_socket_t *s = &out->s[i];
                if (!s->udp || s->port != PORTS_VXLAN || s->inode != ino || s->owner_pid)
                    continue;
                s->owner_pid = (int)pid;
                char cpath[PATH_MAX];
                snprintf(cpath, sizeof cpath, "%s/%ld/comm", proc_root, pid);
                FILE *cf = fopen(cpath, "re");
                if (cf) {
                    if (fgets(s->owner_comm, sizeof s->owner_comm, cf))
                        s->owner_comm[strcspn(s->owner_comm, "\n")] = '\0';
                    fclose(cf);
                }
            }
        }
        closedir(fds);
    }
    closedir(proc);
}

/* d: the kept netlink socket, or NULL for one used for this probe only. */
static void probe_sockets(const agent_conf_t *conf, const char **proc_root, diag_sock_t *d,
                          ports_facts_t *out)
{
    memset(out, 0, sizeof *out);
    if (!*proc_root) {
        diag_sock_t once = {.fd = -1};
        diag_sock_t *ds = d ? d : &once;
        *proc_root = "/proc";
        out->tcp_from_diag = sockets_diag(conf, ds, false, out);
        out->udp_from_diag = sockets_diag(conf, ds, true, out);
        if (!d)
            diag_close(&once);
    }
    for (int i = 0; i < PORTS_NET_N; i++) {
        if (out->tcp_from_diag && (i == PORTS_NET_TCP || i == PORTS_NET_TCP6))
            continue;
        if (out->udp_from_diag && (i == PORTS_NET_UDP || i == PORTS_NET_UDP6))
            continue;
        read_net_file(conf, *proc_root, i, out);
    }
}

int check_ports_probe(const agent_conf_t *conf, const char *proc_root, ports_facts_t *out)
{
    probe_sockets(conf, &proc_root, NULL, out);
    find_owners(proc_root, out);
    return 0;
}

/* ---- evaluator (pure) ---- */

static void add_address(json_t *arr, const char *addr)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (strcmp(json_string_value(json_array_get(arr, i)), addr) == 0)
            return;
    json_array_append_new(arr, json_string(addr));
}

/* {"2377": {"listening": bool, "addresses": [...]}, ...}; appends the ports
 * with no listener to missing and to the text list. */
static json_t *port_table(const ports_facts_t *f, bool udp, const int *ports, size_t n,
                          json_t *missing, char *text, size_t text_size)
{
    json_t *tab = json_object();
    for (size_t p = 0; p < n && p < AGENT_MAX_PORTS; p++) {
        json_t *addrs = json_array();
        for (size_t i = 0; i < f->n; i++) {
            const ports_socket_t *s = &f->s[i];
            if (s->udp == udp && s->port == ports[p] &&
                s->state == (udp ? PORTS_UDP_BOUND : PORTS_TCP_LISTEN))
                add_address(addrs, s->addr);
        }
        bool listening = json_array_size(addrs) > 0;
        char key[16];
        snprintf(key, sizeof key, "%d", ports[p]);
        json_object_set_new(tab, key,
                            json_pack("{s:b, s:o}", "listening", listening, "addresses", addrs));
        if (!listening) {
            /* "tcp 27017, 3031; udp 4789" */
            size_t len = strlen(text);
            if (json_array_size(missing) == 0)
                snprintf(text + len, text_size - len, "%s%s %d", len ? "; " : "",
                         udp ? "udp" : "tcp", ports[p]);
            else
                snprintf(text + len, text_size - len, ", %d", ports[p]);
            json_array_append_new(missing, json_integer(ports[p]));
        }
    }
    return tab;
}

/* A port number is part of the config, so it is stable in an alert key. */
static void reasons_missing(check_result_t *out, const char *proto, const json_t *missing)
{
    for (size_t i = 0; i < json_array_size(missing); i++) {
        char r[48];
        snprintf(r, sizeof r, "%s_%lld_not_listening", proto,
                 (long long)json_integer_value(json_array_get(missing, i)));
        check_result_reason(out, r);
    }
}

void check_ports_eval(const ports_facts_t *f, const agent_conf_t *conf, check_result_t *out)
{
    json_t *v = out->values;
    char eb[128];
    json_object_set_new(v, "reasons", json_array());
    for (int i = 0; i < PORTS_NET_N; i++) {
        /* IPv6 may be disabled: a missing tcp6/udp6 is normal */
        bool v6 = i == PORTS_NET_TCP6 || i == PORTS_NET_UDP6;
        if (f->net_errno[i] && !(v6 && f->net_errno[i] == ENOENT)) {
            check_result_set(out, CHECK_UNKNOWN, "cannot read /proc/net/%s: %s", net_files[i],
                             strerror_r(f->net_errno[i], eb, sizeof eb));
            check_result_reason(out, "proc_net_unreadable");
            return;
        }
    }

    char missing_text[192] = "";
    json_t *missing_tcp = json_array(), *missing_udp = json_array();
    json_object_set_new(v, "tcp",
                        port_table(f, false, conf->tcp_ports, conf->n_tcp_ports, missing_tcp,
                                   missing_text, sizeof missing_text));
    json_object_set_new(v, "udp",
                        port_table(f, true, conf->udp_ports, conf->n_udp_ports, missing_udp,
                                   missing_text, sizeof missing_text));
    size_t n_missing = json_array_size(missing_tcp) + json_array_size(missing_udp);
    json_object_set_new(v, "missing_tcp", missing_tcp);
    json_object_set_new(v, "missing_udp", missing_udp);

    /* UDP 4789: Docker's overlay VXLAN lives in the kernel (a vxlan device's
     * socket, inode 0); any socket with an inode belongs to a process and
     * steals the port unless that process is dockerd itself. */
    json_t *holders = json_array();
    char conflict_text[160] = "";
    for (size_t i = 0; i < f->n; i++) {
        const ports_socket_t *s = &f->s[i];
        if (!s->udp || s->port != PORTS_VXLAN)
            continue;
        const char *kind;
        bool foreign;
        if (s->inode == 0) {
            kind = "kernel";
            foreign = false;
        } else if (s->owner_pid) {
            kind = "process";
            foreign = strcmp(s->owner_comm, "dockerd") != 0;
        } else if (f->owner_search_done && f->fd_dirs_denied == 0) {
            /* every process's fds were read and none holds it: a kernel
             * socket (a vxlan device's) that happens to have an inode */
            kind = "kernel";
            foreign = false;
        } else {
            kind = "unknown";
            foreign = true;
        }
        json_t *h =
            json_pack("{s:s, s:s, s:I, s:I, s:b}", "kind", kind, "address", s->addr, "uid",
                      (json_int_t)s->uid, "inode", (json_int_t)s->inode, "docker", !foreign);
        if (s->owner_pid) {
            json_object_set_new(h, "pid", json_integer(s->owner_pid));
            json_object_set_new(h, "comm", json_string(s->owner_comm));
        }
        json_array_append_new(holders, h);
        if (foreign && !conflict_text[0]) {
            if (s->owner_pid)
                snprintf(conflict_text, sizeof conflict_text,
                         "UDP %d (VXLAN) held by %s (pid %d), not dockerd: overlay "
                         "networking conflict",
                         PORTS_VXLAN, s->owner_comm[0] ? s->owner_comm : "?", s->owner_pid);
            else
                snprintf(conflict_text, sizeof conflict_text,
                         "UDP %d (VXLAN) held by a user-space socket (uid %u, owner unknown%s), "
                         "not Docker's kernel VXLAN: overlay networking conflict",
                         PORTS_VXLAN, (unsigned)s->uid,
                         f->fd_dirs_denied ? ": other processes' fds unreadable" : "");
        }
    }
    json_object_set_new(v, "vxlan",
                        json_pack("{s:i, s:b, s:o}", "port", PORTS_VXLAN, "conflict",
                                  conflict_text[0] != '\0', "holders", holders));
    json_object_set_new(v, "tcp_source", json_string(f->tcp_from_diag ? "sock_diag" : "proc"));
    json_object_set_new(v, "udp_source", json_string(f->udp_from_diag ? "sock_diag" : "proc"));
    if (f->dropped)
        json_object_set_new(v, "sockets_dropped", json_integer((json_int_t)f->dropped));

    if (conflict_text[0])
        check_result_reason(out, "vxlan_conflict");
    reasons_missing(out, "tcp", missing_tcp);
    reasons_missing(out, "udp", missing_udp);
    if (conflict_text[0] && n_missing)
        check_result_set(out, CHECK_WARN, "%s; not listening: %s", conflict_text, missing_text);
    else if (conflict_text[0])
        check_result_set(out, CHECK_WARN, "%s", conflict_text);
    else if (n_missing)
        check_result_set(out, CHECK_WARN, "not listening: %s", missing_text);
    else
        check_result_set(out, CHECK_OK, "all %zu required ports listening (%zu tcp, %zu udp)",
                         conf->n_tcp_ports + conf->n_udp_ports, conf->n_tcp_ports,
                         conf->n_udp_ports);
}

/* The owner search walks every process's fds (milliseconds of CPU on a busy
 * host): its result is kept while the set of 4789 sockets stays the same
 * (a new owner means a new socket, so a new inode). */
#define OWNER_CACHE 8
typedef struct {
    size_t n;
    uint64_t ino[OWNER_CACHE];
    int pid[OWNER_CACHE];
    char comm[OWNER_CACHE][32];
    int denied;
    bool valid;
} owner_cache_t;

static bool cache_apply(const owner_cache_t *c, ports_facts_t *f)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        const ports_socket_t *s = &f->s[i];
        if (s->udp && s->port == PORTS_VXLAN && s->inode != 0)
            if (k >= c->n || c->ino[k++] != s->inode)
                return false;
    }
    if (!c->valid || k != c->n)
        return false;
    k = 0;
    for (size_t i = 0; i < f->n; i++) {
        ports_socket_t *s = &f->s[i];
        if (s->udp && s->port == PORTS_VXLAN && s->inode != 0) {
            s->owner_pid = c->pid[k];
            memcpy(s->owner_comm, c->comm[k], sizeof s->owner_comm);
            k++;
        }
    }
    f->owner_search_done = k > 0;
    f->fd_dirs_denied = c->denied;
    return true;
}

static void cache_store(owner_cache_t *c, const ports_facts_t *f)
{
    c->n = 0;
    c->valid = true;
    for (size_t i = 0; i < f->n; i++) {
        const ports_socket_t *s = &f->s[i];
        if (!(s->udp && s->port == PORTS_VXLAN && s->inode != 0))
            continue;
        if (c->n == OWNER_CACHE) {
            c->valid = false; /* too many to remember: search every time */
            return;
        }
        c->ino[c->n] = s->inode;
        c->pid[c->n] = s->owner_pid;
        memcpy(c->comm[c->n], s->owner_comm, sizeof c->comm[c->n]);
        c->n++;
    }
    c->denied = f->fd_dirs_denied;
}

/* What run() keeps between cycles. */
typedef struct {
    owner_cache_t cache;
    diag_sock_t diag;
} ports_state_t;

void check_ports_state_free(void *state)
{
    ports_state_t *st = state;
    if (!st)
        return;
    diag_close(&st->diag);
    free(st);
}

void check_ports_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    ports_facts_t *facts = malloc(sizeof *facts);
    if (!facts) {
        check_result_set(out, CHECK_UNKNOWN, "out of memory");
        check_result_reason(out, "out_of_memory");
        return;
    }
    if (state && !*state) {
        ports_state_t *st = calloc(1, sizeof *st);
        if (st)
            st->diag.fd = -1;
        *state = st;
    }
    ports_state_t *st = state ? *state : NULL;
    owner_cache_t *cache = st ? &st->cache : NULL;
    const char *proc_root = NULL;
    probe_sockets(conf, &proc_root, st ? &st->diag : NULL, facts);
    if (!cache || !cache_apply(cache, facts)) {
        find_owners(proc_root, facts);
        if (cache)
            cache_store(cache, facts);
    }
    check_ports_eval(facts, conf, out);
    free(facts);
}
