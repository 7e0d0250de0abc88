/* quoratectl's connection to a controller's operator socket: the operator's
 * config (endpoint, the controller's public key, the operator's secret cert)
 * and one request/reply exchange with a timeout. */
#ifndef QR_CTL_CLIENT_H
#define QR_CTL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

typedef struct {
    char *config;          /* the file the settings came from, if any */
    char *controller;      /* endpoint, default tcp://127.0.0.1:7701 */
    char *controller_key;  /* the controller's public key (Z85) */
    char *cert;            /* the operator's secret certificate */
    bool curve;            /* result: default true, off with --no-curve or curve: false */
    bool no_curve;         /* --no-curve given */
    int timeout_ms;        /* default 5000 */
    bool json;             /* --json */
} ctl_opts_t;

/* Recognises the common options (--config, --controller, --controller-key,
 * --cert, --no-curve, --timeout, --json) at argv[*i]; returns 1 if it
 * consumed them (advancing *i), 0 if the option is not common, -1 on a
 * missing value (message printed). */
int ctl_opts_parse(ctl_opts_t *o, int argc, char **argv, int *i);
/* Loads the config file (explicit --config, $QUORATECTL_CONFIG,
 * ~/.config/quorate/quoratectl.yaml, /etc/quorate/quoratectl.yaml) under the
 * options given on the command line. Returns 0 or prints why and returns 2. */
int ctl_opts_finish(ctl_opts_t *o);
void ctl_opts_free(ctl_opts_t *o);
/* The common-option branch of a subcommand's option loop, for an argument
 * the subcommand did not take itself: consumes a common option (advancing
 * *i) and returns 0; otherwise prints "PROG: unexpected argument 'ARG'" (or
 * ctl_opts_parse's message for a missing value) and returns 2, the usage
 * exit code. prog is the message prefix, e.g. "quoratectl apply". */
int ctl_opts_arg(ctl_opts_t *o, const char *prog, int argc, char **argv, int *i);
/* The help text of the common options. */
extern const char ctl_common_help[];

/* Sends command with args to the controller and waits for the reply.
 * Returns 0 and the result in *result (caller decrefs), or a QR_E* code
 * with the reason in err (QR_ETIMEOUT when nobody answered). */
int ctl_request(const ctl_opts_t *o, const char *command, int nargs, char **args,
                json_t **result, qr_err_t *err);
/* ctl_request for a subcommand: returns 0 with the reply in *result (caller
 * decrefs), or prints "PROG: reason" and returns the exit code: 3 when no
 * controller answered (QR_ETIMEOUT, QR_EIO), 1 for a refusal or any other
 * error. */
int ctl_call(const ctl_opts_t *o, const char *prog, const char *command, int nargs,
             char **args, json_t **result);
/* Prints j to stdout as --json output: indented by 2, then a newline.
 * flags adds jansson dump flags (JSON_REAL_PRECISION(10) where the reply
 * carries measured figures). */
void ctl_print_json(const json_t *j, size_t flags);

#endif
