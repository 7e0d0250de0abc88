/* The wire codec: every envelope body survives a round trip; whatever a peer
 * sends (truncated, oversized, wrong version, no body, a bad sender name,
 * random bytes) is refused with an error, never a crash or a leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/version.h"
#include "common/wire.h"

/* ---- helpers ----------------------------------------------------------- */

/* Packs env (fatal on error) into a new buffer. */
static uint8_t *pack(const wire_env_t *env, size_t *len)
{
    uint8_t *buf = NULL;
    assert_int_equal(wire_pack(env, WIRE_MAX_FRAME, &buf, len), 0);
    assert_non_null(buf);
    return buf;
}

/* Unpacks from an exact-size heap copy so that ASan sees any read past the
 * frame. */
static int unpack_copy(const uint8_t *buf, size_t len, size_t max, wire_env_t **out, qr_err_t *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, buf, len);
    int rc = wire_unpack(copy, len, max, out, err);
    free(copy);
    return rc;
}

static wire_env_t *roundtrip(const wire_env_t *env)
{
    size_t len;
    uint8_t *buf = pack(env, &len);
    wire_env_t *out = NULL;
    qr_err_t err = {""};
    int rc = unpack_copy(buf, len, WIRE_MAX_FRAME, &out, &err);
    free(buf);
    if (rc != 0)
        fail_msg("round trip failed: %s", err.msg);
    assert_non_null(out);
    assert_int_equal(out->version, QR_PROTO_VERSION);
    assert_string_equal(out->sender, env->sender);
    assert_int_equal(out->role, env->role);
    assert_true(out->term == env->term);
    assert_true(out->seq == env->seq);
    assert_true(out->sent_at_us == env->sent_at_us);
    assert_int_equal(out->body_case, env->body_case);
    return out;
}

/* Every body kind, filled with non-default values. The structs live in a
 * fixture so that each test can pack any of them. */
typedef struct {
    Quorate__CheckResult c1, c2;
    Quorate__CheckResult *checks[2];
    Quorate__Report report;
    Quorate__Heartbeat heartbeat;
    Quorate__OpRequest op_request;
    char *args[3];
    Quorate__OpReply op_reply;
    Quorate__Ping ping;
    Quorate__Pong pong;
    Quorate__Command command;
    Quorate__CommandResult command_result;
} bodies_t;

static bodies_t B;

static void bodies_init(void)
{
    quorate__check_result__init(&B.c1);
    B.c1.name = "disk";
    B.c1.status = QUORATE__STATUS__STATUS_WARN;
    B.c1.summary = "datadir is on / (not a separate filesystem)";
    B.c1.values_json = "{\"datadir_gb\":49.5,\"datadir_separate\":false}";
    B.c1.duration_ms = 12;
    quorate__check_result__init(&B.c2);
    B.c2.name = "host";
    B.c2.status = QUORATE__STATUS__STATUS_UNKNOWN;
    B.c2.summary = "timed out after 4s \xc3\xa9"; /* UTF-8 passes through */
    B.c2.values_json = "{}";
    B.checks[0] = &B.c1;
    B.checks[1] = &B.c2;
    quorate__report__init(&B.report);
    B.report.node = "ai1";
    B.report.dc = "east";
    B.report.cycle = 987654321;
    B.report.n_checks = 2;
    B.report.checks = B.checks;
    B.report.dropped = 3;
    B.report.interval_ms = 5000;
    B.report.agent_version = QUORATE_VERSION;
    B.report.address = "10.0.0.11";
    quorate__heartbeat__init(&B.heartbeat);
    B.heartbeat.node = "ai2";
    B.heartbeat.dc = "west";
    quorate__op_request__init(&B.op_request);
    B.op_request.command = "inventory";
    B.args[0] = "--json";
    B.args[1] = "";
    B.args[2] = "ai1";
    B.op_request.n_args = 3;
    B.op_request.args = B.args;
    B.op_request.args_json = "{\"node\":\"ai1\"}";
    quorate__op_reply__init(&B.op_reply);
    B.op_reply.code = QR_EAUTH;
    B.op_reply.error = "not the leader";
    B.op_reply.result_json = "{\"leader\":\"ctl-2\"}";
    quorate__ping__init(&B.ping);
    B.ping.controller_sent_at_us = 1700000000123456;
    quorate__pong__init(&B.pong);
    B.pong.controller_sent_at_us = 1700000000123456;
    B.pong.agent_at_us = -42; /* a clock before the epoch still travels */
    quorate__command__init(&B.command);
    B.command.id = UINT64_MAX;
    B.command.kind = "apply_labels";
    B.command.args_json = "{\"labels\":{\"worker\":\"true\"}}";
    quorate__command_result__init(&B.command_result);
    B.command_result.id = 77;
    B.command_result.code = QR_ESTALE;
    B.command_result.error = "term 3 is below 5";
    B.command_result.result_json = "null";
    B.command_result.seen_term = 5;
}

/* Sets body number k (0..7) on env. */
#define N_BODIES 8
static void set_body(wire_env_t *env, int k)
{
    switch (k) {
    case 0:
        env->body_case = QUORATE__ENVELOPE__BODY_REPORT;
        env->report = &B.report;
        break;
    case 1:
        env->body_case = QUORATE__ENVELOPE__BODY_HEARTBEAT;
        env->heartbeat = &B.heartbeat;
        break;
    case 2:
        env->body_case = QUORATE__ENVELOPE__BODY_OP_REQUEST;
        env->op_request = &B.op_request;
        break;
    case 3:
        env->body_case = QUORATE__ENVELOPE__BODY_OP_REPLY;
        env->op_reply = &B.op_reply;
        break;
    case 4:
        env->body_case = QUORATE__ENVELOPE__BODY_PING;
        env->ping = &B.ping;
        break;
    case 5:
        env->body_case = QUORATE__ENVELOPE__BODY_PONG;
        env->pong = &B.pong;
        break;
    case 6:
        env->body_case = QUORATE__ENVELOPE__BODY_COMMAND;
        env->command = &B.command;
        break;
    default:
        env->body_case = QUORATE__ENVELOPE__BODY_COMMAND_RESULT;
        env->command_result = &B.command_result;
        break;
    }
}

static void env_with_body(wire_env_t *env, int k)
{
    wire_env_init(env, QUORATE__ROLE__ROLE_AGENT, "ai1", 7, 1234, 1700000000000001);
    set_body(env, k);
}

static int setup(void **state)
{
    (void)state;
    bodies_init();
    return 0;
}

/* ---- round trips ------------------------------------------------------- */

static void test_wire_roundtrip_report(void **state)
{
    (void)state;
    wire_env_t env;
    env_with_body(&env, 0);
    wire_env_t *out = roundtrip(&env);
    const Quorate__Report *r = out->report;
    assert_string_equal(r->node, "ai1");
    assert_string_equal(r->dc, "east");
    assert_true(r->cycle == 987654321);
    assert_true(r->dropped == 3);
    assert_int_equal(r->interval_ms, 5000);
    assert_string_equal(r->agent_version, QUORATE_VERSION);
    assert_string_equal(r->address, "10.0.0.11");
    assert_int_equal(r->n_checks, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(r->checks[i]->name, B.checks[i]->name);
        assert_int_equal(r->checks[i]->status, B.checks[i]->status);
        assert_string_equal(r->checks[i]->summary, B.checks[i]->summary);
        assert_string_equal(r->checks[i]->values_json, B.checks[i]->values_json);
        assert_int_equal(r->checks[i]->duration_ms, B.checks[i]->duration_ms);
    }
    wire_free(&out);
    assert_null(out);
    wire_free(&out); /* NULL-safe */
    wire_free(NULL);
}

static void test_wire_roundtrip_heartbeat(void **state)
{
    (void)state;
    wire_env_t env;
    env_with_body(&env, 1);
    wire_env_t *out = roundtrip(&env);
    assert_string_equal(out->heartbeat->node, "ai2");
    assert_string_equal(out->heartbeat->dc, "west");
    wire_free(&out);
}

static void test_wire_roundtrip_op_request_and_reply(void **state)
{
    (void)state;
    wire_env_t env;
    env_with_body(&env, 2);
    env.role = QUORATE__ROLE__ROLE_OPERATOR;
    env.sender = "alice@laptop";
    wire_env_t *out = roundtrip(&env);
    assert_string_equal(out->op_request->command, "inventory");
    assert_int_equal(out->op_request->n_args, 3);
    assert_string_equal(out->op_request->args[0], "--json");
    assert_string_equal(out->op_request->args[1], "");
    assert_string_equal(out->op_request->args[2], "ai1");
    assert_string_equal(out->op_request->args_json, "{\"node\":\"ai1\"}");
    wire_free(&out);

    env_with_body(&env, 3);
    env.role = QUORATE__ROLE__ROLE_CONTROLLER;
    out = roundtrip(&env);
    assert_int_equal(out->op_reply->code, QR_EAUTH);
    assert_string_equal(out->op_reply->error, "not the leader");
    assert_string_equal(out->op_reply->result_json, "{\"leader\":\"ctl-2\"}");
    wire_free(&out);
}

static void test_wire_roundtrip_ping_and_pong(void **state)
{
    (void)state;
    wire_env_t env;
    env_with_body(&env, 4);
    env.role = QUORATE__ROLE__ROLE_CONTROLLER;
    wire_env_t *out = roundtrip(&env);
    assert_true(out->ping->controller_sent_at_us == 1700000000123456);
    wire_free(&out);

    env_with_body(&env, 5);
    out = roundtrip(&env);
    assert_true(out->pong->controller_sent_at_us == 1700000000123456);
    assert_true(out->pong->agent_at_us == -42);
    wire_free(&out);
}

static void test_wire_roundtrip_command_and_result(void **state)
{
    (void)state;
    wire_env_t env;
    env_with_body(&env, 6);
    env.role = QUORATE__ROLE__ROLE_CONTROLLER;
    env.term = UINT64_MAX; /* the fencing term must survive intact */
    wire_env_t *out = roundtrip(&env);
    assert_true(out->command->id == UINT64_MAX);
    assert_string_equal(out->command->kind, "apply_labels");
    assert_string_equal(out->command->args_json, B.command.args_json);
    wire_free(&out);

    env_with_body(&env, 7);
    out = roundtrip(&env);
    assert_true(out->command_result->id == 77);
    assert_int_equal(out->command_result->code, QR_ESTALE);
    assert_string_equal(out->command_result->error, "term 3 is below 5");
    assert_string_equal(out->command_result->result_json, "null");
    assert_true(out->command_result->seen_term == 5);
    wire_free(&out);
}

static void test_wire_env_init_sets_header(void **state)
{
    (void)state;
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_CONTROLLER, "ctl-1", 9, 10, -5);
    assert_int_equal(env.version, QR_PROTO_VERSION);
    assert_string_equal(env.sender, "ctl-1");
    assert_int_equal(env.role, QUORATE__ROLE__ROLE_CONTROLLER);
    assert_true(env.term == 9 && env.seq == 10 && env.sent_at_us == -5);
    assert_int_equal(env.body_case, QUORATE__ENVELOPE__BODY__NOT_SET);
    int64_t a = wire_now_us();
    assert_true(a > 1600000000LL * 1000000); /* after 2020: a wall clock, in us */
}

/* ---- refusals ---------------------------------------------------------- */

/* Every proper prefix of every valid frame is refused without reading past
 * it (the copy is exact-size, so ASan would see it). */
static void test_wire_truncated_frames_every_length_refused(void **state)
{
    (void)state;
    size_t tried = 0;
    for (int k = 0; k < N_BODIES; k++) {
        wire_env_t env;
        env_with_body(&env, k);
        size_t len;
        uint8_t *buf = pack(&env, &len);
        for (size_t cut = 0; cut < len; cut++) {
            wire_env_t *out = (wire_env_t *)(uintptr_t)1;
            qr_err_t err = {""};
            int rc = unpack_copy(buf, cut, WIRE_MAX_FRAME, &out, &err);
            if (rc == 0)
                fail_msg("body %d: a %zu-byte prefix of a %zu-byte frame was accepted", k, cut,
                         len);
            assert_null(out);
            assert_true(rc == QR_EPARSE || rc == QR_EVERSION || rc == QR_EPROTO);
            assert_int_not_equal(err.msg[0], '\0');
            tried++;
        }
        /* and the whole frame is fine */
        wire_env_t *out = NULL;
        assert_int_equal(unpack_copy(buf, len, WIRE_MAX_FRAME, &out, NULL), 0);
        wire_free(&out);
        free(buf);
    }
    assert_true(tried > 200);
}

static void test_wire_oversized_frame_refused_before_parsing(void **state)
{
    (void)state;
    wire_env_t env;
    env_with_body(&env, 0);
    size_t len;
    uint8_t *buf = pack(&env, &len);
    wire_env_t *out = (wire_env_t *)(uintptr_t)1;
    qr_err_t err = {""};

    /* a valid frame one byte over the limit */
    assert_int_equal(unpack_copy(buf, len, len - 1, &out, &err), QR_ETOOBIG);
    assert_null(out);
    assert_non_null(strstr(err.msg, "exceeds"));
    /* exactly at the limit is fine */
    assert_int_equal(unpack_copy(buf, len, len, &out, &err), 0);
    wire_free(&out);

    /* a length claim far beyond the real 16-byte buffer: refused without a
     * single read (ASan would report a heap overflow if it parsed) */
    uint8_t *small = malloc(16);
    assert_non_null(small);
    memcpy(small, buf, 16);
    assert_int_equal(wire_unpack(small, WIRE_MAX_FRAME + 1, WIRE_MAX_FRAME, &out, &err),
                     QR_ETOOBIG);
    assert_null(out);
    assert_int_equal(wire_unpack(small, SIZE_MAX, WIRE_MAX_FRAME, &out, &err), QR_ETOOBIG);
    free(small);
    free(buf);
}

static void test_wire_pack_refuses_frame_over_max(void **state)
{
    (void)state;
    wire_env_t env;
    env_with_body(&env, 0);
    size_t len = 0;
    uint8_t *buf = NULL;
    assert_int_equal(wire_pack(&env, 10, &buf, &len), QR_ETOOBIG);
    assert_null(buf);
    size_t need = quorate__envelope__get_packed_size(&env);
    assert_int_equal(wire_pack(&env, need, &buf, &len), 0);
    assert_int_equal(len, need);
    free(buf);
}

static void test_wire_wrong_version_refused(void **state)
{
    (void)state;
    static const uint32_t versions[] = {0, QR_PROTO_VERSION + 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        wire_env_t env;
        env_with_body(&env, 1);
        env.version = versions[i];
        size_t len;
        uint8_t *buf = pack(&env, &len);
        wire_env_t *out = (wire_env_t *)(uintptr_t)1;
        qr_err_t err = {""};
        assert_int_equal(unpack_copy(buf, len, WIRE_MAX_FRAME, &out, &err), QR_EVERSION);
        assert_null(out);
        assert_non_null(strstr(err.msg, "version"));
        free(buf);
    }
}

static void test_wire_envelope_without_body_refused(void **state)
{
    (void)state;
    wire_env_t env;
    wire_env_init(&env, QUORATE__ROLE__ROLE_AGENT, "ai1", 1, 1, 1);
    size_t len;
    uint8_t *buf = pack(&env, &len);
    wire_env_t *out = (wire_env_t *)(uintptr_t)1;
    qr_err_t err = {""};
    assert_int_equal(unpack_copy(buf, len, WIRE_MAX_FRAME, &out, &err), QR_EPROTO);
    assert_null(out);
    assert_non_null(strstr(err.msg, "body"));
    free(buf);
}

static void test_wire_empty_frame_refused(void **state)
{
    (void)state;
    wire_env_t *out = (wire_env_t *)(uintptr_t)1;
    qr_err_t err = {""};
    int rc = unpack_copy(NULL, 0, WIRE_MAX_FRAME, &out, &err);
    assert_int_not_equal(rc, 0);
    assert_null(out);
}

static void test_wire_invalid_sender_names_refused(void **state)
{
    (void)state;
    char long_name[300];
    memset(long_name, 'a', 254);
    long_name[254] = '\0';
    const char *bad[] = {
        "", /* empty */
        "ai\x01"
        "1",           /* control character */
        "ai1\n",       /* a newline would forge log lines */
        "ai\x1b[31m1", /* terminal escape */
        "ai\x7f",      /* DEL */
        "ai\xff"
        "1",            /* not UTF-8 */
        "\xc3",         /* truncated UTF-8 sequence */
        "\xc0\xaf",     /* overlong encoding of '/' */
        "\xed\xa0\x80", /* UTF-16 surrogate */
        long_name,      /* 254 bytes: over the 253 limit */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wire_env_t env;
        env_with_body(&env, 1);
        env.sender = (char *)bad[i];
        size_t len;
        uint8_t *buf = pack(&env, &len);
        wire_env_t *out = (wire_env_t *)(uintptr_t)1;
        qr_err_t err = {""};
        int rc = unpack_copy(buf, len, WIRE_MAX_FRAME, &out, &err);
        if (rc == 0)
            fail_msg("sender #%zu was accepted", i);
        assert_null(out);
        free(buf);
        assert_false(wire_name_ok(bad[i], 253));
    }
    assert_false(wire_name_ok(NULL, 253));
}

/* protobuf-c cannot build this frame (it packs C strings), a hostile peer
 * can: the sender field holds "ai1\0x". Taken as a C string it would read
 * as "ai1", another name than the one on the wire. */
static void test_wire_sender_with_nul_byte_refused(void **state)
{
    (void)state;
    static const uint8_t frame[] = {
        0x08, QR_PROTO_VERSION, /* version */
        0x12, 0x05,
        'a',  'i',
        '1',  0x00,
        'x',        /* sender, 5 bytes */
        0x5a, 0x00, /* heartbeat {} */
    };
    wire_env_t *out = (wire_env_t *)(uintptr_t)1;
    qr_err_t err = {""};
    int rc = unpack_copy(frame, sizeof frame, WIRE_MAX_FRAME, &out, &err);
    if (rc == 0) {
        char name[64];
        snprintf(name, sizeof name, "%s", out->sender);
        wire_free(&out);
        fail_msg("a sender with a NUL byte was accepted as '%s'", name);
    }
    assert_null(out);

    /* the same frame with a clean 5-byte name decodes: the test frame is
     * well-formed apart from the NUL */
    uint8_t clean[sizeof frame];
    memcpy(clean, frame, sizeof frame);
    clean[7] = 'y';
    assert_int_equal(unpack_copy(clean, sizeof clean, WIRE_MAX_FRAME, &out, &err), 0);
    assert_string_equal(out->sender, "ai1yx");
    assert_int_equal(out->body_case, QUORATE__ENVELOPE__BODY_HEARTBEAT);
    wire_free(&out);
}

static void test_wire_valid_sender_names_accepted(void **state)
{
    (void)state;
    char max_name[300];
    memset(max_name, 'b', 253);
    max_name[253] = '\0';
    const char *good[] = {"ai1",
                          "ctl-east.example.com",
                          "alice@laptop",
                          "n\xc3\xb6"
                          "de",
                          "\xe6\x9d\xb1\xe4\xba\xac",
                          max_name};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        wire_env_t env;
        env_with_body(&env, 1);
        env.sender = (char *)good[i];
        wire_env_t *out = roundtrip(&env);
        wire_free(&out);
        assert_true(wire_name_ok(good[i], 253));
    }
    /* the limit is the caller's */
    assert_true(wire_name_ok("abc", 3));
    assert_false(wire_name_ok("abcd", 3));
}

/* ---- random input ------------------------------------------------------ */

static uint64_t rng_state;
static uint64_t rng(void)
{
    /* xorshift64*: reproducible across libcs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* A decoded envelope must honour every promise of wire_unpack. */
static void check_decoded(int rc, wire_env_t *out)
{
    if (rc == 0) {
        assert_non_null(out);
        assert_int_equal(out->version, QR_PROTO_VERSION);
        assert_int_not_equal(out->body_case, QUORATE__ENVELOPE__BODY__NOT_SET);
        assert_true(wire_name_ok(out->sender, 253));
    } else {
        assert_null(out);
        assert_true(rc == QR_EPARSE || rc == QR_EVERSION || rc == QR_EPROTO || rc == QR_ETOOBIG);
    }
}

static void test_wire_random_bytes_never_crash(void **state)
{
    (void)state;
    rng_state = 0x5eed5eed12345678ULL;
    uint8_t buf[600];
    size_t accepted = 0;
    for (int i = 0; i < 10000; i++) {
        size_t len = (size_t)(rng() % sizeof buf);
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)rng();
        /* a third start like an envelope (version 1, then random), so some
         * get past the first field */
        if (i % 3 == 0 && len >= 2) {
            buf[0] = 0x08;
            buf[1] = QR_PROTO_VERSION;
        }
        wire_env_t *out = (wire_env_t *)(uintptr_t)1;
        qr_err_t err = {""};
        int rc = unpack_copy(buf, len, 512, &out, &err);
        check_decoded(rc, out);
        accepted += rc == 0;
        wire_free(&out);
    }
    print_message("random frames accepted: %zu of 10000\n", accepted);
}

/* Random mutations of valid frames reach deeper into the decoder than pure
 * noise does. */
static void test_wire_mutated_valid_frames_never_crash(void **state)
{
    (void)state;
    rng_state = 0xfeedface01234567ULL;
    size_t accepted = 0, total = 0;
    for (int k = 0; k < N_BODIES; k++) {
        wire_env_t env;
        env_with_body(&env, k);
        size_t len;
        uint8_t *orig = pack(&env, &len);
        for (int i = 0; i < 1250; i++) {
            uint8_t *m = malloc(len);
            assert_non_null(m);
            memcpy(m, orig, len);
            int flips = 1 + (int)(rng() % 4);
            for (int f = 0; f < flips; f++) {
                size_t at = (size_t)(rng() % len);
                if (rng() % 2)
                    m[at] ^= (uint8_t)(1u << (rng() % 8));
                else
                    m[at] = (uint8_t)rng();
            }
            size_t mlen = rng() % 4 == 0 ? (size_t)(rng() % (len + 1)) : len;
            wire_env_t *out = (wire_env_t *)(uintptr_t)1;
            int rc = wire_unpack(m, mlen, WIRE_MAX_FRAME, &out, NULL);
            check_decoded(rc, out);
            accepted += rc == 0;
            total++;
            wire_free(&out);
            free(m);
        }
        free(orig);
    }
    print_message("mutated frames accepted: %zu of %zu\n", accepted, total);
    assert_int_equal(total, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_roundtrip_report),
        cmocka_unit_test(test_wire_roundtrip_heartbeat),
        cmocka_unit_test(test_wire_roundtrip_op_request_and_reply),
        cmocka_unit_test(test_wire_roundtrip_ping_and_pong),
        cmocka_unit_test(test_wire_roundtrip_command_and_result),
        cmocka_unit_test(test_wire_env_init_sets_header),
        cmocka_unit_test(test_wire_truncated_frames_every_length_refused),
        cmocka_unit_test(test_wire_oversized_frame_refused_before_parsing),
        cmocka_unit_test(test_wire_pack_refuses_frame_over_max),
        cmocka_unit_test(test_wire_wrong_version_refused),
        cmocka_unit_test(test_wire_envelope_without_body_refused),
        cmocka_unit_test(test_wire_empty_frame_refused),
        cmocka_unit_test(test_wire_invalid_sender_names_refused),
        cmocka_unit_test(test_wire_sender_with_nul_byte_refused),
        cmocka_unit_test(test_wire_valid_sender_names_accepted),
        cmocka_unit_test(test_wire_random_bytes_never_crash),
        cmocka_unit_test(test_wire_mutated_valid_frames_never_crash),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
