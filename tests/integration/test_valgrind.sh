#!/usr/bin/env bash
# Valgrind memcheck of a short live scenario on a plain (non-ASan) build:
# a controller and an agent, both under valgrind, with CURVE; the agent
# reports its checks, quoratectl asks for status, checks and inventory,
# runs a port-probe round (a fenced command the agent executes) and a
# takeover (a durable term bump), a client with an unknown key and a
# garbage-sending peer are turned away, then both stop on SIGTERM. Any invalid read/write, use of uninitialised
# memory, bad free or definite leak fails the test (--error-exitcode).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/plain_build.sh"
command -v valgrind >/dev/null || { echo "skip: valgrind is not installed"; exit 77; }
qr_plain_build || qr_fail "cannot build the plain binaries"
B=$QR_PLAIN
qr_cluster 1
sed -i 's/^checks:.*/checks: [host, ntp, disk, ports]/; s/^interval_ms:.*/interval_ms: 2000/' "$QR_TMP/agent1.yaml"
VG=(valgrind --tool=memcheck --error-exitcode=42 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-origins=no --num-callers=30
    --suppressions="$QR_SOURCE_DIR/tests/valgrind.supp")
qr_start ctl "${VG[@]}" --log-file="$QR_TMP/vg-ctl.txt" "$B/quorate-controller" -c "$QR_TMP/ctl.yaml"
# the agent re-executes itself (/proc/self/exe) unless the tcache tunable is
# already set: under valgrind that would be the valgrind tool itself
qr_start ai1 env GLIBC_TUNABLES=glibc.malloc.tcache_count=0 "${VG[@]}" --log-file="$QR_TMP/vg-ai1.txt" \
    "$B/quorate-agent" -c "$QR_TMP/agent1.yaml"
status() { qr_status "$B" 5000; }
reported() { status | jq -e '.nodes[] | select(.name == "ai1") | .up and (.checks | length == 4)' >/dev/null; }
qr_wait_for 90 reported || qr_fail "the agent under valgrind did not report: $(status)"
qr_ok "controller and agent under valgrind: ai1 reported 4 checks"
# (quoratectl exits like the worst check: only the JSON tells)
{ "$B/quoratectl" checks ai1 --json --timeout 5000 || true; } | jq -e '.checks | length == 4' >/dev/null ||
    qr_fail "checks failed"
{ "$B/quoratectl" inventory --json --timeout 5000 || true; } | jq -e '.nodes | length == 1' >/dev/null ||
    qr_fail "inventory failed"
"$B/quoratectl" status --timeout 5000 >/dev/null || true
# a fenced command through the agent (probe_ports) and a durable term bump
{ "$B/quoratectl" ports --refresh --json --timeout 20000 || true; } | jq -e 'type == "object"' >/dev/null ||
    qr_fail "ports --refresh failed"
{ "$B/quoratectl" takeover --force --yes --json --reason valgrind --timeout 5000 || true; } |
    jq -e '.new_term > 1' >/dev/null || qr_fail "takeover failed"
/usr/bin/python3 "$QR_SOURCE_DIR/tests/integration/hostile_peer.py" badkey "$CTL_AGENTS" "$CTL_KEY" - 5 ||
    qr_fail "hostile peer failed to run"
/usr/bin/python3 "$QR_SOURCE_DIR/tests/integration/hostile_peer.py" garbage "$CTL_AGENTS" "$CTL_KEY" \
    "$QR_TMP/keys/ai1.key_secret" 20 || qr_fail "hostile peer failed to run"
sleep 3 # a few more cycles with the results above
status | jq -e '.controller.security.auth_rejected >= 1 and .controller.security.bad_frames >= 1' >/dev/null ||
    qr_fail "the hostile peers were not counted: $(status | jq -c .controller.security)"
qr_ok "status, checks, inventory and hostile peers under valgrind"
for p in ai1 ctl; do
    pid_var=PID_$p
    kill -TERM "${!pid_var}"
    rc=0; wait "${!pid_var}" || rc=$?
    grep -E 'ERROR SUMMARY|definitely lost|Invalid|uninitialised' "$QR_TMP/vg-$p.txt" | head -5 | sed "s/^/$p: /"
    [ "$rc" -eq 0 ] || { tail -60 "$QR_TMP/vg-$p.txt"; qr_fail "$p under valgrind exited $rc (42: memcheck errors)"; }
done
qr_ok "valgrind memcheck clean for controller and agent"
