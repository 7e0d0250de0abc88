/* Fuzz target: mongod's replies as the mongod check interprets them. The
 * input is up to three BSON documents back to back (what libmongoc hands
 * over: length-framed, otherwise unchecked): hello, replSetGetStatus,
 * replSetGetConfig, taken in the probe's order and with its rules (ok: 0 is
 * a refusal with the server's code; no status query outside a replica set),
 * then the evaluator, the lag of every member and the result's JSON. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/check_mongod.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static check_mongod_facts_t *facts;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    facts = calloc(1, sizeof *facts); /* large: not on the stack */
    if (!facts)
        abort();
    return 0;
}

/* Next BSON document of the input (BSON frames itself: an int32 little-endian
 * total length first); false when none is left. */
static bool next_doc(const uint8_t *data, size_t size, size_t *off, bson_t *b)
{
    uint32_t len = 0;
    if (size - *off < 5)
        return false;
    memcpy(&len, data + *off, 4);
    len = BSON_UINT32_FROM_LE(len);
    if (len < 5 || len > size - *off || !bson_init_static(b, data + *off, len))
        return false;
    *off += len;
    return true;
}

/* What check_mongod_command makes of a reply: ok: 0 (or no ok) is a refusal
 * with the server's code, as libmongoc reports it. */
static int command_rc(const bson_t *reply, int *code, char *msg, size_t msglen)
{
    bson_iter_t it;
    *code = 0;
    if (bson_iter_init_find(&it, reply, "ok") && bson_iter_as_bool(&it))
        return 0;
    if (bson_iter_init_find(&it, reply, "code") && BSON_ITER_HOLDS_NUMBER(&it))
        *code = (int)bson_iter_as_int64(&it);
    const char *m = bson_iter_init_find(&it, reply, "errmsg") && BSON_ITER_HOLDS_UTF8(&it)
                        ? bson_iter_utf8(&it, NULL)
                        : "command failed";
    snprintf(msg, msglen, "%s", m);
    return QR_EREFUSED;
}

/* check_mongod_probe with the replies taken from the input. */
static void probe(const uint8_t *data, size_t size, check_mongod_facts_t *f)
{
    size_t off = 0;
    bson_t b;
    qr_err_t err = {{0}};
    int code = 0;
    if (!next_doc(data, size, &off, &b))
        return;
    f->hello_rc = command_rc(&b, &code, err.msg, sizeof err.msg);
    if (!f->hello_rc)
        f->hello_rc = check_mongod_parse_hello(&b, f, &err);
    if (f->hello_rc) {
        snprintf(f->hello_error, sizeof f->hello_error, "%s", err.msg);
        return;
    }
    if ((!f->in_replset && !f->replset_uninitiated) || !next_doc(data, size, &off, &b))
        return;
    f->status_rc = command_rc(&b, &code, err.msg, sizeof err.msg);
    f->status_code = code;
    if (!f->status_rc)
        f->status_rc = check_mongod_parse_status(&b, f, &err);
    if (f->status_rc) {
        snprintf(f->status_error, sizeof f->status_error, "%s", err.msg);
        return;
    }
    if (!next_doc(data, size, &off, &b))
        return;
    f->config_rc = command_rc(&b, &code, err.msg, sizeof err.msg);
    if (!f->config_rc)
        f->config_rc = check_mongod_parse_config(&b, f, &err);
    if (f->config_rc)
        snprintf(f->config_error, sizeof f->config_error, "%s", err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_mongod_facts_t *f = facts;
    check_mongod_facts_init(f);
    snprintf(f->hosts, sizeof f->hosts, "127.0.0.1:27017");
    f->timeout_ms = 2000;
    probe(data, size, f);
    for (size_t i = 0; i < f->n_members; i++)
        check_mongod_lag_s(f, i);
    check_result_t r;
    check_result_init(&r, "mongod");
    check_mongod_eval(f, &r);
    fuzz_check_result(&r);
    check_mongod_facts_clear(f);
    return 0;
}
