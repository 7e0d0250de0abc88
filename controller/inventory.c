/* The controller's node table. A plain array: deployments have 3 to a few
 * dozen servers, and a linear scan of them per message costs nothing. */
#include "inventory.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire.h"

struct inventory {
    int64_t down_after_ms;
    size_t max_nodes;
    inv_node_t *nodes;
    size_t n, cap;
};

inventory_t *inventory_new(int64_t down_after_ms, size_t max_nodes)
{
    inventory_t *inv = calloc(1, sizeof *inv);
    if (!inv)
        return NULL;
    inv->down_after_ms = down_after_ms;
    inv->max_nodes = max_nodes;
    return inv;
}

void inventory_destroy(inventory_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    inventory_t *inv = *self_p;
    for (size_t i = 0; i < inv->n; i++)
        json_decref(inv->nodes[i].checks);
    free(inv->nodes);
    free(inv);
    *self_p = NULL;
}

static inv_node_t *find(const inventory_t *inv, const char *name)
{
    for (size_t i = 0; i < inv->n; i++)
        if (strcmp(inv->nodes[i].name, name) == 0)
            return &inv->nodes[i];
    return NULL;
}

const inv_node_t *inventory_find(const inventory_t *inv, const char *name)
{
    return find(inv, name);
}

size_t inventory_count(const inventory_t *inv)
{
    return inv->n;
}

const inv_node_t *inventory_at(const inventory_t *inv, size_t i)
{
    return i < inv->n ? &inv->nodes[i] : NULL;
}

int inventory_seen(inventory_t *inv, int64_t now_ms, const char *name, const char *dc,
                   const char *key, bool *came_up, qr_err_t *err)
{
    *came_up = false;
    if (!wire_name_ok(name, 63) || (dc && *dc && !wire_name_ok(dc, 63)))
        return qr_err_set(err, QR_EINVAL, "invalid node or dc name");
    key = key ? key : "";
    inv_node_t *n = find(inv, name);
    if (!n) {
        if (inv->n >= inv->max_nodes)
            return qr_err_set(err, QR_ERANGE, "node table full (%zu nodes)", inv->max_nodes);
        if (inv->n == inv->cap) {
            size_t cap = inv->cap ? inv->cap * 2 : 16;
            inv_node_t *nn = realloc(inv->nodes, cap * sizeof *nn);
            if (!nn)
                return qr_err_set(err, QR_ENOMEM, "out of memory");
            inv->nodes = nn;
            inv->cap = cap;
        }
        n = &inv->nodes[inv->n++];
        memset(n, 0, sizeof *n);
        snprintf(n->name, sizeof n->name, "%s", name);
        snprintf(n->key, sizeof n->key, "%s", key);
        n->first_seen_ms = now_ms;
        n->checks = json_array();
        *came_up = true;
    } else if (strcmp(n->key, key) != 0) {
        return qr_err_set(err, QR_EAUTH, "node %s belongs to another key", name);
    }
    if (dc && *dc)
        snprintf(n->dc, sizeof n->dc, "%s", dc);
    if (!n->up)
        *came_up = true;
    n->up = true;
    n->down_since_ms = 0;
    n->last_seen_ms = now_ms;
    return 0;
}

int inventory_report(inventory_t *inv, int64_t now_ms, const char *name,
                     const Quorate__Report *rep, qr_err_t *err)
{
    inv_node_t *n = find(inv, name);
    if (!n)
        return qr_err_set(err, QR_ENOTFOUND, "unknown node %s", name);
    if (rep->n_checks > INVENTORY_MAX_CHECKS)
        return qr_err_set(err, QR_ERANGE, "report with %zu checks (max %d)", rep->n_checks,
                          INVENTORY_MAX_CHECKS);
    json_t *checks = json_array();
    for (size_t i = 0; i < rep->n_checks; i++) {
        const Quorate__CheckResult *c = rep->checks[i];
        if (!wire_name_ok(c->name, 31)) {
            json_decref(checks);
            return qr_err_set(err, QR_EPROTO, "report with an invalid check name");
        }
        json_t *values = json_loads(c->values_json ? c->values_json : "{}", 0, NULL);
        if (!json_is_object(values)) {
            json_decref(values);
            values = json_pack("{s:b}", "invalid_values", 1);
        }
        json_t *summary = json_string(c->summary ? c->summary : "");
        if (!summary)
            summary = json_string("(summary not valid UTF-8)");
        int st = (int)c->status;
        json_array_append_new(checks, json_pack("{s:s, s:s, s:o, s:o, s:i}", "name", c->name,
                                                "status",
                                                check_status_str(st >= 0 && st <= 3
                                                                     ? (check_status_t)st
                                                                     : CHECK_UNKNOWN),
                                                "summary", summary, "values", values,
                                                "duration_ms", (int)c->duration_ms));
    }
    json_decref(n->checks);
    n->checks = checks;
    n->last_report_ms = now_ms;
    n->cycle = rep->cycle;
    n->dropped = rep->dropped;
    n->interval_ms = rep->interval_ms;
    snprintf(n->version, sizeof n->version, "%s",
             rep->agent_version && wire_name_ok(rep->agent_version, 31) ? rep->agent_version
                                                                         : "");
    return 0;
}

static bool ip_literal(const char *s)
{
    unsigned char buf[16];
    return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

void inventory_address(inventory_t *inv, const char *name, const char *reported,
                       const char *peer)
{
    inv_node_t *n = find(inv, name);
    if (!n)
        return;
    const char *a = ip_literal(reported) ? reported : ip_literal(peer) ? peer : NULL;
    if (a)
        snprintf(n->address, sizeof n->address, "%s", a);
}

bool inventory_stale(const inventory_t *inv, const char *name, int64_t sent_at_us, uint64_t term,
                     int64_t slack_us)
{
    const inv_node_t *n = find((inventory_t *)inv, name);
    if (!n)
        return false;
    return term < n->term ||
           (n->last_sent_at_us > 0 && sent_at_us < n->last_sent_at_us - slack_us);
}

void inventory_sent_at(inventory_t *inv, const char *name, int64_t sent_at_us)
{
    inv_node_t *n = find(inv, name);
    if (n && sent_at_us > n->last_sent_at_us)
        n->last_sent_at_us = sent_at_us;
}

void inventory_term(inventory_t *inv, const char *name, uint64_t term)
{
    inv_node_t *n = find(inv, name);
    if (n && term > n->term)
        n->term = term;
}

void inventory_clock(inventory_t *inv, const char *name, double offset_ms, double rtt_ms)
{
    inv_node_t *n = find(inv, name);
    if (!n)
        return;
    n->clock_known = true;
    n->clock_offset_ms = offset_ms;
    n->clock_rtt_ms = rtt_ms;
}

size_t inventory_tick(inventory_t *inv, int64_t now_ms,
                      void (*cb)(const inv_node_t *n, void *arg), void *arg)
{
    size_t k = 0;
    for (size_t i = 0; i < inv->n; i++) {
        inv_node_t *n = &inv->nodes[i];
        if (n->up && now_ms - n->last_seen_ms >= inv->down_after_ms) {
            n->up = false;
            n->down_since_ms = now_ms;
            k++;
            if (cb)
                cb(n, arg);
        }
    }
    return k;
}

static const char *worst_status(const json_t *checks)
{
    int worst = CHECK_OK;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) {
        int s = check_status_parse(json_string_value(json_object_get(c, "status")));
        if (s > worst)
            worst = s;
    }
    return check_status_str((check_status_t)worst);
}

static json_t *node_json(const inv_node_t *n, int64_t now_ms, bool with_values)
{
    json_t *checks = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(n->checks, i, c) {
        json_t *o = json_pack("{s:O, s:O, s:O}", "name", json_object_get(c, "name"), "status",
                              json_object_get(c, "status"), "summary",
                              json_object_get(c, "summary"));
        if (with_values)
            json_object_set(o, "values", json_object_get(c, "values"));
        json_array_append_new(checks, o);
    }
    json_t *j = json_pack("{s:s, s:s, s:b, s:I, s:I, s:s, s:o, s:I, s:I, s:s}", "name", n->name,
                          "dc", n->dc, "up", n->up, "last_seen_ago_ms",
                          (json_int_t)(now_ms - n->last_seen_ms), "cycle", (json_int_t)n->cycle,
                          "worst", n->up ? worst_status(n->checks) : "down", "checks", checks,
                          "dropped_reports", (json_int_t)n->dropped, "interval_ms",
                          (json_int_t)n->interval_ms, "agent_version", n->version);
    json_object_set_new(j, "address", json_string(n->address));
    json_object_set_new(j, "term", json_integer((json_int_t)n->term));
    if (!n->up)
        json_object_set_new(j, "down_for_ms", json_integer(now_ms - n->down_since_ms));
    if (n->clock_known)
        json_object_set_new(j, "clock", json_pack("{s:f, s:f}", "offset_ms", n->clock_offset_ms,
                                                  "rtt_ms", n->clock_rtt_ms));
    return j;
}

json_t *inventory_status_json(const inventory_t *inv, int64_t now_ms)
{
    json_t *nodes = json_array();
    size_t up = 0;
    for (size_t i = 0; i < inv->n; i++) {
        json_array_append_new(nodes, node_json(&inv->nodes[i], now_ms, false));
        up += inv->nodes[i].up;
    }
    return json_pack("{s:o, s:{s:I, s:I, s:I}}", "nodes", nodes, "counts", "nodes",
                     (json_int_t)inv->n, "up", (json_int_t)up, "down", (json_int_t)(inv->n - up));
}

json_t *inventory_node_json(const inventory_t *inv, const char *name, int64_t now_ms)
{
    const inv_node_t *n = find(inv, name);
    return n ? node_json(n, now_ms, true) : NULL;
}

static json_t *check_values(const inv_node_t *n, const char *check)
{
    size_t i;
    json_t *c;
    json_array_foreach(n->checks, i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", check) == 0)
            return json_object_get(c, "values");
    }
    return NULL;
}

static const char *check_status_of(const inv_node_t *n, const char *check)
{
    size_t i;
    json_t *c;
    json_array_foreach(n->checks, i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", check) == 0)
            return json_string_value(json_object_get(c, "status"));
    }
    return NULL;
}

/* A swarm manager's view of node `name` ({hostname, role, labels, ...}) from
 * any up manager's docker check: workers cannot read labels themselves. */
static json_t *swarm_view_of(const inventory_t *inv, const char *name)
{
    for (size_t i = 0; i < inv->n; i++) {
        const inv_node_t *m = &inv->nodes[i];
        json_t *list = m->up ? json_object_get(check_values(m, "docker"), "swarm_nodes") : NULL;
        size_t k;
        json_t *e;
        json_array_foreach(list, k, e) {
            const char *h = json_string_value(json_object_get(e, "hostname"));
            if (h && strcmp(h, name) == 0)
                return e;
        }
    }
    return NULL;
}

static void copy_number(json_t *o, const char *key, json_t *from, const char *field)
{
    json_t *v = json_object_get(from, field);
    json_object_set_new(o, key, json_is_number(v) ? json_incref(v) : json_integer(0));
}

json_t *inventory_export_json(const inventory_t *inv)
{
    json_t *nodes = json_array();
    for (size_t i = 0; i < inv->n; i++) {
        const inv_node_t *n = &inv->nodes[i];
        json_t *docker = check_values(n, "docker"), *disk = check_values(n, "disk"),
               *host = check_values(n, "host");
        json_t *swarm = swarm_view_of(inv, n->name);
        json_t *labels = json_object_get(swarm, "labels");
        if (!json_is_object(labels))
            labels = json_object_get(docker, "labels");
        const char *role = json_string_value(json_object_get(swarm, "role"));
        if (!role)
            role = json_string_value(json_object_get(docker, "role"));
        const char *disk_st = check_status_of(n, "disk");
        /* healthy: up, and its data disk passes (eligibility itself is the
         * planner's call from the numbers below) */
        json_t *o = json_pack("{s:s, s:s, s:b, s:b}", "hostname", n->name, "dc",
                              n->dc[0] ? n->dc : "default", "manager",
                              role && strcmp(role, "manager") == 0, "healthy",
                              n->up && disk_st && strcmp(disk_st, "fail") != 0);
        json_t *v;
        if ((v = json_object_get(host, "ssd")) && json_is_boolean(v))
            json_object_set(o, "ssd", v);
        if ((v = json_object_get(host, "cpus")) && json_is_integer(v))
            json_object_set(o, "cpus", v);
        if ((v = json_object_get(host, "mem_gb")) && json_is_number(v))
            json_object_set(o, "mem_gb", v);
        /* unknown disk facts make a node ineligible, never a malformed inventory */
        copy_number(o, "datadir_gb", disk, "datadir_gb");
        copy_number(o, "root_free_gb", disk, "root_free_gb");
        v = json_object_get(disk, "datadir_separate");
        json_object_set_new(o, "datadir_separate", json_boolean(json_is_true(v)));
        if (n->address[0])
            json_object_set_new(o, "addr", json_string(n->address));
        json_object_set_new(o, "labels", json_is_object(labels) ? json_deep_copy(labels)
                                                                 : json_object());
        json_array_append_new(nodes, o);
    }
    return json_pack("{s:o}", "nodes", nodes);
}
