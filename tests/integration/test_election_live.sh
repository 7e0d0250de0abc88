#!/usr/bin/env bash
# Three real controllers on loopback with CURVE elect one leader; agents
# report to all three. kill -9 of the leader: a new leader; SIGTERM of the
# leader: handover in well under a second; SIGSTOP/SIGCONT: the paused
# leader comes back as a follower of a higher term; a follower redirects
# leader-only requests; after two of three controllers are gone, the
# survivor has no leader until `quoratectl takeover --force --yes`.
source "$(dirname "$0")/lib.sh"
qr_cluster 2
qr_controllers3
start_ctl() { qr_start "c$1" "$QR_BIN/quorate-controller" -c "$QR_TMP/c$1.yaml"; }
for c in 1 2 3; do start_ctl $c; done
for i in 1 2; do qr_start "ai$i" "$QR_BIN/quorate-agent" -c "$QR_TMP/agent$i.yaml"; done

st() { "$QR_BIN/quoratectl" status --json --controller "${OPS[$1]}" --controller-key "${KEY[$1]}" --timeout 1000 2>/dev/null || true; }
role() { st "$1" | jq -r '.election.role // "down"'; }
term() { st "$1" | jq -r '.election.term // 0'; }
leaders() { local n=0 c; for c in "$@"; do [ "$(role "$c")" = leader ] && n=$((n+1)); done; echo $n; }
leader_of() { local c; for c in "$@"; do [ "$(role "$c")" = leader ] && { echo "$c"; return; }; done; echo ""; }
pidof_ctl() { eval echo "\$PID_c$1"; }
one_leader() { [ "$(leaders "$@")" = 1 ]; }

qr_wait_for 10 one_leader 1 2 3 || qr_fail "no single leader among 3"
L=$(leader_of 1 2 3)
echo "leader: ctl$L, term $(term "$L")"
for c in 1 2 3; do
    [ "$(st "$c" | jq -r '.election.leader')" = "ctl$L" ] || qr_fail "ctl$c does not name ctl$L as leader"
done
both_up() { [ "$(st "$1" | jq '[.nodes[] | select(.up)] | length')" = 2 ]; }
for c in 1 2 3; do qr_wait_for 10 both_up "$c" || qr_fail "ctl$c does not see both agents (followers are warm)"; done
qr_ok "one leader; every controller names it and sees the agents"
st "$L" | jq -e '[.election.controllers[] | select(.self | not) | .config_mismatch] == [false, false]' >/dev/null \
    || qr_fail "a consistent controller list reported as differing: $(st "$L" | jq -c .election.controllers)"

# a follower redirects a leader-only request
F=$(( L % 3 + 1 ))
out=$("$QR_BIN/quoratectl" ports --json --controller "${OPS[$F]}" --controller-key "${KEY[$F]}" 2>"$QR_TMP/redir.err" || true)
grep -q "asking the leader ctl$L" "$QR_TMP/redir.err" || qr_fail "no redirect from follower ctl$F: $(cat "$QR_TMP/redir.err")"
echo "$out" | jq -e 'has("round")' >/dev/null || qr_fail "redirected request got no matrix: $out"
qr_ok "follower ctl$F redirects to the leader"

# kill -9 the leader
others() { local c; for c in 1 2 3; do [ "$c" != "$1" ] && echo -n "$c "; done; }
t0=$(qr_now_ms); kill -KILL "$(pidof_ctl "$L")"
# shellcheck disable=SC2046
qr_wait_for 10 one_leader $(others "$L") || qr_fail "no new leader after kill -9"
echo "measured: leader kill -9 -> new leader in $(( $(qr_now_ms) - t0 )) ms (timeouts 500-1000 ms)"
# the survivors saw the dead leader's connections close and did not wait for
# the election timeout (election_peer_lost)
for c in $(others "$L"); do
    grep -q "event=leader_connection_closed peer=ctl$L" "$QR_TMP/c$c.log" ||
        qr_fail "ctl$c did not notice the closed connection of the killed leader ctl$L"
done
KL=$L
NL=$(leader_of $(others "$L"))
ts_ms() { date -d "$1" +%s%3N; }
closed=$(grep -m1 "event=leader_connection_closed peer=ctl$KL" "$QR_TMP/c$NL.log" | cut -d' ' -f1)
won=$(grep 'event=election_role role=leader' "$QR_TMP/c$NL.log" | tail -1 | cut -d' ' -f1)
echo "measured: connection closed -> ctl$NL elected: $(( $(ts_ms "$won") - $(ts_ms "$closed") )) ms (from the logs)"
start_ctl "$L"
qr_wait_for 10 one_leader 1 2 3 || qr_fail "restarted controller disturbs the cluster"
qr_ok "kill -9 of the leader: a new leader; the restarted one follows"

# planned restart: SIGTERM hands leadership over
L=$(leader_of 1 2 3)
t0=$(qr_now_ms); kill -TERM "$(pidof_ctl "$L")"
# shellcheck disable=SC2046
qr_wait_for 10 one_leader $(others "$L") || qr_fail "no new leader after SIGTERM"
dt=$(( $(qr_now_ms) - t0 ))
echo "measured: leader SIGTERM -> new leader in $dt ms (includes quoratectl polling)"
grep -q "event=leadership_handover" "$QR_TMP/c$L.log" || qr_fail "no handover logged by ctl$L"
# the handover itself, from the logs: old leader's signal -> new leader's role
sig=$(grep -m1 'event=signal' "$QR_TMP/c$L.log" | cut -d' ' -f1)
NL=$(leader_of $(others "$L"))
won=$(grep 'event=election_role role=leader' "$QR_TMP/c$NL.log" | tail -1 | cut -d' ' -f1)
echo "measured: planned handover (signal -> new leader elected, from the logs): $(( $(ts_ms "$won") - $(ts_ms "$sig") )) ms"
start_ctl "$L"
qr_ok "SIGTERM hands leadership over"

# pause the leader: the others elect; resumed, it follows the higher term
qr_wait_for 10 one_leader 1 2 3 || qr_fail "no leader after restart"
L=$(leader_of 1 2 3); T=$(term "$L")
kill -STOP "$(pidof_ctl "$L")"
# shellcheck disable=SC2046
qr_wait_for 10 one_leader $(others "$L") || { kill -CONT "$(pidof_ctl "$L")"; qr_fail "no leader while ctl$L is paused"; }
kill -CONT "$(pidof_ctl "$L")"
follows() { [ "$(role "$L")" = follower ] && [ "$(term "$L")" -gt "$T" ]; }
qr_wait_for 5 follows || qr_fail "paused leader did not step down: role $(role "$L") term $(term "$L") (was $T)"
qr_ok "a paused leader comes back as a follower of a higher term"

# lose two controllers for good: no leader, until takeover
qr_wait_for 10 one_leader 1 2 3 || qr_fail "no leader before the loss"
S=$(( $(leader_of 1 2 3) % 3 + 1 ))
for c in 1 2 3; do [ "$c" != "$S" ] && kill -KILL "$(pidof_ctl "$c")"; done
noleader() { [ "$(st "$S" | jq -r '.election.leader_valid')" = false ]; }
qr_wait_for 10 noleader || qr_fail "the survivor still claims a valid leader"
# takeover is refused while a majority was heard within election_max_ms (1 s)
silent() { st "$S" | jq -e '[.election.controllers[] | select(.self | not) | .last_heard_ago_ms // 99999] | all(. > 1100)' >/dev/null; }
qr_wait_for 10 silent || qr_fail "peers still heard"
ctl() { "$QR_BIN/quoratectl" "$@" --controller "${OPS[$S]}" --controller-key "${KEY[$S]}" --cert "$K/op.key_secret"; }
ctl takeover >/dev/null 2>&1 && qr_fail "takeover without --force did something"
[ "$(role "$S")" != leader ] || qr_fail "takeover without --force made a leader"
ctl takeover --force --yes --reason "east lost (test)" 2>"$QR_TMP/takeover.err" || qr_fail "takeover --force failed: $(cat "$QR_TMP/takeover.err")"
[ "$(role "$S")" = leader ] || qr_fail "survivor not leader after takeover"
st "$S" | jq -e '.election.override == true' >/dev/null || qr_fail "override not shown"
grep -q 'event=takeover' "$QR_TMP/c$S.log" || qr_fail "takeover not logged"
qr_ok "takeover: refused without --force, leads alone with it, logged"

# a controller whose list differs (a 4th member it alone knows) is reported
"$QR_BIN/quoratectl" keygen ctl9 --dir "$K" >/dev/null
k9=$(qr_pubkey "$K/ctl9.key")
for c in 1 2 3; do
    [ "$c" = "$S" ] && continue
    # peers: is the last block of the file
    printf '  - {id: 9, name: ctl9, endpoint: "tcp://127.0.0.1:9", public_key: "%s"}\n' "$k9" >>"$QR_TMP/c$c.yaml"
    qr_start "c$c" "$QR_BIN/quorate-controller" -c "$QR_TMP/c$c.yaml"
done
mismatch() { st "$S" | jq -e '[.election.controllers[] | select(.config_mismatch)] | length >= 1' >/dev/null; }
qr_wait_for 25 mismatch || qr_fail "differing controller lists not reported: $(st "$S" | jq -c .election.controllers)"
grep -q 'event=controller_config_mismatch' "$QR_TMP/c$S.log" || qr_fail "mismatch not logged"
qr_ok "a controller with another controller list is reported"
qr_sanitizer_clean
