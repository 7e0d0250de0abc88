#!/usr/bin/env bash
# Alerts end to end with real processes: a controller with an alert routing
# file, two agents, and a local webhook receiver. A failing check fires after
# its `for`, reaches the receiver once (signed with HMAC-SHA256), shows in
# `quoratectl alerts` with where it was sent; a killed agent fires node/X/down
# immediately; `alerts test` reports the HTTP result. (Retries, 429/5xx and
# outages are covered against a local receiver in unit/test_notify.)
source "$(dirname "$0")/lib.sh"
qr_cluster 2
qr_start sink /usr/bin/python3 "$QR_SOURCE_DIR/tests/integration/webhook_sink.py" \
    "$QR_TMP/sink.port" "$QR_TMP/sink.jsonl"
qr_wait_for 10 test -s "$QR_TMP/sink.port" || qr_fail "webhook sink did not start"
PORT=$(cat "$QR_TMP/sink.port")
printf 's3cret-hmac' >"$QR_TMP/hmac"; chmod 600 "$QR_TMP/hmac"
cat >"$QR_TMP/alerts.yaml" <<EOA
for: 2s
group_wait: 1s
group_interval: 2s
repeat_interval: 1h
send_resolved: true
inhibit_node_down: true
receivers:
  - name: hook
    type: webhook
    url: http://127.0.0.1:$PORT/quorate
    secret_file: $QR_TMP/hmac
    timeout: 3s
routes:
  - receivers: [hook]
    group_by: [key]
EOA
echo "alerts_config: $QR_TMP/alerts.yaml" >>"$QR_TMP/ctl.yaml"
"$QR_BIN/quorate-controller" -n -c "$QR_TMP/ctl.yaml" >/dev/null || qr_fail "config with alerts invalid"
# ai2's data dir does not exist: its disk check fails
sed -i "s#^datadir: .*ai2/datadir#datadir: $QR_TMP/ai2/missing#" "$QR_TMP/agent2.yaml"
qr_start ctl "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
for i in 1 2; do qr_start "ai$i" "$QR_BIN/quorate-agent" -c "$QR_TMP/agent$i.yaml"; done

posted() { grep -c "$1" "$QR_TMP/sink.jsonl" 2>/dev/null || true; }
disk_sent() { [ "$(posted 'disk/ai2/')" -ge 1 ]; }
t0=$(qr_now_ms)
qr_wait_for 20 disk_sent || qr_fail "no notification for ai2's disk: $(cat "$QR_TMP/sink.jsonl" 2>/dev/null)"
echo "measured: disk alert delivered $(( $(qr_now_ms) - t0 )) ms after start (for 2s + group_wait 1s)"
line=$(grep 'disk/ai2/' "$QR_TMP/sink.jsonl" | head -1)
# the signature: hex HMAC-SHA256 over "timestamp.body" with the shared secret
echo "$line" | /usr/bin/python3 -c '
import hashlib, hmac, json, sys
r = json.loads(sys.stdin.read())
h = {k.lower(): v for k, v in r["headers"].items()}
ts, sig = h["x-quorate-timestamp"], h["x-quorate-signature"]
want = hmac.new(b"s3cret-hmac", (ts + "." + r["raw"]).encode(), hashlib.sha256).hexdigest()
assert sig == "sha256=" + want, (sig, want)
assert any(a.get("key", "").startswith("disk/ai2/") for a in r["body"]["alerts"]), r["body"]
print("ok: payload names disk/ai2; its HMAC-SHA256 signature verifies")
' || qr_fail "webhook payload or signature wrong: $line"
shown() {
    { "$QR_BIN/quoratectl" alerts --json 2>/dev/null || true; } | jq -e '[.alerts[] | select(.key | startswith("disk/ai2/"))
        | select(.state == "firing" and any(.sent[]; .outcome == "delivered"))] | length == 1' >/dev/null
}
qr_wait_for 5 shown || qr_fail "quoratectl alerts does not show the firing disk alert with its delivery: $("$QR_BIN/quoratectl" alerts --json || true)"
{ "$QR_BIN/quoratectl" alerts || true; } | grep -E 'firing +[0-9]+s +disk/ai2/' >/dev/null || qr_fail "alerts table lacks the disk alert"
qr_ok "failing check fired after its for and was delivered once"
sleep 3
[ "$(posted 'disk/ai2/')" = 1 ] || qr_fail "disk alert sent more than once within group_interval/repeat: $(posted 'disk/ai2/')"

# kill ai1: node/ai1/down immediately
kill -KILL "$PID_ai1"; t0=$(qr_now_ms)
down_sent() { [ "$(posted 'node/ai1/down')" -ge 1 ]; }
qr_wait_for 15 down_sent || qr_fail "node/ai1/down not delivered"
echo "measured: node/ai1/down delivered $(( $(qr_now_ms) - t0 )) ms after kill -9 (down 2.5 s + group_wait 1 s)"
qr_ok "node down fires without waiting for its for"

# alerts test
res=$("$QR_BIN/quoratectl" alerts test hook --json || true)
echo "$res" | jq -e '.outcome == "delivered" and .http_status == 200' >/dev/null || qr_fail "alerts test: $res"
"$QR_BIN/quoratectl" alerts test nosuch >/dev/null 2>&1 && qr_fail "unknown receiver accepted"
qr_ok "alerts test shows the HTTP result; unknown receiver refused"
qr_sanitizer_clean
