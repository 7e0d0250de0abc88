/* CURVE keys as czmq certificates: NAME.key (public, shareable) and
 * NAME.key_secret (secret, mode 0600). An allowlist is a directory of public
 * certificates (czmq zcertstore). */
#ifndef QR_KEYS_H
#define QR_KEYS_H

#include <czmq.h>
#include <stdint.h>

#include "err.h"

/* Writes DIR/NAME.key and DIR/NAME.key_secret (0600) with a new keypair and
 * metadata name=NAME. Refuses to overwrite existing files. Returns 0 or a
 * QR_E* code with the reason in err; the public key (Z85) goes to pub_out
 * (41 bytes) when non-NULL. */
int keys_generate(const char *dir, const char *name, char *pub_out, qr_err_t *err);

/* Loads a secret certificate. Refuses (QR_EPERM, with the chown/chmod to run
 * in err) a file that is not a regular file, is not owned by the effective
 * user, or is readable by group or others: a service must run as the user
 * that owns its key. Returns 0 and the cert in *out (caller destroys), or an
 * error. */
int keys_load_secret(const char *path, zcert_t **out, qr_err_t *err);

/* Loads an allowlist directory of public certificates (every certificate
 * file directly in dir) into a memory store; the caller destroys it. Lookups
 * through keys_store_lookup() follow later changes of the directory. */
int keys_load_store(const char *dir, zcertstore_t **out, qr_err_t *err);

/* Looks public_key (Z85) up in a store from keys_load_store(). At most once
 * a second (now_ms: any monotonic clock) it checks whether the directory
 * changed (a key file added, removed or renamed over) and then reloads it,
 * so keys can be added and revoked without a restart. The returned cert
 * (NULL: not allowed) is valid until the next call. Not thread-safe: call
 * from one thread (the event loop). */
zcert_t *keys_store_lookup(zcertstore_t *store, const char *public_key, int64_t now_ms);

/* Returns the metadata "name" of a certificate, or "" when unset. */
const char *keys_cert_name(zcert_t *cert);

#endif
