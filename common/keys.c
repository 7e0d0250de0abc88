/* CURVE certificates through czmq. */
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

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

/* The user's name, or its number when it has no passwd entry (chown takes
 * either). */
static void user_name(uid_t uid, char *out, size_t len)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
        snprintf(out, len, "%s", res->pw_name);
    else
        snprintf(out, len, "%u", (unsigned)uid);
}

int keys_load_secret(const char *path, zcert_t **out, qr_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return qr_err_set(err, QR_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return qr_err_set(err, QR_EPERM, "%s: secret key is not a regular file", path);
    if (st.st_uid != geteuid()) {
        char owner[64], me[64];
        user_name(st.st_uid, owner, sizeof owner);
        user_name(geteuid(), me, sizeof me);
        return qr_err_set(err, QR_EPERM,
                          "%s: secret key is owned by %s (uid %u), but this process runs as "
                          "%s (uid %u); key files must belong to the service user: run "
                          "'chown %s %s' and 'chmod 600 %s'",
                          path, owner, (unsigned)st.st_uid, me, (unsigned)geteuid(), me, path,
                          path);
    }
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

/* Allowlists. czmq's disk-backed certificate store rescans its whole
 * directory (a stat and an allocation per file) on every lookup, and every
 * handshake and every agent message looks a key up: with 1,000 agent keys
 * that is milliseconds per message and a controller that cannot keep up.
 * So a store here is a memory store loaded once, plus a reloaded copy that
 * keys_store_lookup() swaps in when the directory changed, checked at most
 * once a second. The registry maps the caller's store to its directory. */
#define KEYS_MAX_STORES 16

static struct {
    zcertstore_t *handle;  /* what keys_load_store() returned (the caller owns it) */
    zcertstore_t *current; /* a newer load of dir (owned here), or NULL */
    char dir[4096];
    struct timespec mtime, ctime;
    int64_t checked_ms;
    bool used;
} stores[KEYS_MAX_STORES];
static size_t stores_next; /* round-robin slot when all are used */

/* Loads every certificate file directly in dir into a new memory store. */
static int load_dir(const char *dir, zcertstore_t **out, size_t *count, struct stat *st,
                    qr_err_t *err)
{
    if (stat(dir, st) != 0 || !S_ISDIR(st->st_mode))
        return qr_err_set(err, QR_EIO, "%s: not a directory of public keys", dir);
    DIR *d = opendir(dir);
    if (!d)
        return qr_err_set(err, QR_EIO, "%s: cannot read: %s", dir, strerror(errno));
    zcertstore_t *store = zcertstore_new(NULL);
    if (!store) {
        closedir(d);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    *count = 0;
    struct dirent *e;
    char path[4096 + 256];
    while ((e = readdir(d)) != NULL) {
        struct stat fst;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))
            continue;
        zcert_t *cert = zcert_load(path);
        if (!cert)
            continue;
        const char *pub = zcert_public_txt(cert);
        if (strlen(pub) != 40 || strcmp(pub, "0000000000000000000000000000000000000000") == 0 ||
            zcertstore_lookup(store, pub)) { /* no key, or the same key twice */
            zcert_destroy(&cert);
            continue;
        }
        zcertstore_insert(store, &cert);
        (*count)++;
    }
    closedir(d);
    *out = store;
    return 0;
}

int keys_load_store(const char *dir, zcertstore_t **out, qr_err_t *err)
{
    zcertstore_t *store;
    size_t count;
    struct stat st;
    int rc = load_dir(dir, &store, &count, &st, err);
    if (rc)
        return rc;
    size_t slot = KEYS_MAX_STORES;
    for (size_t i = 0; i < KEYS_MAX_STORES && slot == KEYS_MAX_STORES; i++)
        if (!stores[i].used)
            slot = i;
    if (slot == KEYS_MAX_STORES) /* all used (stores of tests long gone): reuse the oldest */
        slot = stores_next++ % KEYS_MAX_STORES;
    zcertstore_destroy(&stores[slot].current);
    stores[slot].handle = store;
    snprintf(stores[slot].dir, sizeof stores[slot].dir, "%s", dir);
    stores[slot].mtime = st.st_mtim;
    stores[slot].ctime = st.st_ctim;
    stores[slot].checked_ms = 0;
    stores[slot].used = true;
    *out = store;
    return 0;
}

static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

zcert_t *keys_store_lookup(zcertstore_t *store, const char *public_key, int64_t now_ms)
{
    if (!store || !public_key)
        return NULL;
    size_t i = 0;
    while (i < KEYS_MAX_STORES && !(stores[i].used && stores[i].handle == store))
        i++;
    if (i == KEYS_MAX_STORES)
        return zcertstore_lookup(store, public_key);
    if (now_ms - stores[i].checked_ms >= 1000 || now_ms < stores[i].checked_ms) {
        stores[i].checked_ms = now_ms;
        struct stat st;
        if (stat(stores[i].dir, &st) == 0 &&
            (!same_time(st.st_mtim, stores[i].mtime) || !same_time(st.st_ctim, stores[i].ctime))) {
            zcertstore_t *fresh;
            size_t count;
            qr_err_t err = {{0}};
            if (load_dir(stores[i].dir, &fresh, &count, &st, &err) == 0) {
                zcertstore_destroy(&stores[i].current);
                stores[i].current = fresh;
                stores[i].mtime = st.st_mtim;
                stores[i].ctime = st.st_ctim;
                log_info("event=allowlist_reloaded dir=%s keys=%zu", stores[i].dir, count);
            } else {
                log_warnx("event=allowlist_reload_failed dir=%s reason=\"%s\" (keeping the "
                          "previous keys)",
                          stores[i].dir, err.msg);
            }
        }
    }
    return zcertstore_lookup(stores[i].current ? stores[i].current : store, public_key);
}

const char *keys_cert_name(zcert_t *cert)
{
    const char *n = cert ? zcert_meta(cert, "name") : NULL;
    return n ? n : "";
}
