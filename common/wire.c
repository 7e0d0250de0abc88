/* Envelope encode/decode. */
#include "wire.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "version.h"

void wire_env_init(wire_env_t *env, Quorate__Role role, const char *sender, uint64_t term,
                   uint64_t seq, int64_t now_us)
{
    quorate__envelope__init(env);
    env->version = QR_PROTO_VERSION;
    env->sender = (char *)sender;
    env->role = role;
    env->term = term;
    env->seq = seq;
    env->sent_at_us = now_us;
}

int wire_pack(const wire_env_t *env, size_t max, uint8_t **buf, size_t *len)
{
    size_t n = quorate__envelope__get_packed_size(env);
    if (n > max)
        return QR_ETOOBIG;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return QR_ENOMEM;
    *len = quorate__envelope__pack(env, b);
    *buf = b;
    return 0;
}

int wire_unpack(const uint8_t *buf, size_t len, size_t max, wire_env_t **out, qr_err_t *err)
{
    *out = NULL;
    if (len > max)
        return qr_err_set(err, QR_ETOOBIG, "frame of %zu bytes exceeds the limit of %zu", len,
                          max);
    wire_env_t *env = quorate__envelope__unpack(NULL, len, buf);
    if (!env)
        return qr_err_set(err, QR_EPARSE, "undecodable protobuf frame of %zu bytes", len);
    if (env->version != QR_PROTO_VERSION) {
        int rc = qr_err_set(err, QR_EVERSION, "protocol version %u, expected %u", env->version,
                            QR_PROTO_VERSION);
        quorate__envelope__free_unpacked(env, NULL);
        return rc;
    }
    if (env->body_case == QUORATE__ENVELOPE__BODY__NOT_SET) {
        quorate__envelope__free_unpacked(env, NULL);
        return qr_err_set(err, QR_EPROTO, "envelope without a body");
    }
    /* protobuf-c hands strings over as C strings: an embedded NUL would
     * silently shorten a name. Such a frame re-packs shorter than it came. */
    if (quorate__envelope__get_packed_size(env) != len) {
        quorate__envelope__free_unpacked(env, NULL);
        return qr_err_set(err, QR_EPROTO, "non-canonical frame (a NUL in a string?)");
    }
    if (!wire_name_ok(env->sender, 253)) {
        quorate__envelope__free_unpacked(env, NULL);
        return qr_err_set(err, QR_EPROTO, "invalid sender name");
    }
    *out = env;
    return 0;
}

void wire_free(wire_env_t **env_p)
{
    if (!env_p || !*env_p)
        return;
    quorate__envelope__free_unpacked(*env_p, NULL);
    *env_p = NULL;
}

int wire_name_ok(const char *s, size_t max)
{
    if (!s || !*s)
        return 0;
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    json_t *j = json_stringn(s, n); /* validates UTF-8 */
    if (!j)
        return 0;
    json_decref(j);
    return 1;
}

int64_t wire_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
