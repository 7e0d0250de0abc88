/* ZAP handler: per-domain allowlists of CURVE keys. */
#include "zap.h"

#include <string.h>

#include "keys.h"
#include "log.h"
#include "zuv.h"

#define ZAP_MAX_DOMAINS 8

struct zap {
    zsock_t *sock;
    zuv_t *zuv;
    struct {
        char name[32];
        zcertstore_t *store;
    } domains[ZAP_MAX_DOMAINS];
    int n_domains;
    uint64_t accepted, rejected;
    log_limit_t lim;
    uv_loop_t *loop;
};

static zcertstore_t *zap_store(zap_t *zap, const char *domain)
{
    for (int i = 0; i < zap->n_domains; i++)
        if (strcmp(zap->domains[i].name, domain) == 0)
            return zap->domains[i].store;
    return NULL;
}

static void zap_reply(zap_t *zap, const char *reqid, const char *code, const char *text,
                      const char *user)
{
    zmsg_t *r = zmsg_new();
    zmsg_addstr(r, "1.0");
    zmsg_addstr(r, reqid);
    zmsg_addstr(r, code);
    zmsg_addstr(r, text);
    zmsg_addstr(r, user);
    zmsg_addmem(r, NULL, 0);
    zuv_send(zap->zuv, &r);
}

static void on_request(zuv_t *z, zmsg_t **msg_p, void *arg)
{
    zap_t *zap = arg;
    zmsg_t *m = *msg_p;
    (void)z;
    /* REP socket: the envelope is stripped; frames: version, request id,
     * domain, address, identity, mechanism, credentials... */
    char *version = zmsg_popstr(m), *reqid = zmsg_popstr(m), *domain = zmsg_popstr(m),
         *address = zmsg_popstr(m), *identity = zmsg_popstr(m), *mech = zmsg_popstr(m);
    zframe_t *key = zmsg_pop(m);
    const char *code = "400", *text = "not allowed";
    char user[41] = "";
    if (!version || strcmp(version, "1.0") != 0 || !reqid) {
        log_warnx("event=zap_bad_request");
    } else if (!mech || strcmp(mech, "CURVE") != 0 || !key || zframe_size(key) != 32) {
        text = "CURVE required";
    } else {
        zmq_z85_encode(user, zframe_data(key), 32);
        zcertstore_t *store = zap_store(zap, domain ? domain : "");
        if (store && keys_store_lookup(store, user, (int64_t)uv_now(zap->loop))) {
            code = "200";
            text = "OK";
        }
    }
    if (strcmp(code, "200") == 0) {
        zap->accepted++;
    } else {
        zap->rejected++;
        if (log_limit_ok(&zap->lim, (long long)uv_now(zap->loop), 1000)) {
            log_warnx("event=auth_rejected domain=%s peer=%s key=%s mechanism=%s reason=\"%s\" "
                      "suppressed=%lu",
                      domain ? domain : "?", address ? address : "?", user[0] ? user : "-",
                      mech ? mech : "?", text, zap->lim.suppressed);
            zap->lim.suppressed = 0;
        }
        user[0] = '\0';
    }
    if (reqid)
        zap_reply(zap, reqid, code, text, user);
    (void)identity;
    free(version), free(reqid), free(domain), free(address), free(identity), free(mech);
    zframe_destroy(&key);
}

int zap_new(uv_loop_t *loop, zap_t **out, qr_err_t *err)
{
    zap_t *zap = calloc(1, sizeof *zap);
    if (!zap)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    zap->loop = loop;
    zap->sock = zsock_new(ZMQ_REP);
    if (!zap->sock || zsock_bind(zap->sock, "inproc://zeromq.zap.01") != 0) {
        zsock_destroy(&zap->sock);
        free(zap);
        return qr_err_set(err, QR_EIO, "cannot bind the ZAP handler");
    }
    zap->zuv = zuv_new(loop, zap->sock, on_request, zap);
    *out = zap;
    return 0;
}

int zap_allow(zap_t *zap, const char *domain, zcertstore_t *store)
{
    if (zap->n_domains >= ZAP_MAX_DOMAINS || strlen(domain) >= 32)
        return QR_ERANGE;
    snprintf(zap->domains[zap->n_domains].name, 32, "%s", domain);
    zap->domains[zap->n_domains++].store = store;
    return 0;
}

uint64_t zap_accepted(const zap_t *zap)
{
    return zap->accepted;
}

uint64_t zap_rejected(const zap_t *zap)
{
    return zap->rejected;
}

const char *zap_peer_name(zap_t *zap, const char *domain, const char *user_id)
{
    zcertstore_t *store = zap_store(zap, domain);
    zcert_t *cert =
        store && user_id ? keys_store_lookup(store, user_id, (int64_t)uv_now(zap->loop)) : NULL;
    const char *n = cert ? zcert_meta(cert, "name") : NULL;
    return n;
}

void zap_destroy(zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zap_t *zap = *self_p;
    zuv_destroy(&zap->zuv);
    zsock_destroy(&zap->sock);
    free(zap);
    *self_p = NULL;
}
