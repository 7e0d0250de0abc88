#!/usr/bin/env bash
# A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on
# 127.0.0.1 receives quorate's alerts through controller/notify.c and lists
# them through its own API (GET /api/v2/alerts): labels as documented, a
# firing alert active with endsAt in the future, and a resolve (endsAt set
# to the resolve time) takes the alert out of the active list while the
# other one keeps firing. Exit 77 when Alertmanager cannot be installed or
# started.
set -u

AM=/usr/bin/prometheus-alertmanager
SRC=${QR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${QR_BIN:-$SRC/build}
DRIVER=$BIN/test_alertmanager_live

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

if [ ! -x "$AM" ]; then
    bash "$SRC/deploy/install-deps.sh" >/dev/null 2>&1 || true
fi
[ -x "$AM" ] || skip "prometheus-alertmanager is not installed (deploy/install-deps.sh as root)"
command -v curl >/dev/null || skip "curl missing"
command -v jq >/dev/null || skip "jq missing"
command -v python3 >/dev/null || skip "python3 missing"
[ -x "$DRIVER" ] || skip "driver $DRIVER not built"

tmp=$(mktemp -d /tmp/qr-am-XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/am.yml" <<'EOF'
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
mkdir -p "$tmp/data"
"$AM" --config.file="$tmp/am.yml" --storage.path="$tmp/data" \
      --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
      --log.level=warn > "$tmp/am.log" 2>&1 &
pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -sf "$base/-/ready" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/am.log"; skip "alertmanager exited at start"; }
    sleep 0.1
done
curl -sf "$base/-/ready" >/dev/null 2>&1 || { cat "$tmp/am.log"; skip "alertmanager not ready"; }
echo "alertmanager $($AM --version 2>&1 | head -1 | awk '{print $3}') on $base pid $pid"

export QR_ALERTMANAGER_URL=$base
QR_AM_PHASE=fire "$DRIVER" || fail "driver could not deliver the firing alerts"

list=$(curl -sf "$base/api/v2/alerts") || fail "GET /api/v2/alerts failed"
echo "$list" | jq -c '.[] | {labels, endsAt, state: .status.state}'
now=$(date -u +%Y-%m-%dT%H:%M:%S)

node=$(echo "$list" | jq -c '.[] | select(.labels.key == "node/ai5/down")')
[ -n "$node" ] || fail "node/ai5/down not listed"
[ "$(echo "$node" | jq -r .labels.alertname)" = quorate_node_down ] || fail "alertname"
[ "$(echo "$node" | jq -r .labels.severity)" = critical ] || fail "severity label"
[ "$(echo "$node" | jq -r .labels.node)" = ai5 ] || fail "node label"
[ "$(echo "$node" | jq -r .labels.dc)" = east ] || fail "dc label"
[ "$(echo "$node" | jq -r .annotations.summary)" = "ai5 is down: no report from its agent" ] \
    || fail "summary annotation"
[ "$(echo "$node" | jq -r .status.state)" = active ] || fail "not active"
[ "$(echo "$node" | jq -r .generatorURL)" = "http://quorate.invalid/alerts" ] || fail "generatorURL"
ends=$(echo "$node" | jq -r .endsAt)
[[ "$ends" > "$now" ]] || fail "firing alert's endsAt $ends is not in the future"
disk=$(echo "$list" | jq -c '.[] | select(.labels.key == "disk/ai3/datadir_small")')
[ -n "$disk" ] || fail "disk/ai3/datadir_small not listed"
[ "$(echo "$disk" | jq -r .labels.severity)" = error ] || fail "disk severity"
[ "$(echo "$disk" | jq -r .labels.dc)" = north ] || fail "disk dc"

QR_AM_PHASE=resolve "$DRIVER" || fail "driver could not deliver the resolve"
list=$(curl -sf "$base/api/v2/alerts") || fail "GET /api/v2/alerts failed"
echo "$list" | jq -c '.[] | {labels, endsAt, state: .status.state}'
# Alertmanager lists only alerts whose endsAt is not past: the resolve's
# endsAt (the resolve time) took node/ai5/down out; without it the alert
# would stay active until its earlier endsAt
[ -z "$(echo "$list" | jq -c '.[] | select(.labels.key == "node/ai5/down")')" ] \
    || fail "resolved alert still active"
[ -n "$(echo "$list" | jq -c '.[] | select(.labels.key == "disk/ai3/datadir_small")')" ] \
    || fail "the still-firing alert disappeared"
echo "PASS: alertmanager received, listed and resolved quorate alerts"
exit 0
