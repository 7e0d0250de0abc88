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

static const yconf_field_t ctrl_fields[] = {
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
    free((*self_p)->path);
    free(*self_p);
    *self_p = NULL;
}
