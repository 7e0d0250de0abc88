/* quorate-controller: keeps the cluster view from the agents' reports and
 * answers quoratectl. */
#include <curl/curl.h>
#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "alerting.h"
#include "controller_conf.h"
#include "log.h"
#include "server.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/quorate/controller.yaml"

static void usage(FILE *f)
{
    fprintf(f, "usage: quorate-controller [--config FILE] [-n] [-v]\n"
               "\n"
               "  -c, --config FILE  controller config (YAML; default " DEFAULT_CONFIG ")\n"
               "  -n                 check the config and exit (0 valid, 1 invalid)\n"
               "  -v, --verbose      debug logging\n"
               "  -V, --version      print the version\n"
               "  -h, --help         this help\n");
}

static server_t *the_server;
static uv_signal_t sig_term, sig_int;

/* SIGTERM on a leader: hand leadership to an up-to-date follower first
 * (TimeoutNow), so a planned restart costs milliseconds, not an election.
 * Event-driven: the check handle runs after every loop turn that did I/O (a
 * follower's acknowledgement can complete the handover), so the process
 * stops in the same turn the handover ends; the slow timer only wakes the
 * loop for the handover's deadline (election_min_ms, inside peers.c). */
static uv_check_t handover_check;
static uv_timer_t handover_timer;
static bool handover_done;

static void handover_step(void)
{
    if (handover_done || server_handover(the_server))
        return; /* still going */
    handover_done = true;
    uv_check_stop(&handover_check);
    uv_timer_stop(&handover_timer);
    uv_close((uv_handle_t *)&handover_check, NULL);
    uv_close((uv_handle_t *)&handover_timer, NULL);
    server_stop(the_server);
}

static void on_handover_check(uv_check_t *h)
{
    (void)h;
    handover_step();
}

static void on_handover_timer(uv_timer_t *t)
{
    (void)t;
    handover_step();
}

static void on_signal(uv_signal_t *h, int signum)
{
    log_info("event=signal signal=%d action=stop", signum);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_check_init(h->loop, &handover_check);
    uv_timer_init(h->loop, &handover_timer);
    uv_check_start(&handover_check, on_handover_check); /* first step: this very turn */
    uv_timer_start(&handover_timer, on_handover_timer, 50, 50);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = DEFAULT_CONFIG;
    bool check_only = false;
    int level = LOG_LVL_INFO, c;
    while ((c = getopt_long(argc, argv, "c:nvVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'n': check_only = true; break;
        case 'v': level = LOG_LVL_DEBUG; break;
        case 'V': printf("quorate-controller %s\n", QUORATE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "quorate-controller: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    log_init("quorate-controller", level);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    controller_conf_t *conf = NULL;
    qr_err_t err = {{0}};
    if (controller_conf_load(config, &conf, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (check_only) {
        alerting_t *al = NULL;
        if (conf->alerts_config && alerting_new(conf->alerts_config, &al, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            controller_conf_destroy(&conf);
            return 1;
        }
        alerting_destroy(&al);
        printf("%s: ok\n", config);
        controller_conf_destroy(&conf);
        return 0;
    }
    uv_loop_t *loop = uv_default_loop();
    if (server_new(loop, conf, &the_server, &err) != 0 || server_start(the_server, &err) != 0) {
        log_warnx("event=start_failed reason=\"%s\"", err.msg);
        if (the_server) {
            server_stop(the_server);
            uv_run(loop, UV_RUN_NOWAIT);
        }
        server_destroy(&the_server);
        return 1;
    }
    uv_signal_init(loop, &sig_term);
    uv_signal_init(loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    server_destroy(&the_server);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    curl_global_cleanup();
    log_info("event=stopped");
    return 0;
}
