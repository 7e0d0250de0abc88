/* The planner's JSON edge (DESIGN.md "Contracts"): inventory JSON in, with
 * errors naming the field (`nodes[3].datadir_gb: expected a number`); plan
 * JSON out. quoratectl plan and the controller share this path. */
#ifndef QR_PLANNER_JSON_H
#define QR_PLANNER_JSON_H

#include <jansson.h>

#include "err.h"
#include "planner.h"

/* Parses inventory JSON text (len bytes, need not be NUL-terminated).
 * Returns 0 and a new validated inventory in *out (caller destroys it), or
 * QR_EPARSE (malformed JSON: line and column in err), QR_EINVAL (a missing
 * or mistyped field, duplicate hostnames, unknown DC: the field in err), or
 * QR_ENOMEM. */
int planner_json_parse(const char *text, size_t len, planner_inventory_t **out, qr_err_t *err);

/* The same from a parsed JSON value. */
int planner_json_inventory(const json_t *root, planner_inventory_t **out, qr_err_t *err);

/* The inventory back as JSON (what `quoratectl inventory --json` exports,
 * and what a failing property test prints). New reference, NULL on ENOMEM. */
json_t *planner_json_dump_inventory(const planner_inventory_t *inv);

/* The plan as the contract's JSON. New reference, NULL on ENOMEM. */
json_t *planner_json_plan(const planner_plan_t *plan);

#endif
