/* The agent's check scheduler on a real libuv loop with the real check
 * registry: a cycle reports every enabled check; a probe that hangs is
 * reported "unknown: timed out" at the deadline while the loop keeps running
 * and the other checks report normally, and it is not started again until
 * its hung run returns.
 *
 * The hung probe is a realistic one: the docker check talking to a Unix
 * socket that accepts the connection and never answers (what dockerd does
 * while the swarm has no leader), with the check's own timeout far longer
 * than the runner's deadline. The test holds the connection and decides
 * when the probe returns by closing it. Checks flagged never_blocks run on
 * the loop thread itself: only those whose probe cannot wait on anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "agent/agent_conf.h"
#include "agent/check.h"
#include "agent/runner.h"

/* ---- a fake dockerd that never answers -------------------------------- */

#define MAX_CLIENTS 8

typedef struct {
    uv_pipe_t server;
    uv_pipe_t *clients[MAX_CLIENTS];
    int n_clients; /* currently held */
    int accepted;  /* in total */
} mute_server_t;

static void on_client_closed(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *srv, int status)
{
    mute_server_t *ms = srv->data;
    if (status != 0)
        return;
    uv_pipe_t *c = malloc(sizeof *c);
    assert_non_null(c);
    uv_pipe_init(srv->loop, c, 0);
    if (uv_accept(srv, (uv_stream_t *)c) != 0 || ms->n_clients == MAX_CLIENTS) {
        uv_close((uv_handle_t *)c, on_client_closed);
        return;
    }
    ms->clients[ms->n_clients++] = c;
    ms->accepted++;
}

static void mute_server_start(mute_server_t *ms, uv_loop_t *loop, const char *path)
{
    memset(ms, 0, sizeof *ms);
    unlink(path);
    assert_int_equal(uv_pipe_init(loop, &ms->server, 0), 0);
    ms->server.data = ms;
    assert_int_equal(uv_pipe_bind(&ms->server, path), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&ms->server, 16, on_connection), 0);
}

/* Closes the held connections: the hung probe gets a reset and returns. */
static void mute_server_release(mute_server_t *ms)
{
    for (int i = 0; i < ms->n_clients; i++)
        uv_close((uv_handle_t *)ms->clients[i], on_client_closed);
    ms->n_clients = 0;
}

static void mute_server_stop(mute_server_t *ms)
{
    mute_server_release(ms);
    uv_close((uv_handle_t *)&ms->server, NULL);
}

/* ---- a heartbeat timer that measures loop stalls ------------------------ */

typedef struct {
    uv_timer_t timer;
    int ticks;
    uint64_t last_ns, max_gap_ns;
} pulse_t;

static void on_pulse(uv_timer_t *t)
{
    pulse_t *p = t->data;
    uint64_t now = uv_hrtime();
    if (p->last_ns && now - p->last_ns > p->max_gap_ns)
        p->max_gap_ns = now - p->last_ns;
    p->last_ns = now;
    p->ticks++;
}

static void pulse_start(pulse_t *p, uv_loop_t *loop)
{
    memset(p, 0, sizeof *p);
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_pulse, 10, 10);
}

static void pulse_reset(pulse_t *p)
{
    p->ticks = 0;
    p->last_ns = uv_hrtime();
    p->max_gap_ns = 0;
}

/* ---- fixture ------------------------------------------------------------- */

typedef struct {
    char dir[64];
    char sock[128];
    char envfile[128];
    uv_loop_t loop;
    agent_conf_t *conf;
    mute_server_t mute;
    bool mute_on;
    pulse_t pulse;
    int done;
    uint64_t done_ns;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/qr-runner-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->sock, sizeof fx->sock, "%s/docker.sock", fx->dir);
    snprintf(fx->envfile, sizeof fx->envfile, "%s/tango.env", fx->dir);
    FILE *fp = fopen(fx->envfile, "w");
    if (!fp)
        return -1;
    fputs("S3_ENDPOINT=https://127.0.0.1:9000\nLOG_LEVEL=INFO\n", fp);
    fclose(fp);
    uv_loop_init(&fx->loop);
    fx->conf = agent_conf_defaults();
    if (!fx->conf)
        return -1;
    /* nothing but cheap, local checks unless a test turns one on */
    agent_conf_t *c = fx->conf;
    c->check_docker = c->check_disk = c->check_ntp = c->check_ports = c->check_mongod =
        c->check_web = c->check_envfile = c->check_host = false;
    free(c->datadir);
    c->datadir = strdup(fx->dir);
    free(c->rootdir);
    c->rootdir = strdup(fx->dir);
    free(c->env_file);
    c->env_file = strdup(fx->envfile);
    free(c->docker_socket);
    c->docker_socket = strdup(fx->sock);
    c->docker_timeout_ms = 60000; /* the probe would wait a minute on its own */
    pulse_start(&fx->pulse, &fx->loop);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    uv_timer_stop(&fx->pulse.timer);
    uv_close((uv_handle_t *)&fx->pulse.timer, NULL);
    if (fx->mute_on)
        mute_server_stop(&fx->mute);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&fx->loop);
    agent_conf_destroy(&fx->conf);
    unlink(fx->sock);
    unlink(fx->envfile);
    rmdir(fx->dir);
    free(fx);
    return rc == 0 ? 0 : -1;
}

static void on_done(runner_t *r, void *arg)
{
    (void)r;
    fx_t *fx = arg;
    fx->done++;
    fx->done_ns = uv_hrtime();
}

/* Runs the loop until cond(fx) holds or timeout_ms passed; returns whether
 * it holds. The pulse timer guarantees the loop wakes up. */
static bool run_until(fx_t *fx, bool (*cond)(fx_t *), int timeout_ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)timeout_ms * 1000000;
    while (!cond(fx) && uv_hrtime() < end)
        uv_run(&fx->loop, UV_RUN_ONCE);
    return cond(fx);
}

static int want_done;
static bool reached_done(fx_t *fx)
{
    return fx->done >= want_done;
}

static runner_t *runner_for(fx_t *fx)
{
    runner_t *r = runner_new(&fx->loop, fx->conf);
    assert_non_null(r);
    return r;
}

/* Starts a cycle and waits for its callback. Returns its duration in ms. */
static double cycle(fx_t *fx, runner_t *r)
{
    uint64_t t0 = uv_hrtime();
    want_done = fx->done + 1;
    assert_int_equal(runner_start(r, on_done, fx), 0);
    if (!run_until(fx, reached_done, 20000))
        fail_msg("the cycle did not complete within 20 s");
    return (double)(fx->done_ns - t0) / 1e6;
}

static const check_result_t *result_named(runner_t *r, const char *name)
{
    size_t n;
    const check_result_t *res = runner_results(r, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(res[i].name, name) == 0)
            return &res[i];
    fail_msg("no result for check %s", name);
    return NULL;
}

static bool timed_out(const check_result_t *c)
{
    return c->status == CHECK_UNKNOWN && strstr(c->summary, "timed out after") != NULL;
}

/* A check that reported for real: a status, a one-line summary and values. */
static void assert_real_result(const check_result_t *c)
{
    assert_true(c->status >= CHECK_OK && c->status <= CHECK_UNKNOWN);
    if (timed_out(c))
        fail_msg("check %s timed out: %s", c->name, c->summary);
    assert_true(c->summary[0] != '\0');
    assert_null(strchr(c->summary, '\n'));
    assert_true(json_is_object(c->values));
}

/* ---- tests --------------------------------------------------------------- */

static void test_runner_cycle_reports_every_enabled_check(void **state)
{
    fx_t *fx = *state;
    agent_conf_t *c = fx->conf;
    c->check_disk = c->check_ntp = c->check_ports = c->check_envfile = c->check_host = true;
    runner_t *r = runner_for(fx);
    size_t n = 99;
    runner_results(r, &n);
    assert_int_equal(n, 5);
    double ms = cycle(fx, r);
    assert_int_equal(fx->done, 1);
    const check_result_t *res = runner_results(r, &n);
    assert_int_equal(n, 5);
    /* registry order, only the enabled ones */
    static const char *want[] = {"disk", "ntp", "ports", "envfile", "host"};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(res[i].name, want[i]);
        assert_real_result(&res[i]);
    }
    assert_int_equal(runner_in_flight(r), 0);
    print_message("cycle of 5 local checks: %.1f ms\n", ms);
    assert_int_equal(runner_destroy(&r), 0);
    assert_null(r);
}

static void test_runner_results_are_replaced_by_each_cycle(void **state)
{
    fx_t *fx = *state;
    fx->conf->check_host = fx->conf->check_envfile = true;
    runner_t *r = runner_for(fx);
    cycle(fx, r);
    cycle(fx, r);
    cycle(fx, r);
    assert_int_equal(fx->done, 3);
    size_t n;
    const check_result_t *res = runner_results(r, &n);
    assert_int_equal(n, 2);
    assert_string_equal(res[0].name, "envfile");
    assert_string_equal(res[1].name, "host");
    assert_real_result(&res[0]);
    assert_real_result(&res[1]);
    assert_int_equal(runner_destroy(&r), 0);
}

static void test_runner_refuses_a_second_start_while_cycling(void **state)
{
    fx_t *fx = *state;
    fx->conf->check_host = true;
    runner_t *r = runner_for(fx);
    want_done = 1;
    assert_int_equal(runner_start(r, on_done, fx), 0);
    assert_int_equal(runner_start(r, on_done, fx), -1);
    assert_true(run_until(fx, reached_done, 20000));
    assert_int_equal(fx->done, 1);
    assert_int_equal(runner_destroy(&r), 0);
}

static void test_runner_no_enabled_check_completes_empty(void **state)
{
    fx_t *fx = *state;
    runner_t *r = runner_for(fx);
    cycle(fx, r);
    size_t n = 99;
    runner_results(r, &n);
    assert_int_equal(n, 0);
    assert_int_equal(runner_destroy(&r), 0);
}

static int want_in_flight;
static runner_t *cur_runner;
static bool reached_in_flight(fx_t *fx)
{
    (void)fx;
    return runner_in_flight(cur_runner) == (size_t)want_in_flight;
}

static void test_runner_hung_probe_times_out_without_blocking_the_loop(void **state)
{
    fx_t *fx = *state;
    fx->conf->check_docker = fx->conf->check_host = true;
    fx->conf->probe_timeout_ms = 500;
    mute_server_start(&fx->mute, &fx->loop, fx->sock);
    fx->mute_on = true;
    runner_t *r = runner_for(fx);
    cur_runner = r;

    /* cycle 1: docker hangs on the mute socket, host reports */
    pulse_reset(&fx->pulse);
    double ms = cycle(fx, r);
    const check_result_t *docker = result_named(r, "docker");
    if (!timed_out(docker))
        fail_msg("docker reported '%s' instead of timing out", docker->summary);
    assert_non_null(strstr(docker->summary, "0.5s"));
    assert_real_result(result_named(r, "host"));
    assert_true(ms >= 450 && ms < 5000); /* the deadline, not the probe's 60 s */
    assert_int_equal(fx->mute.accepted, 1);
    assert_int_equal(runner_in_flight(r), 1);
    /* the loop kept turning while the probe hung: the 10 ms pulse never
     * stalled for anything near the 500 ms deadline */
    print_message("cycle 1: %.0f ms, pulse ticks %d, longest loop stall %.1f ms\n", ms,
                  fx->pulse.ticks, (double)fx->pulse.max_gap_ns / 1e6);
    assert_true(fx->pulse.ticks >= 10);
    assert_true(fx->pulse.max_gap_ns < 250 * 1000000ULL);

    /* cycle 2: still hung: reported as timed out, not started again, and the
     * cycle does not wait for a deadline */
    ms = cycle(fx, r);
    docker = result_named(r, "docker");
    if (!timed_out(docker))
        fail_msg("hung docker reported '%s' on the next cycle", docker->summary);
    assert_non_null(strstr(docker->summary, "still hung"));
    assert_real_result(result_named(r, "host"));
    assert_int_equal(runner_in_flight(r), 1);
    assert_true(ms < 450);
    /* give a second connection time to show up if one had been started */
    uv_sleep(50);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_int_equal(fx->mute.accepted, 1);

    /* the probe returns (dockerd resets the connection) */
    mute_server_release(&fx->mute);
    want_in_flight = 0;
    if (!run_until(fx, reached_in_flight, 10000))
        fail_msg("the released probe did not return");

    /* cycle 3: started again, so it hangs again on a new connection */
    ms = cycle(fx, r);
    assert_int_equal(fx->mute.accepted, 2);
    docker = result_named(r, "docker");
    assert_true(timed_out(docker));
    assert_null(strstr(docker->summary, "still hung"));
    assert_real_result(result_named(r, "host"));

    /* let it return before destroying: see the next test for why */
    mute_server_release(&fx->mute);
    want_in_flight = 0;
    assert_true(run_until(fx, reached_in_flight, 10000));
    assert_int_equal(runner_destroy(&r), 0);
}

/* Once the hung probe returns, the check reports normally again. */
static void test_runner_check_reports_normally_after_hung_run_returns(void **state)
{
    fx_t *fx = *state;
    fx->conf->check_docker = true;
    fx->conf->probe_timeout_ms = 300;
    mute_server_start(&fx->mute, &fx->loop, fx->sock);
    fx->mute_on = true;
    runner_t *r = runner_for(fx);
    cur_runner = r;
    cycle(fx, r);
    assert_true(timed_out(result_named(r, "docker")));
    /* dockerd goes away entirely: the hung call fails, the next connect is
     * refused fast */
    mute_server_stop(&fx->mute);
    fx->mute_on = false;
    want_in_flight = 0;
    assert_true(run_until(fx, reached_in_flight, 10000));
    cycle(fx, r);
    const check_result_t *docker = result_named(r, "docker");
    if (timed_out(docker))
        fail_msg("docker still times out: %s", docker->summary);
    assert_int_not_equal(docker->status, CHECK_OK); /* no dockerd: not ok */
    assert_true(docker->summary[0] != '\0');
    assert_int_equal(runner_destroy(&r), 0);
}

/* Destroying the runner while a probe hangs (agent shutdown, or `--once`
 * giving up on it) must be safe when that probe returns later. Run in a
 * child process: a use-after-free makes ASan abort it, and that must not take
 * the other tests down. */
/* The child's side. No cmocka assertion here (its longjmp would continue
 * the parent's test list inside the child): every failure is an exit code
 * of 10 or more, so that 1 stays the sanitizers' own. */
enum { CHILD_OK = 0, CHILD_SETUP = 10, CHILD_NOT_HUNG = 11, CHILD_NOT_COUNTED = 12 };

static int destroy_while_hung_scenario(fx_t *fx)
{
    alarm(30);                        /* a wedged child must not wedge the parent */
    if (uv_loop_fork(&fx->loop) != 0) /* the parent's epoll set is not ours */
        return CHILD_SETUP;
    fx->conf->check_docker = fx->conf->check_host = true;
    fx->conf->probe_timeout_ms = 300;
    mute_server_t *ms = &fx->mute;
    memset(ms, 0, sizeof *ms);
    unlink(fx->sock);
    if (uv_pipe_init(&fx->loop, &ms->server, 0) != 0)
        return CHILD_SETUP;
    ms->server.data = ms;
    if (uv_pipe_bind(&ms->server, fx->sock) != 0 ||
        uv_listen((uv_stream_t *)&ms->server, 16, on_connection) != 0)
        return CHILD_SETUP;
    runner_t *r = runner_new(&fx->loop, fx->conf);
    if (!r)
        return CHILD_SETUP;
    want_done = fx->done + 1;
    if (runner_start(r, on_done, fx) != 0 || !run_until(fx, reached_done, 20000))
        return CHILD_SETUP;
    size_t n;
    const check_result_t *res = runner_results(r, &n);
    if (n != 2 || strcmp(res[0].name, "docker") != 0 || !timed_out(&res[0]) ||
        runner_in_flight(r) != 1)
        return CHILD_NOT_HUNG;
    if (runner_destroy(&r) != 1)
        return CHILD_NOT_COUNTED;
    /* the runner's own close callback runs */
    for (int i = 0; i < 5; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT);
    /* now the hung probe returns: dockerd drops the connection */
    mute_server_stop(ms);
    uv_timer_stop(&fx->pulse.timer);
    uv_close((uv_handle_t *)&fx->pulse.timer, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* until the late work is done */
    return CHILD_OK;
}

static void test_runner_destroy_while_probe_hung_is_safe_when_it_returns(void **state)
{
    fx_t *fx = *state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(destroy_while_hung_scenario(fx));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("the child died of signal %d after runner_destroy with a hung probe",
                 WTERMSIG(status));
    if (WEXITSTATUS(status) >= CHILD_SETUP)
        fail_msg("the scenario did not get to the point (child exit %d)", WEXITSTATUS(status));
    if (WEXITSTATUS(status) != CHILD_OK)
        fail_msg("the child exited %d after runner_destroy with a hung probe that then "
                 "returned: a sanitizer error (see its report above: a use-after-free of the "
                 "runner's slots)",
                 WEXITSTATUS(status));
    /* the parent's fixture is untouched: the child had its own copy */
}

/* ---- checks on the loop thread (never_blocks) ------------------------------ */

/* Only probes made of kernel calls answered from memory may run on the loop:
 * ntp (ntp_adjtime) and ports (sock_diag netlink, /proc). Every check that
 * touches a configured path (disk, host: the data dir, maybe NFS; envfile)
 * or talks to a peer (docker, mongod, web) must stay on the threadpool, where
 * a hang costs a worker and the deadline still reports it. */
static void test_runner_only_memory_probes_run_on_the_loop(void **state)
{
    (void)state;
    static const char *may_block[] = {"docker", "disk", "mongod", "web", "envfile", "host"};
    static const char *on_loop[] = {"ntp", "ports"};
    size_t flagged = 0, blocking = 0;
    for (size_t i = 0; i < check_defs_count; i++) {
        const check_def_t *d = &check_defs[i];
        bool listed_loop = false;
        for (size_t k = 0; k < sizeof on_loop / sizeof on_loop[0]; k++)
            listed_loop |= strcmp(d->name, on_loop[k]) == 0;
        for (size_t k = 0; k < sizeof may_block / sizeof may_block[0]; k++)
            if (strcmp(d->name, may_block[k]) == 0 && d->never_blocks)
                fail_msg("check %s can block but is flagged never_blocks", d->name);
        if (d->never_blocks && !listed_loop)
            fail_msg("check %s is flagged never_blocks: review that its probe cannot wait on a "
                     "mount or a peer, then add it to on_loop here",
                     d->name);
        flagged += d->never_blocks;
        blocking += !d->never_blocks;
    }
    assert_int_equal(flagged, 2);
    assert_int_equal(blocking, 6);
    /* one worker per check that may hang, two for the agent's commands */
    assert_int_equal(runner_pool_threads(check_defs, check_defs_count), 8);
}

/* Injected checks: where each ran, and one that hangs until released. */
static uv_thread_t loop_thread;
static uv_thread_t ran_on[2];
static int ran_count[2];
static uv_mutex_t gate_mu;
static uv_cond_t gate_cv;
static bool gate_open;

static void run_inline(const struct agent_conf *conf, void **st, check_result_t *out)
{
    (void)conf;
    (void)st;
    ran_on[0] = uv_thread_self();
    ran_count[0]++;
    check_result_set(out, CHECK_OK, "ran inline");
}

static void run_gated(const struct agent_conf *conf, void **st, check_result_t *out)
{
    (void)conf;
    (void)st;
    ran_on[1] = uv_thread_self();
    ran_count[1]++;
    uv_mutex_lock(&gate_mu);
    while (!gate_open)
        uv_cond_wait(&gate_cv, &gate_mu);
    uv_mutex_unlock(&gate_mu);
    check_result_set(out, CHECK_OK, "ran on a worker");
}

static void gate_set(bool open)
{
    uv_mutex_lock(&gate_mu);
    gate_open = open;
    uv_cond_broadcast(&gate_cv);
    uv_mutex_unlock(&gate_mu);
}

/* A never_blocks check runs on the loop thread inside runner_start; a check
 * that may block runs on a worker, and when it hangs the loop check still
 * reports, the hung one times out at the deadline, and the loop kept
 * turning. */
static void test_runner_never_blocks_check_runs_on_the_loop_beside_a_hung_worker(void **state)
{
    fx_t *fx = *state;
    static const check_def_t defs[] = {
        {"gated", run_gated, NULL, false},
        {"inline", run_inline, NULL, true},
    };
    /* enabled() lets unknown names through */
    fx->conf->probe_timeout_ms = 300;
    uv_mutex_init(&gate_mu);
    uv_cond_init(&gate_cv);
    gate_set(true);
    memset(ran_count, 0, sizeof ran_count);
    loop_thread = uv_thread_self();
    runner_t *r = runner_new_defs(&fx->loop, fx->conf, defs, 2);
    assert_non_null(r);
    cur_runner = r;

    /* a normal cycle: both report, in table order */
    cycle(fx, r);
    size_t n;
    const check_result_t *res = runner_results(r, &n);
    assert_int_equal(n, 2);
    assert_string_equal(res[0].name, "gated");
    assert_string_equal(res[0].summary, "ran on a worker");
    assert_string_equal(res[1].name, "inline");
    assert_string_equal(res[1].summary, "ran inline");
    assert_true(uv_thread_equal(&ran_on[0], &loop_thread));
    assert_false(uv_thread_equal(&ran_on[1], &loop_thread));

    /* the worker check hangs: the inline one still reports at once */
    gate_set(false);
    pulse_reset(&fx->pulse);
    double ms = cycle(fx, r);
    res = runner_results(r, &n);
    assert_true(timed_out(&res[0]));
    assert_string_equal(res[1].summary, "ran inline");
    assert_int_equal(ran_count[0], 2);
    assert_true(ms >= 250 && ms < 5000);
    assert_true(fx->pulse.max_gap_ns < 200 * 1000000ULL);
    assert_int_equal(runner_in_flight(r), 1);

    /* still hung next cycle: not started again, inline runs again */
    cycle(fx, r);
    res = runner_results(r, &n);
    assert_non_null(strstr(res[0].summary, "still hung"));
    assert_string_equal(res[1].summary, "ran inline");
    assert_int_equal(ran_count[0], 3);
    assert_int_equal(ran_count[1], 2);

    gate_set(true);
    want_in_flight = 0;
    assert_true(run_until(fx, reached_in_flight, 10000));
    assert_int_equal(runner_destroy(&r), 0);
    uv_cond_destroy(&gate_cv);
    uv_mutex_destroy(&gate_mu);
}

/* ---- the chain: the blocking checks in one worker job -------------------- */

static uv_thread_t chain_on[3];
static uint64_t chain_at_ns[3];
static uint64_t chain_t0;

static void run_chain_n(int k, check_result_t *out)
{
    chain_on[k] = uv_thread_self();
    chain_at_ns[k] = uv_hrtime() - chain_t0;
    check_result_set(out, CHECK_OK, "ran %d", k);
}
static void run_chain_0(const struct agent_conf *c, void **st, check_result_t *out)
{
    (void)c, (void)st;
    run_chain_n(0, out);
}
static void run_chain_2(const struct agent_conf *c, void **st, check_result_t *out)
{
    (void)c, (void)st;
    run_chain_n(2, out);
}
/* the middle one waits on the gate */
static void run_chain_gated(const struct agent_conf *c, void **st, check_result_t *out)
{
    (void)c, (void)st;
    chain_on[1] = uv_thread_self();
    chain_at_ns[1] = uv_hrtime() - chain_t0;
    uv_mutex_lock(&gate_mu);
    while (!gate_open)
        uv_cond_wait(&gate_cv, &gate_mu);
    uv_mutex_unlock(&gate_mu);
    check_result_set(out, CHECK_OK, "ran 1");
}

/* Normally the checks that may block run one after another on one worker
 * (one thread hand-off a cycle); one that hangs keeps only its own result
 * from the cycle: the one before it is taken, the one after it is split
 * off to a worker of its own after RUNNER_SPLIT_MS at most, and while the
 * hung run keeps the chain's worker the next cycles run each on its own. */
static void test_runner_chain_runs_blocking_checks_on_one_worker_and_splits_when_hung(void **state)
{
    fx_t *fx = *state;
    static const check_def_t defs[] = {
        {"first", run_chain_0, NULL, false},
        {"gated", run_chain_gated, NULL, false},
        {"last", run_chain_2, NULL, false},
    };
    fx->conf->probe_timeout_ms = 2000; /* split after 200 ms */
    uv_mutex_init(&gate_mu);
    uv_cond_init(&gate_cv);
    gate_set(true);
    loop_thread = uv_thread_self();
    runner_t *r = runner_new_defs(&fx->loop, fx->conf, defs, 3);
    assert_non_null(r);
    cur_runner = r;

    for (int c = 0; c < 3; c++) {
        memset(chain_on, 0, sizeof chain_on);
        chain_t0 = uv_hrtime();
        double ms = cycle(fx, r);
        assert_true(ms < 1000); /* not the 2 s deadline (loaded CI: generous) */
        for (int k = 0; k < 3; k++) {
            char want[16];
            snprintf(want, sizeof want, "ran %d", k);
            assert_string_equal(result_named(r, defs[k].name)->summary, want);
            assert_false(uv_thread_equal(&chain_on[k], &loop_thread));
            assert_true(uv_thread_equal(&chain_on[k], &chain_on[0]));
        }
        assert_true(chain_at_ns[0] <= chain_at_ns[1] && chain_at_ns[1] <= chain_at_ns[2]);
    }

    /* the middle one hangs */
    gate_set(false);
    chain_t0 = uv_hrtime();
    pulse_reset(&fx->pulse);
    double ms = cycle(fx, r);
    assert_true(ms >= 1900 && ms < 10000); /* the deadline */
    assert_string_equal(result_named(r, "first")->summary, "ran 0");
    assert_true(timed_out(result_named(r, "gated")));
    assert_string_equal(result_named(r, "last")->summary, "ran 2");
    /* split off at 200 ms, well before the deadline, on another worker */
    print_message("last check started %.0f ms into the cycle\n", (double)chain_at_ns[2] / 1e6);
    assert_true(chain_at_ns[2] >= 150 * 1000000ULL && chain_at_ns[2] < 1500 * 1000000ULL);
    assert_false(uv_thread_equal(&chain_on[2], &chain_on[1]));
    assert_true(fx->pulse.max_gap_ns < 200 * 1000000ULL);
    assert_int_equal(runner_in_flight(r), 1);

    /* still hung: the others run on their own jobs, at once */
    chain_t0 = uv_hrtime();
    ms = cycle(fx, r);
    assert_true(ms < 1000); /* not the 2 s deadline (loaded CI: generous) */
    assert_string_equal(result_named(r, "first")->summary, "ran 0");
    assert_non_null(strstr(result_named(r, "gated")->summary, "still hung"));
    assert_string_equal(result_named(r, "last")->summary, "ran 2");

    /* it returns: reported late, then the chain is used again */
    gate_set(true);
    want_in_flight = 0;
    assert_true(run_until(fx, reached_in_flight, 10000));
    chain_t0 = uv_hrtime();
    ms = cycle(fx, r);
    assert_true(ms < 1000); /* not the 2 s deadline (loaded CI: generous) */
    assert_string_equal(result_named(r, "gated")->summary, "ran 1");
    assert_true(uv_thread_equal(&chain_on[0], &chain_on[1]) &&
                uv_thread_equal(&chain_on[1], &chain_on[2]));
    assert_int_equal(runner_destroy(&r), 0);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    uv_cond_destroy(&gate_cv);
    uv_mutex_destroy(&gate_mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runner_cycle_reports_every_enabled_check, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_runner_results_are_replaced_by_each_cycle, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_runner_refuses_a_second_start_while_cycling, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_runner_no_enabled_check_completes_empty, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_runner_hung_probe_times_out_without_blocking_the_loop,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_runner_check_reports_normally_after_hung_run_returns,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_runner_destroy_while_probe_hung_is_safe_when_it_returns, fx_setup, fx_teardown),
        cmocka_unit_test(test_runner_only_memory_probes_run_on_the_loop),
        cmocka_unit_test_setup_teardown(
            test_runner_never_blocks_check_runs_on_the_loop_beside_a_hung_worker, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_runner_chain_runs_blocking_checks_on_one_worker_and_splits_when_hung, fx_setup,
            fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
