/* The recovery commands an agent runs for the leader (see mongoops.h). */
#include "mongoops.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_mongod.h"
#include "docker_api.h"
#include "log.h"
#include "wire.h"

/* A bson document as canonical Extended JSON in a jansson value (keeps every
 * BSON type: the controller parses it back with recover_parse_status). */
static json_t *bson_to_json(const bson_t *doc)
{
    size_t len = 0;
    char *text = bson_as_canonical_extended_json(doc, &len);
    json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    bson_free(text);
    return j;
}

static int admin_command(mongoc_client_t *c, const char *cmd_json, bson_t *reply, qr_err_t *err)
{
    bson_error_t berr;
    bson_t *cmd = bson_new_from_json((const uint8_t *)cmd_json, -1, &berr);
    if (!cmd) {
        bson_init(reply);
        return qr_err_set(err, QR_EINVAL, "bad command %s: %s", cmd_json, berr.message);
    }
    int rc = check_mongod_command(c, "admin", cmd, reply, NULL, err);
    bson_destroy(cmd);
    return rc;
}

/* Reads replSetGetStatus and the config document. */
static int read_status_config(mongoc_client_t *c, bson_t *status, bson_t *config, qr_err_t *err)
{
    bson_t reply;
    bson_init(config);
    int rc = admin_command(c, "{\"replSetGetStatus\": 1}", status, err);
    if (rc != 0)
        return rc;
    rc = admin_command(c, "{\"replSetGetConfig\": 1}", &reply, err);
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (rc == 0 && bson_iter_init_find(&it, &reply, "config") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
        bson_t sub;
        if (bson_init_static(&sub, data, len)) {
            bson_destroy(config);
            bson_copy_to(&sub, config);
        } else {
            rc = qr_err_set(err, QR_EPROTO, "replSetGetConfig: malformed config");
        }
    } else if (rc == 0) {
        rc = qr_err_set(err, QR_EPROTO, "replSetGetConfig: no config document in the reply");
    }
    bson_destroy(&reply);
    return rc;
}

static int64_t doc_int(const bson_t *doc, const char *key, int64_t dflt)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) &&
        (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_DOUBLE(&it)))
        return bson_iter_as_int64(&it);
    return dflt;
}

static const char *doc_str(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

/* The name of a member that replSetGetStatus shows as a healthy PRIMARY (or
 * NULL): the agent's own last look before a force. */
static const char *primary_in(const bson_t *status, char *buf, size_t len)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, status, "members") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return NULL;
    while (bson_iter_next(&arr)) {
        const uint8_t *data;
        uint32_t dlen;
        bson_t m;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
            continue;
        bson_iter_document(&arr, &dlen, &data);
        if (!bson_init_static(&m, data, dlen))
            continue;
        if (doc_int(&m, "state", -1) == 1 && doc_int(&m, "health", 1) != 0) {
            const char *name = doc_str(&m, "name");
            snprintf(buf, len, "%s", name ? name : "?");
            return buf;
        }
    }
    return NULL;
}

int mongoops_status(const agent_conf_t *conf, const json_t *args, json_t **out, qr_err_t *err)
{
    (void)args;
    mongoc_client_t *c = NULL;
    int rc = check_mongod_client_new(conf, &c, err);
    if (rc != 0)
        return rc;
    bson_t status, config;
    rc = read_status_config(c, &status, &config, err);
    if (rc == 0) {
        json_t *s = bson_to_json(&status), *k = bson_to_json(&config);
        if (s && k) {
            *out = json_pack("{s:s, s:o, s:o, s:I}", "node", conf->node, "status", s, "config", k,
                             "at_ms", (json_int_t)(wire_now_us() / 1000));
        } else {
            json_decref(s);
            json_decref(k);
            rc = qr_err_set(err, QR_EPROTO, "cannot convert the mongod replies to JSON");
        }
    }
    bson_destroy(&status);
    bson_destroy(&config);
    mongoc_client_destroy(c);
    return rc;
}

int mongoops_force_reconfig(const agent_conf_t *conf, const json_t *args, json_t **out,
                            qr_err_t *err)
{
    json_t *jcfg = json_object_get(args, "config");
    json_t *jver = json_object_get(args, "expect_version");
    const char *set = json_string_value(json_object_get(args, "expect_set"));
    if (!json_is_object(jcfg) || !json_is_integer(jver) || !set ||
        !json_is_true(json_object_get(args, "force")))
        return qr_err_set(err, QR_EINVAL,
                          "mongo_force_reconfig needs config, expect_version, expect_set, force");
    char *cfg_text = json_dumps(jcfg, JSON_COMPACT);
    bson_error_t berr = {0};
    bson_t *newcfg = cfg_text ? bson_new_from_json((const uint8_t *)cfg_text, -1, &berr) : NULL;
    bool had_text = cfg_text != NULL;
    free(cfg_text);
    if (!newcfg)
        return qr_err_set(err, QR_EINVAL, "mongo_force_reconfig: bad config: %s",
                          had_text ? berr.message : "out of memory");
    mongoc_client_t *c = NULL;
    int rc = check_mongod_client_new(conf, &c, err);
    bson_t status, config, reply, cmd;
    bson_init(&status);
    bson_init(&config);
    bson_init(&reply);
    bson_init(&cmd);
    if (rc == 0) {
        bson_destroy(&status);
        rc = read_status_config(c, &status, &config, err);
    }
    char pbuf[256];
    const char *prim = rc == 0 ? primary_in(&status, pbuf, sizeof pbuf) : NULL;
    const char *cur_set = rc == 0 ? doc_str(&config, "_id") : NULL;
    int64_t cur_ver = rc == 0 ? doc_int(&config, "version", -1) : -1;
    if (rc != 0) {
        /* err says why */
    } else if (prim) {
        rc = qr_err_set(err, QR_EREFUSED,
                        "%s is PRIMARY in this member's view: a forced reconfiguration is refused "
                        "while a primary exists",
                        prim);
    } else if (!cur_set || strcmp(cur_set, set) != 0) {
        rc = qr_err_set(err, QR_ECONFLICT, "this member is in replica set '%s', the plan is for '%s'",
                        cur_set ? cur_set : "?", set);
    } else if (cur_ver != json_integer_value(jver)) {
        rc = qr_err_set(err, QR_ECONFLICT,
                        "the config version changed: the plan was made from version %lld, this "
                        "member now has %lld; gather the evidence again (quoratectl recover)",
                        (long long)json_integer_value(jver), (long long)cur_ver);
    } else {
        BSON_APPEND_DOCUMENT(&cmd, "replSetReconfig", newcfg);
        BSON_APPEND_BOOL(&cmd, "force", true);
        rc = check_mongod_command(c, "admin", &cmd, &reply, NULL, err);
    }
    if (rc == 0) {
        bson_t after_s, after_c;
        qr_err_t e2 = {{0}};
        int64_t after = -1;
        if (read_status_config(c, &after_s, &after_c, &e2) == 0)
            after = doc_int(&after_c, "version", -1);
        bson_destroy(&after_s);
        bson_destroy(&after_c);
        *out = json_pack("{s:s, s:I, s:I, s:I}", "node", conf->node, "old_version",
                         (json_int_t)cur_ver, "sent_version",
                         (json_int_t)doc_int(newcfg, "version", -1), "version_after",
                         (json_int_t)after);
    }
    bson_destroy(&cmd);
    bson_destroy(&reply);
    bson_destroy(&status);
    bson_destroy(&config);
    bson_destroy(newcfg);
    mongoc_client_destroy(c);
    return rc;
}

int mongoops_swarm_force_new_cluster(const agent_conf_t *conf, const json_t *args, json_t **out,
                                     qr_err_t *err)
{
    /* a manager whose swarm lost its Raft quorum does not even answer /info
     * (it asks the frozen cluster): a time-out there is the symptom, not an
     * error; a worker or a healthy manager answers at once */
    docker_api_t *api = docker_api_new(conf->docker_socket, 3000);
    if (!api)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    json_t *info = NULL, *nodes = NULL, *reply = NULL;
    qr_err_t ierr = {{0}};
    int irc = docker_api_info(api, &info, &ierr), rc = 0;
    json_t *sw = json_object_get(info, "Swarm");
    const char *state = json_string_value(json_object_get(sw, "LocalNodeState"));
    const char *addr = json_string_value(json_object_get(sw, "NodeAddr"));
    if (!addr)
        addr = json_string_value(json_object_get(args, "advertise_addr"));
    if (irc != 0 && irc != QR_ETIMEOUT) {
        rc = qr_err_set(err, irc, "%s", ierr.msg);
    } else if (irc == 0 && (!state || strcmp(state, "active") != 0 ||
                            !json_is_true(json_object_get(sw, "ControlAvailable")))) {
        rc = qr_err_set(err, QR_EREFUSED, "this node is not an active swarm manager (state %s)",
                        state ? state : "?");
    } else if (irc == 0 && docker_api_nodes(api, &nodes, &(qr_err_t){{0}}) == 0) {
        rc = qr_err_set(err, QR_EREFUSED,
                        "the swarm still has a manager quorum (GET /nodes answers): "
                        "--force-new-cluster is not needed and would be refused");
    } else {
        docker_api_destroy(&api);
        api = docker_api_new(conf->docker_socket, 45000); /* dockerd takes 15-30 s */
        json_t *body = json_pack("{s:s, s:s?, s:b}", "ListenAddr", "0.0.0.0:2377", "AdvertiseAddr",
                                 addr, "ForceNewCluster", 1);
        /* dockerd (20.10) spends ~20 s stopping the old Raft node and then
         * sometimes answers HTTP 500 "context deadline exceeded" (or, asked
         * again meanwhile, 503 "not a swarm manager"), or does not answer in
         * 45 s, while the new cluster may form anyway: judge by whether the
         * swarm answers (up to 20 s), and
         * send the request once more if it does not */
        for (int attempt = 0; api && attempt < 2; attempt++) {
            json_decref(reply);
            reply = NULL;
            rc = docker_api_request(api, "POST", "/swarm/init", body, NULL, &reply, err);
            if (rc == 0 || (rc != QR_ETIMEOUT && !strstr(err->msg, "deadline exceeded") &&
                            !strstr(err->msg, "not a swarm manager")))
                break;
            log_warnx("event=swarm_init_unclear attempt=%d reason=\"%s\"", attempt + 1, err->msg);
            docker_api_t *probe_api = docker_api_new(conf->docker_socket, 3000);
            json_t *probe = NULL;
            int64_t until_us = wire_now_us() + 20 * 1000000LL; /* wall budget: a /nodes
                                                                  * call may hang 3 s */
            while (probe_api && !probe && wire_now_us() < until_us) {
                if (docker_api_nodes(probe_api, &probe, &(qr_err_t){{0}}) != 0) {
                    json_decref(probe);
                    probe = NULL;
                    usleep(500 * 1000);
                }
            }
            docker_api_destroy(&probe_api);
            if (probe) {
                json_decref(probe);
                rc = 0; /* formed despite the error */
                break;
            }
        }
        if (!api)
            rc = qr_err_set(err, QR_ENOMEM, "out of memory");
        else if (rc != 0 && (rc == QR_ETIMEOUT || strstr(err->msg, "deadline exceeded") ||
                             strstr(err->msg, "not a swarm manager"))) {
            /* dockerd could not stop its old Raft node in time: until it is
             * restarted it answers every init with "not a swarm manager" */
            char was[400];
            snprintf(was, sizeof was, "%s", err->msg);
            rc = qr_err_set(err, QR_EUNAVAIL,
                            "dockerd on %s could not re-form the swarm (%s); it is stuck with its "
                            "old Raft node: restart dockerd on this host (systemctl restart "
                            "docker), then confirm again",
                            conf->node, was);
        }
        json_decref(body);
    }
    if (rc == 0) {
        /* the new single-manager swarm answers once its Raft has a leader */
        int64_t t0 = wire_now_us();
        json_decref(nodes);
        nodes = NULL;
        docker_api_t *wait_api = docker_api_new(conf->docker_socket, 3000);
        while (wait_api && wire_now_us() - t0 < 20 * 1000000LL &&
               docker_api_nodes(wait_api, &nodes, &(qr_err_t){{0}}) != 0) {
            json_decref(nodes);
            nodes = NULL;
            usleep(200 * 1000);
        }
        docker_api_destroy(&wait_api);
        int waited = (int)((wire_now_us() - t0) / 1000);
        *out = json_pack("{s:s, s:s?, s:b, s:i}", "node", conf->node, "node_id",
                         json_string_value(reply), "answers", nodes != NULL, "waited_ms", waited);
    }
    json_decref(reply);
    json_decref(nodes);
    json_decref(info);
    docker_api_destroy(&api);
    return rc;
}
