/* The planner's rules 1-5 (DESIGN.md "Contracts"): how many MongoDB members
 * and where, workers, MinIO candidates, then the label diff and the
 * `docker node update` commands. Survivability and warnings live in
 * planner_survive.c. Everything is O(n log n) in the number of nodes: the
 * controller re-plans on every inventory change. */
#include "planner_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- planning ------------------------------------------------------- */

/* A replica label as swarm placement compares it: a plain decimal with no
 * sign or leading zero ("01" never matches mongo.replica==1). 0 if not. */
static int parse_replica(const char *s)
{
    if (!s || *s < '1' || *s > '9')
        return 0;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
        if (v > 1000000)
            return 0;
    }
    return (int)v;
}

static int imin(int a, int b)
{
    return a < b ? a : b;
}

/* Smallest largest-per-DC count that places n members on these
 * capacities (water filling), or 0 when n do not fit. */
static int minmax_for(const int *cap, size_t ndc, int n)
{
    for (int m = 1; m <= n; m++) {
        long sum = 0;
        for (size_t d = 0; d < ndc; d++)
            sum += imin(cap[d], m);
        if (sum >= n)
            return m;
    }
    return 0;
}

/* Can n members be placed with no DC holding a majority (n/2+1)? */
static bool no_majority_possible(const int *cap, size_t ndc, int n)
{
    long sum = 0;
    for (size_t d = 0; d < ndc; d++)
        sum += imin(cap[d], n / 2);
    return sum >= n;
}

/* Rule 1's fallback: the largest odd count <= min(eligible, 7), placeable
 * with no DC majority when the eligible nodes span 3+ DCs. */
static int choose_count(const int *cap, size_t ndc, int eligible, int span)
{
    int max = imin(eligible, PLANNER_MAX_MEMBERS);
    if (max % 2 == 0)
        max--;
    if (span >= 3)
        for (int n = max; n >= 3; n -= 2)
            if (no_majority_possible(cap, ndc, n))
                return n;
    return max;
}

/* Rule 1's "current count when the current layout is valid", or 0. With
 * strict false only the numbering counts (1..K once, K odd 3..7): --remove
 * keeps the member count and moves labels, it does not re-decide the count. */
static int current_valid_count(const planner_ctx_t *c, const bool *elig, int *cap, bool strict)
{
    int k = 0, eligible = 0, span = 0;
    unsigned seen = 0;
    bool broken = false;
    memset(cap, 0, c->ndc * sizeof *cap);
    for (size_t i = 0; i < c->n; i++) {
        if (elig[i])
            cap[c->w[i].dc]++, eligible++;
        if (!c->w[i].has_rep_key)
            continue;
        int r = c->w[i].cur_rep;
        k++;
        if (r < 1 || r > PLANNER_MAX_MEMBERS || (seen & (1u << r)) || (strict && !elig[i]))
            broken = true;
        else
            seen |= 1u << r;
    }
    if (broken || k < 3 || k > PLANNER_MAX_MEMBERS || k % 2 == 0)
        return 0;
    if (!strict)
        return k;
    for (size_t d = 0; d < c->ndc; d++)
        span += cap[d] > 0;
    int per_dc[PLANNER_MAX_MEMBERS + 1] = {0}, dcs_of[PLANNER_MAX_MEMBERS + 1], nd = 0, max = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->w[i].has_rep_key)
            continue;
        int j = 0;
        while (j < nd && dcs_of[j] != c->w[i].dc)
            j++;
        if (j == nd)
            dcs_of[nd++] = c->w[i].dc;
        if (++per_dc[j] > max)
            max = per_dc[j];
    }
    if (max != minmax_for(cap, c->ndc, k))
        return 0;
    if (span >= 3 && max > k / 2) {
        /* a DC majority is only acceptable when no odd count avoids it */
        int top = imin(eligible, PLANNER_MAX_MEMBERS);
        for (int n = 3; n <= top; n += 2)
            if (no_majority_possible(cap, c->ndc, n))
                return 0;
    }
    return k;
}

/* Preference among MongoDB candidates: SSD, then memory, then CPUs, then
 * inventory order (stable, so plans are deterministic). */
static int member_pref(const planner_ctx_t *c, size_t a, size_t b)
{
    const planner_node_t *na = &c->inv->nodes[a], *nb = &c->inv->nodes[b];
    if (na->ssd != nb->ssd)
        return na->ssd ? -1 : 1;
    if (na->mem_gb != nb->mem_gb)
        return na->mem_gb > nb->mem_gb ? -1 : 1;
    if (na->cpus != nb->cpus)
        return na->cpus > nb->cpus ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int fill_cmp(const void *pa, const void *pb, void *arg)
{
    const planner_ctx_t *c = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    /* a node that already carries a replica label gets a number before a
     * fresh one: one label change instead of two */
    if (c->w[a].has_rep_key != c->w[b].has_rep_key)
        return c->w[a].has_rep_key ? -1 : 1;
    /* fill the DC with the most swarm managers first: where a DC must hold
     * the MongoDB majority, it is the one holding the swarm's, so losing the
     * other DC costs neither quorum */
    int ma = c->dc_mgr[c->w[a].dc], mb = c->dc_mgr[c->w[b].dc];
    if (ma != mb)
        return ma > mb ? -1 : 1;
    return member_pref(c, a, b);
}

static int worker_cmp(const void *pa, const void *pb, void *arg)
{
    const planner_ctx_t *c = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const planner_node_t *na = &c->inv->nodes[a], *nb = &c->inv->nodes[b];
    /* an explicit worker=false is an operator's choice: last resort */
    if (c->w[a].has_worker_key != c->w[b].has_worker_key)
        return c->w[a].has_worker_key ? 1 : -1;
    if (na->cpus != nb->cpus)
        return na->cpus > nb->cpus ? -1 : 1;
    if (na->mem_gb != nb->mem_gb)
        return na->mem_gb > nb->mem_gb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int minio_cmp(const void *pa, const void *pb, void *arg)
{
    const planner_ctx_t *c = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const planner_node_t *na = &c->inv->nodes[a], *nb = &c->inv->nodes[b];
    /* the node S3_ENDPOINT already names needs no env change */
    if (c->w[a].s3_match != c->w[b].s3_match)
        return c->w[a].s3_match ? -1 : 1;
    if (c->w[a].has_minio_key != c->w[b].has_minio_key)
        return c->w[a].has_minio_key ? 1 : -1;
    if (na->datadir_gb != nb->datadir_gb)
        return na->datadir_gb > nb->datadir_gb ? -1 : 1;
    if (na->ssd != nb->ssd)
        return na->ssd ? -1 : 1;
    return a < b ? -1 : a > b;
}

typedef struct {
    int replica;
    size_t node;
    bool unique;
} keeper_t;

static int keeper_cmp(const void *pa, const void *pb)
{
    const keeper_t *a = pa, *b = pb;
    if (a->unique != b->unique)
        return a->unique ? -1 : 1;
    return a->replica - b->replica;
}

/* Rules 2 and 3: which nodes hold mongo.replica=1..n. */
static int place_members(planner_ctx_t *c, int n, int *cap, size_t *scratch)
{
    planner_plan_t *p = c->plan;
    c->m = minmax_for(cap, c->ndc, n);
    int *per_dc = planner_arena_alloc(c->a, c->ndc * sizeof *per_dc + 1);
    if (!per_dc)
        return QR_ENOMEM;
    int holders[PLANNER_MAX_MEMBERS + 1] = {0};
    long best[PLANNER_MAX_MEMBERS + 1];
    for (int r = 0; r <= PLANNER_MAX_MEMBERS; r++)
        best[r] = -1;
    for (size_t i = 0; i < c->n; i++) {
        int r = c->w[i].cur_rep;
        if (r < 1 || r > n)
            continue;
        holders[r]++;
        if (c->w[i].eligible && (best[r] < 0 || member_pref(c, i, (size_t)best[r]) < 0))
            best[r] = (long)i;
    }
    keeper_t keep[PLANNER_MAX_MEMBERS];
    int nk = 0;
    for (int r = 1; r <= n; r++)
        if (best[r] >= 0)
            keep[nk++] = (keeper_t){r, (size_t)best[r], holders[r] == 1};
    /* unique holders first: a number held twice must not cost a healthy
     * member its place when a DC is over the per-DC maximum */
    qsort(keep, (size_t)nk, sizeof *keep, keeper_cmp);
    bool used[PLANNER_MAX_MEMBERS + 1] = {false};
    size_t kept_by[PLANNER_MAX_MEMBERS + 1] = {0};
    for (int k = 0; k < nk; k++) {
        planner_work_t *w = &c->w[keep[k].node];
        if (per_dc[w->dc] >= c->m)
            continue;
        per_dc[w->dc]++;
        w->new_rep = keep[k].replica;
        w->kept_rep = true;
        used[keep[k].replica] = true;
        kept_by[keep[k].replica] = keep[k].node;
    }
    for (int r = 1; r <= n; r++) {
        if (holders[r] < 2)
            continue;
        char buf[256];
        size_t len = 0;
        for (size_t i = 0; i < c->n && len < sizeof buf - 64; i++)
            if (c->w[i].cur_rep == r)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? ", " : "",
                                        c->inv->nodes[i].hostname);
        int rc = used[r]
                     ? planner_strv_pushf(c->a, &p->warnings,
                                          "mongo.replica=%d is on %d nodes (%s): %s keeps it", r,
                                          holders[r], buf, c->inv->nodes[kept_by[r]].hostname)
                     : planner_strv_pushf(c->a, &p->warnings,
                                          "mongo.replica=%d is on %d nodes (%s): it moves", r,
                                          holders[r], buf);
        if (rc)
            return rc;
    }
    int freen[PLANNER_MAX_MEMBERS], nfree = 0;
    for (int r = 1; r <= n; r++)
        if (!used[r])
            freen[nfree++] = r;
    size_t ncand = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->w[i].eligible && !c->w[i].new_rep)
            scratch[ncand++] = i;
    qsort_r(scratch, ncand, sizeof *scratch, fill_cmp, c);
    int fi = 0;
    for (size_t k = 0; k < ncand && fi < nfree; k++) {
        planner_work_t *w = &c->w[scratch[k]];
        if (per_dc[w->dc] >= c->m)
            continue;
        per_dc[w->dc]++;
        w->new_rep = freen[fi++];
    }
    if (fi != nfree) /* cannot happen: m was chosen so that n fit */
        return planner_strv_pushf(c->a, &p->errors,
                                  "internal error: %d of %d members could not be placed",
                                  nfree - fi, n)
                   ? QR_ENOMEM
                   : 0;
    return 0;
}

/* Rule 4: worker=true on >= 2 healthy nodes in >= 2 DCs when there are 2;
 * never removed from a healthy node, never new on an unhealthy one. */
static void place_workers(planner_ctx_t *c, size_t *scratch, bool *dc_has)
{
    if (c->fresh) {
        for (size_t i = 0; i < c->n; i++)
            c->w[i].new_worker = c->w[i].healthy || c->w[i].cur_worker;
        return;
    }
    int count = 0, dcs = 0;
    memset(dc_has, 0, c->ndc * sizeof *dc_has);
    size_t ncand = 0;
    for (size_t i = 0; i < c->n; i++) {
        planner_work_t *w = &c->w[i];
        /* an unhealthy worker keeps its label (it may come back); only a
         * departing node loses it */
        w->new_worker = w->cur_worker && !w->departing;
        if (w->healthy && w->cur_worker) {
            count++;
            if (!dc_has[w->dc])
                dc_has[w->dc] = true, dcs++;
        } else if (w->healthy) {
            scratch[ncand++] = i;
        }
    }
    int need = imin(2, c->healthy), need_dcs = imin(2, c->hspan);
    if (count >= need && dcs >= need_dcs)
        return;
    qsort_r(scratch, ncand, sizeof *scratch, worker_cmp, c);
    for (size_t k = 0; k < ncand && dcs < need_dcs; k++) {
        planner_work_t *w = &c->w[scratch[k]];
        if (dc_has[w->dc])
            continue;
        dc_has[w->dc] = true, dcs++, count++;
        w->new_worker = true;
    }
    for (size_t k = 0; k < ncand && count < need; k++) {
        planner_work_t *w = &c->w[scratch[k]];
        if (w->new_worker)
            continue;
        w->new_worker = true;
        count++;
    }
}

/* Rule 5: minio=true on exactly min(2, healthy) healthy nodes, in different
 * DCs when possible, keeping existing healthy candidates. */
static void place_minio(planner_ctx_t *c, size_t *scratch)
{
    int target = imin(2, c->healthy);
    size_t ncur = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->w[i].healthy && c->w[i].cur_minio)
            scratch[ncur++] = i;
    qsort_r(scratch, ncur, sizeof *scratch, minio_cmp, c);
    long k1 = -1, k2 = -1;
    if (target >= 1 && ncur >= 1)
        k1 = (long)scratch[0];
    if (target == 2 && ncur >= 2) {
        for (size_t k = 1; k < ncur && k2 < 0; k++)
            if (c->hspan < 2 || c->w[scratch[k]].dc != c->w[k1].dc)
                k2 = (long)scratch[k];
    }
    if (k1 >= 0)
        c->w[k1].new_minio = true;
    if (k2 >= 0)
        c->w[k2].new_minio = true;
    int have = (k1 >= 0) + (k2 >= 0);
    if (have >= target)
        return;
    size_t ncand = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->w[i].healthy && !c->w[i].new_minio)
            scratch[ncand++] = i;
    qsort_r(scratch, ncand, sizeof *scratch, minio_cmp, c);
    for (size_t k = 0; k < ncand && have < target; k++) {
        planner_work_t *w = &c->w[scratch[k]];
        /* the second candidate goes to another DC when one exists */
        if (have == 1 && c->hspan >= 2 && k1 >= 0 && w->dc == c->w[k1].dc)
            continue;
        w->new_minio = true;
        if (k1 < 0)
            k1 = (long)scratch[k];
        have++;
    }
}

/* The value each managed key should have on node i after the plan (NULL:
 * absent). Keys the plan has no opinion on keep their value. */
static const char *want_value(planner_ctx_t *c, size_t i, const char *key, const char *cur,
                              char *numbuf, size_t numlen)
{
    const planner_work_t *w = &c->w[i];
    if (w->departing)
        return NULL;
    if (strcmp(key, PLANNER_LABEL_REPLICA) == 0) {
        if (!w->new_rep)
            return NULL;
        snprintf(numbuf, numlen, "%d", w->new_rep);
        return numbuf;
    }
    if (strcmp(key, PLANNER_LABEL_WORKER) == 0)
        return w->new_worker ? "true" : cur;
    /* minio: a "true" that is no longer a candidate goes; any other value
     * is not a candidate and stays as the operator wrote it */
    if (w->new_minio)
        return "true";
    return w->cur_minio ? NULL : cur;
}

static const char *const managed_keys[] = {PLANNER_LABEL_REPLICA, PLANNER_LABEL_WORKER,
                                           PLANNER_LABEL_MINIO};

static bool is_managed(const char *key)
{
    for (size_t k = 0; k < 3; k++)
        if (strcmp(key, managed_keys[k]) == 0)
            return true;
    return false;
}

/* A command string built in two passes (length, then copy). */
static char *build_command(planner_arena_t *a, const char *verb, const planner_label_t *add,
                           size_t nadd, const char **rm, size_t nrm, const char *host)
{
    size_t len = strlen("docker node update") + strlen(host) + 2;
    for (size_t k = 0; k < nadd; k++)
        len += strlen(verb) + strlen(add[k].key) + strlen(add[k].value) + 3;
    for (size_t k = 0; k < nrm; k++)
        len += strlen(verb) + strlen(rm[k]) + 2;
    char *s = planner_arena_alloc(a, len + 1);
    if (!s)
        return NULL;
    char *p = s;
    p += sprintf(p, "docker node update");
    for (size_t k = 0; k < nadd; k++)
        p += sprintf(p, " %s %s=%s", verb, add[k].key, add[k].value);
    for (size_t k = 0; k < nrm; k++)
        p += sprintf(p, " %s %s", verb, rm[k]);
    sprintf(p, " %s", host);
    return s;
}

/* final_labels, changes and commands (removals, then additions). */
static int diff_labels(planner_ctx_t *c)
{
    planner_plan_t *p = c->plan;
    p->final_labels = planner_arena_alloc(c->a, (c->n + 1) * sizeof *p->final_labels);
    p->changes = planner_arena_alloc(c->a, (c->n + 1) * sizeof *p->changes);
    if (!p->final_labels || !p->changes)
        return QR_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        const planner_node_t *nd = &c->inv->nodes[i];
        char numbuf[16];
        planner_label_t *fin = planner_arena_alloc(c->a, (nd->nlabels + 3) * sizeof *fin);
        planner_label_t *add = planner_arena_alloc(c->a, 3 * sizeof *add);
        const char **rm = planner_arena_alloc(c->a, 3 * sizeof *rm);
        if (!fin || !add || !rm)
            return QR_ENOMEM;
        size_t nfin = 0, nadd = 0, nrm = 0;
        for (size_t l = 0; l < nd->nlabels; l++) {
            const planner_label_t *lb = &nd->labels[l];
            if (!is_managed(lb->key)) {
                fin[nfin++] = *lb;
                continue;
            }
            const char *v = want_value(c, i, lb->key, lb->value, numbuf, sizeof numbuf);
            if (!v) {
                rm[nrm++] = lb->key;
                continue;
            }
            if (strcmp(v, lb->value) == 0) {
                v = lb->value; /* unchanged; never keep a pointer to numbuf */
            } else {
                v = v == numbuf ? planner_arena_strdup(c->a, numbuf) : v;
                if (!v)
                    return QR_ENOMEM;
                add[nadd++] = (planner_label_t){lb->key, v};
            }
            fin[nfin++] = (planner_label_t){lb->key, v};
        }
        for (size_t k = 0; k < 3; k++) {
            if (planner_node_label(nd, managed_keys[k]))
                continue;
            const char *v = want_value(c, i, managed_keys[k], NULL, numbuf, sizeof numbuf);
            if (!v)
                continue;
            if (v == numbuf && !(v = planner_arena_strdup(c->a, numbuf)))
                return QR_ENOMEM;
            add[nadd++] = (planner_label_t){managed_keys[k], v};
            fin[nfin++] = (planner_label_t){managed_keys[k], v};
        }
        if (!c->w[i].departing)
            p->final_labels[p->nfinal++] = (planner_node_labels_t){nd->hostname, fin, nfin};
        if (nadd || nrm)
            p->changes[p->nchanges++] = (planner_change_t){nd->hostname, add, nadd, rm, nrm};
    }
    /* removals first across all nodes: a replica number moving from A to B
     * is never on both at once */
    for (size_t k = 0; k < p->nchanges; k++) {
        const planner_change_t *ch = &p->changes[k];
        if (ch->nremove && planner_strv_push(c->a, &p->commands,
                                             build_command(c->a, "--label-rm", NULL, 0, ch->remove,
                                                           ch->nremove, ch->node)))
            return QR_ENOMEM;
    }
    for (size_t k = 0; k < p->nchanges; k++) {
        const planner_change_t *ch = &p->changes[k];
        if (ch->nadd && planner_strv_push(c->a, &p->commands,
                                          build_command(c->a, "--label-add", ch->add, ch->nadd,
                                                        NULL, 0, ch->node)))
            return QR_ENOMEM;
    }
    return 0;
}

/* The members with votes, priorities and their DC (the member's tag). */
static int list_members(planner_ctx_t *c, int n)
{
    planner_plan_t *p = c->plan;
    p->members = planner_arena_alloc(c->a, (size_t)n * sizeof *p->members);
    int *per_dc = planner_arena_alloc(c->a, c->ndc * sizeof *per_dc + 1);
    if (!p->members || !per_dc)
        return QR_ENOMEM;
    int dcs = 0;
    for (size_t i = 0; i < c->n; i++) {
        int r = c->w[i].new_rep;
        if (!r)
            continue;
        if (per_dc[c->w[i].dc]++ == 0)
            dcs++;
        p->members[r - 1] = (planner_member_t){
            c->inv->nodes[i].hostname, c->dcname[c->w[i].dc], r, 1, 1, c->inv->nodes[i].ssd};
    }
    p->nmembers = (size_t)n;
    int maj = -1;
    for (size_t d = 0; d < c->ndc; d++)
        if (per_dc[d] * 2 > n)
            maj = (int)d;
    if (maj >= 0)
        p->majority_dc = c->dcname[maj];
    /* two DCs: the primary should live where the majority is, so losing
     * the minority DC never costs the primary */
    for (int r = 0; r < n && dcs == 2 && maj >= 0; r++)
        if (strcmp(p->members[r].dc, c->dcname[maj]) == 0)
            p->members[r].priority = 2;
    return 0;
}

static int setup_dcs(planner_ctx_t *c)
{
    bool *declared = NULL;
    c->w = planner_arena_alloc(c->a, (c->n + 1) * sizeof *c->w);
    int *node_dc = malloc((c->n + 1) * sizeof *node_dc);
    const char **names = node_dc ? planner_intern_dcs(c->inv, node_dc, &c->ndc, &declared) : NULL;
    c->dcname = names ? planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *c->dcname) : NULL;
    if (c->dcname)
        memcpy(c->dcname, names, c->ndc * sizeof *names);
    for (size_t i = 0; c->w && node_dc && i < c->n; i++)
        c->w[i].dc = node_dc[i];
    free(node_dc), free(names), free(declared);
    return c->w && c->dcname ? 0 : QR_ENOMEM;
}

static void setup_nodes(planner_ctx_t *c)
{
    const planner_inventory_t *inv = c->inv;
    for (size_t i = 0; i < c->n; i++) {
        const planner_node_t *nd = &inv->nodes[i];
        planner_work_t *w = &c->w[i];
        w->departing = (long)i == c->remove_node;
        w->gone = w->departing || w->dc == c->lose_dc;
        w->healthy = nd->healthy && !w->gone;
        w->eligible = w->healthy && planner_node_eligible(nd);
        const char *v = planner_node_label(nd, PLANNER_LABEL_REPLICA);
        w->has_rep_key = v != NULL;
        w->cur_rep = v ? parse_replica(v) : -1;
        v = planner_node_label(nd, PLANNER_LABEL_WORKER);
        w->has_worker_key = v != NULL;
        w->cur_worker = v && strcmp(v, "true") == 0;
        v = planner_node_label(nd, PLANNER_LABEL_MINIO);
        w->has_minio_key = v != NULL;
        w->cur_minio = v && strcmp(v, "true") == 0;
        w->s3_match = inv->s3_host && (strcasecmp(inv->s3_host, nd->hostname) == 0 ||
                                       (nd->addr && strcasecmp(inv->s3_host, nd->addr) == 0));
        if (w->has_rep_key || w->has_worker_key || w->has_minio_key)
            c->fresh = false;
        c->eligible += w->eligible;
        c->healthy += w->healthy;
    }
}

static int find_dc(const planner_ctx_t *c, const char *name)
{
    for (size_t d = 0; d < c->ndc; d++)
        if (strcmp(c->dcname[d], name) == 0)
            return (int)d;
    return -1;
}

static int run(planner_ctx_t *c, qr_err_t *err)
{
    planner_plan_t *p = c->plan;
    int rc = setup_dcs(c);
    if (rc)
        return rc;
    if (c->opts.lose_dc && (c->lose_dc = find_dc(c, c->opts.lose_dc)) < 0) {
        char known[256] = "";
        size_t len = 0;
        for (size_t d = 0; d < c->ndc && len < sizeof known - 1; d++)
            len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", d ? ", " : "",
                                    c->dcname[d]);
        return qr_err_set(err, QR_EINVAL, "--lose %s: unknown data centre (known: %s)",
                          c->opts.lose_dc, c->ndc ? known : "none");
    }
    setup_nodes(c);
    int *cap = planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *cap);
    size_t *scratch = planner_arena_alloc(c->a, (c->n + 1) * sizeof *scratch);
    bool *flags = planner_arena_alloc(c->a, (c->n + c->ndc + 1) * sizeof *flags);
    if (!cap || !scratch || !flags)
        return QR_ENOMEM;
    c->dc_mgr = planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *c->dc_mgr);
    if (!c->dc_mgr)
        return QR_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        cap[c->w[i].dc] += c->w[i].eligible;
        c->dc_mgr[c->w[i].dc] += c->w[i].healthy && c->inv->nodes[i].manager;
    }
    bool *hdc = flags;
    for (size_t i = 0; i < c->n; i++)
        if (c->w[i].healthy && !hdc[c->w[i].dc])
            hdc[c->w[i].dc] = true, c->hspan++;
    for (size_t d = 0; d < c->ndc; d++)
        c->span += cap[d] > 0;
    if (c->lose_dc >= 0 && (rc = planner_rehearse(c)))
        return rc;
    if ((rc = planner_warn_inventory(c)))
        return rc;

    int n = 0;
    if (c->opts.members) {
        n = c->opts.members;
        if (n > c->eligible && planner_strv_pushf(c->a, &p->errors,
                                                  "--members %d: only %d eligible node%s (healthy, "
                                                  "separate data dir >= 50 GB, >= 50 GB free on /)",
                                                  n, c->eligible, c->eligible == 1 ? "" : "s"))
            return QR_ENOMEM;
    } else if (c->eligible < 3) {
        if (planner_strv_pushf(c->a, &p->errors,
                               "only %d eligible node%s for MongoDB, 3 needed (eligible: healthy, "
                               "separate data dir >= 50 GB, >= 50 GB free on /)",
                               c->eligible, c->eligible == 1 ? "" : "s"))
            return QR_ENOMEM;
    } else {
        int *cap2 = planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *cap2);
        bool *elig = flags + c->ndc;
        if (!cap2)
            return QR_ENOMEM;
        for (size_t i = 0; i < c->n; i++)
            elig[i] = c->w[i].eligible;
        n = current_valid_count(c, elig, cap2, c->remove_node < 0);
        if (n > c->eligible)
            n = 0;
        if (!n)
            n = choose_count(cap, c->ndc, c->eligible, c->span);
    }
    if (p->errors.n) {
        p->ok = false;
        /* no plan: final labels are the current ones, nothing changes */
        p->final_labels = planner_arena_alloc(c->a, (c->n + 1) * sizeof *p->final_labels);
        if (!p->final_labels)
            return QR_ENOMEM;
        for (size_t i = 0; i < c->n; i++)
            p->final_labels[p->nfinal++] = (planner_node_labels_t){
                c->inv->nodes[i].hostname, (planner_label_t *)c->inv->nodes[i].labels,
                c->inv->nodes[i].nlabels};
        return planner_finish(c);
    }
    p->ok = true;
    p->target_members = n;
    if ((rc = place_members(c, n, cap, scratch)))
        return rc;
    if (p->errors.n) {
        p->ok = false;
        return planner_finish(c);
    }
    place_workers(c, scratch, flags);
    place_minio(c, scratch);
    if ((rc = diff_labels(c)) || (rc = list_members(c, n)))
        return rc;
    if ((rc = planner_survive(c)))
        return rc;
    return planner_finish(c);
}

int planner_plan(const planner_inventory_t *inv, const planner_opts_t *opts, planner_plan_t **out,
                 qr_err_t *err)
{
    *out = NULL;
    int rc = planner_inventory_validate(inv, err);
    if (rc)
        return rc;
    planner_opts_t o = opts ? *opts : (planner_opts_t){0};
    if (o.members && (o.members < 3 || o.members > PLANNER_MAX_MEMBERS || o.members % 2 == 0))
        return qr_err_set(err, QR_EINVAL, "--members %d: must be an odd number from 3 to 7",
                          o.members);
    if (o.lose_dc && o.remove_node)
        return qr_err_set(err, QR_EINVAL, "--lose and --remove cannot be combined");
    long remove = -1;
    if (o.remove_node) {
        for (size_t i = 0; i < inv->nnodes && remove < 0; i++)
            if (strcmp(inv->nodes[i].hostname, o.remove_node) == 0)
                remove = (long)i;
        if (remove < 0)
            return qr_err_set(err, QR_EINVAL, "--remove %s: no such node in the inventory",
                              o.remove_node);
    }
    planner_plan_t *p = calloc(1, sizeof *p);
    if (!p || !(p->arena = planner_arena_new())) {
        free(p);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    planner_ctx_t c = {.inv = inv,
                       .opts = o,
                       .plan = p,
                       .a = p->arena,
                       .n = inv->nnodes,
                       .lose_dc = -1,
                       .remove_node = remove,
                       .fresh = true};
    rc = run(&c, err);
    if (rc) {
        planner_plan_destroy(&p);
        if (rc == QR_ENOMEM)
            qr_err_set(err, rc, "out of memory");
        return rc;
    }
    *out = p;
    return 0;
}

void planner_plan_destroy(planner_plan_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    planner_arena_destroy(&(*self_p)->arena);
    free(*self_p);
    *self_p = NULL;
}
