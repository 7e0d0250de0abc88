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
probe=qrltprobe$$
if ! ip netns add "$probe" 2>/dev/null; then skip "cannot create network namespaces here"; fi
ip -n "$probe" link set lo up 2>/dev/null && nft_ok=1 || nft_ok=0
ip netns exec "$probe" /usr/sbin/nft list ruleset >/dev/null 2>&1 || nft_ok=0
ip netns del "$probe"
[[ $nft_ok == 1 ]] || skip "nftables does not work inside a network namespace here"
[[ -e /dev/loop-control ]] || skip "no loop devices (/dev/loop-control)"

# One lab test at a time on this machine (several engineers may run ctest at once).
exec 9>/tmp/qrlab-scenarios.lock
flock -w 900 9 || skip "another lab scenario run held /tmp/qrlab-scenarios.lock for 15 min"

# Leftovers of earlier runs of this test whose process is gone.
for d in /tmp/qrlab-t.*; do
    [[ -d $d ]] || continue
    p=${d##*.}
    [[ $p =~ ^[0-9]+$ ]] || continue
    kill -0 "$p" 2>/dev/null && continue
    echo "cleaning up a crashed earlier run: $d"
    QR_LAB_DIR=$d QR_LAB_PREFIX=qrlt$p "$LAB" down || true
done

export QR_LAB_DIR=/tmp/qrlab-t.$$ QR_LAB_PREFIX=qrlt$$ LAB
cleanup() {
    trap - EXIT INT TERM
    "$LAB" down >/dev/null 2>&1 || echo "WARNING: lab down failed; run QR_LAB_DIR=$QR_LAB_DIR QR_LAB_PREFIX=$QR_LAB_PREFIX $LAB down"
    rm -f "$QR_LAB_DIR.lock"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

T0=$EPOCHREALTIME
avail0=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
fails=0
bash "$SCN/three_dcs.sh" 9>&- || fails=$((fails + $?))
bash "$SCN/two_dcs_forced.sh" 9>&- || fails=$((fails + $?))
avail1=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
printf 'TIMING %-52s %6s s\n' "all lab scenarios" "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
echo "MemAvailable before/after: $((avail0 / 1024)) / $((avail1 / 1024)) MiB"
if [[ $fails -ne 0 ]]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "all lab scenarios passed"
