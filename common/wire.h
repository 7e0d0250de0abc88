/* The wire codec: protobuf-c Envelopes in one ZeroMQ frame each. Decoding is
 * defensive: size-checked before parsing, version-checked, body required. */
#ifndef QR_WIRE_H
#define QR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "quorate.pb-c.h"

/* Default largest frame we accept (also set as ZMQ_MAXMSGSIZE on sockets, so
 * libzmq drops the connection of a peer that sends more). */
#define WIRE_MAX_FRAME (1024 * 1024)

typedef Quorate__Envelope wire_env_t;

/* Fills the header fields of env (version, sender, role, term, seq, now).
 * `sender` is borrowed: it must outlive the envelope. */
void wire_env_init(wire_env_t *env, Quorate__Role role, const char *sender, uint64_t term,
                   uint64_t seq, int64_t now_us);

/* Serialises env into a new buffer (*buf, caller frees). Returns 0 or
 * QR_ENOMEM / QR_ETOOBIG (larger than max). */
int wire_pack(const wire_env_t *env, size_t max, uint8_t **buf, size_t *len);

/* Parses a frame. Returns 0 and a new envelope in *out (free with
 * wire_free), or QR_ETOOBIG / QR_EPARSE / QR_EVERSION / QR_EPROTO with the
 * reason in err. */
int wire_unpack(const uint8_t *buf, size_t len, size_t max, wire_env_t **out, qr_err_t *err);

/* Frees an envelope from wire_unpack. NULL-safe, clears *env_p. */
void wire_free(wire_env_t **env_p);

/* Returns true when s is valid UTF-8 of at most max bytes with no control
 * characters: what we accept for names that end up in logs and JSON. */
int wire_name_ok(const char *s, size_t max);

/* Current wall clock in microseconds. */
int64_t wire_now_us(void);

#endif
