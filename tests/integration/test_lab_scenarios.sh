#!/usr/bin/env bash
# The test lab, proven: two labs of 5 hosts (3 DCs, then 2 DCs) in network namespaces with a
# real dockerd and swarm per host and a simulated replica set (tests/lab/mongosim.py), put
# through DC loss, forced recovery and a partition. See tests/lab/scenarios/*.sh for what
# each step asserts and docs/lab.md for the lab itself.
#
# Exit 77 (skipped) when not root or when namespaces, loop devices, nftables, dockerd or
# python3-mockupdb are unavailable. Everything the lab creates is torn down on every exit
# path (trap). Prints TIMING lines and the lab's RAM use.
set -uo pipefail

source "${QR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/preflight.sh"
lab_preflight lt
lab_traps

T0=$EPOCHREALTIME
avail0=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
fails=0
run_scenario three_dcs.sh
run_scenario two_dcs_forced.sh
avail1=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
printf 'TIMING %-52s %6s s\n' "all lab scenarios" "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
echo "MemAvailable before/after: $((avail0 / 1024)) / $((avail1 / 1024)) MiB"
if [[ $fails -ne 0 ]]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "all lab scenarios passed"
