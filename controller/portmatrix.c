/* Reachability matrix rounds. */
#include "portmatrix.h"

#include <stdlib.h>
#include <string.h>

struct portmatrix {
    uint64_t round;
    int64_t started_ms;
    json_t *expected; /* array of node names */
    json_t *by_from;  /* object: from -> results array */
};

portmatrix_t *portmatrix_new(void)
{
    portmatrix_t *pm = calloc(1, sizeof *pm);
    if (!pm)
        return NULL;
    pm->expected = json_array();
    pm->by_from = json_object();
    return pm;
}

void portmatrix_destroy(portmatrix_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->expected);
    json_decref((*self_p)->by_from);
    free(*self_p);
    *self_p = NULL;
}

void portmatrix_begin(portmatrix_t *pm, uint64_t round, int64_t now_ms, const char **nodes,
                      size_t n)
{
    pm->round = round;
    pm->started_ms = now_ms;
    json_array_clear(pm->expected);
    json_object_clear(pm->by_from);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(pm->expected, json_string(nodes[i]));
}

bool portmatrix_complete(const portmatrix_t *pm)
{
    size_t i;
    json_t *v;
    json_array_foreach(pm->expected, i, v) {
        if (!json_object_get(pm->by_from, json_string_value(v)))
            return false;
    }
    return true;
}

bool portmatrix_result(portmatrix_t *pm, uint64_t round, const char *from, json_t *results,
                       int64_t now_ms)
{
    (void)now_ms;
    if (round != pm->round || !json_is_array(results))
        return portmatrix_complete(pm);
    bool expected = false;
    size_t i;
    json_t *v;
    json_array_foreach(pm->expected, i, v) {
        if (strcmp(json_string_value(v), from) == 0)
            expected = true;
    }
    if (expected)
        json_object_set(pm->by_from, from, results);
    return portmatrix_complete(pm);
}

uint64_t portmatrix_round(const portmatrix_t *pm)
{
    return pm->round;
}

json_t *portmatrix_json(const portmatrix_t *pm, int64_t now_ms)
{
    json_t *results = json_array(), *blocked = json_array(), *missing = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(pm->expected, i, v) {
        const char *from = json_string_value(v);
        json_t *res = json_object_get(pm->by_from, from);
        if (!res) {
            json_array_append(missing, v);
            continue;
        }
        size_t k;
        json_t *r;
        json_array_foreach(res, k, r) {
            json_t *to = json_object_get(r, "node"), *port = json_object_get(r, "port");
            if (!json_is_string(to) || !json_is_integer(port))
                continue;
            bool ok = json_is_true(json_object_get(r, "ok"));
            json_t *e = json_pack("{s:s, s:O, s:O, s:b}", "from", from, "to", to, "port", port,
                                  "ok", ok);
            json_t *err = json_object_get(r, "error");
            if (!ok && json_is_string(err))
                json_object_set(e, "error", err);
            /* "refused" means the path is open and nothing listens: the
             * listener check reports that; the matrix is about the path */
            if (!ok && !(json_is_string(err) && strcmp(json_string_value(err), "refused") == 0))
                json_array_append(blocked, e);
            json_array_append_new(results, e);
        }
    }
    return json_pack("{s:I, s:I, s:b, s:o, s:o, s:o, s:s}", "round", (json_int_t)pm->round,
                     "age_ms", (json_int_t)(pm->round ? now_ms - pm->started_ms : 0), "complete",
                     pm->round && portmatrix_complete(pm), "missing", missing, "results", results,
                     "blocked", blocked, "udp",
                     "cannot verify: UDP 7946 and 4789 have no handshake; a silent port "
                     "looks the same whether open or dropped");
}
