/* The fuzz targets' one-connection HTTP peer (see http_once.h). */
#include "http_once.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A client that never connects, or never hangs up, is a finding of its own
 * (a hang); this only bounds the harness. */
#define WAIT_MS 10000

struct http_once {
    int lfd, port;
    char path[108];
    const uint8_t *reply;
    size_t len;
    pthread_t thread;
    int running;
};

http_once_t *http_once_new(void)
{
    http_once_t *h = calloc(1, sizeof *h);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (!h)
        abort();
    h->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->lfd < 0 || bind(h->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(h->lfd, 16) != 0 || getsockname(h->lfd, (struct sockaddr *)&a, &alen) != 0) {
        perror("http_once: listen on 127.0.0.1");
        abort();
    }
    h->port = ntohs(a.sin_port);
    return h;
}

static char unix_path[108];

static void unix_remove(void)
{
    if (unix_path[0])
        unlink(unix_path);
}

http_once_t *http_once_new_unix(void)
{
    http_once_t *h = calloc(1, sizeof *h);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    const char *dir = getenv("TMPDIR");
    if (!h || unix_path[0]) /* one per process */
        abort();
    snprintf(h->path, sizeof h->path, "%s/qr-fuzz-%d.sock", dir && *dir ? dir : "/tmp",
             (int)getpid());
    snprintf(a.sun_path, sizeof a.sun_path, "%s", h->path);
    unlink(h->path);
    h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->lfd < 0 || bind(h->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(h->lfd, 16) != 0) {
        perror(h->path);
        abort();
    }
    snprintf(unix_path, sizeof unix_path, "%s", h->path);
    atexit(unix_remove);
    return h;
}

int http_once_port(const http_once_t *h)
{
    return h->port;
}

const char *http_once_path(const http_once_t *h)
{
    return h->path;
}

static bool wait_fd(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, WAIT_MS);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

static void *serve(void *arg)
{
    http_once_t *h = arg;
    if (!wait_fd(h->lfd))
        return NULL;
    int fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t off = 0;
    while (off < h->len) {
        ssize_t w = send(fd, h->reply + off, h->len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the client gave up on the reply: its business */
        off += (size_t)w;
    }
    /* EOF ends a reply without a length; then wait for the client to hang
     * up, so the kernel never answers its request with a reset */
    shutdown(fd, SHUT_WR);
    char buf[4096];
    while (wait_fd(fd)) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EINTR))
            break;
    }
    close(fd);
    return NULL;
}

void http_once_start(http_once_t *h, const uint8_t *reply, size_t len)
{
    h->reply = reply;
    h->len = len;
    if (pthread_create(&h->thread, NULL, serve, h) != 0)
        abort();
    h->running = 1;
}

void http_once_finish(http_once_t *h)
{
    if (h->running)
        pthread_join(h->thread, NULL);
    h->running = 0;
}
