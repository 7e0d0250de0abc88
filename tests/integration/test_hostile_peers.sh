#!/usr/bin/env bash
# Hostile peers beyond test_controller_agents.sh, on loopback with CURVE:
# - a client with a valid agent key but the wrong server key never gets a
#   message through, and the honest agents stay up;
# - the operator socket has its own allowlist: an agent's key cannot run
#   apply, recover or takeover (no answer at all, counted as a rejected
#   handshake), and an operator key is not an agent key either;
# - against the AGENT: a fake controller (holding a controller key the agent
#   trusts) sends garbage, truncated, multi-frame and wrong-version
#   messages, a command from an earlier term, a command claiming
#   to come from an agent and an unknown command: all refused or dropped,
#   the drops logged rate-limited, the agent keeps serving the honest
#   controller and its fencing term is not raised; an impostor controller
#   with a key the agent does not expect never receives a byte of payload;
#   the agent listens on no port at all;
# - the agent's fencing term survives restarts, also from the plain-text
#   term file of earlier versions.
source "$(dirname "$0")/lib.sh"
qr_cluster 2
H=$QR_SOURCE_DIR/tests/integration/hostile_peer.py
K=$QR_TMP/keys
"$QR_BIN/quoratectl" keygen ctlx --dir "$K" >/dev/null   # the fake controller ai1 trusts
"$QR_BIN/quoratectl" keygen ctly --dir "$K" >/dev/null   # the impostor's own key
"$QR_BIN/quoratectl" keygen ctlz --dir "$K" >/dev/null   # what ai1 expects at the impostor's endpoint
FAKE="tcp://127.0.0.1:$(qr_free_port)"
IMPOSTOR="tcp://127.0.0.1:$(qr_free_port)"
cat >>"$QR_TMP/agent1.yaml" <<EOC
  - endpoint: $FAKE
    public_key: "$(qr_pubkey "$K/ctlx.key")"
  - endpoint: $IMPOSTOR
    public_key: "$(qr_pubkey "$K/ctlz.key")"
EOC
"$QR_BIN/quorate-agent" -n -c "$QR_TMP/agent1.yaml" >/dev/null || qr_fail "agent1 config invalid"
qr_start ctl "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
for i in 1 2; do qr_start "ai$i" "$QR_BIN/quorate-agent" -c "$QR_TMP/agent$i.yaml"; done

status() { qr_status; }
sec() { status | jq ".controller.security.$1"; }
both_up() { [ "$(status | jq '[.nodes[] | select(.up)] | length')" = 2 ]; }
qr_wait_for 15 both_up || qr_fail "2 nodes not up: $(status)"
# the agents have seen the leader's term (they fence on it)
# the term the agent reports is the one it persisted (agent.term) first
ai1_term() { status | jq '.nodes[] | select(.name == "ai1") | .term'; }
term_seen() { [ "$(ai1_term)" = 1 ]; }
qr_wait_for 10 term_seen || qr_fail "ai1 never persisted the leader's term 1"
qr_ok "controller and 2 agents up, ai1 fenced at term 1"

# --- a client with the wrong server key -----------------------------------------
rej0=$(sec auth_rejected); bad0=$(sec bad_frames)
/usr/bin/python3 "$H" wrongserverkey "$CTL_AGENTS" "$CTL_KEY" "$K/ai2.key_secret" 30 \
    || qr_fail "hostile peer wrongserverkey failed to run"
[ "$(sec bad_frames)" = "$bad0" ] || qr_fail "a message with the wrong server key got through"
both_up || qr_fail "honest agents down after the wrong-server-key client"
echo "measured: wrong server key: auth_rejected $rej0 -> $(sec auth_rejected), bad_frames $bad0 -> $(sec bad_frames) (the handshake fails before ZAP)"
qr_ok "a client with the wrong server key gets nothing through"

# --- the operator socket's own allowlist ----------------------------------------
rej0=$(sec auth_rejected)
for cmd in apply recover takeover; do
    out=$(/usr/bin/python3 "$H" opreq "$CTL_OPS" "$CTL_KEY" "$K/ai1.key_secret" "$cmd" force)
    echo "$out" | jq -e '.answered == false' >/dev/null || qr_fail "an agent key ran '$cmd': $out"
done
# quoratectl itself with an agent's key: a timeout, nothing done
rc=0; "$QR_BIN/quoratectl" takeover --force --yes --cert "$K/ai1.key_secret" --timeout 1500 \
    >"$QR_TMP/agent-takeover.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || qr_fail "quoratectl takeover with an agent key succeeded"
rej1=$(sec auth_rejected)
[ "$rej1" -ge $((rej0 + 4)) ] || qr_fail "agent keys on the operator socket not counted ($rej0 -> $rej1)"
grep -q 'event=auth_rejected domain=operators' "$QR_TMP/ctl.log" || qr_fail "operator-socket rejection not logged"
grep -q 'event=takeover' "$QR_TMP/ctl.log" && qr_fail "a takeover happened"
[ "$(status | jq '.controller.term')" = 1 ] || qr_fail "the term moved: $(status | jq -c .controller)"
# the allowlist is not simply broken: the operator key is answered
out=$(/usr/bin/python3 "$H" opreq "$CTL_OPS" "$CTL_KEY" "$K/op.key_secret" status)
echo "$out" | jq -e '.answered and .code == 0' >/dev/null || qr_fail "the operator key was not answered: $out"
# ... and an operator key is not an agent key
rej1=$(sec auth_rejected)
/usr/bin/python3 "$H" garbage "$CTL_AGENTS" "$CTL_KEY" "$K/op.key_secret" 5 || qr_fail "hostile peer failed to run"
more_rejected() { [ "$(sec auth_rejected)" -gt "$rej1" ]; }
qr_wait_for 3 more_rejected || qr_fail "an operator key was accepted on the agents socket"
echo "measured: operator socket: auth_rejected $rej0 -> $(sec auth_rejected)"
qr_ok "an agent key cannot run apply/recover/takeover; the operator allowlist is separate"

# --- against the agent: a fake controller it trusts, an impostor it must not ----
qr_start fake /usr/bin/python3 "$H" fake-controller "$FAKE" "$K/ctlx.key_secret" "$QR_TMP/fake.json"
qr_start impostor /usr/bin/python3 "$H" fake-controller "$IMPOSTOR" "$K/ctly.key_secret" "$QR_TMP/impostor.json"
wait "$PID_fake" || qr_fail "the fake controller failed: $(cat "$QR_TMP/fake.log")"
wait "$PID_impostor" || qr_fail "the impostor failed: $(cat "$QR_TMP/impostor.log")"
jq -c . "$QR_TMP/fake.json"
kill -0 "$PID_ai1" || qr_fail "the agent died under the fake controller's attack"
code() { jq ".results[\"$1\"].code" "$QR_TMP/fake.json"; }
[ "$(code 101)" = -989 ] || qr_fail "a command from term 0 was not refused as stale: $(jq -c .results "$QR_TMP/fake.json")"
[ "$(code 102)" = -990 ] || qr_fail "a command with role agent was not refused: $(jq -c .results "$QR_TMP/fake.json")"
[ "$(code 103)" = -996 ] || qr_fail "an unknown command was not refused: $(jq -c .results "$QR_TMP/fake.json")"
jq -e '.results["101"].error | test("older than term 1")' "$QR_TMP/fake.json" >/dev/null || qr_fail "no reason for the stale refusal"
# (whether the agent's link comes back after the oversized frame is checked
# in test_hostile_replay_and_links.sh)
grep -q 'event=command_refused kind=apply_labels' "$QR_TMP/ai1.log" || qr_fail "stale command not logged by the agent"
sent=$(jq '.garbage_sent' "$QR_TMP/fake.json")
logged=$(grep -c 'event=bad_frame' "$QR_TMP/ai1.log" || true)
counted=$(grep -o 'event=bad_frame .*dropped=[0-9]*' "$QR_TMP/ai1.log" | tail -1 | sed 's/.*dropped=//')
echo "measured: agent: $sent bad frames sent, $logged log lines (rate-limited), last logged count $counted"
[ "$logged" -ge 1 ] && [ "$logged" -lt 20 ] || qr_fail "bad frames not logged rate-limited ($logged lines)"
[ "$(ai1_term)" = 1 ] || qr_fail "the fake controller moved the agent's fencing term"
# the impostor (a key ai1 does not expect at that endpoint) got nothing
[ "$(jq '.agent_messages' "$QR_TMP/impostor.json")" = 0 ] || \
    qr_fail "the agent talked to a controller with an unexpected key: $(cat "$QR_TMP/impostor.json")"
# the agent still serves the honest controller: fresh reports after the attack
c0=$(status | jq '.nodes[] | select(.name=="ai1") | .cycle')
sleep 2.5
c1=$(status | jq '.nodes[] | select(.name=="ai1") | .cycle')
[ -n "$c0" ] && [ "$c1" -gt "$c0" ] || qr_fail "ai1 stopped reporting to the honest controller ($c0 -> $c1)"
both_up || qr_fail "honest agents down after the fake controller"
qr_ok "the agent refuses stale/forged/unknown commands, drops bad frames, ignores an impostor, keeps reporting"

# it re-executed itself (glibc tunable) and kept its name for ps, top, the journal
[ "$(cat "/proc/$PID_ai1/comm")" = quorate-agent ] || qr_fail "the agent runs as '$(cat "/proc/$PID_ai1/comm")'"

# the agent only connects out: no listening socket
if command -v ss >/dev/null; then
    listening=$(ss -Hltnup 2>/dev/null | grep -c "pid=$PID_ai1," || true)
    [ "$listening" = 0 ] || qr_fail "the agent listens on a port: $(ss -Hltnup | grep "pid=$PID_ai1,")"
    qr_ok "the agent listens on no port"
fi

# --- the agent's fencing term survives restarts (state_dir/agent.term) ---------
T=$QR_TMP/ai1/agent.term
qr_stop "$PID_ai1" "the agent"
[ "$(head -c 7 "$T")" = QRSLOTS ] || qr_fail "agent.term is not a slot file: $(od -c "$T" | head -2)"
# earlier versions wrote the term as plain text: read it, keep fencing on it
printf '5\n' >"$T"
qr_start ai1 "$QR_BIN/quorate-agent" -c "$QR_TMP/agent1.yaml"
term5() { [ "$(ai1_term)" = 5 ]; }
qr_wait_for 10 term5 || qr_fail "ai1 did not start from the plain-text term 5: $(ai1_term)"
# a new term is written in place, as a slot file
out=$("$QR_BIN/quoratectl" takeover --force --yes --json --reason agent-term-test) || qr_fail "takeover failed: $out"
NT=$(echo "$out" | jq '.new_term')
newterm() { [ "$(ai1_term)" = "$NT" ]; }
qr_wait_for 10 newterm || qr_fail "ai1 did not take the new term $NT: $(ai1_term)"
[ "$(head -c 7 "$T")" = QRSLOTS ] || qr_fail "the plain-text term file was not replaced by a slot file"
# restarted with no controller but the fake one: its term-0 command is refused
# against the persisted term, not a re-learned one
qr_stop "$PID_ctl" "the controller"
qr_stop "$PID_ai1" "the agent"
qr_start ai1 "$QR_BIN/quorate-agent" -c "$QR_TMP/agent1.yaml"
qr_start fake2 /usr/bin/python3 "$H" fake-controller "$FAKE" "$K/ctlx.key_secret" "$QR_TMP/fake2.json"
wait "$PID_fake2" || qr_fail "the fake controller failed: $(cat "$QR_TMP/fake2.log")"
jq -e --arg t "$NT" '.results["101"].error | test("older than term " + $t)' "$QR_TMP/fake2.json" >/dev/null ||
    qr_fail "after a restart the agent forgot its term $NT: $(jq -c '.results["101"]' "$QR_TMP/fake2.json")"
qr_ok "the fencing term survives agent restarts (plain-text file of earlier versions read, slot file written; term $NT)"

qr_stop "$PID_ai1" "the agent"
qr_sanitizer_clean
