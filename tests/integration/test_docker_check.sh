#!/usr/bin/env bash
# The docker check against a real dockerd (Debian docker.io, API 1.41) that
# this test starts with a private data root in a fresh network namespace:
# before `swarm init` (fail: inactive), after it (ok: manager, leader), after
# a `docker node update --label-add` (label visible), docker_api's label
# update helper against the real daemon (merge, Role/Availability kept, a
# concurrent update retried), and with the daemon stopped (fail).
set -u

QR_BIN=${QR_BIN:?QR_BIN must point at the build dir}
QR_SOURCE_DIR=${QR_SOURCE_DIR:?}
AGENT=$QR_BIN/quorate-agent
LIVE=$QR_BIN/test_docker_live
DOCKERD=/usr/sbin/dockerd
DOCKER=/usr/bin/docker # not /usr/local/bin/docker: a newer client may be first on PATH
HOST=qrdock1
ADDR=10.231.7.1

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${D:-}" ] && tail -n 20 "$D/dockerd.log" 2>/dev/null; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, dockerd)"
[ -x "$DOCKERD" ] && [ -x "$DOCKER" ] || skip "Debian docker.io ($DOCKERD, $DOCKER) not installed"
for t in ip nsenter unshare /usr/bin/python3; do
    command -v "$t" >/dev/null || skip "$t not available"
done
[ -x "$AGENT" ] || fail "$AGENT not built"
[ -x "$LIVE" ] || fail "$LIVE not built"

# a short path: the socket path must fit in sun_path (108 bytes)
D=$(mktemp -d /tmp/qr_dk.XXXXXX)
NS=qrdk$$
PID=
NS_MADE=

stop_dockerd() {
    [ -n "$PID" ] || return 0
    if kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID"
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"
        wait "$PID" 2>/dev/null
    fi
    PID=
}

cleanup() {
    local rc=$?
    stop_dockerd
    [ -n "$NS_MADE" ] && ip netns del "$NS" 2>/dev/null
    # dockerd bind-mounts its data root and leaves netns files: unmount
    # whatever is still mounted under our dir, deepest first
    grep -o " $D[^ ]*" /proc/self/mounts | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    rm -rf "$D"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
NS_MADE=1
ip -n "$NS" link set lo up
ip -n "$NS" link add qv0 type veth peer name qv1 || skip "no veth support"
ip -n "$NS" addr add "$ADDR/24" dev qv0
ip -n "$NS" link set qv0 up
ip -n "$NS" link set qv1 up

echo "{\"deprecated-key-path\": \"$D/key.json\"}" >"$D/daemon.json"
nsenter --net=/run/netns/"$NS" unshare --uts sh -c "hostname $HOST && exec $DOCKERD \
    --data-root $D/data --exec-root $D/exec -H unix://$D/docker.sock --pidfile $D/docker.pid \
    --storage-driver vfs --iptables=false --bridge=none --config-file $D/daemon.json" \
    >"$D/dockerd.log" 2>&1 &
PID=$!

dk() { DOCKER_CONFIG=$D/cli nsenter --net=/run/netns/"$NS" "$DOCKER" -H "unix://$D/docker.sock" "$@"; }

for _ in $(seq 1 100); do
    dk version >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || skip "dockerd exited at start: $(tail -n 3 "$D/dockerd.log")"
    sleep 0.2
done
dk version >/dev/null 2>&1 || skip "dockerd did not answer within 20 s"
[ "$(cat "$D/docker.pid")" = "$PID" ] || fail "dockerd pid $(cat "$D/docker.pid") is not \$! $PID"

cat >"$D/agent.yaml" <<EOF
node: $HOST
checks: [docker]
docker_socket: $D/docker.sock
docker_timeout_ms: 3000
EOF

# runs the agent once; sets RC and leaves the report in $D/out.json
agent_once() {
    local t0 t1
    t0=$(date +%s%N)
    "$AGENT" --once --json --config "$D/agent.yaml" >"$D/out.json" 2>"$D/agent.err"
    RC=$?
    t1=$(date +%s%N)
    MS=$(((t1 - t0) / 1000000))
}

# prints a field of the docker check's result: status, summary, values.KEY...
field() {
    /usr/bin/python3 - "$D/out.json" "$1" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
c = [c for c in doc["checks"] if c["name"] == "docker"][0]
v = c
for k in sys.argv[2].split("/"):
    v = v.get(k) if isinstance(v, dict) else None
print(json.dumps(v) if not isinstance(v, str) else v)
EOF
}

expect() { # expect FIELD VALUE
    local got
    got=$(field "$1")
    [ "$got" = "$2" ] || fail "$PHASE: $1 is '$got', expected '$2' (summary: $(field summary))"
}

# --- 1: engine up, no swarm ------------------------------------------------
PHASE="before swarm init"
agent_once
[ "$RC" = 2 ] || fail "$PHASE: agent exit $RC, expected 2 (fail): $(cat "$D/out.json" "$D/agent.err")"
expect status fail
expect values/swarm_state inactive
expect values/api_version 1.41
case "$(field values/engine_version)" in 20.10.*) ;; *) fail "$PHASE: engine version $(field values/engine_version)" ;; esac
case "$(field summary)" in *"swarm inactive"*) ;; *) fail "$PHASE: summary $(field summary)" ;; esac
echo "ok: $PHASE: $(field status): $(field summary) (${MS} ms)"

# --- 2: swarm init: a single manager, the leader ----------------------------
PHASE="after swarm init"
dk swarm init --advertise-addr "$ADDR" >/dev/null || fail "swarm init"
for _ in $(seq 1 50); do # the node reports Ready a moment after init
    agent_once
    [ "$RC" = 0 ] && break
    sleep 0.2
done
[ "$RC" = 0 ] || fail "$PHASE: agent exit $RC: $(field summary)"
expect status ok
expect values/swarm_state active
expect values/role manager
expect values/is_leader true
expect values/managers 1
expect values/nodes 1
NODE_ID=$(dk info --format '{{.Swarm.NodeID}}')
expect values/node_id "$NODE_ID"
echo "ok: $PHASE: $(field summary) (${MS} ms)"

# --- 3: a label set with the CLI shows in the check -------------------------
PHASE="after node update --label-add"
dk node update --label-add quorate.test=yes --label-add keep.me=yes "$HOST" >/dev/null ||
    fail "node update"
agent_once
expect status ok
expect values/labels/quorate.test yes
expect values/labels/keep.me yes
echo "ok: $PHASE: labels $(field values/labels)"

# --- 4: docker_api's label helper against the real engine -------------------
PHASE="label helper"
dk node update --availability pause "$HOST" >/dev/null || fail "availability pause"
QR_DOCKER_SOCK=$D/docker.sock QR_DOCKER_NODE=$HOST "$LIVE" >"$D/live.out" 2>&1 ||
    fail "$PHASE: $(cat "$D/live.out")"
grep -q "PASSED.*3 test" "$D/live.out" || fail "$PHASE: not all live tests ran: $(cat "$D/live.out")"
SPEC=$(dk node inspect -f '{{.Spec.Role}} {{.Spec.Availability}} {{index .Spec.Labels "worker"}} {{index .Spec.Labels "keep.me"}} {{index .Spec.Labels "mongo.replica"}}' "$HOST")
[ "$SPEC" = "manager pause true yes 2" ] || fail "$PHASE: node spec after helper: $SPEC"
agent_once
expect values/labels/mongo.replica 2
expect values/labels/worker true
echo "ok: $PHASE: merge kept Role/Availability, concurrent update retried; spec: $SPEC"

# --- 5: the engine goes away ------------------------------------------------
PHASE="dockerd stopped"
stop_dockerd
agent_once
[ "$RC" = 2 ] || fail "$PHASE: agent exit $RC, expected 2"
expect status fail
case "$(field summary)" in *"Docker Engine unreachable"*) ;; *) fail "$PHASE: summary $(field summary)" ;; esac
echo "ok: $PHASE: $(field summary) (${MS} ms)"
echo "PASS"
