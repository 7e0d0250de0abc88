/* The check scheduler: the checks that may block run one after another on
 * the runner's own thread (the chain), split into one threadpool job each
 * when the chain is slow or still busy with a hung run; a deadline timer per
 * cycle; the checks flagged never_blocks run on the loop. */
#include "runner.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

/* Who runs a slot of the chain this cycle: the chain's worker takes it
 * (FREE -> CHAIN) when it gets there, unless the loop took it first (FREE ->
 * SPLIT) to queue it on its own. */
enum { CLAIM_FREE, CLAIM_CHAIN, CLAIM_SPLIT };

typedef struct {
    const check_def_t *def;
    runner_t *s;
    uv_work_t work;
    void *state;
    bool in_flight;   /* a worker thread owns `running` and `state` */
    bool pending;     /* this cycle waits for it */
    bool via_chain;   /* its run is the chain's, result not yet taken */
    atomic_int claim; /* CLAIM_*, for a slot of the chain */
    atomic_bool done; /* the chain ran it: `running` is ready */
    check_result_t running;
    uint64_t started_ms;
} slot_t;

struct runner {
    uv_loop_t *loop;
    const agent_conf_t *conf;
    bool dying;        /* runner_destroy was called */
    bool timer_closed; /* ... and every handle's close callback ran */
    int handles_open;
    uv_timer_t deadline;
    uv_timer_t split; /* a chain still running then is split up */
    /* the chain's thread: started at the first chain, told to run one by
     * `go`, says it is done with `ran` and the async */
    uv_thread_t thread;
    bool thread_on;
    uv_mutex_t mu;
    uv_cond_t cv;
    bool go, quit, ran; /* under mu */
    uv_async_t chain_async;
    bool chain_busy; /* a chain was posted and its end not yet seen */
    size_t *chain;   /* slot indexes, in order; stable while chain_busy */
    size_t chain_len;
    slot_t *slots;
    size_t n;
    check_result_t *published; /* last complete cycle */
    check_result_t *current;   /* being collected */
    size_t waiting;
    bool cycling;
    runner_done_cb cb;
    void *arg;
};

static void on_chain_async(uv_async_t *h);

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
    s->chain = calloc(n_defs ? n_defs : 1, sizeof *s->chain);
    if (!s->slots || !s->published || !s->current || !s->chain) {
        free(s->slots), free(s->published), free(s->current), free(s->chain), free(s);
        return NULL;
    }
    for (size_t i = 0; i < n_defs; i++)
        if (enabled(conf, defs[i].name)) {
            s->slots[s->n].def = &defs[i];
            s->slots[s->n].s = s;
            s->slots[s->n].work.data = &s->slots[s->n];
            atomic_init(&s->slots[s->n].claim, CLAIM_SPLIT);
            atomic_init(&s->slots[s->n].done, false);
            s->n++;
        }
    uv_timer_init(loop, &s->deadline);
    s->deadline.data = s;
    uv_timer_init(loop, &s->split);
    s->split.data = s;
    uv_mutex_init(&s->mu);
    uv_cond_init(&s->cv);
    uv_async_init(loop, &s->chain_async, on_chain_async);
    s->chain_async.data = s;
    /* an async handle is always active: referenced, it would keep uv_run
     * from returning after the agent closed everything else on SIGTERM */
    uv_unref((uv_handle_t *)&s->chain_async);
    s->handles_open = 3;
    return s;
}

static void cycle_finish(runner_t *s)
{
    uv_timer_stop(&s->deadline);
    uv_timer_stop(&s->split);
    for (size_t i = 0; i < s->n; i++) {
        check_result_clear(&s->published[i]);
        s->published[i] = s->current[i];
        memset(&s->current[i], 0, sizeof s->current[i]);
    }
    s->cycling = false;
    if (s->cb)
        s->cb(s, s->arg);
}

/* A threadpool worker runs a check only when the chain was split or is
 * still hung, but which worker is libuv's choice: over weeks each of the 8
 * would keep the deepest check's stack pages (~24 KiB) as private memory.
 * Those below this frame are given back after such a run; their page
 * faults only come with the next split. */
static void release_stack(void)
{
    pthread_attr_t attr;
    void *lo;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    int rc = pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_destroy(&attr);
    long page = sysconf(_SC_PAGESIZE);
    if (rc != 0 || page <= 0)
        return;
    char here;
    uintptr_t mask = ~((uintptr_t)page - 1);
    uintptr_t low = ((uintptr_t)lo + (uintptr_t)page - 1) & mask;
    uintptr_t high = ((uintptr_t)&here - (uintptr_t)page) & mask; /* madvise's own frames */
    if (high > low)
        madvise((void *)low, high - low, MADV_DONTNEED);
}

static void work_cb(uv_work_t *w)
{
    slot_t *sl = w->data;
    sl->def->run(sl->s->conf, &sl->state, &sl->running);
    release_stack();
}

static void runner_free(runner_t *s)
{
    uv_mutex_destroy(&s->mu);
    uv_cond_destroy(&s->cv);
    free(s->chain);
    free(s->slots);
    free(s->published);
    free(s->current);
    free(s);
}

/* A slot's run returned (its own job, or its turn in the chain): on the loop. */
static void deliver(runner_t *s, slot_t *sl, int status)
{
    sl->in_flight = false;
    sl->via_chain = false;
    if (s->dying) {
        /* a hung run returned after runner_destroy: its slot was kept for it */
        check_result_clear(&sl->running);
        if (sl->def->state_free && sl->state)
            sl->def->state_free(sl->state);
        sl->state = NULL;
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

static void free_if_unused(runner_t *s)
{
    if (s->dying && s->timer_closed && !s->chain_busy && runner_in_flight(s) == 0)
        runner_free(s);
}

static void after_work_cb(uv_work_t *w, int status)
{
    slot_t *sl = w->data;
    runner_t *s = sl->s;
    deliver(s, sl, status);
    free_if_unused(s);
}

/* The chain: each slot the loop did not split off, in order. */
static void chain_run(runner_t *s)
{
    for (size_t k = 0; k < s->chain_len; k++) {
        slot_t *sl = &s->slots[s->chain[k]];
        int want = CLAIM_FREE;
        if (!atomic_compare_exchange_strong(&sl->claim, &want, CLAIM_CHAIN))
            continue;
        sl->def->run(s->conf, &sl->state, &sl->running);
        atomic_store_explicit(&sl->done, true, memory_order_release);
    }
}

/* Takes the results the chain has finished so far. */
static void chain_harvest(runner_t *s)
{
    for (size_t k = 0; k < s->chain_len; k++) {
        slot_t *sl = &s->slots[s->chain[k]];
        if (sl->via_chain && atomic_load_explicit(&sl->done, memory_order_acquire))
            deliver(s, sl, 0);
    }
}

/* The chain's thread. It touches the loop only through chain_async, which
 * stays open until the loop has seen the chain it was running end (see
 * runner_destroy). */
static void chain_main(void *arg)
{
    runner_t *s = arg;
    uv_mutex_lock(&s->mu);
    for (;;) {
        while (!s->go && !s->quit)
            uv_cond_wait(&s->cv, &s->mu);
        if (!s->go)
            break;
        s->go = false;
        uv_mutex_unlock(&s->mu);
        chain_run(s);
        uv_mutex_lock(&s->mu);
        s->ran = true;
        uv_async_send(&s->chain_async);
        if (s->quit)
            break;
    }
    uv_mutex_unlock(&s->mu);
}

static void on_handle_closed(uv_handle_t *h);

static void on_chain_async(uv_async_t *h)
{
    runner_t *s = h->data;
    uv_mutex_lock(&s->mu);
    bool ran = s->ran;
    s->ran = false;
    uv_mutex_unlock(&s->mu);
    if (!ran)
        return;
    s->chain_busy = false;
    for (size_t k = 0; k < s->chain_len; k++) {
        slot_t *sl = &s->slots[s->chain[k]];
        if (sl->via_chain && atomic_load(&sl->claim) == CLAIM_CHAIN)
            deliver(s, sl, 0);
    }
    if (s->dying) { /* the thread has quit, or is about to */
        uv_thread_join(&s->thread);
        s->thread_on = false;
        uv_close((uv_handle_t *)&s->chain_async, on_handle_closed);
    }
}

/* Hands the posted chain to the thread (started the first time). */
static int chain_post(runner_t *s)
{
    if (!s->thread_on) {
        if (uv_thread_create(&s->thread, chain_main, s) != 0)
            return -1;
        s->thread_on = true;
    }
    uv_mutex_lock(&s->mu);
    s->go = true;
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
    return 0;
}

/* The loop takes back the chain's slots not started yet: queued on their
 * own (split) or, with queue false, just released. Returns how many. */
static size_t chain_take_rest(runner_t *s, bool queue)
{
    size_t taken = 0;
    for (size_t k = 0; k < s->chain_len; k++) {
        slot_t *sl = &s->slots[s->chain[k]];
        int want = CLAIM_FREE;
        if (!sl->via_chain || !atomic_compare_exchange_strong(&sl->claim, &want, CLAIM_SPLIT))
            continue;
        taken++;
        sl->via_chain = false;
        if (queue && uv_queue_work(s->loop, &sl->work, work_cb, after_work_cb) == 0)
            continue;
        sl->in_flight = false;
        check_result_clear(&sl->running);
        if (sl->pending) {
            size_t i = (size_t)(sl - s->slots);
            sl->pending = false;
            check_result_init(&s->current[i], sl->def->name);
            check_result_set(&s->current[i], CHECK_UNKNOWN, "could not start the probe");
            s->waiting--;
        }
    }
    return taken;
}

/* The chain is slow (a probe waits on a peer or a mount): what it finished
 * is taken, what it has not started runs on workers of its own. */
static void on_split(uv_timer_t *t)
{
    runner_t *s = t->data;
    chain_harvest(s);
    if (!s->cycling)
        return;
    size_t n = chain_take_rest(s, true);
    if (n)
        log_debug("event=chain_split checks=%zu", n);
    if (s->waiting == 0 && s->cycling)
        cycle_finish(s);
}

static void on_deadline(uv_timer_t *t)
{
    runner_t *s = t->data;
    chain_harvest(s);
    if (!s->cycling)
        return;
    chain_take_rest(s, false); /* none normally: the split came first */
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

/* The deadline's split point: a check queued in the chain behind a slow
 * one starts at most this late. */
static uint64_t split_ms(const agent_conf_t *conf)
{
    uint64_t ms = (uint64_t)conf->probe_timeout_ms / 5;
    return ms > RUNNER_SPLIT_MS ? RUNNER_SPLIT_MS : ms;
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
     * while the loop does the ones that cannot block: all in the chain (one
     * hand-off), or each on its own while the chain is still busy with a
     * hung run of an earlier cycle */
    bool chained = !s->chain_busy;
    if (chained)
        s->chain_len = 0;
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
        if (chained) {
            sl->via_chain = true;
            atomic_store(&sl->done, false);
            atomic_store(&sl->claim, CLAIM_FREE);
            s->chain[s->chain_len++] = i;
            continue;
        }
        if (uv_queue_work(s->loop, &sl->work, work_cb, after_work_cb) != 0) {
            sl->in_flight = sl->pending = false;
            s->waiting--;
            check_result_clear(&sl->running);
            check_result_init(&s->current[i], sl->def->name);
            check_result_set(&s->current[i], CHECK_UNKNOWN, "could not start the probe");
        }
    }
    if (chained && s->chain_len > 0) {
        if (chain_post(s) == 0) {
            s->chain_busy = true;
            uv_timer_start(&s->split, on_split, split_ms(s->conf), 0);
        } else {
            chain_take_rest(s, true); /* each on its own, or "could not start" */
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

static void on_handle_closed(uv_handle_t *h)
{
    runner_t *s = h->data;
    if (--s->handles_open > 0)
        return;
    s->timer_closed = true;
    free_if_unused(s); /* else the last hung run frees it */
}

size_t runner_destroy(runner_t **self_p)
{
    if (!self_p || !*self_p)
        return 0;
    runner_t *s = *self_p;
    size_t hung = 0;
    s->cb = NULL;
    s->cycling = false;
    chain_harvest(s); /* runs the chain finished are not hung */
    s->dying = true;
    /* the chain's slots it has not started: it must skip them now */
    chain_take_rest(s, false);
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
    /* the chain's thread: an idle one quits now; a busy one (a hung run)
     * when that returns, and on_chain_async then closes the async */
    uv_mutex_lock(&s->mu);
    s->quit = true;
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
    if (!s->chain_busy) {
        if (s->thread_on)
            uv_thread_join(&s->thread);
        s->thread_on = false;
        uv_close((uv_handle_t *)&s->chain_async, on_handle_closed);
    } else {
        uv_ref((uv_handle_t *)&s->chain_async); /* the loop waits for the chain's end */
    }
    uv_close((uv_handle_t *)&s->deadline, on_handle_closed);
    uv_close((uv_handle_t *)&s->split, on_handle_closed);
    *self_p = NULL;
    return hung;
}
