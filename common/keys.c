/* CURVE certificates through czmq. */
#include "keys.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int keys_generate(const char *dir, const char *name, char *pub_out, qr_err_t *err)
{
    char pub[4096], sec[4096];
    if (!name || !*name || strchr(name, '/') || strlen(name) > 200)
        return qr_err_set(err, QR_EINVAL, "invalid key name '%s'", name ? name : "");
    snprintf(pub, sizeof pub, "%s/%s.key", dir, name);
    snprintf(sec, sizeof sec, "%s/%s.key_secret", dir, name);
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0)
        return qr_err_set(err, QR_EINVAL, "%s or %s already exists; not overwriting", pub, sec);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return qr_err_set(err, QR_EIO, "cannot create %s: %s", dir, strerror(errno));
    zcert_t *cert = zcert_new();
    if (!cert)
        return qr_err_set(err, QR_ENOMEM, "cannot create a keypair");
    zcert_set_meta(cert, "name", "%s", name);
    mode_t old = umask(077);
    int rc = zcert_save(cert, pub); /* writes pub and pub_secret */
    umask(old);
    if (rc != 0) {
        zcert_destroy(&cert);
        return qr_err_set(err, QR_EIO, "cannot write %s: %s", pub, strerror(errno));
    }
    chmod(sec, 0600);
    chmod(pub, 0644);
    if (pub_out)
        snprintf(pub_out, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int keys_load_secret(const char *path, zcert_t **out, qr_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return qr_err_set(err, QR_EIO, "%s: %s", path, strerror(errno));
    if (st.st_mode & 077)
        return qr_err_set(err, QR_EPERM,
                          "%s: secret key is readable by group or others (mode %03o); run "
                          "'chmod 600 %s'",
                          path, (unsigned)(st.st_mode & 0777), path);
    zcert_t *cert = zcert_load(path);
    if (!cert || strlen(zcert_secret_txt(cert)) != 40 ||
        strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000") == 0) {
        zcert_destroy(&cert);
        return qr_err_set(err, QR_EPARSE, "%s: not a czmq secret certificate", path);
    }
    *out = cert;
    return 0;
}

int keys_load_store(const char *dir, zcertstore_t **out, qr_err_t *err)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return qr_err_set(err, QR_EIO, "%s: not a directory of public keys", dir);
    zcertstore_t *store = zcertstore_new(dir);
    if (!store)
        return qr_err_set(err, QR_EIO, "%s: cannot load public keys", dir);
    *out = store;
    return 0;
}

const char *keys_cert_name(zcert_t *cert)
{
    const char *n = cert ? zcert_meta(cert, "name") : NULL;
    return n ? n : "";
}
