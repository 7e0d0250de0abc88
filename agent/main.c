/* quorate-agent: runs the local checks and reports them to the controllers.
 * `--once` runs every check once and exits with the Nagios convention. */
#include <curl/curl.h>
#include <czmq.h>
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include "agent.h"
#include "check_mongod.h"
#include "log.h"
#include "runner.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/quorate/agent.yaml"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: quorate-agent [--config FILE] [--once [--json]] [-n] [-v]\n"
            "\n"
            "  -c, --config FILE  agent config (YAML; default " DEFAULT_CONFIG ",\n"
            "                     built-in defaults when the default file does not exist)\n"
            "      --once         run every check once, print the results and exit\n"
            "                     (0 all ok, 1 a warning, 2 a failure, 3 could not run)\n"
            "      --json         with --once: print JSON\n"
            "  -n                 check the config and exit (0 valid, 1 invalid)\n"
            "  -v, --verbose      debug logging\n"
            "  -V, --version      print the version\n"
            "  -h, --help         this help\n");
}

typedef struct {
    uv_loop_t *loop;
    runner_t *runner;
    agent_conf_t *conf;
    bool json;
    int exit_code;
} once_t;

static void once_done(runner_t *r, void *arg)
{
    once_t *o = arg;
    size_t n;
    const check_result_t *res = runner_results(r, &n);
    if (o->json) {
        json_t *j = agent_results_json(o->conf, res, n);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        printf("node %s (dc %s)\n", o->conf->node, o->conf->dc);
        for (size_t i = 0; i < n; i++)
            printf("  %-8s %-7s %s\n", res[i].name, check_status_str(res[i].status),
                   res[i].summary);
    }
    fflush(stdout);
    o->exit_code = n ? agent_results_worst(res, n) : 3;
    uv_stop(o->loop); /* a hung probe's pending work would keep uv_run going */
}

static int run_once(agent_conf_t *conf, bool json)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    once_t o = {.loop = &loop, .conf = conf, .json = json, .exit_code = 3};
    o.runner = runner_new(&loop, conf);
    if (!o.runner) {
        fprintf(stderr, "quorate-agent: out of memory\n");
        return 3;
    }
    runner_start(o.runner, once_done, &o);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* The loop ends when the cycle is done, except a hung probe keeps a
     * worker busy: do not wait for it. */
    size_t hung = runner_in_flight(o.runner);
    if (hung) {
        fflush(NULL);
        _exit(o.exit_code);
    }
    runner_destroy(&o.runner);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    check_mongod_global_cleanup();
    return o.exit_code;
}

/* glibc gives every thread a cache of freed chunks (tcache: up to 7 per size
 * class) that malloc_trim cannot return. The checks run on any of the pool's
 * threads, so each worker ends up holding a cycle's worth of freed JSON and
 * curl buffers: ~0.5 MiB of the agent's private memory, measured with
 * tests/bench/agent_footprint. The cache can only be sized before the
 * process starts (a glibc tunable), so the daemon re-executes itself once
 * with it off. An operator's own GLIBC_TUNABLES setting of tcache_count is
 * kept, and so is any other tunable; if the re-exec fails the agent just
 * runs with the cache. */
static void reexec_without_tcache(char **argv)
{
    static const char want[] = "glibc.malloc.tcache_count=0";
    const char *cur = getenv("GLIBC_TUNABLES");
    if (cur && strstr(cur, "glibc.malloc.tcache_count="))
        return;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s%s%s", cur ? cur : "", cur && cur[0] ? ":" : "", want);
    if (n < 0 || (size_t)n >= sizeof buf)
        return;
    if (setenv("GLIBC_TUNABLES", buf, 1) != 0)
        return;
    /* libmongoc's load-time init made its counters segment /mongoc-<pid>;
     * the new image has the same pid and would find the name taken (a
     * warning, and a segment nobody removes). This image keeps its mapping
     * if the exec fails. */
    char shm[32];
    snprintf(shm, sizeof shm, "/mongoc-%u", (unsigned)getpid());
    shm_unlink(shm);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    log_info("event=reexec_failed reason=\"%s\" effect=\"per-thread malloc caches stay on\"",
             strerror(errno));
}

static uv_signal_t sig_term, sig_int;
static agent_t *the_agent;

static void on_signal(uv_signal_t *h, int signum)
{
    log_info("event=signal signal=%d action=stop", signum);
    agent_stop(the_agent);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    (void)h;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},         {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL;
    bool once = false, json = false, check_only = false;
    int level = LOG_LVL_INFO, c;
    while ((c = getopt_long(argc, argv, "c:nvVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': once = true; break;
        case 'j': json = true; break;
        case 'n': check_only = true; break;
        case 'v': level = LOG_LVL_DEBUG; break;
        case 'V': printf("quorate-agent %s\n", QUORATE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return once ? 3 : 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "quorate-agent: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return once ? 3 : 2;
    }
    log_init("quorate-agent", once ? LOG_LVL_WARN : level);
    if (!once && !check_only)
        reexec_without_tcache(argv);
    /* after the re-exec through /proc/self/exe the kernel names the process
     * "exe" (ps, top, the journal's _COMM): give it its name back */
    prctl(PR_SET_NAME, "quorate-agent", 0, 0, 0);
    if (once && level == LOG_LVL_DEBUG)
        log_set_level(level);
    /* A hung probe holds its worker until it returns (the runner does not
     * start that check again meanwhile): one thread per check that may
     * block, plus two for the controller's commands. Each worker keeps the
     * deepest check's stack pages (~24 KiB) as private memory, so no more
     * than that. */
    char pool[16];
    snprintf(pool, sizeof pool, "%zu", runner_pool_threads(check_defs, check_defs_count));
    setenv("UV_THREADPOOL_SIZE", pool, 0);
    /* Checks run on any of the pool's threads; one malloc arena per thread
     * would multiply the agent's private memory for nothing. */
    mallopt(M_ARENA_MAX, 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    agent_conf_t *conf = NULL;
    qr_err_t err = {{0}};
    if (!config && access(DEFAULT_CONFIG, F_OK) != 0) {
        conf = agent_conf_defaults();
    } else if (agent_conf_load(config ? config : DEFAULT_CONFIG, &conf, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return check_only ? 1 : (once ? 3 : 1);
    }
    if (check_only) {
        printf("%s: ok\n", conf->path ? conf->path : "(defaults)");
        agent_conf_destroy(&conf);
        return 0;
    }
    if (once) {
        int rc = run_once(conf, json);
        agent_conf_destroy(&conf);
        return rc;
    }

    uv_loop_t *loop = uv_default_loop();
    if (agent_new(loop, conf, &the_agent, &err) != 0 || agent_start(the_agent, &err) != 0) {
        log_warnx("event=start_failed reason=\"%s\"", err.msg);
        agent_destroy(&the_agent);
        return 1;
    }
    uv_signal_init(loop, &sig_term);
    uv_signal_init(loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    if (agent_destroy(&the_agent) > 0) {
        log_info("event=stopped hung_checks=1");
        _exit(0); /* worker threads are stuck in the kernel: do not join them */
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    check_mongod_global_cleanup();
    curl_global_cleanup();
    log_info("event=stopped");
    return 0;
}
