/* CURVE keys as czmq certificates: NAME.key (public, shareable) and
 * NAME.key_secret (secret, mode 0600). An allowlist is a directory of public
 * certificates (czmq zcertstore). */
#ifndef QR_KEYS_H
#define QR_KEYS_H

#include <czmq.h>

#include "err.h"

/* Writes DIR/NAME.key and DIR/NAME.key_secret (0600) with a new keypair and
 * metadata name=NAME. Refuses to overwrite existing files. Returns 0 or a
 * QR_E* code with the reason in err; the public key (Z85) goes to pub_out
 * (41 bytes) when non-NULL. */
int keys_generate(const char *dir, const char *name, char *pub_out, qr_err_t *err);

/* Loads a secret certificate. Refuses (QR_EPERM) a file readable by group or
 * others. Returns 0 and the cert in *out (caller destroys), or an error. */
int keys_load_secret(const char *path, zcert_t **out, qr_err_t *err);

/* Loads an allowlist directory of public certificates. */
int keys_load_store(const char *dir, zcertstore_t **out, qr_err_t *err);

/* Returns the metadata "name" of a certificate, or "" when unset. */
const char *keys_cert_name(zcert_t *cert);

#endif
