/* Entry points of every check (one agent/check_<kind>.h each). */
#ifndef QR_CHECKS_H
#define QR_CHECKS_H

#include "check.h"

#endif
