/* Fenced commands from the leader to one agent, answered through a callback:
 * the building block of the multi-step operations (decommission, recovery).
 * Each command carries the leader's term; the callback runs exactly once, with
 * the agent's result, or QR_ETIMEOUT at the deadline, or QR_EUNAVAIL when the
 * server stops. */
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

int server__command(server_t *s, const char *node, const char *kind, const json_t *args,
                    int timeout_ms, server_cmd_cb cb, void *ctx, qr_err_t *err)
{
    const inv_node_t *n = inventory_find(s->inv, node);
    zframe_t *rid = zhashx_lookup(s->routes, node);
    if (!n || !n->up || !rid)
        return qr_err_set(err, QR_EUNAVAIL, "the agent on %s is not connected to this controller",
                          node);
    size_t slot = SERVER_MAX_CMDS;
    for (size_t i = 0; i < SERVER_MAX_CMDS; i++)
        if (!s->cmds[i].cb) {
            slot = i;
            break;
        }
    if (slot == SERVER_MAX_CMDS)
        return qr_err_set(err, QR_EUNAVAIL, "too many commands in flight (%d)", SERVER_MAX_CMDS);
    char *text = json_dumps(args ? args : json_object(), JSON_COMPACT);
    if (!text)
        return qr_err_set(err, QR_ENOMEM, "cannot encode the command");
    Quorate__Command cmd = QUORATE__COMMAND__INIT;
    cmd.id = ++s->cmd_id;
    cmd.kind = (char *)kind;
    cmd.args_json = text;
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, s->conf->id, peers_term(s->peers), ++s->seq,
                  wire_now_us());
    env.body_case = QUORATE__ENVELOPE__BODY_COMMAND;
    env.command = &cmd;
    server__send_to(s, s->agents_zuv, rid, false, &env);
    free(text);
    s->cmds[slot].id = cmd.id;
    snprintf(s->cmds[slot].node, sizeof s->cmds[slot].node, "%s", node);
    s->cmds[slot].cb = cb;
    s->cmds[slot].ctx = ctx;
    s->cmds[slot].deadline_ms = server__now_ms(s) + timeout_ms;
    log_info("event=command_sent node=%s kind=%s id=%llu term=%llu", node, kind,
             (unsigned long long)cmd.id, (unsigned long long)peers_term(s->peers));
    return 0;
}

static void finish(server_t *s, size_t i, int code, const char *error, json_t *result)
{
    server_cmd_cb cb = s->cmds[i].cb;
    void *ctx = s->cmds[i].ctx;
    char node[sizeof s->cmds[i].node];
    memcpy(node, s->cmds[i].node, sizeof node);
    s->cmds[i].cb = NULL; /* free the slot first: the callback may send the next one */
    cb(s, ctx, node, code, error, result);
}

bool server__command_result(server_t *s, const char *from, const Quorate__CommandResult *cr)
{
    for (size_t i = 0; i < SERVER_MAX_CMDS; i++) {
        if (!s->cmds[i].cb || s->cmds[i].id != cr->id)
            continue;
        if (strcmp(s->cmds[i].node, from) != 0) {
            log_warnx("event=command_result_mismatch id=%llu expected=%s from=%s",
                      (unsigned long long)cr->id, s->cmds[i].node, from);
            return true;
        }
        json_t *res = cr->result_json && *cr->result_json
                          ? json_loads(cr->result_json, 0, NULL)
                          : NULL;
        if (cr->code == 0 && cr->result_json && *cr->result_json && !res) {
            finish(s, i, QR_EPROTO, "the agent's result is not JSON", NULL);
        } else {
            finish(s, i, cr->code, cr->code ? (cr->error && *cr->error ? cr->error
                                                                       : qr_strerror(cr->code))
                                            : NULL,
                   res);
        }
        json_decref(res);
        return true;
    }
    return false;
}

void server__command_tick(server_t *s)
{
    int64_t now = server__now_ms(s);
    for (size_t i = 0; i < SERVER_MAX_CMDS; i++) {
        if (s->cmds[i].cb && now > s->cmds[i].deadline_ms) {
            char msg[160];
            snprintf(msg, sizeof msg, "no answer from the agent on %s in time", s->cmds[i].node);
            finish(s, i, QR_ETIMEOUT, msg, NULL);
        }
    }
}

void server__command_cancel_all(server_t *s)
{
    for (size_t i = 0; i < SERVER_MAX_CMDS; i++)
        if (s->cmds[i].cb)
            finish(s, i, QR_EUNAVAIL, "the controller is stopping", NULL);
}
