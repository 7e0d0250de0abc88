/* The planner's input (inventory: nodes, declared DCs, S3_ENDPOINT), its
 * validation, and the bump allocator plans and inventories live in. */
#include "planner_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---------------------------------------------------------- */

struct planner_chunk {
    struct planner_chunk *next;
    size_t used, size;
    max_align_t data[];
};

struct planner_arena {
    struct planner_chunk *head;
    size_t next_size;
};

planner_arena_t *planner_arena_new(void)
{
    planner_arena_t *a = calloc(1, sizeof *a);
    if (a)
        a->next_size = 16384;
    return a;
}

void planner_arena_destroy(planner_arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    struct planner_chunk *c = (*self_p)->head;
    while (c) {
        struct planner_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(*self_p);
    *self_p = NULL;
}

void *planner_arena_alloc(planner_arena_t *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    struct planner_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t csize = a->next_size;
        if (csize < size)
            csize = size;
        if (a->next_size < (1u << 20))
            a->next_size *= 2;
        c = calloc(1, sizeof *c + csize);
        if (!c)
            return NULL;
        c->size = csize;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p; /* chunks come from calloc and are never reused: already zero */
}

char *planner_arena_strdup(planner_arena_t *a, const char *s)
{
    size_t len = strlen(s);
    char *p = planner_arena_alloc(a, len + 1);
    if (p)
        memcpy(p, s, len + 1);
    return p;
}

static char *arena_vprintf(planner_arena_t *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (len < 0)
        return NULL;
    char *p = planner_arena_alloc(a, (size_t)len + 1);
    if (p)
        vsnprintf(p, (size_t)len + 1, fmt, ap);
    return p;
}

char *planner_arena_printf(planner_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int planner_strv_push(planner_arena_t *a, planner_strv_t *v, const char *s)
{
    if (!s)
        return QR_ENOMEM;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        const char **nv = planner_arena_alloc(a, cap * sizeof *nv);
        if (!nv)
            return QR_ENOMEM;
        if (v->n)
            memcpy(nv, v->v, v->n * sizeof *nv);
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = s;
    return 0;
}

int planner_strv_pushf(planner_arena_t *a, planner_strv_t *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return planner_strv_push(a, v, s);
}

/* ---- inventory ------------------------------------------------------ */

planner_inventory_t *planner_inventory_new(void)
{
    planner_inventory_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->arena = planner_arena_new();
    if (!self->arena) {
        free(self);
        return NULL;
    }
    return self;
}

void planner_inventory_destroy(planner_inventory_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    planner_inventory_t *self = *self_p;
    free(self->nodes);
    free(self->dcs);
    planner_arena_destroy(&self->arena);
    free(self);
    *self_p = NULL;
}

static const char *dup_or_null(planner_arena_t *a, const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *p = planner_arena_strdup(a, s);
    if (!p)
        *fail = true;
    return p;
}

int planner_inventory_add_node(planner_inventory_t *self, const planner_node_t *node, qr_err_t *err)
{
    if (self->nnodes == self->cap_nodes) {
        size_t cap = self->cap_nodes ? self->cap_nodes * 2 : 16;
        planner_node_t *nn = realloc(self->nodes, cap * sizeof *nn);
        if (!nn)
            return qr_err_set(err, QR_ENOMEM, "out of memory");
        self->nodes = nn;
        self->cap_nodes = cap;
    }
    planner_node_t copy = *node;
    bool fail = false;
    copy.hostname = dup_or_null(self->arena, node->hostname, &fail);
    copy.dc = dup_or_null(self->arena, node->dc, &fail);
    copy.addr = dup_or_null(self->arena, node->addr, &fail);
    planner_label_t *labels = NULL;
    if (node->nlabels) {
        labels = planner_arena_alloc(self->arena, node->nlabels * sizeof *labels);
        if (!labels)
            fail = true;
        for (size_t i = 0; labels && i < node->nlabels; i++) {
            labels[i].key = dup_or_null(self->arena, node->labels[i].key, &fail);
            labels[i].value = dup_or_null(self->arena, node->labels[i].value, &fail);
        }
    }
    copy.labels = labels;
    if (fail)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    self->nodes[self->nnodes++] = copy;
    return 0;
}

int planner_inventory_add_dc(planner_inventory_t *self, const char *dc, qr_err_t *err)
{
    if (self->ndcs == self->cap_dcs) {
        size_t cap = self->cap_dcs ? self->cap_dcs * 2 : 4;
        const char **nd = realloc(self->dcs, cap * sizeof *nd);
        if (!nd)
            return qr_err_set(err, QR_ENOMEM, "out of memory");
        self->dcs = nd;
        self->cap_dcs = cap;
    }
    bool fail = false;
    const char *s = dup_or_null(self->arena, dc, &fail);
    if (fail)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    self->dcs[self->ndcs++] = s;
    return 0;
}

int planner_inventory_set_s3(planner_inventory_t *self, const char *endpoint, const char *host,
                             qr_err_t *err)
{
    bool fail = false;
    self->s3_endpoint = dup_or_null(self->arena, endpoint, &fail);
    self->s3_host = dup_or_null(self->arena, host, &fail);
    return fail ? qr_err_set(err, QR_ENOMEM, "out of memory") : 0;
}

bool planner_node_eligible(const planner_node_t *n)
{
    return n->healthy && n->datadir_separate && n->datadir_gb >= PLANNER_MIN_DATADIR_GB &&
           n->root_free_gb >= PLANNER_MIN_ROOT_FREE_GB;
}

const char *planner_node_label(const planner_node_t *n, const char *key)
{
    for (size_t i = 0; i < n->nlabels; i++)
        if (strcmp(n->labels[i].key, key) == 0)
            return n->labels[i].value;
    return NULL;
}

/* Names end up in shell commands and CLI arguments: keep them plain. */
static bool name_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

typedef struct {
    const char *name;
    size_t order;
} name_ref_t;

static int name_ref_cmp(const void *pa, const void *pb)
{
    const name_ref_t *a = pa, *b = pb;
    int r = strcmp(a->name, b->name);
    if (r)
        return r;
    return a->order < b->order ? -1 : a->order > b->order;
}

typedef struct {
    size_t first; /* smallest order in the group */
    int tmp;
} dc_group_t;

static int dc_group_cmp(const void *pa, const void *pb)
{
    const dc_group_t *a = pa, *b = pb;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* Gives each distinct DC an index: declared DCs first in their order, then
 * the others by first appearance. Sorting, not a linear lookup per node, so
 * that a pathological inventory (a DC per node) stays O(n log n). Fills
 * node_dc[nnodes]; returns the DC names (malloc'd, pointing into inv) and
 * in *declared_p (malloc'd) whether each was declared; NULL on ENOMEM. */
const char **planner_intern_dcs(const planner_inventory_t *inv, int *node_dc, size_t *ndc_out,
                                bool **declared_p)
{
    size_t total = inv->ndcs + inv->nnodes, sz = total ? total : 1;
    name_ref_t *refs = malloc(sz * sizeof *refs);
    dc_group_t *groups = malloc(sz * sizeof *groups);
    int *rank = malloc(sz * sizeof *rank);
    const char **tmp_names = malloc(sz * sizeof *tmp_names);
    const char **names = malloc(sz * sizeof *names);
    bool *declared = malloc(sz * sizeof *declared);
    if (!refs || !groups || !rank || !tmp_names || !names || !declared) {
        free(refs), free(groups), free(rank), free(tmp_names), free(names), free(declared);
        return NULL;
    }
    for (size_t k = 0; k < inv->ndcs; k++)
        refs[k] = (name_ref_t){inv->dcs[k], k};
    for (size_t i = 0; i < inv->nnodes; i++)
        refs[inv->ndcs + i] = (name_ref_t){inv->nodes[i].dc, inv->ndcs + i};
    qsort(refs, total, sizeof *refs, name_ref_cmp);
    size_t ng = 0;
    for (size_t s = 0; s < total;) {
        size_t e = s;
        while (e < total && strcmp(refs[e].name, refs[s].name) == 0) {
            if (refs[e].order >= inv->ndcs)
                node_dc[refs[e].order - inv->ndcs] = (int)ng;
            e++;
        }
        /* sorted by (name, order): refs[s] is the group's first appearance */
        groups[ng] = (dc_group_t){refs[s].order, (int)ng};
        tmp_names[ng] = refs[s].name;
        ng++;
        s = e;
    }
    qsort(groups, ng, sizeof *groups, dc_group_cmp);
    for (size_t k = 0; k < ng; k++) {
        rank[groups[k].tmp] = (int)k;
        names[k] = tmp_names[groups[k].tmp];
        declared[k] = groups[k].first < inv->ndcs;
    }
    for (size_t i = 0; i < inv->nnodes; i++)
        node_dc[i] = rank[node_dc[i]];
    free(refs), free(groups), free(rank), free(tmp_names);
    *ndc_out = ng;
    *declared_p = declared;
    return names;
}

static bool number_ok(double v)
{
    return isfinite(v) && v >= 0;
}

int planner_inventory_validate(const planner_inventory_t *inv, qr_err_t *err)
{
    for (size_t k = 0; k < inv->ndcs; k++)
        if (!name_ok(inv->dcs[k]))
            return qr_err_set(err, QR_EINVAL,
                              "dcs[%zu]: must be a non-empty name of letters, digits, '.', '_' "
                              "or '-'",
                              k);
    for (size_t i = 0; i < inv->nnodes; i++) {
        const planner_node_t *n = &inv->nodes[i];
        if (!name_ok(n->hostname))
            return qr_err_set(err, QR_EINVAL,
                              "nodes[%zu].hostname: must be a non-empty name of letters, digits, "
                              "'.', '_' or '-'",
                              i);
        if (!name_ok(n->dc))
            return qr_err_set(err, QR_EINVAL,
                              "nodes[%zu].dc: must be a non-empty name of letters, digits, '.', "
                              "'_' or '-'",
                              i);
        const struct {
            const char *name;
            double v;
        } nums[] = {{"cpus", n->cpus},
                    {"mem_gb", n->mem_gb},
                    {"datadir_gb", n->datadir_gb},
                    {"root_free_gb", n->root_free_gb}};
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
            if (!number_ok(nums[k].v))
                return qr_err_set(err, QR_EINVAL, "nodes[%zu].%s: expected a non-negative number",
                                  i, nums[k].name);
        for (size_t l = 0; l < n->nlabels; l++) {
            if (!n->labels[l].key || !*n->labels[l].key || !n->labels[l].value)
                return qr_err_set(err, QR_EINVAL, "nodes[%zu].labels: empty key or missing value",
                                  i);
            /* label sets are small (a handful): quadratic is cheaper than a hash */
            for (size_t l2 = 0; l2 < l; l2++)
                if (strcmp(n->labels[l].key, n->labels[l2].key) == 0)
                    return qr_err_set(err, QR_EINVAL, "nodes[%zu].labels: duplicate key \"%s\"", i,
                                      n->labels[l].key);
        }
    }
    /* duplicate hostnames: sort, then compare neighbours */
    if (inv->nnodes > 1) {
        name_ref_t *refs = malloc(inv->nnodes * sizeof *refs);
        if (!refs)
            return qr_err_set(err, QR_ENOMEM, "out of memory");
        for (size_t i = 0; i < inv->nnodes; i++)
            refs[i] = (name_ref_t){inv->nodes[i].hostname, i};
        qsort(refs, inv->nnodes, sizeof *refs, name_ref_cmp);
        size_t best = SIZE_MAX, first = 0;
        for (size_t i = 1; i < inv->nnodes; i++) {
            if (strcmp(refs[i].name, refs[i - 1].name) != 0)
                continue;
            bool group_start = i < 2 || strcmp(refs[i - 2].name, refs[i].name) != 0;
            if (group_start && refs[i].order < best) {
                best = refs[i].order;
                first = refs[i - 1].order;
            }
        }
        free(refs);
        if (best != SIZE_MAX)
            return qr_err_set(err, QR_EINVAL,
                              "nodes[%zu].hostname: duplicate hostname \"%s\" (also nodes[%zu])",
                              best, inv->nodes[best].hostname, first);
    }
    if (inv->ndcs && inv->nnodes) {
        int *node_dc = malloc(inv->nnodes * sizeof *node_dc);
        bool *declared = NULL;
        size_t ndc = 0;
        const char **names = node_dc ? planner_intern_dcs(inv, node_dc, &ndc, &declared) : NULL;
        if (!names) {
            free(node_dc);
            return qr_err_set(err, QR_ENOMEM, "out of memory");
        }
        int rc = 0;
        for (size_t i = 0; i < inv->nnodes && !rc; i++)
            if (!declared[node_dc[i]])
                rc = qr_err_set(err, QR_EINVAL,
                                "nodes[%zu].dc: unknown data centre \"%s\" (not in dcs)", i,
                                inv->nodes[i].dc);
        free(node_dc), free(declared), free(names);
        if (rc)
            return rc;
    }
    return 0;
}
