/* Inventory JSON -> planner_inventory_t with an error naming the offending
 * field, and planner_plan_t -> the contract's plan JSON. */
#include "planner_json.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How one node field is read: required or with a default. */
typedef enum { F_STRING, F_BOOL, F_NUMBER } ftype_t;

static const char *type_name(ftype_t t)
{
    return t == F_STRING ? "a string" : t == F_BOOL ? "true or false" : "a number";
}

/* Looks up key in obj. Returns 1 found (json in *v), 0 absent or null when
 * optional, or QR_EINVAL with the field named. */
static int field(const json_t *obj, size_t idx, const char *key, ftype_t t, bool required,
                 json_t **v, qr_err_t *err)
{
    json_t *x = json_object_get(obj, key);
    if (!x || (json_is_null(x) && !required)) {
        if (required)
            return qr_err_set(err, QR_EINVAL, "nodes[%zu].%s: missing (expected %s)", idx, key,
                              type_name(t));
        return 0;
    }
    bool ok = t == F_STRING ? json_is_string(x)
              : t == F_BOOL ? json_is_boolean(x)
                            : json_is_number(x);
    if (!ok)
        return qr_err_set(err, QR_EINVAL, "nodes[%zu].%s: expected %s", idx, key, type_name(t));
    *v = x;
    return 1;
}

static int get_string(const json_t *o, size_t i, const char *key, bool req, const char **out,
                      qr_err_t *err)
{
    json_t *v = NULL;
    int rc = field(o, i, key, F_STRING, req, &v, err);
    if (rc == 1)
        *out = json_string_value(v);
    return rc < 0 ? rc : 0;
}

static int get_bool(const json_t *o, size_t i, const char *key, bool req, bool *out, qr_err_t *err)
{
    json_t *v = NULL;
    int rc = field(o, i, key, F_BOOL, req, &v, err);
    if (rc == 1)
        *out = json_is_true(v);
    return rc < 0 ? rc : 0;
}

static int get_number(const json_t *o, size_t i, const char *key, bool req, double *out,
                      qr_err_t *err)
{
    json_t *v = NULL;
    int rc = field(o, i, key, F_NUMBER, req, &v, err);
    if (rc == 1)
        *out = json_number_value(v);
    return rc < 0 ? rc : 0;
}

static int parse_labels(const json_t *o, size_t i, planner_label_t **labels, size_t *n,
                        qr_err_t *err)
{
    json_t *l = json_object_get(o, "labels");
    *labels = NULL;
    *n = 0;
    if (!l || json_is_null(l))
        return 0;
    if (!json_is_object(l))
        return qr_err_set(err, QR_EINVAL, "nodes[%zu].labels: expected an object", i);
    size_t cnt = json_object_size(l);
    if (!cnt)
        return 0;
    *labels = calloc(cnt, sizeof **labels);
    if (!*labels)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)l, key, val)
    {
        if (!json_is_string(val))
            return qr_err_set(err, QR_EINVAL,
                              "nodes[%zu].labels.%s: expected a string (swarm labels are "
                              "strings: \"true\", \"1\")",
                              i, key);
        (*labels)[(*n)++] = (planner_label_t){key, json_string_value(val)};
    }
    return 0;
}

static int parse_node(const json_t *o, size_t i, planner_inventory_t *inv, qr_err_t *err)
{
    if (!json_is_object(o))
        return qr_err_set(err, QR_EINVAL, "nodes[%zu]: expected an object", i);
    planner_node_t n = {0};
    int rc;
    if ((rc = get_string(o, i, "hostname", true, &n.hostname, err)) ||
        (rc = get_string(o, i, "dc", true, &n.dc, err)) ||
        (rc = get_bool(o, i, "healthy", true, &n.healthy, err)) ||
        (rc = get_number(o, i, "datadir_gb", true, &n.datadir_gb, err)) ||
        (rc = get_bool(o, i, "datadir_separate", true, &n.datadir_separate, err)) ||
        (rc = get_number(o, i, "root_free_gb", true, &n.root_free_gb, err)) ||
        (rc = get_bool(o, i, "manager", false, &n.manager, err)) ||
        (rc = get_bool(o, i, "ssd", false, &n.ssd, err)) ||
        (rc = get_number(o, i, "cpus", false, &n.cpus, err)) ||
        (rc = get_number(o, i, "mem_gb", false, &n.mem_gb, err)) ||
        (rc = get_string(o, i, "addr", false, &n.addr, err)))
        return rc;
    planner_label_t *labels = NULL;
    if ((rc = parse_labels(o, i, &labels, &n.nlabels, err))) {
        free(labels);
        return rc;
    }
    n.labels = labels;
    rc = planner_inventory_add_node(inv, &n, err);
    free(labels);
    return rc;
}

/* The host part of S3_ENDPOINT, by libcurl's URL parser. */
static int s3_host(const char *endpoint, char **host, qr_err_t *err)
{
    CURLU *u = curl_url();
    if (!u)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    int rc = 0;
    if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
        rc = qr_err_set(err, QR_EINVAL, "s3_endpoint: \"%s\" is not a URL", endpoint);
    curl_url_cleanup(u);
    /* an IPv6 host comes back bracketed; inventories carry it bare */
    if (!rc && (*host)[0] == '[') {
        size_t len = strlen(*host);
        memmove(*host, *host + 1, len - 1);
        (*host)[len - 2] = '\0';
    }
    return rc;
}

static int parse_top(const json_t *root, planner_inventory_t *inv, qr_err_t *err)
{
    if (!json_is_object(root))
        return qr_err_set(err, QR_EINVAL, "top level: expected an object with \"nodes\"");
    json_t *nodes = json_object_get(root, "nodes");
    if (!nodes)
        return qr_err_set(err, QR_EINVAL, "nodes: missing (expected an array of nodes)");
    if (!json_is_array(nodes))
        return qr_err_set(err, QR_EINVAL, "nodes: expected an array");
    json_t *dcs = json_object_get(root, "dcs");
    if (dcs && !json_is_null(dcs)) {
        if (!json_is_array(dcs))
            return qr_err_set(err, QR_EINVAL, "dcs: expected an array of data centre names");
        size_t k;
        json_t *d;
        json_array_foreach(dcs, k, d)
        {
            if (!json_is_string(d))
                return qr_err_set(err, QR_EINVAL, "dcs[%zu]: expected a string", k);
            int rc = planner_inventory_add_dc(inv, json_string_value(d), err);
            if (rc)
                return rc;
        }
    }
    json_t *s3 = json_object_get(root, "s3_endpoint");
    if (s3 && !json_is_null(s3)) {
        if (!json_is_string(s3))
            return qr_err_set(err, QR_EINVAL, "s3_endpoint: expected a string");
        char *host = NULL;
        int rc = s3_host(json_string_value(s3), &host, err);
        if (!rc)
            rc = planner_inventory_set_s3(inv, json_string_value(s3), host, err);
        curl_free(host);
        if (rc)
            return rc;
    }
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        int rc = parse_node(n, i, inv, err);
        if (rc)
            return rc;
    }
    return planner_inventory_validate(inv, err);
}

int planner_json_inventory(const json_t *root, planner_inventory_t **out, qr_err_t *err)
{
    *out = NULL;
    planner_inventory_t *inv = planner_inventory_new();
    if (!inv)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    int rc = parse_top(root, inv, err);
    if (rc) {
        planner_inventory_destroy(&inv);
        return rc;
    }
    *out = inv;
    return 0;
}

int planner_json_parse(const char *text, size_t len, planner_inventory_t **out, qr_err_t *err)
{
    *out = NULL;
    json_error_t je;
    /* duplicate keys would silently drop a node's field or label */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return qr_err_set(err, QR_EPARSE, "line %d column %d: malformed JSON: %s", je.line,
                          je.column, je.text);
    int rc = planner_json_inventory(root, out, err);
    json_decref(root);
    return rc;
}

/* json_object_set_new / json_array_append_new that remember a failure, so
 * building stays linear and one check at the end catches ENOMEM. */
typedef struct {
    bool fail;
} jb_t;

static void oset(jb_t *b, json_t *o, const char *k, json_t *v)
{
    if (!v || !o || json_object_set_new(o, k, v))
        b->fail = true;
}

static void apush(jb_t *b, json_t *a, json_t *v)
{
    if (!v || !a || json_array_append_new(a, v))
        b->fail = true;
}

static json_t *strv_json(jb_t *b, const planner_strv_t *v)
{
    json_t *a = json_array();
    for (size_t k = 0; k < v->n; k++)
        apush(b, a, json_string(v->v[k]));
    if (!a)
        b->fail = true;
    return a;
}

static json_t *labels_json(jb_t *b, const planner_label_t *l, size_t n)
{
    json_t *o = json_object();
    for (size_t k = 0; k < n; k++)
        oset(b, o, l[k].key, json_string(l[k].value));
    if (!o)
        b->fail = true;
    return o;
}

json_t *planner_json_dump_inventory(const planner_inventory_t *inv)
{
    jb_t b = {false};
    json_t *root = json_object(), *nodes = json_array();
    for (size_t i = 0; i < inv->nnodes; i++) {
        const planner_node_t *n = &inv->nodes[i];
        json_t *o = json_object();
        oset(&b, o, "hostname", json_string(n->hostname));
        oset(&b, o, "dc", json_string(n->dc));
        if (n->addr)
            oset(&b, o, "addr", json_string(n->addr));
        oset(&b, o, "manager", json_boolean(n->manager));
        oset(&b, o, "healthy", json_boolean(n->healthy));
        oset(&b, o, "ssd", json_boolean(n->ssd));
        oset(&b, o, "cpus", json_real(n->cpus));
        oset(&b, o, "mem_gb", json_real(n->mem_gb));
        oset(&b, o, "datadir_gb", json_real(n->datadir_gb));
        oset(&b, o, "datadir_separate", json_boolean(n->datadir_separate));
        oset(&b, o, "root_free_gb", json_real(n->root_free_gb));
        oset(&b, o, "labels", labels_json(&b, n->labels, n->nlabels));
        apush(&b, nodes, o);
    }
    oset(&b, root, "nodes", nodes);
    if (inv->ndcs) {
        json_t *d = json_array();
        for (size_t k = 0; k < inv->ndcs; k++)
            apush(&b, d, json_string(inv->dcs[k]));
        oset(&b, root, "dcs", d);
    }
    if (inv->s3_endpoint)
        oset(&b, root, "s3_endpoint", json_string(inv->s3_endpoint));
    if (b.fail) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static json_t *surv_json(jb_t *b, const planner_surv_t *s)
{
    json_t *o = json_object();
    oset(b, o, "lose", json_string(s->lose));
    oset(b, o, "mongo_voters", json_integer(s->mongo_voters));
    oset(b, o, "mongo_voters_left", json_integer(s->mongo_voters_left));
    oset(b, o, "mongo_majority", json_boolean(s->mongo_majority));
    oset(b, o, "needs_forced_recovery", json_boolean(s->needs_forced_recovery));
    oset(b, o, "workers_left", json_integer(s->workers_left));
    oset(b, o, "minio_left", json_integer(s->minio_left));
    oset(b, o, "swarm_managers", json_integer(s->swarm_managers));
    oset(b, o, "swarm_managers_left", json_integer(s->swarm_managers_left));
    oset(b, o, "swarm_quorum", json_boolean(s->swarm_quorum));
    oset(b, o, "steps", strv_json(b, &s->steps));
    return o;
}

json_t *planner_json_plan(const planner_plan_t *p)
{
    jb_t b = {false};
    json_t *root = json_object();
    oset(&b, root, "ok", json_boolean(p->ok));
    json_t *members = json_array();
    for (size_t k = 0; k < p->nmembers; k++) {
        const planner_member_t *m = &p->members[k];
        json_t *o = json_object(), *tags = json_object();
        oset(&b, o, "node", json_string(m->node));
        oset(&b, o, "replica", json_integer(m->replica));
        oset(&b, o, "dc", json_string(m->dc));
        oset(&b, o, "votes", json_integer(m->votes));
        oset(&b, o, "priority", json_integer(m->priority));
        oset(&b, tags, "dc", json_string(m->dc));
        oset(&b, o, "tags", tags);
        apush(&b, members, o);
    }
    oset(&b, root, "members", members);
    json_t *changes = json_object();
    for (size_t k = 0; k < p->nchanges; k++) {
        const planner_change_t *ch = &p->changes[k];
        json_t *o = json_object(), *rm = json_array();
        oset(&b, o, "add", labels_json(&b, ch->add, ch->nadd));
        for (size_t r = 0; r < ch->nremove; r++)
            apush(&b, rm, json_string(ch->remove[r]));
        oset(&b, o, "remove", rm);
        oset(&b, changes, ch->node, o);
    }
    oset(&b, root, "changes", changes);
    json_t *fin = json_object();
    for (size_t k = 0; k < p->nfinal; k++)
        oset(&b, fin, p->final_labels[k].node,
             labels_json(&b, p->final_labels[k].labels, p->final_labels[k].nlabels));
    oset(&b, root, "final_labels", fin);
    oset(&b, root, "commands", strv_json(&b, &p->commands));
    json_t *surv = json_array();
    for (size_t k = 0; k < p->nsurv; k++)
        apush(&b, surv, surv_json(&b, &p->surv[k]));
    oset(&b, root, "survivability", surv);
    oset(&b, root, "warnings", strv_json(&b, &p->warnings));
    oset(&b, root, "errors", strv_json(&b, &p->errors));
    oset(&b, root, "target_members", json_integer(p->target_members));
    oset(&b, root, "majority_dc", p->majority_dc ? json_string(p->majority_dc) : json_null());
    if (p->rehearsal)
        oset(&b, root, "rehearsal", surv_json(&b, p->rehearsal));
    if (p->decommission_node) {
        json_t *o = json_object();
        oset(&b, o, "node", json_string(p->decommission_node));
        oset(&b, o, "manager", json_boolean(p->decommission_manager));
        oset(&b, o, "steps", strv_json(&b, &p->decommission_steps));
        oset(&b, root, "decommission", o);
    }
    if (b.fail) {
        json_decref(root);
        return NULL;
    }
    return root;
}
