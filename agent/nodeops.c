/* node_update / node_rm through the Engine API (see nodeops.h). */
#include "nodeops.h"

#include <stdbool.h>
#include <string.h>

#include "docker_api.h"

static bool valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int parse_node(const json_t *args, const char **node, qr_err_t *err)
{
    if (!json_is_object(args))
        return qr_err_set(err, QR_EINVAL, "arguments must be an object");
    const char *n = json_string_value(json_object_get(args, "node"));
    if (!valid_name(n))
        return qr_err_set(err, QR_EINVAL, "node: a node name of [A-Za-z0-9._-] is required");
    *node = n;
    return 0;
}

static int only_keys(const json_t *args, const char *const *keys, size_t n, qr_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)args, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(k, keys[i]) == 0;
        if (!known)
            return qr_err_set(err, QR_EINVAL, "unknown argument '%.64s'", k);
    }
    return 0;
}

int nodeops_parse_update(const json_t *args, nodeops_update_t *out, qr_err_t *err)
{
    static const char *const keys[] = {"node", "availability", "role"};
    memset(out, 0, sizeof *out);
    int rc = parse_node(args, &out->node, err);
    if (!rc)
        rc = only_keys(args, keys, 3, err);
    if (rc)
        return rc;
    json_t *a = json_object_get(args, "availability"), *r = json_object_get(args, "role");
    if (a && !json_is_string(a))
        return qr_err_set(err, QR_EINVAL, "availability must be a string");
    if (r && !json_is_string(r))
        return qr_err_set(err, QR_EINVAL, "role must be a string");
    out->availability = json_string_value(a);
    out->role = json_string_value(r);
    if (!out->availability && !out->role)
        return qr_err_set(err, QR_EINVAL, "availability or role is required");
    if (out->availability && strcmp(out->availability, "active") != 0 &&
        strcmp(out->availability, "pause") != 0 && strcmp(out->availability, "drain") != 0)
        return qr_err_set(err, QR_EINVAL, "availability must be active, pause or drain");
    if (out->role && strcmp(out->role, "worker") != 0 && strcmp(out->role, "manager") != 0)
        return qr_err_set(err, QR_EINVAL, "role must be worker or manager");
    return 0;
}

int nodeops_parse_rm(const json_t *args, const char **node, qr_err_t *err)
{
    static const char *const keys[] = {"node"};
    int rc = parse_node(args, node, err);
    return rc ? rc : only_keys(args, keys, 1, err);
}

int nodeops_update(const agent_conf_t *conf, const json_t *args, json_t **out, qr_err_t *err)
{
    nodeops_update_t u;
    int rc = nodeops_parse_update(args, &u, err);
    if (rc)
        return rc;
    docker_api_t *api = docker_api_new(conf->docker_socket, conf->docker_timeout_ms);
    if (!api)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    json_t *node = NULL;
    bool changed = false;
    int attempts = 0;
    rc = docker_api_node_set_state(api, u.node, u.availability, u.role, NULL, &node, &changed,
                                   &attempts, err);
    docker_api_destroy(&api);
    if (rc)
        return rc;
    json_t *spec = json_object_get(node, "Spec");
    const char *state =
        json_string_value(json_object_get(json_object_get(node, "Status"), "State"));
    *out = json_pack("{s:s, s:b, s:s?, s:s?, s:s?, s:i}", "node", u.node, "changed", changed,
                     "availability", json_string_value(json_object_get(spec, "Availability")),
                     "role", json_string_value(json_object_get(spec, "Role")), "state", state,
                     "attempts", attempts);
    json_decref(node);
    return *out ? 0 : qr_err_set(err, QR_ENOMEM, "out of memory");
}

int nodeops_rm(const agent_conf_t *conf, const json_t *args, json_t **out, qr_err_t *err)
{
    const char *name = NULL;
    int rc = nodeops_parse_rm(args, &name, err);
    if (rc)
        return rc;
    docker_api_t *api = docker_api_new(conf->docker_socket, conf->docker_timeout_ms);
    if (!api)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    rc = docker_api_node_remove(api, name, err);
    docker_api_destroy(&api);
    if (rc && rc != QR_ENOTFOUND)
        return rc;
    *out = json_pack("{s:s, s:b, s:b}", "node", name, "removed", 1, "already", rc == QR_ENOTFOUND);
    return *out ? 0 : qr_err_set(err, QR_ENOMEM, "out of memory");
}
