#!/usr/bin/env bash
# quorate's live forced recovery in the namespace lab (issue 8): real quorate-controller
# and quorate-agent processes, real dockerd swarms, the replica-set simulator;
# tests/lab/scenarios/quorate_recover.sh says what each step asserts.
# Exit 77 (skipped) when the lab cannot run here (see tests/lab/preflight.sh). Shares the
# machine-wide lab lock; everything is torn down on every exit path.
set -uo pipefail
source "${QR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/preflight.sh"
lab_preflight lr quorate
lab_traps
echo "quorate binaries: $QR_BIN; agents' check interval ${QR_LAB_INTERVAL_MS} ms"
run_scenario quorate_recover.sh
if [[ $fails -ne 0 ]]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "live recovery scenario passed"
