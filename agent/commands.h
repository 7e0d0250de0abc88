/* The fenced commands an agent runs for the leader (Command.kind): each is a
 * blocking function of (configuration, arguments) -> result, run on a worker
 * thread by agent.c once the command's term has passed the fence. Adding a
 * command is one table entry in commands.c. */
#ifndef QR_COMMANDS_H
#define QR_COMMANDS_H

#include <jansson.h>

#include "agent_conf.h"
#include "err.h"

/* Runs on a worker: returns 0 and *out (new reference, may stay NULL), or a
 * negative QR_E* code with err filled. */
typedef int (*command_fn)(const agent_conf_t *conf, const json_t *args, json_t **out,
                          qr_err_t *err);

typedef struct {
    const char *kind;
    command_fn run;
    const char *log_verb; /* logged as event=<verb> before and after */
} command_kind_t;

/* The command kind named `kind`, or NULL. */
const command_kind_t *commands_find(const char *kind);

#endif
