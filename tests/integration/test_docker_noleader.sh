#!/usr/bin/env bash
# The docker check through a swarm's leaderless window, for real: three
# managers (Debian dockerd, one network namespace each, joined by a bridge in
# a namespace of its own), then the two followers are cut off. The check on
# the remaining manager must say what is happening (managers unreachable,
# then no leader) instead of hanging or reporting a mystery, every run must
# end within its timeouts, and after the heal it must come back to ok.
set -u

QR_BIN=${QR_BIN:?QR_BIN must point at the build dir}
AGENT=$QR_BIN/quorate-agent
DOCKERD=/usr/sbin/dockerd
DOCKER=/usr/bin/docker

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${B:-}" ] && tail -n 5 "$B"/h*/log 2>/dev/null; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, dockerd)"
[ -x "$DOCKERD" ] && [ -x "$DOCKER" ] || skip "Debian docker.io not installed"
for t in ip nsenter unshare /usr/bin/python3; do command -v "$t" >/dev/null || skip "$t missing"; done
[ -x "$AGENT" ] || fail "$AGENT not built"

B=$(mktemp -d /tmp/qr_nl.XXXXXX)
SW=qrnls$$
NSS=()
PIDS=()

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -KILL "$p"
        wait "$p" 2>/dev/null
    done
    for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
    grep -o " $B[^ ]*" /proc/self/mounts | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    rm -rf "$B"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$SW" 2>/dev/null || skip "cannot create a network namespace"
NSS+=("$SW")
ip -n "$SW" link add br0 type bridge || skip "no bridge support"
ip -n "$SW" link set br0 up
for i in 1 2 3; do
    ns=qrnl$i.$$
    ip netns add "$ns" || fail "netns $ns"
    NSS+=("$ns")
    ip -n "$ns" link set lo up
    ip link add qa$i netns "$ns" type veth peer name qb$i netns "$SW" || skip "no veth support"
    ip -n "$SW" link set qb$i master br0
    ip -n "$SW" link set qb$i up
    ip -n "$ns" addr add 10.231.8.$i/24 dev qa$i
    ip -n "$ns" link set qa$i up
    D=$B/h$i
    mkdir -p "$D"
    echo "{\"deprecated-key-path\": \"$D/key.json\"}" >"$D/daemon.json"
    nsenter --net=/run/netns/"$ns" unshare --uts sh -c "hostname nl$i && exec $DOCKERD \
        --data-root $D/data --exec-root $D/exec -H unix://$D/docker.sock \
        --pidfile $D/docker.pid --storage-driver vfs --iptables=false --bridge=none \
        --config-file $D/daemon.json" >"$D/log" 2>&1 &
    PIDS+=($!)
done

dk() { local i=$1; shift; DOCKER_CONFIG=$B/cli nsenter --net=/run/netns/"${NSS[$i]}" "$DOCKER" -H "unix://$B/h$i/docker.sock" "$@"; }
for i in 1 2 3; do
    for _ in $(seq 1 100); do dk $i version >/dev/null 2>&1 && break; sleep 0.2; done
    dk $i version >/dev/null 2>&1 || skip "dockerd $i did not answer within 20 s"
done
dk 1 swarm init --advertise-addr 10.231.8.1 >/dev/null || fail "swarm init"
TOKEN=$(dk 1 swarm join-token -q manager)
dk 2 swarm join --token "$TOKEN" 10.231.8.1:2377 >/dev/null || fail "join 2"
dk 3 swarm join --token "$TOKEN" 10.231.8.1:2377 >/dev/null || fail "join 3"

cat >"$B/agent.yaml" <<EOF
checks: [docker]
docker_socket: $B/h1/docker.sock
docker_timeout_ms: 2000
EOF

# one agent run on nl1: STATUS, SUMMARY, MS (wall time)
run() {
    local t0
    t0=$(date +%s%N)
    "$AGENT" --once --json --config "$B/agent.yaml" >"$B/out.json" 2>"$B/agent.err"
    MS=$((($(date +%s%N) - t0) / 1000000))
    read -r STATUS SUMMARY < <(/usr/bin/python3 -c '
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["checks"] if c["name"] == "docker"][0]
print(c["status"], c["summary"])' "$B/out.json") || fail "no report: $(cat "$B/agent.err")"
    # 2 s per Engine call (at most version + info + nodes), not the 20 s hang;
    # generous: the test machine may be loaded
    [ "$MS" -lt 12000 ] || fail "a run took $MS ms ($SUMMARY)"
}

T0=$(date +%s)
for _ in $(seq 1 50); do run; [ "$STATUS" = ok ] && break; sleep 0.2; done
[ "$STATUS" = ok ] || fail "3 healthy managers: $STATUS $SUMMARY"
case "$SUMMARY" in *"3 managers"*) ;; *) fail "summary: $SUMMARY" ;; esac
echo "ok: 3 managers: $SUMMARY"

# --- cut nl2 and nl3 off ------------------------------------------------------
ip -n "$SW" link set qb2 down
ip -n "$SW" link set qb3 down
T0=$(date +%s)
SAW_UNREACH= SAW_NOLEADER=
while [ $(($(date +%s) - T0)) -lt 60 ]; do
    run
    echo "  t=$(($(date +%s) - T0))s ${MS}ms $STATUS: $SUMMARY"
    case "$STATUS" in
    warn) ;;
    ok) [ -n "$SAW_UNREACH$SAW_NOLEADER" ] && fail "ok again while partitioned: $SUMMARY" ;;
    *) fail "partitioned: $STATUS $SUMMARY (expected warn)" ;;
    esac
    case "$SUMMARY" in *unreachable*) SAW_UNREACH=1 ;; esac
    case "$SUMMARY" in *"no leader"* | *"without a leader"*) SAW_NOLEADER=1 ;; esac
    [ -n "$SAW_NOLEADER" ] && break
    sleep 0.5
done
[ -n "$SAW_NOLEADER" ] || fail "the check never said the swarm has no leader"
echo "ok: partition: managers unreachable seen=${SAW_UNREACH:-no}, leaderless explained after $(($(date +%s) - T0)) s"

# --- heal: the swarm elects again (20-48 s measured), the check returns to ok
ip -n "$SW" link set qb2 up
ip -n "$SW" link set qb3 up
T0=$(date +%s)
while [ $(($(date +%s) - T0)) -lt 120 ]; do
    run
    [ "$STATUS" = ok ] && break
    case "$STATUS" in warn) ;; *) fail "healing: $STATUS $SUMMARY" ;; esac
    sleep 1
done
[ "$STATUS" = ok ] || fail "not ok 120 s after the heal: $SUMMARY"
echo "ok: healed, ok again after $(($(date +%s) - T0)) s: $SUMMARY"
echo PASS
