#!/usr/bin/env bash
# The README's demo command. On a fresh Debian 12: installs the packages,
# builds quorate, generates CURVE keys, starts one controller and one agent
# on this machine with a sample config (a sample data dir and tango.env),
# prints `quoratectl status`, and says how to stop them.
#
#   deploy/quickstart.sh          start the demo
#   deploy/quickstart.sh stop     stop it (by PID) and remove the sample disk
#
# As root with network namespaces and Debian's dockerd available, the demo is
# a 5-host, 3-data-centre lab (tests/lab/lab): real dockerd swarm, a replica
# set played by the simulator, an agent per host and 3 controllers; it prints
# `quoratectl status` and `quoratectl plan`. QR_DEMO_LAB=0 forces the
# single-machine demo (one controller and one agent on this machine).
#
# Everything lives under $QR_DEMO_DIR (default /tmp/quorate-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
DEMO=${QR_DEMO_DIR:-/tmp/quorate-demo}
BUILD=${QR_BUILD_DIR:-$SRC/build}

stop_demo() {
    for f in "$DEMO"/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$f"
    done
    if mountpoint -q "$DEMO/datadir" 2>/dev/null; then
        umount "$DEMO/datadir" || true
    fi
    rm -f "$DEMO/datadir.img"
    echo "quickstart: stopped (logs and keys are kept in $DEMO)"
}

LAB_DIR=${QR_DEMO_LAB_DIR:-/tmp/quorate-demo-lab}
lab() { QR_LAB_DIR=$LAB_DIR QR_LAB_PREFIX=qrdemo QR_BIN=$BUILD "$SRC/tests/lab/lab" "$@"; }

if [ "${1:-}" = "stop" ]; then
    [ -f "$LAB_DIR/lab.state" ] && { lab down; echo "quickstart: lab stopped"; }
    stop_demo
    exit 0
fi
if [ -n "${1:-}" ]; then echo "usage: $0 [stop]" >&2; exit 2; fi

if [ "$(id -u)" -eq 0 ]; then
    bash deploy/install-deps.sh
else
    bash deploy/install-deps.sh --build-only || {
        echo "quickstart: run as root once to install the packages" >&2; exit 1; }
fi
echo "quickstart: building into $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

can_lab() {
    [ "${QR_DEMO_LAB:-1}" = 1 ] && [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/dockerd ] &&
        [ -x /usr/bin/docker ] && /usr/bin/python3 -c 'import mockupdb' 2>/dev/null &&
        ip netns add "qrdemo-probe-$$" 2>/dev/null && ip netns del "qrdemo-probe-$$"
}
if can_lab; then
    echo "quickstart: starting a 5-host, 3-data-centre lab (network namespaces)"
    lab down >/dev/null 2>&1 || true
    QR_LAB_QUORATE=1 QR_LAB_INTERVAL_MS=2000 lab up --dcs east:2,west:2,south:1 --disk ai5=40G
    for _ in $(seq 100); do
        n=$(lab ctl status --json 2>/dev/null | jq '[.nodes[] | select(.checks | length > 0)] | length' 2>/dev/null || echo 0)
        [ "${n:-0}" -ge 5 ] && break
        sleep 0.2
    done
    echo
    echo "== quoratectl status (from inside the lab)"
    lab ctl status || true
    echo
    echo "== quoratectl plan (from the live inventory)"
    lab ctl inventory --json >"$LAB_DIR/inventory.json" 2>/dev/null || true
    "$BUILD/quoratectl" plan --inventory "$LAB_DIR/inventory.json" || true
    cat <<EOT

The lab is running: 5 hosts (east: ai1 ai2, west: ai3 ai4, south: ai5), a real dockerd
swarm, a MongoDB replica set played by tests/lab/mongosim.py, an agent on every host and a
controller on each swarm manager. ai5's data disk is 40 GB: its disk check fails on purpose.

  export QR_LAB_DIR=$LAB_DIR QR_LAB_PREFIX=qrdemo QR_BIN=$BUILD
  tests/lab/lab ctl status           # quoratectl, run inside the lab
  tests/lab/lab ctl apply --dry-run  # the label plan against the live swarm
  tests/lab/lab ctl ports --refresh  # the reachability matrix
  tests/lab/lab kill-dc west         # lose a data centre, then: tests/lab/lab ctl status
  $0 stop                            # tear it all down
EOT
    exit 0
fi

[ -d "$DEMO" ] && stop_demo >/dev/null 2>&1 || true
mkdir -p "$DEMO/keys/agents" "$DEMO/keys/operators" "$DEMO/state" "$DEMO/datadir"
chmod 700 "$DEMO/keys"
host=$(hostname)
for k in controller "$host" operator; do
    [ -f "$DEMO/keys/$k.key_secret" ] || "$BUILD/quoratectl" keygen "$k" --dir "$DEMO/keys" >/dev/null
done
cp "$DEMO/keys/$host.key" "$DEMO/keys/agents/"
cp "$DEMO/keys/operator.key" "$DEMO/keys/operators/"
ckey=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$DEMO/keys/controller.key")

# A sample data disk: a sparse 60 GB ext4 image, loop-mounted (as root), so
# the disk check sees a separate filesystem of the right size without using
# the space. Without root the data dir is a plain directory and the disk check
# says why that fails.
if [ "$(id -u)" -eq 0 ] && command -v mkfs.ext4 >/dev/null && ! mountpoint -q "$DEMO/datadir"; then
    truncate -s 60G "$DEMO/datadir.img"
    mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 "$DEMO/datadir.img"
    mount -o loop "$DEMO/datadir.img" "$DEMO/datadir" || echo "quickstart: could not loop-mount the sample disk; using a plain directory"
fi

cat >"$DEMO/tango.env" <<EOT
S3_ENDPOINT=https://$host:9000
LOG_LEVEL=INFO
EOT

cat >"$DEMO/controller.yaml" <<EOT
id: controller
dc: demo
agents_endpoint: tcp://127.0.0.1:7700
operators_endpoint: tcp://127.0.0.1:7701
cert: $DEMO/keys/controller.key_secret
agent_keys: $DEMO/keys/agents
operator_keys: $DEMO/keys/operators
state_dir: $DEMO/state
EOT
cat >"$DEMO/agent.yaml" <<EOT
node: $host
dc: demo
interval_ms: 5000
cert: $DEMO/keys/$host.key_secret
state_dir: $DEMO/state
datadir: $DEMO/datadir
env_file: $DEMO/tango.env
controllers:
  - endpoint: tcp://127.0.0.1:7700
    public_key: "$ckey"
EOT
cat >"$DEMO/quoratectl.yaml" <<EOT
controller: tcp://127.0.0.1:7701
controller_key: "$ckey"
cert: $DEMO/keys/operator.key_secret
EOT

"$BUILD/quorate-controller" -c "$DEMO/controller.yaml" >"$DEMO/controller.log" 2>&1 &
echo $! >"$DEMO/controller.pid"
"$BUILD/quorate-agent" -c "$DEMO/agent.yaml" >"$DEMO/agent.log" 2>&1 &
echo $! >"$DEMO/agent.pid"

export QUORATECTL_CONFIG="$DEMO/quoratectl.yaml"
for _ in $(seq 50); do
    out=$("$BUILD/quoratectl" status --json 2>/dev/null || true)
    [ -n "$out" ] && [ "$(echo "$out" | jq '[.nodes[] | select(.checks | length > 0)] | length')" -ge 1 ] && break
    sleep 0.2
done
echo
echo "== quoratectl status"
"$BUILD/quoratectl" status || true
echo
echo "== quoratectl checks $host"
"$BUILD/quoratectl" checks "$host" | grep -v '^           {' || true
cat <<EOT

The controller and the agent are running (PIDs $(cat "$DEMO/controller.pid") and $(cat "$DEMO/agent.pid")).
Checks that fail here (docker, mongod, web, ports) need a Docker swarm, mongod and the
web tier on this machine; the lab (tests/lab/lab) shows a whole cluster.

  export QUORATECTL_CONFIG=$DEMO/quoratectl.yaml
  $BUILD/quoratectl status            # the live view
  $BUILD/quoratectl checks $host      # one node's checks with values
  $BUILD/quoratectl inventory --json  # the planner's input
  $0 stop                             # stop the demo
EOT
