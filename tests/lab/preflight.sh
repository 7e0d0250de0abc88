# Sourced by the lab's ctest wrappers (tests/integration/test_lab_*.sh): checks that this
# machine can run the lab (exit 77 = skipped otherwise), takes the machine-wide lab lock
# (fd 9: one lab at a time, whoever runs ctest), and tears down what a crashed earlier
# run of the same wrapper left behind.
#   lab_preflight TAG [quorate]   TAG: 4 letters naming the wrapper (state dirs
#                                 /tmp/qrlab-TAG.PID, namespace prefix qrTAGPID);
#                                 "quorate": the quorate binaries in $QR_BIN are needed
# Sets and exports QR_LAB_DIR, QR_LAB_PREFIX, LAB (and QR_BIN, QR_LAB_QUORATE=1 with quorate).
SRC=${QR_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB=$SRC/tests/lab/lab
SCN=$SRC/tests/lab/scenarios
skip() { echo "SKIP: $*"; exit 77; }

lab_preflight() {
    local tag=$1 want=${2:-} b probe nft_ok d p
    [[ $(id -u) == 0 ]] || skip "the lab needs root (network namespaces, loop mounts, dockerd)"
    for b in /usr/sbin/dockerd /usr/bin/docker /usr/sbin/nft /usr/sbin/ip /usr/bin/nsenter \
        /usr/bin/unshare /usr/sbin/losetup /usr/sbin/mkfs.ext4 /usr/bin/jq /usr/bin/curl /usr/bin/flock; do
        [[ -x $b ]] || skip "$b is not installed"
    done
    /usr/bin/python3 -c 'import mockupdb, pymongo' 2>/dev/null ||
        skip "python3-mockupdb / python3-pymongo (Debian) are not installed for /usr/bin/python3"
    if [[ $want == quorate ]]; then
        [[ -n ${QR_BIN:-} ]] || skip "QR_BIN (the build dir with quorate-agent, quorate-controller, quoratectl) is not set"
        for b in quorate-agent quorate-controller quoratectl; do
            [[ -x $QR_BIN/$b ]] || skip "$QR_BIN/$b is not built"
        done
    fi
    probe=qr${tag}probe$$
    probe=${probe:0:15}
    ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
    ip -n "$probe" link set lo up 2>/dev/null && nft_ok=1 || nft_ok=0
    ip netns exec "$probe" /usr/sbin/nft list ruleset >/dev/null 2>&1 || nft_ok=0
    ip netns del "$probe"
    [[ $nft_ok == 1 ]] || skip "nftables does not work inside a network namespace here"
    [[ -e /dev/loop-control ]] || skip "no loop devices (/dev/loop-control)"

    exec 9>/tmp/qrlab-scenarios.lock
    flock -w 900 9 || skip "another lab run held /tmp/qrlab-scenarios.lock for 15 min"

    for d in /tmp/qrlab-$tag.*; do
        [[ -d $d ]] || continue
        p=${d##*.}
        [[ $p =~ ^[0-9]+$ ]] || continue
        kill -0 "$p" 2>/dev/null && continue
        echo "cleaning up a crashed earlier run: $d"
        QR_LAB_DIR=$d QR_LAB_PREFIX=qr$tag$p "$LAB" down || true
        rm -f "$d.lock"
    done
    export QR_LAB_DIR=/tmp/qrlab-$tag.$$ QR_LAB_PREFIX=qr$tag$$ LAB
    if [[ $want == quorate ]]; then
        export QR_BIN QR_LAB_QUORATE=1
        export QR_LAB_INTERVAL_MS=${QR_LAB_INTERVAL_MS:-2000}
    fi
}

# Tear down on every exit path (call after lab_preflight).
lab_cleanup() {
    trap - EXIT INT TERM
    "$LAB" down >/dev/null 2>&1 || echo "WARNING: lab down failed; run QR_LAB_DIR=$QR_LAB_DIR QR_LAB_PREFIX=$QR_LAB_PREFIX $LAB down"
    rm -f "$QR_LAB_DIR.lock"
}
lab_traps() {
    trap lab_cleanup EXIT
    trap 'echo "interrupted"; exit 130' INT TERM
}

# run_scenario FILE: runs a scenario script, prints its TIMING line, adds its failed
# check count to $fails.
fails=0
run_scenario() {
    local t0=$EPOCHREALTIME rc=0
    bash "$SCN/$1" 9>&- || rc=$?
    printf 'TIMING %-52s %6s s\n' "$1" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
    [[ $rc -eq 0 ]] || echo "$1: $rc failed check(s)"
    fails=$((fails + rc))
}
