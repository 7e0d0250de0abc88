/* The agent's YAML config: defaults, the table of settings, validation. */
#include "agent_conf.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yconf.h"

#define OFF(f) offsetof(agent_conf_t, f)

static int parse_controllers(struct fy_node *node, void *base, const char *path, const char *where,
                             qr_err_t *err);
static int parse_checks(struct fy_node *node, void *base, const char *path, const char *where,
                        qr_err_t *err);
static int parse_tcp_ports(struct fy_node *node, void *base, const char *path, const char *where,
                           qr_err_t *err);
static int parse_udp_ports(struct fy_node *node, void *base, const char *path, const char *where,
                           qr_err_t *err);

static const yconf_field_t agent_fields[] = {
    {"node", YCONF_STR, OFF(node), 0, 0, NULL},
    {"dc", YCONF_STR, OFF(dc), 0, 0, NULL},
    {"address", YCONF_STR, OFF(address), 0, 0, NULL},
    {"interval_ms", YCONF_INT, OFF(interval_ms), 10, 3600000, NULL},
    {"heartbeat_ms", YCONF_INT, OFF(heartbeat_ms), 50, 60000, NULL},
    {"probe_timeout_ms", YCONF_INT, OFF(probe_timeout_ms), 100, 600000, NULL},
    {"queue_max", YCONF_INT, OFF(queue_max), 1, 100000, NULL},
    {"curve", YCONF_BOOL, OFF(curve), 0, 0, NULL},
    {"cert", YCONF_STR, OFF(cert), 0, 0, NULL},
    {"state_dir", YCONF_STR, OFF(state_dir), 0, 0, NULL},
    {"controllers", YCONF_CUSTOM, 0, 0, 0, parse_controllers},
    {"checks", YCONF_CUSTOM, 0, 0, 0, parse_checks},
    {"datadir", YCONF_STR, OFF(datadir), 0, 0, NULL},
    {"rootdir", YCONF_STR, OFF(rootdir), 0, 0, NULL},
    {"datadir_min_gb", YCONF_DOUBLE, OFF(datadir_min_gb), 0, 1e9, NULL},
    {"root_free_min_gb", YCONF_DOUBLE, OFF(root_free_min_gb), 0, 1e9, NULL},
    {"install_user", YCONF_STR, OFF(install_user), 0, 0, NULL},
    {"docker_socket", YCONF_STR, OFF(docker_socket), 0, 0, NULL},
    {"docker_timeout_ms", YCONF_INT, OFF(docker_timeout_ms), 10, 600000, NULL},
    {"ntp_warn_ms", YCONF_DOUBLE, OFF(ntp_warn_ms), 0, 1e9, NULL},
    {"ntp_fail_ms", YCONF_DOUBLE, OFF(ntp_fail_ms), 0, 1e9, NULL},
    {"tcp_ports", YCONF_CUSTOM, 0, 0, 0, parse_tcp_ports},
    {"udp_ports", YCONF_CUSTOM, 0, 0, 0, parse_udp_ports},
    {"mongo_uri", YCONF_STR, OFF(mongo_uri), 0, 0, NULL},
    {"mongo_tls", YCONF_BOOL, OFF(mongo_tls), 0, 0, NULL},
    {"mongo_tls_ca_file", YCONF_STR, OFF(mongo_tls_ca_file), 0, 0, NULL},
    {"mongo_tls_allow_invalid_hostnames", YCONF_BOOL, OFF(mongo_tls_allow_invalid_hostnames), 0, 0,
     NULL},
    {"mongo_timeout_ms", YCONF_INT, OFF(mongo_timeout_ms), 10, 600000, NULL},
    {"web_url", YCONF_STR, OFF(web_url), 0, 0, NULL},
    {"web_tls_verify", YCONF_BOOL, OFF(web_tls_verify), 0, 0, NULL},
    {"web_ca_file", YCONF_STR, OFF(web_ca_file), 0, 0, NULL},
    {"web_timeout_ms", YCONF_INT, OFF(web_timeout_ms), 10, 600000, NULL},
    {"env_file", YCONF_STR, OFF(env_file), 0, 0, NULL},
    {"test_clock_offset_ms", YCONF_I64, OFF(test_clock_offset_ms), -86400000.0, 86400000.0, NULL},
};
#define N_FIELDS (sizeof agent_fields / sizeof agent_fields[0])

/* "file:line: key" for one item of a list: the line of that item. */
static void item_where(struct fy_node *item, const char *path, const char *key, char *buf,
                       size_t len)
{
    char at[512];
    yconf_where(item, path, at, sizeof at);
    snprintf(buf, len, "%s: %s", at, key);
}

static char *dupstr(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return d;
}

agent_conf_t *agent_conf_defaults(void)
{
    agent_conf_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    c->node = dupstr(host);
    c->dc = dupstr("default");
    c->interval_ms = 5000;
    c->heartbeat_ms = 500;
    c->probe_timeout_ms = 4000;
    c->queue_max = 64;
    c->curve = true;
    c->state_dir = dupstr("/var/lib/quorate");
    c->check_docker = c->check_disk = c->check_ntp = c->check_ports = c->check_mongod =
        c->check_web = c->check_envfile = c->check_host = true;
    c->datadir = dupstr("/datadir");
    c->rootdir = dupstr("/");
    c->datadir_min_gb = 50;
    c->root_free_min_gb = 50;
    c->docker_socket = dupstr("/var/run/docker.sock");
    c->docker_timeout_ms = 2000;
    c->ntp_warn_ms = 100;
    c->ntp_fail_ms = 500;
    static const int tcp[] = {2377, 7946, 27017, 3031, 9000, 32646, 22};
    static const int udp[] = {7946, 4789};
    c->n_tcp_ports = sizeof tcp / sizeof tcp[0];
    memcpy(c->tcp_ports, tcp, sizeof tcp);
    c->n_udp_ports = sizeof udp / sizeof udp[0];
    memcpy(c->udp_ports, udp, sizeof udp);
    c->mongo_uri = dupstr("mongodb://127.0.0.1:27017/?directConnection=true");
    c->mongo_timeout_ms = 2000;
    c->web_url = dupstr("https://127.0.0.1:3031/login");
    c->web_timeout_ms = 2000;
    c->env_file = dupstr("/opt/tango/tango.env");
    return c;
}

static int parse_controllers(struct fy_node *node, void *base, const char *path, const char *where,
                             qr_err_t *err)
{
    agent_conf_t *c = base;
    if (!fy_node_is_sequence(node))
        return qr_err_set(err, QR_EPARSE, "%s: expected a list of {endpoint: ..., public_key: ...}",
                          where);
    void *iter = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &iter)) != NULL) {
        char iw[600];
        item_where(item, path, "controllers", iw, sizeof iw);
        where = iw;
        if (c->n_controllers >= AGENT_MAX_CONTROLLERS)
            return qr_err_set(err, QR_ERANGE, "%s: at most %d controllers", where,
                              AGENT_MAX_CONTROLLERS);
        if (!fy_node_is_mapping(item))
            return qr_err_set(err, QR_EPARSE, "%s: each controller is {endpoint, public_key}",
                              where);
        agent_controller_t *ctl = &c->controllers[c->n_controllers++];
        struct fy_node *ep = fy_node_mapping_lookup_by_string(item, "endpoint", FY_NT);
        struct fy_node *pk = fy_node_mapping_lookup_by_string(item, "public_key", FY_NT);
        if (!ep)
            return qr_err_set(err, QR_EPARSE, "%s: controller without endpoint", where);
        int rc = yconf_scalar_str(ep, where, &ctl->endpoint, err);
        if (rc == 0 && pk)
            rc = yconf_scalar_str(pk, where, &ctl->public_key, err);
        if (rc)
            return rc;
        if (ctl->public_key && strlen(ctl->public_key) != 40)
            return qr_err_set(err, QR_EPARSE, "%s: public_key must be 40 Z85 characters", where);
    }
    return 0;
}

static int parse_checks(struct fy_node *node, void *base, const char *path, const char *where,
                        qr_err_t *err)
{
    agent_conf_t *c = base;
    if (!fy_node_is_sequence(node))
        return qr_err_set(err, QR_EPARSE, "%s: expected a list of check names", where);
    struct {
        const char *name;
        bool *flag;
    } map[] = {{"docker", &c->check_docker},   {"disk", &c->check_disk},     {"ntp", &c->check_ntp},
               {"ports", &c->check_ports},     {"mongod", &c->check_mongod}, {"web", &c->check_web},
               {"envfile", &c->check_envfile}, {"host", &c->check_host}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        *map[i].flag = false;
    void *iter = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &iter)) != NULL) {
        char iw[600];
        item_where(item, path, "checks", iw, sizeof iw);
        where = iw;
        size_t len = 0;
        const char *s = fy_node_is_scalar(item) ? fy_node_get_scalar(item, &len) : NULL;
        size_t i;
        for (i = 0; s && i < sizeof map / sizeof map[0]; i++)
            if (strlen(map[i].name) == len && memcmp(map[i].name, s, len) == 0)
                break;
        if (!s || i == sizeof map / sizeof map[0])
            return qr_err_set(err, QR_EPARSE,
                              "%s: unknown check '%.*s' (docker, disk, ntp, ports, mongod, web, "
                              "envfile, host)",
                              where, s ? (int)len : 1, s ? s : "?");
        *map[i].flag = true;
    }
    return 0;
}

static int parse_ports(struct fy_node *node, const char *path, const char *key, const char *where,
                       int *ports, size_t *n, qr_err_t *err)
{
    if (!fy_node_is_sequence(node))
        return qr_err_set(err, QR_EPARSE, "%s: expected a list of port numbers", where);
    *n = 0;
    void *iter = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &iter)) != NULL) {
        char iw[600];
        item_where(item, path, key, iw, sizeof iw);
        where = iw;
        long long v;
        if (*n >= AGENT_MAX_PORTS)
            return qr_err_set(err, QR_ERANGE, "%s: at most %d ports", where, AGENT_MAX_PORTS);
        int rc = yconf_scalar_int(item, where, 1, 65535, &v, err);
        if (rc)
            return rc;
        ports[(*n)++] = (int)v;
    }
    return 0;
}

static int parse_tcp_ports(struct fy_node *node, void *base, const char *path, const char *where,
                           qr_err_t *err)
{
    agent_conf_t *c = base;
    return parse_ports(node, path, "tcp_ports", where, c->tcp_ports, &c->n_tcp_ports, err);
}

static int parse_udp_ports(struct fy_node *node, void *base, const char *path, const char *where,
                           qr_err_t *err)
{
    agent_conf_t *c = base;
    return parse_ports(node, path, "udp_ports", where, c->udp_ports, &c->n_udp_ports, err);
}

int agent_conf_load(const char *path, agent_conf_t **out, qr_err_t *err)
{
    agent_conf_t *c = agent_conf_defaults();
    if (!c)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    int lines[N_FIELDS];
    int rc = yconf_load_lines(path, agent_fields, N_FIELDS, c, lines, err);
#define LINE(k) yconf_line_of(agent_fields, N_FIELDS, lines, k)
    if (rc == 0 && c->ntp_warn_ms > c->ntp_fail_ms) {
        int l = LINE("ntp_warn_ms") ? LINE("ntp_warn_ms") : LINE("ntp_fail_ms");
        rc = qr_err_set(err, QR_ERANGE, "%s:%d: ntp_warn_ms (%g) is above ntp_fail_ms (%g)", path,
                        l, c->ntp_warn_ms, c->ntp_fail_ms);
    }
    if (rc == 0 && c->curve && c->n_controllers > 0 && !c->cert)
        rc = qr_err_set(err, QR_EPARSE,
                        "%s:%d: curve is on but no cert is set (generate one with 'quoratectl "
                        "keygen NAME')",
                        path, LINE("curve") ? LINE("curve") : LINE("controllers"));
    for (size_t i = 0; rc == 0 && i < c->n_controllers; i++)
        if (c->curve && !c->controllers[i].public_key)
            rc = qr_err_set(err, QR_EPARSE, "%s:%d: controller %s has no public_key (curve is on)",
                            path, LINE("controllers"), c->controllers[i].endpoint);
#undef LINE
    if (rc) {
        agent_conf_destroy(&c);
        return rc;
    }
    c->path = dupstr(path);
    *out = c;
    return 0;
}

void agent_conf_destroy(agent_conf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_conf_t *c = *self_p;
    yconf_free(agent_fields, N_FIELDS, c);
    for (size_t i = 0; i < c->n_controllers; i++) {
        free(c->controllers[i].endpoint);
        free(c->controllers[i].public_key);
    }
    free(c->path);
    free(c);
    *self_p = NULL;
}
