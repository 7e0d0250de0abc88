#!/usr/bin/env bash
# No duplicate notification across a leader change: three controllers with the
# same alert routing, two agents, a local webhook. A failing check fires and is
# delivered once by the leader; the leader is killed (-9); the new leader
# starts from the replicated notification log and does not notify it again
# within repeat_interval. Then the condition ends: the new leader sends the
# resolve exactly once.
source "$(dirname "$0")/lib.sh"
qr_cluster 2
qr_start sink /usr/bin/python3 "$QR_SOURCE_DIR/tests/integration/webhook_sink.py" \
    "$QR_TMP/sink.port" "$QR_TMP/sink.jsonl"
qr_wait_for 10 test -s "$QR_TMP/sink.port" || qr_fail "webhook sink did not start"
printf 'k' >"$QR_TMP/hmac"; chmod 600 "$QR_TMP/hmac"
cat >"$QR_TMP/alerts.yaml" <<EOA
for: 1s
group_wait: 1s
group_interval: 2s
repeat_interval: 1h
send_resolved: true
receivers:
  - name: hook
    type: webhook
    url: http://127.0.0.1:$(cat "$QR_TMP/sink.port")/quorate
    secret_file: $QR_TMP/hmac
routes:
  - receivers: [hook]
    group_by: [key]
    match: {key_prefix: "disk/ai2/"}
EOA
QR_CTL_EXTRA="alerts_config: $QR_TMP/alerts.yaml" qr_controllers3
# ai2's data dir does not exist yet: its disk check fails
sed -i "s#^datadir: .*ai2/datadir#datadir: $QR_TMP/ai2/later#" "$QR_TMP/agent2.yaml"
for c in 1 2 3; do qr_start "c$c" "$QR_BIN/quorate-controller" -c "$QR_TMP/c$c.yaml"; done
for i in 1 2; do qr_start "ai$i" "$QR_BIN/quorate-agent" -c "$QR_TMP/agent$i.yaml"; done

st() { "$QR_BIN/quoratectl" status --json --controller "${OPS[$1]}" --controller-key "${KEY[$1]}" --timeout 1000 2>/dev/null || true; }
leader() { local c; for c in "$@"; do [ "$(st "$c" | jq -r '.election.role // ""')" = leader ] && { echo "$c"; return 0; }; done; return 1; }
firing_posts() { grep -c '"status": "firing"\|"state": "firing"' "$QR_TMP/sink.jsonl" 2>/dev/null || true; }
posts() { [ -f "$QR_TMP/sink.jsonl" ] && wc -l <"$QR_TMP/sink.jsonl" || echo 0; }
one_post() { [ "$(posts)" -ge 1 ]; }
qr_wait_for 20 one_post || qr_fail "the disk alert was never delivered"
sleep 1.5 # the log entry's delivery is acknowledged and replicated (every 250 ms)
L=$(leader 1 2 3) || qr_fail "no leader"
n0=$(posts)
[ "$n0" = 1 ] || qr_fail "expected one notification before the failover, got $n0"
grep -q 'disk/ai2/' "$QR_TMP/sink.jsonl" || qr_fail "the notification is not about disk/ai2"
qr_ok "ctl$L delivered disk/ai2 once"

kill -KILL "$(eval echo "\$PID_c$L")"
others=""; for c in 1 2 3; do [ "$c" != "$L" ] && others+="$c "; done
# shellcheck disable=SC2086
qr_wait_for 10 leader $others || qr_fail "no new leader"
# shellcheck disable=SC2086
N=$(leader $others)
echo "new leader: ctl$N"
sleep 6 # several alert cycles and group intervals of the new leader
n1=$(posts)
[ "$n1" = 1 ] || qr_fail "the new leader notified again ($n1 notifications): $(cat "$QR_TMP/sink.jsonl")"
qr_ok "no duplicate notification after the leader change"

# the condition ends (the data dir appears; on the root filesystem it then
# fails for another reason, a new key): exactly one resolve for the old key
mkdir -p "$QR_TMP/ai2/later"
resolves() { jq -c '.body.alerts[] | select(.key == "disk/ai2/datadir_missing" and .status == "resolved")' \
    "$QR_TMP/sink.jsonl" 2>/dev/null | wc -l; }
resolved() { [ "$(resolves)" -ge 1 ]; }
qr_wait_for 20 resolved || qr_fail "no resolve notification: $(cat "$QR_TMP/sink.jsonl")"
sleep 3
[ "$(resolves)" = 1 ] || qr_fail "expected exactly one resolve, got $(resolves)"
qr_ok "the new leader sent the resolve of disk/ai2/datadir_missing once"
qr_sanitizer_clean
