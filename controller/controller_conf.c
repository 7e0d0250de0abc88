/* The controller's YAML config. */
#include "controller_conf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfyaml.h>

#include "yconf.h"

#define OFF(f) offsetof(controller_conf_t, f)

static int parse_probe_ports(struct fy_node *node, void *base, const char *path, const char *where,
                             qr_err_t *err)
{
    controller_conf_t *c = base;
    if (!fy_node_is_sequence(node))
        return qr_err_set(err, QR_EPARSE, "%s: expected a list of port numbers", where);
    c->n_probe_ports = 0;
    void *iter = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &iter)) != NULL) {
        char at[512], iw[600];
        yconf_where(item, path, at, sizeof at);
        snprintf(iw, sizeof iw, "%s: probe_ports", at);
        where = iw;
        long long v;
        if (c->n_probe_ports >= 32)
            return qr_err_set(err, QR_ERANGE, "%s: at most 32 ports", where);
        int rc = yconf_scalar_int(item, where, 1, 65535, &v, err);
        if (rc)
            return rc;
        c->probe_ports[c->n_probe_ports++] = (int)v;
    }
    return 0;
}

static int parse_peers(struct fy_node *node, void *base, const char *path, const char *where,
                       qr_err_t *err)
{
    controller_conf_t *c = base;
    if (!fy_node_is_sequence(node))
        return qr_err_set(err, QR_EPARSE,
                          "%s: expected a list of {id, name, endpoint, operators_endpoint, "
                          "public_key}",
                          where);
    void *iter = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &iter)) != NULL) {
        char iw[600];
        yconf_where(item, path, iw, sizeof iw);
        if (c->n_peers >= CONTROLLER_MAX_PEERS)
            return qr_err_set(err, QR_ERANGE, "%s: at most %d peers", iw, CONTROLLER_MAX_PEERS);
        if (!fy_node_is_mapping(item))
            return qr_err_set(err, QR_EPARSE, "%s: each peer is a mapping", iw);
        controller_peer_t *p = &c->peers[c->n_peers++];
        struct {
            const char *key;
            char **dst;
        } strs[] = {{"name", &p->name},
                    {"endpoint", &p->endpoint},
                    {"operators_endpoint", &p->operators_endpoint},
                    {"public_key", &p->public_key}};
        for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
            struct fy_node *v = fy_node_mapping_lookup_by_string(item, strs[k].key, FY_NT);
            if (!v)
                continue;
            int rc = yconf_scalar_str(v, iw, strs[k].dst, err);
            if (rc)
                return rc;
        }
        struct fy_node *idn = fy_node_mapping_lookup_by_string(item, "id", FY_NT);
        long long id;
        if (!idn)
            return qr_err_set(err, QR_EPARSE, "%s: peer without id", iw);
        int rc = yconf_scalar_int(idn, iw, 1, 255, &id, err);
        if (rc)
            return rc;
        p->id = (int)id;
        if (!p->endpoint)
            return qr_err_set(err, QR_EPARSE, "%s: peer %d without endpoint", iw, p->id);
        if (p->public_key && strlen(p->public_key) != 40)
            return qr_err_set(err, QR_EPARSE, "%s: public_key must be 40 Z85 characters", iw);
        if (!p->name)
            p->name = strdup(p->endpoint);
    }
    return 0;
}

static const yconf_field_t ctrl_fields[] = {
    {"election_id", YCONF_INT, OFF(election_id), 1, 255, NULL},
    {"peers_endpoint", YCONF_STR, OFF(peers_endpoint), 0, 0, NULL},
    {"controller_keys", YCONF_STR, OFF(controller_keys), 0, 0, NULL},
    {"peers", YCONF_CUSTOM, 0, 0, 0, parse_peers},
    {"heartbeat_ms", YCONF_INT, OFF(heartbeat_ms), 10, 60000, NULL},
    {"election_min_ms", YCONF_INT, OFF(election_min_ms), 50, 600000, NULL},
    {"election_max_ms", YCONF_INT, OFF(election_max_ms), 50, 600000, NULL},
    {"id", YCONF_STR, OFF(id), 0, 0, NULL},
    {"dc", YCONF_STR, OFF(dc), 0, 0, NULL},
    {"agents_endpoint", YCONF_STR, OFF(agents_endpoint), 0, 0, NULL},
    {"operators_endpoint", YCONF_STR, OFF(operators_endpoint), 0, 0, NULL},
    {"curve", YCONF_BOOL, OFF(curve), 0, 0, NULL},
    {"cert", YCONF_STR, OFF(cert), 0, 0, NULL},
    {"agent_keys", YCONF_STR, OFF(agent_keys), 0, 0, NULL},
    {"operator_keys", YCONF_STR, OFF(operator_keys), 0, 0, NULL},
    {"state_dir", YCONF_STR, OFF(state_dir), 0, 0, NULL},
    {"down_after_ms", YCONF_INT, OFF(down_after_ms), 100, 3600000, NULL},
    {"tick_ms", YCONF_INT, OFF(tick_ms), 10, 60000, NULL},
    {"ping_interval_ms", YCONF_INT, OFF(ping_interval_ms), 100, 3600000, NULL},
    {"skew_warn_ms", YCONF_DOUBLE, OFF(skew_warn_ms), 0, 1e9, NULL},
    {"skew_fail_ms", YCONF_DOUBLE, OFF(skew_fail_ms), 0, 1e9, NULL},
    {"max_nodes", YCONF_INT, OFF(max_nodes), 1, 100000, NULL},
    {"max_frame", YCONF_INT, OFF(max_frame), 1024, 64 * 1024 * 1024, NULL},
    {"alerts_config", YCONF_STR, OFF(alerts_config), 0, 0, NULL},
    {"probe_interval_ms", YCONF_INT, OFF(probe_interval_ms), 100, 86400000, NULL},
    {"probe_timeout_ms", YCONF_INT, OFF(probe_timeout_ms), 10, 60000, NULL},
    {"probe_ports", YCONF_CUSTOM, 0, 0, 0, parse_probe_ports},
};
#define N_FIELDS (sizeof ctrl_fields / sizeof ctrl_fields[0])

controller_conf_t *controller_conf_defaults(void)
{
    controller_conf_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    char host[256] = "controller";
    gethostname(host, sizeof host - 1);
    c->id = strdup(host);
    c->dc = strdup("default");
    c->agents_endpoint = strdup("tcp://0.0.0.0:7700");
    c->operators_endpoint = strdup("tcp://127.0.0.1:7701");
    c->curve = true;
    c->state_dir = strdup("/var/lib/quorate");
    c->down_after_ms = 2500;
    c->tick_ms = 250;
    c->ping_interval_ms = 2000;
    c->skew_warn_ms = 100;
    c->skew_fail_ms = 500;
    c->max_nodes = 1000;
    c->max_frame = 1024 * 1024;
    c->probe_interval_ms = 30000;
    c->election_id = 1;
    c->peers_endpoint = strdup("tcp://127.0.0.1:7702");
    c->heartbeat_ms = 100;
    c->election_min_ms = 500;
    c->election_max_ms = 1000;
    c->probe_timeout_ms = 1000;
    static const int ports[] = {2377, 7946, 27017, 3031, 9000, 22};
    c->n_probe_ports = sizeof ports / sizeof ports[0];
    memcpy(c->probe_ports, ports, sizeof ports);
    if (!c->id || !c->dc || !c->agents_endpoint || !c->operators_endpoint || !c->state_dir)
        controller_conf_destroy(&c);
    return c;
}

int controller_conf_load(const char *path, controller_conf_t **out, qr_err_t *err)
{
    controller_conf_t *c = controller_conf_defaults();
    if (!c)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    int lines[N_FIELDS];
    int rc = yconf_load_lines(path, ctrl_fields, N_FIELDS, c, lines, err);
#define LINE(k) yconf_line_of(ctrl_fields, N_FIELDS, lines, k)
    if (rc == 0 && c->curve && (!c->cert || !c->agent_keys || !c->operator_keys))
        rc = LINE("curve")
                 ? qr_err_set(err, QR_EPARSE,
                              "%s:%d: curve is on: cert, agent_keys and operator_keys are "
                              "required",
                              path, LINE("curve"))
                 : qr_err_set(err, QR_EPARSE,
                              "%s: curve is on (the default): cert, agent_keys and "
                              "operator_keys are required",
                              path);
    if (rc == 0 && c->skew_warn_ms > c->skew_fail_ms)
        rc = qr_err_set(err, QR_ERANGE, "%s:%d: skew_warn_ms is above skew_fail_ms", path,
                        LINE("skew_warn_ms") ? LINE("skew_warn_ms") : LINE("skew_fail_ms"));
    if (rc == 0 && c->election_min_ms > c->election_max_ms)
        rc = qr_err_set(err, QR_ERANGE, "%s:%d: election_min_ms is above election_max_ms", path,
                        LINE("election_min_ms") ? LINE("election_min_ms") : LINE("election_max_ms"));
    if (rc == 0 && c->heartbeat_ms * 2 > c->election_min_ms)
        rc = qr_err_set(err, QR_ERANGE,
                        "%s:%d: heartbeat_ms must be at most half of election_min_ms", path,
                        LINE("heartbeat_ms") ? LINE("heartbeat_ms") : LINE("election_min_ms"));
    for (size_t i = 0; rc == 0 && i < c->n_peers; i++) {
        if (c->peers[i].id == c->election_id)
            rc = qr_err_set(err, QR_EPARSE, "%s:%d: peer %d has this controller's election_id",
                            path, LINE("peers"), c->peers[i].id);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (c->peers[k].id == c->peers[i].id)
                rc = qr_err_set(err, QR_EPARSE, "%s:%d: two peers with id %d", path,
                                LINE("peers"), c->peers[i].id);
        if (rc == 0 && c->curve && !c->peers[i].public_key)
            rc = qr_err_set(err, QR_EPARSE, "%s:%d: peer %d has no public_key (curve is on)",
                            path, LINE("peers"), c->peers[i].id);
    }
    if (rc == 0 && c->curve && c->n_peers > 0 && !c->controller_keys)
        rc = qr_err_set(err, QR_EPARSE, "%s:%d: peers need controller_keys (the allowlist of "
                                        "the other controllers' public keys)",
                        path, LINE("peers"));
#undef LINE
    if (rc == 0 && !(c->path = strdup(path)))
        rc = qr_err_set(err, QR_ENOMEM, "out of memory");
    if (rc) {
        controller_conf_destroy(&c);
        return rc;
    }
    *out = c;
    return 0;
}

void controller_conf_destroy(controller_conf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    yconf_free(ctrl_fields, N_FIELDS, *self_p);
    for (size_t i = 0; i < (*self_p)->n_peers; i++) {
        controller_peer_t *p = &(*self_p)->peers[i];
        free(p->name), free(p->endpoint), free(p->operators_endpoint), free(p->public_key);
    }
    free((*self_p)->path);
    free(*self_p);
    *self_p = NULL;
}
