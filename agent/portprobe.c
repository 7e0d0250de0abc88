/* Parallel non-blocking TCP connects with a deadline (poll). */
#include "portprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    size_t target, port;
    int done, ok, err;
    double ms;
} probe_t;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static const char *err_word(int e)
{
    switch (e) {
    case ECONNREFUSED: return "refused";
    case ETIMEDOUT: return "timeout";
    case EHOSTUNREACH: return "host unreachable";
    case ENETUNREACH: return "network unreachable";
    case ECONNRESET: return "reset";
    default: return strerror(e);
    }
}

static int start_connect(const char *addr, int port, const char *source, int *err)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    if (getaddrinfo(addr, portstr, &hints, &ai) != 0 || !ai) {
        *err = EINVAL;
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        freeaddrinfo(ai);
        return -1;
    }
    if (source && *source) {
        struct addrinfo shints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
                                  .ai_family = ai->ai_family,
                                  .ai_socktype = SOCK_STREAM};
        struct addrinfo *sai = NULL;
        if (getaddrinfo(source, NULL, &shints, &sai) == 0 && sai) {
            if (bind(fd, sai->ai_addr, sai->ai_addrlen) != 0) {
                *err = errno;
                freeaddrinfo(sai);
                freeaddrinfo(ai);
                close(fd);
                return -1;
            }
            freeaddrinfo(sai);
        }
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc == 0 || errno == EINPROGRESS) {
        *err = rc == 0 ? 0 : EINPROGRESS;
        return fd;
    }
    *err = errno;
    close(fd);
    return -1;
}

json_t *portprobe_tcp(const portprobe_target_t *targets, size_t n_targets, const int *ports,
                      size_t n_ports, int timeout_ms, const char *source)
{
    size_t n = n_targets * n_ports;
    size_t nprobe = n < PORTPROBE_MAX_SOCKETS ? n : PORTPROBE_MAX_SOCKETS;
    probe_t *p = calloc(nprobe ? nprobe : 1, sizeof *p);
    struct pollfd *pfd = calloc(nprobe ? nprobe : 1, sizeof *pfd);
    json_t *out = json_array();
    if (!p || !pfd) {
        free(p), free(pfd);
        return out;
    }
    double t0 = mono_ms();
    for (size_t i = 0; i < nprobe; i++) {
        p[i].target = i / n_ports;
        p[i].port = i % n_ports;
        p[i].fd = start_connect(targets[p[i].target].address, ports[p[i].port], source,
                                 &p[i].err);
        if (p[i].fd < 0) {
            p[i].done = 1;
        } else if (p[i].err == 0) {
            p[i].done = p[i].ok = 1;
        }
    }
    for (;;) {
        size_t k = 0;
        for (size_t i = 0; i < nprobe; i++)
            if (!p[i].done) {
                pfd[k].fd = p[i].fd;
                pfd[k].events = POLLOUT;
                pfd[k].revents = 0;
                k++;
            }
        double left = timeout_ms - (mono_ms() - t0);
        if (k == 0 || left <= 0)
            break;
        int rc = poll(pfd, k, (int)left + 1);
        if (rc < 0 && errno != EINTR)
            break;
        size_t j = 0;
        for (size_t i = 0; i < nprobe; i++) {
            if (p[i].done)
                continue;
            if (pfd[j].revents) {
                int e = 0;
                socklen_t el = sizeof e;
                getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &e, &el);
                p[i].done = 1;
                p[i].ok = e == 0;
                p[i].err = e;
                p[i].ms = mono_ms() - t0;
            }
            j++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t t = i / n_ports, port = i % n_ports;
        json_t *e = json_pack("{s:s, s:s, s:i}", "node", targets[t].node, "address",
                              targets[t].address, "port", ports[port]);
        if (i >= nprobe) {
            json_object_set_new(e, "ok", json_false());
            json_object_set_new(e, "error", json_string("not probed: too many"));
        } else {
            probe_t *q = &p[i];
            json_object_set_new(e, "ok", json_boolean(q->ok));
            if (q->ok)
                json_object_set_new(e, "ms", json_real(q->ms));
            else
                json_object_set_new(e, "error",
                                    json_string(!q->done              ? "timeout"
                                                : q->err == EINVAL ? "not an IP address"
                                                                   : err_word(q->err)));
            if (q->fd >= 0)
                close(q->fd);
        }
        json_array_append_new(out, e);
    }
    free(p);
    free(pfd);
    return out;
}

int portprobe_parse_args(const json_t *args, portprobe_target_t **targets, size_t *n_targets,
                         int *ports, size_t *n_ports, size_t max_ports, int *timeout_ms)
{
    json_t *t = json_object_get(args, "targets"), *pa = json_object_get(args, "tcp_ports");
    json_t *to = json_object_get(args, "timeout_ms");
    if (!json_is_array(t) || !json_is_array(pa) || json_array_size(pa) > max_ports ||
        json_array_size(t) > 1000)
        return -1;
    *timeout_ms = json_is_integer(to) ? (int)json_integer_value(to) : 1000;
    if (*timeout_ms < 10 || *timeout_ms > 60000)
        return -1;
    *n_ports = 0;
    size_t i;
    json_t *v;
    json_array_foreach(pa, i, v) {
        json_int_t port = json_integer_value(v);
        if (!json_is_integer(v) || port < 1 || port > 65535)
            return -1;
        ports[(*n_ports)++] = (int)port;
    }
    portprobe_target_t *tt = calloc(json_array_size(t) ? json_array_size(t) : 1, sizeof *tt);
    if (!tt)
        return -1;
    json_array_foreach(t, i, v) {
        const char *node = json_string_value(json_object_get(v, "node"));
        const char *addr = json_string_value(json_object_get(v, "address"));
        if (!node || !addr || strlen(node) >= sizeof tt[i].node ||
            strlen(addr) >= sizeof tt[i].address) {
            free(tt);
            return -1;
        }
        strcpy(tt[i].node, node);
        strcpy(tt[i].address, addr);
    }
    *targets = tt;
    *n_targets = json_array_size(t);
    return 0;
}
