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

SRC=${QR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LAB=$SRC/tests/lab/lab
SCN=$SRC/tests/lab/scenarios
skip() { echo "SKIP: $*"; exit 77; }

[[ $(id -u) == 0 ]] || skip "the lab needs root (network namespaces, loop mounts, dockerd)"
for b in /usr/sbin/dockerd /usr/bin/docker /usr/sbin/nft /usr/sbin/ip /usr/bin/nsenter \
    /usr/bin/unshare /usr/sbin/losetup /usr/sbin/mkfs.ext4 /usr/bin/jq /usr/bin/curl /usr/bin/flock; do
    [[ -x $b ]] || skip "$b is not installed"
done
/usr/bin/python3 -c 'import mockupdb, pymongo' 2>/dev/null ||
    skip "python3-mockupdb / python3-pymongo (Debian) are not installed for /usr/bin/python3"
[[ -n ${QR_BIN:-} ]] || skip "QR_BIN (the build dir with quorate-agent, quorate-controller, quoratectl) is not set"
for b in quorate-agent quorate-controller quoratectl; do
    [[ -x $QR_BIN/$b ]] || skip "$QR_BIN/$b is not built"
done
probe=qrlqprobe$$
probe=${probe:0:15}
if ! ip netns add "$probe" 2>/dev/null; then skip "cannot create network namespaces here"; fi
ip -n "$probe" link set lo up 2>/dev/null && nft_ok=1 || nft_ok=0
ip netns exec "$probe" /usr/sbin/nft list ruleset >/dev/null 2>&1 || nft_ok=0
ip netns del "$probe"
[[ $nft_ok == 1 ]] || skip "nftables does not work inside a network namespace here"
[[ -e /dev/loop-control ]] || skip "no loop devices (/dev/loop-control)"

# One lab test at a time on this machine: the same lock as test_lab_scenarios.sh.
exec 9>/tmp/qrlab-scenarios.lock
flock -w 900 9 || skip "another lab scenario run held /tmp/qrlab-scenarios.lock for 15 min"

# Leftovers of earlier runs of this test whose process is gone.
for d in /tmp/qrlab-q.*; do
    [[ -d $d ]] || continue
    p=${d##*.}
    [[ $p =~ ^[0-9]+$ ]] || continue
    kill -0 "$p" 2>/dev/null && continue
    echo "cleaning up a crashed earlier run: $d"
    QR_LAB_DIR=$d QR_LAB_PREFIX=qrlq$p "$LAB" down || true
    rm -f "$d.lock"
done

export QR_LAB_DIR=/tmp/qrlab-q.$$ QR_LAB_PREFIX=qrlq$$ LAB QR_BIN QR_LAB_QUORATE=1
export QR_LAB_INTERVAL_MS=${QR_LAB_INTERVAL_MS:-2000}
cleanup() {
    trap - EXIT INT TERM
    "$LAB" down >/dev/null 2>&1 || echo "WARNING: lab down failed; run QR_LAB_DIR=$QR_LAB_DIR QR_LAB_PREFIX=$QR_LAB_PREFIX $LAB down"
    rm -f "$QR_LAB_DIR.lock"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

echo "quorate binaries: $QR_BIN; agents' check interval ${QR_LAB_INTERVAL_MS} ms"
T0=$EPOCHREALTIME
fails=0
run() {
    local t0=$EPOCHREALTIME rc=0
    bash "$SCN/$1" 9>&- || rc=$?
    printf 'TIMING %-52s %6s s\n' "$1" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
    [[ $rc -eq 0 ]] || echo "$1: $rc failed check(s)"
    fails=$((fails + rc))
}
run quorate_three_dcs.sh
run quorate_two_dcs.sh
[[ ${QR_LAB_QUORATE_NINE:-1} == 1 ]] && run quorate_nine_hosts.sh
printf 'TIMING %-52s %6s s\n' "all quorate lab scenarios" "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
if [[ $fails -ne 0 ]]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "all quorate lab scenarios passed"
