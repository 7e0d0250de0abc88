/* Delivery of alert notifications over HTTP (libcurl multi, non-blocking):
 * the one I/O edge of the alerting subsystem. The router decides what to
 * send (controller/alerts_route.h), alerts_payload builds the requests at
 * each attempt (fresh timestamps and signatures), this module sends them.
 *
 * Guarantees:
 *   - timeouts, connection errors, HTTP 5xx and 429 are retried with
 *     exponential backoff and jitter (429 waits for Retry-After, capped);
 *     there is no attempt limit: an outage of any length loses nothing
 *     that fits in the queue;
 *   - other 4xx (and 3xx: redirects are not followed) are configuration
 *     errors: not retried, logged once per receiver until a delivery to it
 *     succeeds again, and reported;
 *   - one request in flight per receiver; per receiver the queue holds at
 *     most queue_max notifications (the oldest waiting one is dropped, and
 *     reported, beyond that); a notification for a group that already waits
 *     in the queue replaces it, keeping the waiting one's resolve notices,
 *     so after an outage each group is delivered once, collapsed;
 *   - responses are read up to response_max bytes and never interpreted
 *     beyond the status code and Retry-After; URLs, keys and secrets are
 *     never logged.
 *
 * Event loop integration: either call notify_perform() when a socket from
 * notify_fdset() is ready or when notify_next_wake_ms() passes, or switch
 * to curl's socket API with notify_use_socket_api() (uv_poll per socket,
 * one uv_timer). notify_wait() blocks, for tools and tests. */
#ifndef QR_NOTIFY_H
#define QR_NOTIFY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/select.h>

#include "alerts_conf.h"
#include "alerts_route.h"

typedef struct notify notify_t;

typedef enum {
    NOTIFY_DELIVERED = 0,
    NOTIFY_CONFIG_ERROR, /* 4xx other than 429, or a payload that cannot be built */
    NOTIFY_DROPPED,      /* queue full, or notify destroyed with it pending */
    NOTIFY_RETRYING,     /* an attempt failed; another one is scheduled */
} notify_outcome_t;

typedef struct {
    notify_outcome_t outcome;
    const char *receiver; /* receiver name */
    const char *group;
    const alerts_notification_t *notification; /* valid during the callback only */
    long http_status;                          /* 0: no HTTP response (timeout, refused, ...) */
    int attempts;                              /* attempts so far for this notification */
    int64_t retry_in_ms;                       /* NOTIFY_RETRYING: delay before the next attempt */
    char error[200];                           /* one line, no secrets */
    char response[200]; /* start of the response body, printable chars only */
} notify_result_t;

typedef void (*notify_result_fn)(const notify_result_t *res, void *arg);

typedef struct {
    int64_t backoff_initial_ms; /* 1 s */
    int64_t backoff_max_ms;     /* 5 min */
    int64_t retry_after_max_ms; /* 1 h: a hostile Retry-After cannot park us longer */
    size_t queue_max;           /* 256 notifications per receiver */
    size_t response_max;        /* 4096 bytes kept of a response */
    unsigned jitter_seed;
} notify_params_t;

void notify_params_default(notify_params_t *p);

/* conf (borrowed, must outlive the notifier) names the receivers. cb (may be
 * NULL) gets every outcome. Returns NULL on failure. */
notify_t *notify_new(const alerts_conf_t *conf, const notify_params_t *p, notify_result_fn cb,
                     void *cb_arg);
/* Aborts transfers, reports the pending notifications as DROPPED, frees,
 * clears *self_p. NULL-safe. */
void notify_destroy(notify_t **self_p);

/* Queues note (ownership taken, also on error) for its receiver. Returns 0
 * or QR_EINVAL (unknown receiver) / QR_ENOMEM. Sending starts at the next
 * notify_perform(). */
int notify_submit(notify_t *n, alerts_notification_t *note, int64_t now_ms);

/* Drives transfers: reads finished ones, starts due ones. now_ms is the
 * wall clock (epoch ms; used for backoff and payload timestamps). Returns 0
 * or a negative QR_E* code on a curl multi failure. */
int notify_perform(notify_t *n, int64_t now_ms);

/* The latest absolute time to call notify_perform() again (INT64_MAX:
 * nothing to do). */
int64_t notify_next_wake_ms(notify_t *n, int64_t now_ms);

/* curl_multi_fdset for the transfers in flight. */
int notify_fdset(notify_t *n, fd_set *r, fd_set *w, fd_set *e, int *maxfd);

/* Blocks up to max_ms (or until the next wake) for socket activity, then
 * calls notify_perform(). For quoratectl and tests; QR_EINVAL in socket
 * API mode. */
int notify_wait(notify_t *n, int max_ms, int64_t (*clock_ms)(void));

/* Switches to curl's socket API, for an event loop such as libuv: sock_cb
 * (CURLMOPT_SOCKETFUNCTION) is told which fds to watch for what, timer_cb
 * (CURLMOPT_TIMERFUNCTION) when curl wants a timeout; both get userp. The
 * loop then calls notify_socket_action(fd, CURL_CSELECT_IN/OUT/ERR) when a
 * watched fd is ready, and notify_perform() (= socket action on
 * CURL_SOCKET_TIMEOUT) when curl's timer expires or notify_next_wake_ms()
 * passes (retry times are notify's, not curl's). Call before submitting. */
int notify_use_socket_api(notify_t *n, curl_socket_callback sock_cb,
                          curl_multi_timer_callback timer_cb, void *userp);
int notify_socket_action(notify_t *n, curl_socket_t fd, int ev_bitmask, int64_t now_ms);

/* The multi handle (for options such as CURLMOPT_MAX_TOTAL_CONNECTIONS). */
CURLM *notify_multi(notify_t *n);

/* Notifications queued or in flight (all receivers). */
size_t notify_pending(const notify_t *n);

/* A notification with one info alert "test/quorate/notification" for the
 * receiver at index rcv (for `quoratectl alerts test RECEIVER`). NULL on
 * failure. */
alerts_notification_t *notify_make_test(const alerts_conf_t *conf, int rcv, int64_t now_ms);

#endif
