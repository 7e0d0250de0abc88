#!/usr/bin/env bash
# quorate itself in the namespace lab: real quorate-controller (3, one election, on the swarm
# manager hosts) and quorate-agent (every host) against real dockerd swarms and the
# replica-set simulator, driven with quoratectl from inside the lab (`lab ctl`).
#   tests/lab/scenarios/quorate_three_dcs.sh  5 hosts / 3 DCs: status, labels (apply,
#       idempotence, drift), reachability under a partition, host and DC loss detection,
#       apply with managers lost
#   tests/lab/scenarios/quorate_two_dcs.sh    5 hosts / 2 DCs: majority DC lost -> the
#       survivors' mongod checks say "no primary"
#   tests/lab/scenarios/quorate_nine_hosts.sh 9 hosts / 3 DCs: apply timed
# (QR_LAB_QUORATE_NINE=0 leaves the 9-host run out.)
#
# Exit 77 (skipped) when not root or when namespaces, loop devices, nftables, dockerd,
# python3-mockupdb or the quorate binaries are unavailable. Shares the machine-wide lock of
# test_lab_scenarios.sh, so the two never run at once. Everything the lab creates is torn
# down on every exit path (trap). Prints `measured:` and TIMING lines.
set -uo pipefail

source "${QR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/preflight.sh"
lab_preflight lq quorate
lab_traps

echo "quorate binaries: $QR_BIN; agents' check interval ${QR_LAB_INTERVAL_MS} ms"
T0=$EPOCHREALTIME
run_scenario quorate_three_dcs.sh
run_scenario quorate_two_dcs.sh
[[ ${QR_LAB_QUORATE_NINE:-1} == 1 ]] && run_scenario quorate_nine_hosts.sh
printf 'TIMING %-52s %6s s\n' "all quorate lab scenarios" "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
if [[ $fails -ne 0 ]]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "all quorate lab scenarios passed"
