/* quoratectl's client side of the operator protocol. */
#include "ctl_client.h"

#include <czmq.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "wire.h"
#include "yconf.h"

const char ctl_common_help[] =
    "common options:\n"
    "  --controller ENDPOINT     controller operator endpoint (default tcp://127.0.0.1:7701)\n"
    "  --controller-key KEY      the controller's CURVE public key (Z85)\n"
    "  --cert FILE               your operator secret certificate\n"
    "  --no-curve                talk without CURVE (only to a controller with curve: false)\n"
    "  --timeout MS              how long to wait for an answer (default 5000)\n"
    "  --config FILE             settings file (default $QUORATECTL_CONFIG,\n"
    "                            ~/.config/quorate/quoratectl.yaml, /etc/quorate/quoratectl.yaml)\n"
    "  --json                    machine-readable output\n";

#define OFF(f) offsetof(ctl_opts_t, f)
static const yconf_field_t ctl_fields[] = {
    {"controller", YCONF_STR, OFF(controller), 0, 0, NULL},
    {"controller_key", YCONF_STR, OFF(controller_key), 0, 0, NULL},
    {"cert", YCONF_STR, OFF(cert), 0, 0, NULL},
    {"curve", YCONF_BOOL, OFF(curve), 0, 0, NULL},
    {"timeout_ms", YCONF_INT, OFF(timeout_ms), 1, 3600000, NULL},
};

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? 1 : -1;
}

int ctl_opts_parse(ctl_opts_t *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    static const char *with_value[] = {"--controller", "--controller-key", "--cert", "--timeout",
                                       "--config"};
    if (strcmp(a, "--json") == 0)
        return (o->json = true), 1;
    if (strcmp(a, "--no-curve") == 0)
        return (o->no_curve = true), 1;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
        if (strcmp(a, with_value[k]) != 0)
            continue;
        if (*i + 1 >= argc) {
            fprintf(stderr, "quoratectl: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++*i];
        switch (k) {
        case 0: return set_str(&o->controller, v);
        case 1: return set_str(&o->controller_key, v);
        case 2: return set_str(&o->cert, v);
        case 3: {
            char *end;
            long t = strtol(v, &end, 10);
            if (*end || t <= 0 || t > 3600000) {
                fprintf(stderr, "quoratectl: --timeout: expected milliseconds, got '%s'\n", v);
                return -1;
            }
            o->timeout_ms = (int)t;
            return 1;
        }
        default: return set_str(&o->config, v);
        }
    }
    return 0;
}

int ctl_opts_finish(ctl_opts_t *o)
{
    /* command-line values win over the file: load the file into a copy */
    ctl_opts_t f = {.curve = true, .timeout_ms = 5000};
    char home[4096] = "";
    const char *path = o->config ? o->config : getenv("QUORATECTL_CONFIG");
    if (!path && getenv("HOME")) {
        snprintf(home, sizeof home, "%s/.config/quorate/quoratectl.yaml", getenv("HOME"));
        if (access(home, R_OK) == 0)
            path = home;
    }
    if (!path && access("/etc/quorate/quoratectl.yaml", R_OK) == 0)
        path = "/etc/quorate/quoratectl.yaml";
    if (path) {
        qr_err_t err = {{0}};
        if (yconf_load(path, ctl_fields, sizeof ctl_fields / sizeof ctl_fields[0], &f, &err)) {
            fprintf(stderr, "quoratectl: %s\n", err.msg);
            yconf_free(ctl_fields, sizeof ctl_fields / sizeof ctl_fields[0], &f);
            return 2;
        }
    }
    if (!o->controller)
        o->controller = f.controller ? strdup(f.controller) : strdup("tcp://127.0.0.1:7701");
    if (!o->controller_key && f.controller_key)
        o->controller_key = strdup(f.controller_key);
    if (!o->cert && f.cert)
        o->cert = strdup(f.cert);
    if (o->timeout_ms == 0)
        o->timeout_ms = f.timeout_ms;
    o->curve = f.curve && !o->no_curve;
    yconf_free(ctl_fields, sizeof ctl_fields / sizeof ctl_fields[0], &f);
    if (o->curve && (!o->controller_key || !o->cert)) {
        fprintf(stderr, "quoratectl: CURVE needs --controller-key and --cert (or a config "
                        "file with controller_key and cert); see 'quoratectl keygen'\n");
        return 2;
    }
    return 0;
}

void ctl_opts_free(ctl_opts_t *o)
{
    free(o->config);
    free(o->controller);
    free(o->controller_key);
    free(o->cert);
    memset(o, 0, sizeof *o);
}

int ctl_opts_arg(ctl_opts_t *o, const char *prog, int argc, char **argv, int *i)
{
    int r = ctl_opts_parse(o, argc, argv, i);
    if (r > 0)
        return 0;
    if (r == 0)
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[*i]);
    return 2;
}

static int request_once(const ctl_opts_t *o, const char *command, int nargs, char **args,
                        json_t **result, json_t **redirect, qr_err_t *err);

int ctl_request(const ctl_opts_t *o, const char *command, int nargs, char **args,
                json_t **result, qr_err_t *err)
{
    json_t *redirect = NULL;
    int rc = request_once(o, command, nargs, args, result, &redirect, err);
    if (rc == QR_EUNAVAIL && redirect) {
        /* a follower named the leader: ask it instead (once) */
        ctl_opts_t to = *o;
        to.controller = (char *)json_string_value(json_object_get(redirect, "endpoint"));
        const char *key = json_string_value(json_object_get(redirect, "public_key"));
        if (key)
            to.controller_key = (char *)key;
        if (to.controller) {
            fprintf(stderr, "quoratectl: %s is a follower; asking the leader %s at %s\n",
                    o->controller, json_string_value(json_object_get(redirect, "leader")) ?: "?",
                    to.controller);
            json_t *again = NULL;
            rc = request_once(&to, command, nargs, args, result, &again, err);
            json_decref(again);
        }
    }
    json_decref(redirect);
    return rc;
}

static int request_once(const ctl_opts_t *o, const char *command, int nargs, char **args,
                        json_t **result, json_t **redirect, qr_err_t *err)
{
    *redirect = NULL;
    *result = NULL;
    zsys_handler_set(NULL);
    zcert_t *cert = NULL;
    int rc;
    if (o->curve && (rc = keys_load_secret(o->cert, &cert, err)) != 0)
        return rc;
    zsock_t *sock = zsock_new(ZMQ_REQ);
    if (!sock) {
        zcert_destroy(&cert);
        return qr_err_set(err, QR_EIO, "cannot create a socket");
    }
    zsock_set_linger(sock, 0);
    zsock_set_maxmsgsize(sock, 64 * 1024 * 1024);
    zsock_set_rcvtimeo(sock, o->timeout_ms);
    zsock_set_sndtimeo(sock, o->timeout_ms);
    if (cert) {
        zcert_apply(cert, sock);
        zsock_set_curve_serverkey(sock, o->controller_key);
    }
    rc = 0;
    if (zsock_connect(sock, "%s", o->controller) != 0) {
        rc = qr_err_set(err, QR_EINVAL, "invalid controller endpoint '%s'", o->controller);
        goto out;
    }
    Quorate__OpRequest req = QUORATE__OP_REQUEST__INIT;
    req.command = (char *)command;
    req.n_args = (size_t)nargs;
    req.args = args;
    wire_env_t env;
    char who[128] = "operator";
    if (cert && *keys_cert_name(cert))
        snprintf(who, sizeof who, "%s", keys_cert_name(cert));
    wire_env_init(&env, QUORATE__ROLE__ROLE_OPERATOR, who, 0, 1, wire_now_us());
    env.body_case = QUORATE__ENVELOPE__BODY_OP_REQUEST;
    env.op_request = &req;
    uint8_t *buf;
    size_t len;
    if (wire_pack(&env, WIRE_MAX_FRAME, &buf, &len) != 0) {
        rc = qr_err_set(err, QR_ETOOBIG, "request too large");
        goto out;
    }
    zframe_t *f = zframe_new(buf, len);
    free(buf);
    if (zframe_send(&f, sock, 0) != 0) {
        zframe_destroy(&f);
        rc = qr_err_set(err, QR_ETIMEOUT, "could not send to %s", o->controller);
        goto out;
    }
    zframe_t *reply = zframe_recv(sock);
    if (!reply) {
        rc = qr_err_set(err, QR_ETIMEOUT,
                        "no answer from the controller at %s within %d ms (is it running, and "
                        "are the controller key and your certificate right?)",
                        o->controller, o->timeout_ms);
        goto out;
    }
    wire_env_t *in = NULL;
    rc = wire_unpack(zframe_data(reply), zframe_size(reply), 64 * 1024 * 1024, &in, err);
    zframe_destroy(&reply);
    if (rc)
        goto out;
    if (in->body_case != QUORATE__ENVELOPE__BODY_OP_REPLY) {
        rc = qr_err_set(err, QR_EPROTO, "unexpected reply from the controller");
    } else if (in->op_reply->code != 0) {
        json_t *r = in->op_reply->result_json && *in->op_reply->result_json
                        ? json_loads(in->op_reply->result_json, 0, NULL)
                        : NULL;
        if (json_is_object(json_object_get(r, "redirect")))
            *redirect = json_incref(json_object_get(r, "redirect"));
        json_decref(r);
        rc = qr_err_set(err, in->op_reply->code, "%s",
                        in->op_reply->error && *in->op_reply->error
                            ? in->op_reply->error
                            : qr_strerror(in->op_reply->code));
    } else {
        json_error_t jerr;
        *result = json_loads(in->op_reply->result_json, 0, &jerr);
        if (!*result)
            rc = qr_err_set(err, QR_EPARSE, "unreadable reply: %s", jerr.text);
    }
    wire_free(&in);
out:
    zsock_destroy(&sock);
    zcert_destroy(&cert);
    return rc;
}

int ctl_call(const ctl_opts_t *o, const char *prog, const char *command, int nargs,
             char **args, json_t **result)
{
    qr_err_t err = {{0}};
    int rc = ctl_request(o, command, nargs, args, result, &err);
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", prog, err.msg);
    return rc == QR_ETIMEOUT || rc == QR_EIO ? 3 : 1;
}

void ctl_print_json(const json_t *j, size_t flags)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | flags);
    fputc('\n', stdout);
}
