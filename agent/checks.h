/* Entry points of every check (one agent/check_<kind>.h each). */
#ifndef QR_CHECKS_H
#define QR_CHECKS_H

#include "check.h"
#include "check_disk.h"
#include "check_docker.h"
#include "check_envfile.h"
#include "check_host.h"
#include "check_mongod.h"
#include "check_ntp.h"
#include "check_ports.h"
#include "check_web.h"

#endif
