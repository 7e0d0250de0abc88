#!/usr/bin/env bash
# Crash safety of the controller's persisted state (term, vote and the state
# document with the audit log, in state_dir/election.state): the controller
# is killed with SIGKILL while it persists terms (operator takeovers, each a
# durable term bump answered only after the write) and restarted, again and
# again. It must always come back (a torn or corrupt file would make it
# refuse to start) and never with a term older than one it answered with.
# Part 1 kills at random moments; part 2 uses the test-only fault injection
# QUORATE_TEST_CRASH=STEP:N (common/crashpoint.h) to die exactly inside a
# save in place (common/slotfile.c: half the record in its slot; written but
# not fdatasync'd); part 3 starts from a format 1 file (earlier versions'
# one record, replaced atomically) and dies at each step of its replacement
# by the slot file: temp file half written, written but not fsync'd,
# fsync'd but not renamed, renamed but the directory not fsync'd.
source "$(dirname "$0")/lib.sh"
qr_cluster 0
"$QR_BIN/quorate-controller" -n -c "$QR_TMP/ctl.yaml" >/dev/null || qr_fail "controller config invalid"
STATE=$QR_TMP/state/election.state
MAX_ANSWERED=0 # highest term a takeover answered with, over all runs
RUN=0

# the controller's term; fails when it does not answer (jq 1.6 -e would
# pass on empty input: test the number instead)
ctl_term() {
    local t
    t=$("$QR_BIN/quoratectl" status --json --timeout 2000 2>/dev/null | jq '.controller.term') || true
    [[ "$t" =~ ^[0-9]+$ ]] && echo "$t"
}

# start_ctl [ENV=VALUE...]: a fresh controller process on the same state dir
start_ctl() {
    RUN=$((RUN + 1))
    qr_start "ctl$RUN" env "$@" "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
    CTL=$!
    qr_wait_for 20 ctl_term || qr_fail "run $RUN: the controller did not come up: $(tail -5 "$QR_TMP/ctl$RUN.log")"
}

# check_restart: the restarted controller's term is at least every answered one
check_restart() {
    local t
    t=$(ctl_term) || qr_fail "run $RUN: no status after the restart"
    [ "$t" -ge "$MAX_ANSWERED" ] || qr_fail "run $RUN: came back with term $t, older than the answered $MAX_ANSWERED"
    if [ "$RUN" -gt 1 ]; then
        grep -q 'event=election_state_restored' "$QR_TMP/ctl$RUN.log" || \
            qr_fail "run $RUN: the state was not restored from $STATE"
    fi
}

# takeover_once: one takeover; on an answer, remember its term
takeover_once() {
    local out t
    out=$("$QR_BIN/quoratectl" takeover --force --yes --json --timeout 1500 --reason crash-test 2>/dev/null) || return 1
    t=$(echo "$out" | jq '.new_term') || return 1
    [[ "$t" =~ ^[0-9]+$ ]] || return 1
    [ "$t" -gt "$MAX_ANSWERED" ] && MAX_ANSWERED=$t
    return 0
}

# forget PID: a reaped process leaves the cleanup list
forget() {
    local keep=() p
    for p in "${QR_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    QR_PIDS=("${keep[@]}")
}

# reap: wait for the killed controller (exit status in RC), forget it
reap() {
    RC=0
    wait "$CTL" 2>/dev/null || RC=$?
    forget "$CTL"
}

# --- part 1: SIGKILL at random moments during a stream of takeovers --------
start_ctl
check_restart
t_end=$(( $(qr_now_ms) + 35000 ))
kills=0; answered=0
while [ "$(qr_now_ms)" -lt "$t_end" ]; do
    delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.05 + (r % 1200) / 1000 }')
    ( sleep "$delay"; kill -KILL "$CTL" 2>/dev/null ) &
    killer=$!
    while kill -0 "$CTL" 2>/dev/null; do
        takeover_once && answered=$((answered + 1)) || true
    done
    wait "$killer" || true
    reap
    [ "$RC" = 137 ] || qr_fail "run $RUN: controller exited with $RC, not by SIGKILL"
    kills=$((kills + 1))
    start_ctl
    check_restart
done
echo "measured: $kills random SIGKILLs, $answered answered takeovers, highest answered term $MAX_ANSWERED"
[ "$answered" -ge 20 ] && [ "$kills" -ge 10 ] || qr_fail "too few takeovers ($answered) or kills ($kills) to mean anything"
qr_ok "random kill -9: always restarted with a valid state, never an older term"
kill -TERM "$CTL"; wait "$CTL" || qr_fail "controller exited non-zero on SIGTERM"
forget "$CTL"

# --- part 2: death exactly between the steps of a write ------------------------
injected=0
for step in slot_partial slot_written; do
    for n in 2 3 4; do
        before=$MAX_ANSWERED
        start_ctl QUORATE_TEST_CRASH="$step:$n"
        check_restart
        for _ in $(seq 20); do
            kill -0 "$CTL" 2>/dev/null || break
            takeover_once || true
        done
        for _ in $(seq 30); do kill -0 "$CTL" 2>/dev/null || break; sleep 0.1; done
        reap
        [ "$RC" = 137 ] || qr_fail "$step:$n: the controller did not die at the injected point (exit $RC)"
        grep -q "QUORATE_TEST_CRASH: killing the process at $step of $STATE" "$QR_TMP/ctl$RUN.log" \
            || qr_fail "$step:$n: died, but not at the injected point"
        injected=$((injected + 1))
        start_ctl
        check_restart
        t=$(ctl_term)
        echo "  $step:$n: answered up to $MAX_ANSWERED (was $before), restarted at term $t"
        kill -TERM "$CTL"; wait "$CTL" || qr_fail "controller exited non-zero on SIGTERM"
        forget "$CTL"
    done
done
qr_ok "$injected injected crashes between write steps: always a valid state, never an older term"

# --- part 3: upgrade from format 1, death at each step of the replacement ------
# write_format1 TERM: the record alone, as earlier versions wrote it
write_format1() {
    /usr/bin/python3 - "$STATE" "$1" <<'EOPY'
import struct, sys, zlib
path, term = sys.argv[1], int(sys.argv[2])
fixed = struct.pack("<QIQQI", term, 0, 0, 0, 0)
rec = b"QRELECT\n" + struct.pack("<II", 1, len(fixed)) + fixed
rec += struct.pack("<I", zlib.crc32(rec))
with open(path + ".v1", "wb") as f:
    f.write(rec)
EOPY
    mv "$STATE.v1" "$STATE"
}
for step in temp_partial temp_written before_rename after_rename; do
    write_format1 "$MAX_ANSWERED"
    RUN=$((RUN + 1))
    qr_start "ctl$RUN" env QUORATE_TEST_CRASH="$step:1" "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
    CTL=$!
    # its first save replaces the file: at start (it elects itself) or at a takeover
    for _ in $(seq 100); do
        kill -0 "$CTL" 2>/dev/null || break
        takeover_once || sleep 0.1
    done
    reap
    [ "$RC" = 137 ] || qr_fail "format 1, $step: the controller did not die at the injected point (exit $RC)"
    grep -q "QUORATE_TEST_CRASH: killing the process at $step of $STATE" "$QR_TMP/ctl$RUN.log" \
        || qr_fail "format 1, $step: died, but not at the injected point"
    start_ctl
    check_restart
    head -c 8 "$STATE" | grep -q QRSLOTS || grep -q 'format 1' "$QR_TMP/ctl$RUN.log" \
        || qr_fail "format 1, $step: neither a slot file nor a logged format 1 file"
    echo "  format 1, $step: restarted at term $(ctl_term) ($(head -c 7 "$STATE"))"
    kill -TERM "$CTL"; wait "$CTL" || qr_fail "controller exited non-zero on SIGTERM"
    forget "$CTL"
    injected=$((injected + 1))
done
head -c 8 "$STATE" | grep -q QRSLOTS || qr_fail "the state is not a slot file after the upgrades"
qr_ok "format 1 files upgraded with a crash at each step of the replacement: no term lost"

# a damaged slot that does not hold the newest record (bit rot in the stale
# copy) is skipped with a logged note and costs nothing; damage in both
# slots is refused with a clear message, not silently reset. The slots
# follow the 4 KiB header, each half the rest; a record's sequence number
# is at byte 8 of its slot.
SLOT=$(( ($(stat -c %s "$STATE") - 4096) / 2 ))
start_ctl
takeover_once || qr_fail "no takeover before the damage test"
takeover_once || qr_fail "no takeover before the damage test"
kill -TERM "$CTL"; wait "$CTL" || qr_fail "controller exited non-zero on SIGTERM"
forget "$CTL"
seq_of() { od -An -t u8 -j $((4096 + $1 * SLOT + 8)) -N 8 "$STATE" | tr -d ' '; }
older=0; [ "$(seq_of 0)" -gt "$(seq_of 1)" ] && older=1
printf 'garbage' | dd of="$STATE" bs=1 seek=$((4096 + older * SLOT + 20)) conv=notrunc status=none
start_ctl
check_restart
grep -q "event=election_state_note .*slot $older unreadable" "$QR_TMP/ctl$RUN.log" \
    || qr_fail "the damaged slot $older was not reported: $(grep event=election_state "$QR_TMP/ctl$RUN.log")"
kill -TERM "$CTL"; wait "$CTL" || qr_fail "controller exited non-zero on SIGTERM"
forget "$CTL"
qr_ok "a damaged stale slot is skipped and logged; restarted at term >= $MAX_ANSWERED"
printf 'garbage' | dd of="$STATE" bs=1 seek=$((4096 + 20)) conv=notrunc status=none
printf 'garbage' | dd of="$STATE" bs=1 seek=$((4096 + SLOT + 20)) conv=notrunc status=none
rc=0; timeout 20 "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml" >"$QR_TMP/corrupt.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || qr_fail "a corrupted state file did not stop the controller (exit $rc)"
grep -q 'checksum mismatch' "$QR_TMP/corrupt.log" || qr_fail "no clear message for a corrupt state: $(cat "$QR_TMP/corrupt.log")"
qr_ok "a corrupted state file is refused: $(grep -o 'checksum mismatch[^"]*' "$QR_TMP/corrupt.log" | head -1)"
qr_sanitizer_clean
