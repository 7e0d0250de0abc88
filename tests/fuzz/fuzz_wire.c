/* Fuzz target: one protobuf frame as the controller and the agent receive it
 * after ZeroMQ's size check (ZMQ_MAXMSGSIZE = WIRE_MAX_FRAME): wire_unpack,
 * then what each receiver's dispatch hands to its pure modules: an agent's
 * report and heartbeat into the inventory (and its JSON views), a command
 * result into the reachability matrix, an election message into a fresh
 * election (and the state document it carries through what
 * server__load_state_doc does with it), a command's arguments into
 * portprobe_parse_args. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "agent/portprobe.h"
#include "common/wire.h"
#include "controller/alerts_route.h"
#include "controller/applyplan.h"
#include "controller/election.h"
#include "controller/inventory.h"
#include "controller/peers.h"
#include "controller/portmatrix.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NOW_MS 1700000000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

static void dump_and_free(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    free(s);
    json_decref(j);
}

/* controller/server.c on_agent_msg: seen, report, address, term, views */
static void as_controller_agent_msg(const wire_env_t *env)
{
    if (env->role != QUORATE__ROLE__ROLE_AGENT)
        return;
    inventory_t *inv = inventory_new(2500, 16);
    if (!inv)
        abort();
    qr_err_t err = {{0}};
    const char *dc = env->body_case == QUORATE__ENVELOPE__BODY_REPORT      ? env->report->dc
                     : env->body_case == QUORATE__ENVELOPE__BODY_HEARTBEAT ? env->heartbeat->dc
                                                                           : NULL;
    bool came_up = false;
    if (inventory_seen(inv, NOW_MS, env->sender, dc, "fuzzkey", &came_up, &err) == 0) {
        inventory_term(inv, env->sender, env->term);
        if (env->body_case == QUORATE__ENVELOPE__BODY_REPORT &&
            strcmp(env->report->node, env->sender) == 0) {
            inventory_report(inv, NOW_MS, env->sender, env->report, &err);
            inventory_address(inv, env->sender, env->report->address, "127.0.0.1");
            /* a second report replaces the first one's checks */
            inventory_report(inv, NOW_MS + 10, env->sender, env->report, &err);
        }
        dump_and_free(inventory_status_json(inv, NOW_MS + 100));
        dump_and_free(inventory_node_json(inv, env->sender, NOW_MS + 100));
        dump_and_free(inventory_export_json(inv));
        inventory_tick(inv, NOW_MS + 10000, NULL, NULL);
        dump_and_free(inventory_status_json(inv, NOW_MS + 10000));
    }
    inventory_destroy(&inv);
}

/* controller/server.c on_command_result: a probe round's answer */
static void as_controller_command_result(const wire_env_t *env)
{
    const Quorate__CommandResult *cr = env->command_result;
    if (env->role != QUORATE__ROLE__ROLE_AGENT || cr->code != 0)
        return;
    json_t *res = json_loads(cr->result_json, 0, NULL);
    const char *from = json_string_value(json_object_get(res, "from"));
    if (from && strcmp(from, env->sender) == 0) {
        portmatrix_t *pm = portmatrix_new();
        if (!pm)
            abort();
        const char *nodes[] = {env->sender, "n2", "n3"};
        portmatrix_begin(pm, 1, NOW_MS, nodes, 3);
        portmatrix_result(pm, portmatrix_round(pm), from, json_object_get(res, "results"),
                          NOW_MS + 5);
        dump_and_free(portmatrix_json(pm, NOW_MS + 10));
        portmatrix_destroy(&pm);
    }
    json_decref(res);
}

/* controller/server_ops.c server__load_state_doc: the replicated document
 * (applied labels against the live inventory, the notification log) */
static void load_state_doc(const uint8_t *doc, size_t len)
{
    json_t *j = json_loadb((const char *)doc, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    json_t *applied = json_object_get(j, "applied");
    if (json_is_object(applied)) {
        inventory_t *inv = inventory_new(2500, 16);
        bool up;
        qr_err_t err = {{0}};
        if (!inv)
            abort();
        inventory_seen(inv, NOW_MS, "n1", "east", "k1", &up, &err);
        dump_and_free(applyplan_drift(inv, applied));
        inventory_destroy(&inv);
    }
    json_t *nlog = json_object_get(j, "nlog");
    if (nlog) {
        alerts_nlog_t *l = alerts_nlog_new(64);
        qr_err_t err = {{0}};
        if (!l)
            abort();
        if (alerts_nlog_from_json(l, nlog, &err) == 0)
            dump_and_free(alerts_nlog_to_json(l));
        alerts_nlog_destroy(&l);
    }
    json_decref(j);
}

/* controller/peers.c on_peer_msg: controller 1 of {1, 2, 3} */
static void as_controller_peer_msg(const wire_env_t *env)
{
    const Quorate__ElectionMsg *em = env->election;
    if (env->role != QUORATE__ROLE__ROLE_CONTROLLER || (em->from != 2 && em->from != 3) ||
        em->to != 1)
        return;
    election_config_t cfg;
    election_config_defaults(&cfg);
    cfg.self_id = 1;
    cfg.peers[0] = 2;
    cfg.peers[1] = 3;
    cfg.n_peers = 2;
    cfg.seed = 42;
    election_t *e = NULL;
    qr_err_t err = {{0}};
    if (election_new(&cfg, NULL, 0, &e, &err) != 0)
        abort();
    election_msg_t msg = peers_msg_from_wire(em);
    election_out_t out;
    election_recv(e, 10, &msg, &out);
    /* and once more as a candidate: replies are judged differently */
    election_tick(e, 5000, &out);
    election_recv(e, 5010, &msg, &out);
    election_tick(e, 10000, &out);
    if (em->has_doc)
        load_state_doc(em->doc.data, em->doc.len);
    election_destroy(&e);
}

/* agent/agent.c on_command: the arguments of a probe command */
static void as_agent_command(const wire_env_t *env)
{
    const Quorate__Command *cmd = env->command;
    json_t *args = json_loads(cmd->args_json ? cmd->args_json : "{}", 0, NULL);
    if (strcmp(cmd->kind, "probe_ports") == 0) {
        portprobe_target_t *targets = NULL;
        size_t nt = 0, np = 0;
        int ports[64], timeout_ms = 0;
        if (portprobe_parse_args(args, &targets, &nt, ports, &np, 64, &timeout_ms) == 0)
            free(targets);
    }
    json_decref(args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > WIRE_MAX_FRAME) /* ZeroMQ drops larger frames before us */
        return 0;
    wire_env_t *env = NULL;
    qr_err_t err = {{0}};
    if (fuzz_note("wire_unpack", wire_unpack(data, size, WIRE_MAX_FRAME, &env, &err), err.msg) != 0)
        return 0;
    wire_name_ok(env->sender, 255);
    switch (env->body_case) {
    case QUORATE__ENVELOPE__BODY_REPORT:
    case QUORATE__ENVELOPE__BODY_HEARTBEAT:
    case QUORATE__ENVELOPE__BODY_PONG:
        as_controller_agent_msg(env);
        break;
    case QUORATE__ENVELOPE__BODY_COMMAND_RESULT:
        as_controller_agent_msg(env);
        as_controller_command_result(env);
        break;
    case QUORATE__ENVELOPE__BODY_ELECTION:
        as_controller_peer_msg(env);
        break;
    case QUORATE__ENVELOPE__BODY_COMMAND:
        as_agent_command(env);
        break;
    default:
        break;
    }
    wire_free(&env);
    return 0;
}
