/* The table of fenced commands (see commands.h). */
#include "commands.h"

#include <stdlib.h>
#include <string.h>

#include "labeler.h"
#include "nodeops.h"
#include "mongoops.h"
#include "portprobe.h"

static int cmd_probe_ports(const agent_conf_t *conf, const json_t *args, json_t **out,
                           qr_err_t *err)
{
    portprobe_target_t *targets = NULL;
    size_t n_targets = 0, n_ports = 0;
    int ports[64], timeout_ms = 0;
    if (portprobe_parse_args(args, &targets, &n_targets, ports, &n_ports, 64, &timeout_ms) != 0)
        return qr_err_set(err, QR_EINVAL, "bad probe_ports arguments");
    json_t *res = portprobe_tcp(targets, n_targets, ports, n_ports, timeout_ms, conf->address);
    free(targets);
    *out = json_pack("{s:s, s:o}", "from", conf->node, "results", res ? res : json_array());
    return 0;
}

static int cmd_apply_labels(const agent_conf_t *conf, const json_t *args, json_t **out,
                            qr_err_t *err)
{
    json_t *changes = json_object_get(args, "changes");
    if (!json_is_object(changes) || json_object_size(changes) > 1000)
        return qr_err_set(err, QR_EINVAL, "bad apply_labels arguments");
    *out = labeler_apply(conf->docker_socket, conf->docker_timeout_ms, changes);
    return 0;
}

static const command_kind_t kinds[] = {
    {"probe_ports", cmd_probe_ports, "probe_ports"},
    {"apply_labels", cmd_apply_labels, "apply_labels"},
    {"node_update", nodeops_update, "node_update"},
    {"node_rm", nodeops_rm, "node_rm"},
    {"mongo_status", mongoops_status, "mongo_status"},
    {"mongo_force_reconfig", mongoops_force_reconfig, "mongo_force_reconfig"},
    {"swarm_force_new_cluster", mongoops_swarm_force_new_cluster, "swarm_force_new_cluster"},
};

const command_kind_t *commands_find(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}
