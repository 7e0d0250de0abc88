/* Writes the binary seed inputs of fuzz_wire and fuzz_mongod (protobuf
 * envelopes, BSON replies) into tests/fuzz/corpus/. The text seeds of the
 * other targets are committed as they are; run this after a change to
 * proto/quorate.proto or to what the mongod check reads:
 *     build-fuzz/tests/fuzz/qr_fuzz_mkseeds tests/fuzz/corpus */
#include <bson/bson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/wire.h"

static const char *root;

static void write_file(const char *target, const char *name, const uint8_t *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void put_env(const char *name, wire_env_t *env)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_pack(env, WIRE_MAX_FRAME, &buf, &len) != 0) {
        fprintf(stderr, "wire_pack %s failed\n", name);
        exit(1);
    }
    write_file("wire", name, buf, len);
    free(buf);
}

#define T_US 1764000000000000LL

static void wire_seeds(void)
{
    wire_env_t env;

    Quorate__CheckResult c1 = QUORATE__CHECK_RESULT__INIT, c2 = QUORATE__CHECK_RESULT__INIT;
    c1.name = "disk";
    c1.status = QUORATE__STATUS__STATUS_OK;
    c1.summary = "datadir 120 GB free";
    c1.values_json = "{\"datadir_free_gb\":120.5,\"root_free_gb\":80,\"reasons\":[]}";
    c1.duration_ms = 3;
    c2.name = "docker";
    c2.status = QUORATE__STATUS__STATUS_WARN;
    c2.summary = "swarm manager, 1 node down";
    c2.values_json = "{\"swarm\":\"active\",\"role\":\"manager\",\"labels\":{\"mongo.replica\":"
                     "\"1\",\"worker\":\"true\"},\"nodes_down\":[\"n3\"],\"reasons\":"
                     "[\"node_down\"]}";
    Quorate__CheckResult *checks[] = {&c1, &c2};
    Quorate__Report rep = QUORATE__REPORT__INIT;
    rep.node = "n1";
    rep.dc = "east";
    rep.cycle = 17;
    rep.n_checks = 2;
    rep.checks = checks;
    rep.interval_ms = 5000;
    rep.agent_version = "0.1.0";
    rep.address = "10.0.0.1";
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, "n1", 3, 18, T_US);
    env.body_case = QUORATE__ENVELOPE__BODY_REPORT;
    env.report = &rep;
    put_env("report", &env);

    Quorate__Heartbeat hb = QUORATE__HEARTBEAT__INIT;
    hb.node = "n1";
    hb.dc = "east";
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, "n1", 3, 19, T_US);
    env.body_case = QUORATE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    put_env("heartbeat", &env);

    Quorate__Pong pong = QUORATE__PONG__INIT;
    pong.controller_sent_at_us = T_US - 1000;
    pong.agent_at_us = T_US;
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, "n1", 3, 20, T_US);
    env.body_case = QUORATE__ENVELOPE__BODY_PONG;
    env.pong = &pong;
    put_env("pong", &env);

    Quorate__CommandResult cr = QUORATE__COMMAND_RESULT__INIT;
    cr.id = 7;
    cr.result_json = "{\"from\":\"n1\",\"results\":[{\"node\":\"n2\",\"address\":\"10.0.0.2\","
                     "\"port\":2377,\"ok\":true,\"ms\":0.4},{\"node\":\"n3\",\"address\":"
                     "\"10.0.0.3\",\"port\":27017,\"ok\":false,\"error\":\"timeout\"}]}";
    cr.seen_term = 3;
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, "n1", 3, 21, T_US);
    env.body_case = QUORATE__ENVELOPE__BODY_COMMAND_RESULT;
    env.command_result = &cr;
    put_env("command_result", &env);

    Quorate__Command cmd = QUORATE__COMMAND__INIT;
    cmd.id = 8;
    cmd.kind = "probe_ports";
    cmd.args_json = "{\"targets\":[{\"node\":\"n2\",\"address\":\"10.0.0.2\"},{\"node\":\"n3\","
                    "\"address\":\"fd00::3\"}],\"tcp_ports\":[2377,7946,27017],"
                    "\"timeout_ms\":1000}";
    wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, "c1", 4, 22, T_US);
    env.body_case = QUORATE__ENVELOPE__BODY_COMMAND;
    env.command = &cmd;
    put_env("command_probe_ports", &env);

    cmd.kind = "apply_labels";
    cmd.args_json = "{\"changes\":{\"n1\":{\"add\":{\"mongo.replica\":\"1\"},\"remove\":"
                    "[\"minio\"]}}}";
    put_env("command_apply_labels", &env);

    static const char doc[] =
        "{\"applied\":{\"n1\":{\"mongo.replica\":\"1\",\"worker\":\"true\"},\"n9\":"
        "{\"mongo.replica\":\"2\"}},\"audit\":[{\"at_ms\":1764000000000,\"what\":\"apply\"}],"
        "\"nlog\":{\"version\":1,\"entries\":[{\"receiver\":\"oncall\",\"key\":"
        "\"node/n1/down\",\"state\":\"firing\",\"sent_ms\":1764000000000,\"delivered\":"
        "{\"state\":\"firing\",\"sent_ms\":1764000000000}}]}}";
    Quorate__ElectionMsg em = QUORATE__ELECTION_MSG__INIT;
    em.from = 2;
    em.to = 1;
    em.term = 5;
    em.doc_term = 4;
    em.doc_counter = 9;
    em.config_digest = "0123456789abcdef";
    wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, "c2", 5, 23, T_US);
    env.body_case = QUORATE__ENVELOPE__BODY_ELECTION;
    env.election = &em;
    em.type = 1; /* REQUEST_VOTE */
    em.prevote = 1;
    put_env("election_prevote", &env);
    em.prevote = 0;
    put_env("election_request_vote", &env);
    em.type = 2; /* VOTE_REPLY */
    em.granted = 1;
    put_env("election_vote_reply", &env);
    em.type = 3; /* APPEND_STATE */
    em.granted = 0;
    em.has_doc = 1;
    em.doc.data = (uint8_t *)doc;
    em.doc.len = sizeof doc - 1;
    em.commit_term = 4;
    em.commit_counter = 8;
    em.echo_ms = 1234;
    put_env("election_append_state", &env);
    em.type = 4; /* APPEND_REPLY */
    em.has_doc = 0;
    em.doc.len = 0;
    em.success = 1;
    put_env("election_append_reply", &env);
    em.type = 5; /* TIMEOUT_NOW */
    em.success = 0;
    put_env("election_timeout_now", &env);

    Quorate__OpRequest op = QUORATE__OP_REQUEST__INIT;
    char *args[] = {"refresh"};
    op.command = "ports";
    op.n_args = 1;
    op.args = args;
    wire_env_init(&env, QUORATE__ROLE__ROLE_OPERATOR, "alice", 0, 1, T_US);
    env.body_case = QUORATE__ENVELOPE__BODY_OP_REQUEST;
    env.op_request = &op;
    put_env("op_request", &env);
}

/* The mongod check's three replies (hello, replSetGetStatus,
 * replSetGetConfig) as one input: BSON documents back to back. */
static void mongod_seed(const char *name, const char *const *json, size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        bson_error_t e;
        bson_t *b = bson_new_from_json((const uint8_t *)json[i], -1, &e);
        if (!b) {
            fprintf(stderr, "%s[%zu]: %s\n", name, i, e.message);
            exit(1);
        }
        out = realloc(out, len + b->len);
        if (!out)
            exit(1);
        memcpy(out + len, bson_get_data(b), b->len);
        len += b->len;
        bson_destroy(b);
    }
    write_file("mongod", name, out, len);
    free(out);
}

#define MEMBER(id, host, health, state, str, ts, self)                                           \
    "{\"_id\": " #id ", \"name\": \"" host "\", \"health\": " #health ", \"state\": " #state     \
    ", \"stateStr\": \"" str "\", \"optime\": {\"ts\": {\"$timestamp\": {\"t\": " #ts            \
    ", \"i\": 1}}, \"t\": {\"$numberLong\": \"7\"}}, \"optimeDate\": {\"$date\": " #ts "000}" self \
    "}"

static void mongod_seeds(void)
{
    static const char *hello_primary =
        "{\"topologyVersion\": {\"processId\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}, "
        "\"counter\": {\"$numberLong\": \"6\"}}, \"hosts\": [\"m1:27017\", \"m2:27017\", "
        "\"m3:27017\"], \"setName\": \"rs0\", \"setVersion\": 3, \"isWritablePrimary\": true, "
        "\"secondary\": false, \"primary\": \"m1:27017\", \"me\": \"m1:27017\", "
        "\"maxWireVersion\": 17, \"ok\": 1.0}";
    static const char *hello_secondary =
        "{\"hosts\": [\"m1:27017\", \"m2:27017\", \"m3:27017\"], \"setName\": \"rs0\", "
        "\"isWritablePrimary\": false, \"secondary\": true, \"primary\": \"m1:27017\", "
        "\"me\": \"m2:27017\", \"ok\": 1.0}";
    static const char *hello_uninit =
        "{\"isWritablePrimary\": false, \"secondary\": false, \"isreplicaset\": true, "
        "\"maxWireVersion\": 17, \"ok\": 1.0}";
    static const char *status =
        "{\"set\": \"rs0\", \"date\": {\"$date\": 1764000000500}, \"myState\": 1, \"term\": "
        "{\"$numberLong\": \"7\"}, \"members\": [" MEMBER(0, "m1:27017", 1.0, 1, "PRIMARY",
                                                          1764000000, ", \"self\": true") ", " MEMBER(1, "m2:27017", 1.0, 2, "SECONDARY", 1763999990, "") ", " MEMBER(2, "m3:27017", 0.0, 8, "(not reachable/healthy)", 1763999000, "") "], \"ok\": 1.0}";
    static const char *status_uninit =
        "{\"ok\": 0.0, \"errmsg\": \"no replset config has been received\", \"code\": 94, "
        "\"codeName\": \"NotYetInitialized\"}";
    static const char *config =
        "{\"config\": {\"_id\": \"rs0\", \"version\": 5, \"term\": {\"$numberLong\": \"7\"}, "
        "\"members\": [{\"_id\": 0, \"host\": \"m1:27017\", \"arbiterOnly\": false, "
        "\"buildIndexes\": true, \"hidden\": false, \"priority\": 2.0, \"tags\": {\"dc\": "
        "\"east\"}, \"secondaryDelaySecs\": {\"$numberLong\": \"0\"}, \"votes\": 1}, "
        "{\"_id\": 1, \"host\": \"m2:27017\", \"priority\": 1, \"votes\": 1, \"tags\": {}}, "
        "{\"_id\": 2, \"host\": \"m3:27017\", \"priority\": 0, \"votes\": 0, \"hidden\": true,"
        " \"arbiterOnly\": true}]}, \"ok\": 1.0}";
    const char *primary[] = {hello_primary, status, config};
    mongod_seed("primary", primary, 3);
    const char *secondary[] = {hello_secondary, status, config};
    mongod_seed("secondary", secondary, 3);
    const char *uninit[] = {hello_uninit, status_uninit};
    mongod_seed("uninitiated", uninit, 2);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    wire_seeds();
    mongod_seeds();
    return 0;
}
