/* The plan as a table for people (quoratectl plan without --json). */
#ifndef QR_PLANNER_TEXT_H
#define QR_PLANNER_TEXT_H

#include <stdio.h>

#include "planner.h"

/* Writes the plan for inv as readable text to f: nodes (dc, role, labels
 * before -> after), members, commands, survivability, steps, warnings,
 * errors. Returns 0 or QR_EIO when f reports a write error. */
int planner_text_write(FILE *f, const planner_inventory_t *inv, const planner_plan_t *plan);

#endif
