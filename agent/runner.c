/* The check scheduler: one uv_work_t per check that may block, a deadline
 * timer per cycle; the checks flagged never_blocks run on the loop. */
#include "runner.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct {
    const check_def_t *def;
    runner_t *s;
    uv_work_t work;
    void *state;
    bool in_flight;   /* a worker thread owns `running` and `state` */
    bool pending;     /* this cycle waits for it */
    check_result_t running;
    uint64_t started_ms;
} slot_t;

struct runner {
    uv_loop_t *loop;
    const agent_conf_t *conf;
    bool dying;        /* runner_destroy was called */
    bool timer_closed; /* ... and the deadline timer's close callback ran */
    uv_timer_t deadline;
    slot_t *slots;
    size_t n;
    check_result_t *published; /* last complete cycle */
    check_result_t *current;   /* being collected */
    size_t waiting;
    bool cycling;
    runner_done_cb cb;
    void *arg;
};

static bool enabled(const agent_conf_t *c, const char *name)
{
    struct {
        const char *n;
        bool on;
    } m[] = {{"docker", c->check_docker}, {"disk", c->check_disk},   {"ntp", c->check_ntp},
             {"ports", c->check_ports},   {"mongod", c->check_mongod}, {"web", c->check_web},
             {"envfile", c->check_envfile}, {"host", c->check_host}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcmp(m[i].n, name) == 0)
            return m[i].on;
    return true;
}

size_t runner_pool_threads(const check_def_t *defs, size_t n_defs)
{
    size_t n = 2;
    for (size_t i = 0; i < n_defs; i++)
        n += !defs[i].never_blocks;
    return n;
}

runner_t *runner_new(uv_loop_t *loop, const agent_conf_t *conf)
{
    return runner_new_defs(loop, conf, check_defs, check_defs_count);
}

runner_t *runner_new_defs(uv_loop_t *loop, const agent_conf_t *conf, const check_def_t *defs,
                          size_t n_defs)
{
    runner_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->conf = conf;
    s->slots = calloc(n_defs ? n_defs : 1, sizeof *s->slots);
    s->published = calloc(n_defs ? n_defs : 1, sizeof *s->published);
    s->current = calloc(n_defs ? n_defs : 1, sizeof *s->current);
    if (!s->slots || !s->published || !s->current) {
        free(s->slots), free(s->published), free(s->current), free(s);
        return NULL;
    }
    for (size_t i = 0; i < n_defs; i++)
        if (enabled(conf, defs[i].name)) {
            s->slots[s->n].def = &defs[i];
            s->slots[s->n].s = s;
            s->slots[s->n].work.data = &s->slots[s->n];
            s->n++;
        }
    uv_timer_init(loop, &s->deadline);
    s->deadline.data = s;
    return s;
}

static void cycle_finish(runner_t *s)
{
    uv_timer_stop(&s->deadline);
    for (size_t i = 0; i < s->n; i++) {
        check_result_clear(&s->published[i]);
        s->published[i] = s->current[i];
        memset(&s->current[i], 0, sizeof s->current[i]);
    }
    s->cycling = false;
    if (s->cb)
        s->cb(s, s->arg);
}

static void work_cb(uv_work_t *w)
{
    slot_t *sl = w->data;
    sl->def->run(sl->s->conf, &sl->state, &sl->running);
}

static void runner_free(runner_t *s)
{
    free(s->slots);
    free(s->published);
    free(s->current);
    free(s);
}

static void after_work_cb(uv_work_t *w, int status)
{
    slot_t *sl = w->data;
    runner_t *s = sl->s;
    sl->in_flight = false;
    if (s->dying) {
        /* a hung run returned after runner_destroy: its slot was kept for it */
        check_result_clear(&sl->running);
        if (sl->def->state_free && sl->state)
            sl->def->state_free(sl->state);
        sl->state = NULL;
        if (s->timer_closed && runner_in_flight(s) == 0)
            runner_free(s);
        return;
    }
    size_t i = (size_t)(sl - s->slots);
    if (sl->pending) {
        sl->pending = false;
        check_result_clear(&s->current[i]);
        s->current[i] = sl->running;
        memset(&sl->running, 0, sizeof sl->running);
        if (status == UV_ECANCELED)
            check_result_set(&s->current[i], CHECK_UNKNOWN, "cancelled");
        if (--s->waiting == 0 && s->cycling)
            cycle_finish(s);
    } else {
        /* a late run after its deadline: the cycle already reported it */
        log_info("event=check_late check=%s ran_ms=%llu", sl->def->name,
                 (unsigned long long)(uv_now(s->loop) - sl->started_ms));
        check_result_clear(&sl->running);
    }
}

static void on_deadline(uv_timer_t *t)
{
    runner_t *s = t->data;
    double secs = s->conf->probe_timeout_ms / 1000.0;
    for (size_t i = 0; i < s->n; i++) {
        slot_t *sl = &s->slots[i];
        if (!sl->pending)
            continue;
        sl->pending = false;
        check_result_init(&s->current[i], sl->def->name);
        check_result_set(&s->current[i], CHECK_UNKNOWN, "timed out after %gs", secs);
        json_object_set_new(s->current[i].values, "reasons", json_pack("[s]", "probe_timeout"));
        log_warnx("event=check_timeout check=%s timeout_s=%g", sl->def->name, secs);
    }
    s->waiting = 0;
    cycle_finish(s);
}

int runner_start(runner_t *s, runner_done_cb cb, void *arg)
{
    if (s->cycling)
        return -1;
    s->cycling = true;
    s->cb = cb;
    s->arg = arg;
    s->waiting = 0;
    /* the probes that may block go to the threadpool first, so they run
     * while the loop does the ones that cannot block */
    for (size_t i = 0; i < s->n; i++) {
        slot_t *sl = &s->slots[i];
        if (sl->def->never_blocks)
            continue;
        if (sl->in_flight) {
            check_result_init(&s->current[i], sl->def->name);
            check_result_set(&s->current[i], CHECK_UNKNOWN,
                             "timed out after %gs (previous run still hung for %llus)",
                             s->conf->probe_timeout_ms / 1000.0,
                             (unsigned long long)(uv_now(s->loop) - sl->started_ms) / 1000);
            json_object_set_new(s->current[i].values, "reasons",
                                json_pack("[s]", "probe_timeout"));
            continue;
        }
        check_result_init(&sl->running, sl->def->name);
        sl->in_flight = true;
        sl->pending = true;
        sl->started_ms = uv_now(s->loop);
        s->waiting++;
        if (uv_queue_work(s->loop, &sl->work, work_cb, after_work_cb) != 0) {
            sl->in_flight = sl->pending = false;
            s->waiting--;
            check_result_clear(&sl->running);
            check_result_init(&s->current[i], sl->def->name);
            check_result_set(&s->current[i], CHECK_UNKNOWN, "could not start the probe");
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        slot_t *sl = &s->slots[i];
        if (!sl->def->never_blocks)
            continue;
        check_result_init(&s->current[i], sl->def->name);
        sl->def->run(s->conf, &sl->state, &s->current[i]);
    }
    if (s->waiting == 0) {
        cycle_finish(s);
        return 0;
    }
    uv_timer_start(&s->deadline, on_deadline, (uint64_t)s->conf->probe_timeout_ms, 0);
    return 0;
}

const check_result_t *runner_results(const runner_t *s, size_t *n)
{
    *n = s->n;
    return s->published;
}

size_t runner_in_flight(const runner_t *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        k += s->slots[i].in_flight;
    return k;
}

static void on_timer_closed(uv_handle_t *h)
{
    runner_t *s = h->data;
    s->timer_closed = true;
    if (runner_in_flight(s) == 0) /* else the last hung run frees it */
        runner_free(s);
}

size_t runner_destroy(runner_t **self_p)
{
    if (!self_p || !*self_p)
        return 0;
    runner_t *s = *self_p;
    size_t hung = 0;
    for (size_t i = 0; i < s->n; i++) {
        slot_t *sl = &s->slots[i];
        check_result_clear(&s->published[i]);
        check_result_clear(&s->current[i]);
        if (sl->in_flight) {
            hung++;
            continue;
        }
        check_result_clear(&sl->running);
        if (sl->def->state_free && sl->state)
            sl->def->state_free(sl->state);
        sl->state = NULL;
    }
    s->cb = NULL;
    s->dying = true;
    uv_close((uv_handle_t *)&s->deadline, on_timer_closed);
    *self_p = NULL;
    return hung;
}
