#!/usr/bin/env bash
# quorate's label tests in the namespace lab (issue 7), real quorate-controller (3, one
# election) and quorate-agent (every host) against real dockerd swarms:
#   tests/lab/scenarios/quorate_labels.sh  5 hosts / 3 DCs: "unlabeled" until the first
#       apply, apply racing other clients' label updates (version conflicts retried), a
#       command with an old term refused by the agent (a fake controller), decommission of
#       a member node (drain, its number moves, demote refused for a needed manager, the
#       node removed from the swarm once its host is down), timed
#
# Exit 77 (skipped) when not root or when namespaces, loop devices, nftables, dockerd,
# python3-mockupdb, python3-zmq or the quorate binaries are unavailable. Shares the
# machine-wide lab lock, so no two labs run at once. Everything the lab creates is torn down
# on every exit path (trap). Prints `measured:` and TIMING lines.
set -uo pipefail

source "${QR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/preflight.sh"
/usr/bin/python3 -c 'import zmq' 2>/dev/null || skip "python3-zmq (Debian) is not installed for /usr/bin/python3"
lab_preflight ll quorate
lab_traps

echo "quorate binaries: $QR_BIN; agents' check interval ${QR_LAB_INTERVAL_MS} ms"
run_scenario quorate_labels.sh
if [[ $fails -ne 0 ]]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "the quorate label lab scenario passed"
