/* quorate-controller: keeps the cluster view from the agents' reports and
 * answers quoratectl. */
#include <curl/curl.h>
#include <czmq.h>
#include <getopt.h>
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

static uv_timer_t handover_timer;

/* SIGTERM on a leader: hand leadership to an up-to-date follower first
 * (TimeoutNow), so a planned restart costs milliseconds, not an election. */
static void on_handover(uv_timer_t *t)
{
    if (server_handover(the_server))
        return; /* still going; bounded by election_min_ms inside */
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
    server_stop(the_server);
}

static void on_signal(uv_signal_t *h, int signum)
{
    log_info("event=signal signal=%d action=stop", signum);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_timer_init(h->loop, &handover_timer);
    uv_timer_start(&handover_timer, on_handover, 0, 5);
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
