#!/usr/bin/env bash
# Hostile-peer cases that need the controller and agent to notice more than
# they did when this test was written (docs/hardening.md, "Hostile peers"):
# - an agent's link to a controller survives a frame above ZMQ_MAXMSGSIZE
#   from that controller (libzmq treats it as a protocol error and, on a
#   connecting socket, never reconnects: the agent must rebuild the link);
# - for the same reason, an agent refused once by the controller's ZAP
#   handler (its key not yet in the allowlist) must come up without a
#   restart once its key is added;
# - a failed CURVE handshake (wrong server key, plaintext client) is counted
#   in the status (controller.security.handshake_failed) and logged;
# - a report replayed from an earlier time and term, signed with the node's
#   own key, is dropped and counted (controller.security.stale_reports): it
#   neither brings a stopped node back up nor replaces its last results.
source "$(dirname "$0")/lib.sh"
qr_cluster 3
mv "$QR_TMP/keys/agents/ai3.key" "$QR_TMP/ai3.key.later" # ai3's key comes later
H=$QR_SOURCE_DIR/tests/integration/hostile_peer.py
K=$QR_TMP/keys
"$QR_BIN/quoratectl" keygen ctlx --dir "$K" >/dev/null
FAKE="tcp://127.0.0.1:$(qr_free_port)"
cat >>"$QR_TMP/agent1.yaml" <<EOC
  - endpoint: $FAKE
    public_key: "$(qr_pubkey "$K/ctlx.key")"
EOC
qr_start ctl "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
for i in 1 2; do qr_start "ai$i" "$QR_BIN/quorate-agent" -c "$QR_TMP/agent$i.yaml"; done
status() { qr_status; }
sec() { status | jq ".controller.security.$1 // -1"; }
both_up() { [ "$(status | jq '[.nodes[] | select(.up and (.name == "ai1" or .name == "ai2"))] | length')" = 2 ]; }
qr_wait_for 15 both_up || qr_fail "2 nodes not up: $(status)"
# the term the agent reports is the one it persisted (agent.term) first
ai1_term() { status | jq '.nodes[] | select(.name == "ai1") | .term'; }
term_seen() { [ "$(ai1_term)" = 1 ]; }
qr_wait_for 10 term_seen || qr_fail "ai1 never persisted the leader's term 1"
# every part runs; the failures are listed at the end
GAPS=()
gap() { echo "GAP: $*"; GAPS+=("$*"); }

# --- the agent's link survives an oversized frame -------------------------------
qr_start fake /usr/bin/python3 "$H" fake-controller "$FAKE" "$K/ctlx.key_secret" "$QR_TMP/fake.json"
wait "$PID_fake" || qr_fail "the fake controller failed: $(cat "$QR_TMP/fake.log")"
jq -e '.oversized_sent == 1' "$QR_TMP/fake.json" >/dev/null || qr_fail "no oversized frame sent: $(cat "$QR_TMP/fake.json")"
if jq -e '.reconnected_after_oversized' "$QR_TMP/fake.json" >/dev/null; then
    qr_ok "the agent's controller link comes back after an oversized frame"
else
    gap "the agent's link to a controller never came back after one oversized frame"
fi

# --- an agent whose key is added after it started ----------------------------------
qr_start ai3 "$QR_BIN/quorate-agent" -c "$QR_TMP/agent3.yaml"
AI3_KEY=$(qr_pubkey "$QR_TMP/ai3.key.later")
ai3_rejected() { grep 'event=auth_rejected domain=agents' "$QR_TMP/ctl.log" | grep -qF "key=$AI3_KEY"; }
qr_wait_for 10 ai3_rejected || qr_fail "ai3 with an unlisted key was not rejected"
mv "$QR_TMP/ai3.key.later" "$QR_TMP/keys/agents/ai3.key"
ai3_up() { status | jq -e '.nodes[] | select(.name=="ai3") | .up' >/dev/null; }
if qr_wait_for 15 ai3_up; then
    qr_ok "an agent whose key was added later comes up without a restart"
else
    gap "an agent refused once (key not yet in the allowlist) never retries: still not up 15 s after its key was added"
fi
kill -TERM "$PID_ai3"; wait "$PID_ai3" || qr_fail "ai3 exited non-zero on SIGTERM"

# --- failed handshakes are counted ----------------------------------------------
hs0=$(sec handshake_failed)
/usr/bin/python3 "$H" wrongserverkey "$CTL_AGENTS" "$CTL_KEY" "$K/ai2.key_secret" 10 || qr_fail "hostile peer failed"
/usr/bin/python3 "$H" plaintext "$CTL_AGENTS" "$CTL_KEY" - 10 || qr_fail "hostile peer failed"
hs1=$(sec handshake_failed)
echo "measured: handshake_failed $hs0 -> $hs1"
if [ "$hs0" -lt 0 ]; then
    gap "status has no controller.security.handshake_failed counter"
elif [ "$hs1" -lt $((hs0 + 2)) ]; then
    gap "failed handshakes not counted ($hs0 -> $hs1)"
elif ! grep -q 'event=handshake_failed' "$QR_TMP/ctl.log"; then
    gap "failed handshakes not logged"
else
    qr_ok "failed handshakes (wrong server key, plaintext) are counted and logged"
fi

# --- a replayed report ------------------------------------------------------------
kill -TERM "$PID_ai1"; wait "$PID_ai1" || qr_fail "ai1 exited non-zero on SIGTERM"
ai1_down() { status | jq -e '.nodes[] | select(.name=="ai1") | .up == false' >/dev/null; }
qr_wait_for 8 ai1_down || qr_fail "ai1 not marked down"
before=$(status | jq -c '.nodes[] | select(.name=="ai1") | .checks')
st0=$(sec stale_reports)
/usr/bin/python3 "$H" replay "$CTL_AGENTS" "$CTL_KEY" "$K/ai1.key_secret" 5 || qr_fail "hostile peer replay failed"
sleep 0.5
n0=${#GAPS[@]}
ai1_down || gap "a replayed report brought the stopped ai1 back up"
after=$(status | jq -c '.nodes[] | select(.name=="ai1") | .checks')
[ "$before" = "$after" ] || gap "a replayed report replaced ai1's results: $after"
st1=$(sec stale_reports)
echo "measured: stale_reports $st0 -> $st1"
if [ "$st0" -lt 0 ]; then
    gap "status has no controller.security.stale_reports counter"
elif [ "$st1" -lt $((st0 + 5)) ]; then
    gap "replayed reports not counted ($st0 -> $st1)"
fi
status | jq -e '.nodes[] | select(.name=="ai2") | .up' >/dev/null || qr_fail "ai2 down after the replay"
[ "${#GAPS[@]}" = "$n0" ] && qr_ok "replayed reports dropped and counted; the stopped node stays down"

kill -TERM "$PID_ctl"; wait "$PID_ctl" || qr_fail "controller exited non-zero on SIGTERM"
qr_sanitizer_clean
if [ "${#GAPS[@]}" -gt 0 ]; then
    printf 'FAIL: %s\n' "${GAPS[@]}"
    exit 1
fi
