#!/usr/bin/env bash
# The agent's bounded report queue: with no controller reachable the agent
# keeps at most queue_max reports (oldest dropped, drops counted); when the
# controller comes, the kept reports are delivered and the next report tells
# how many were dropped. The agent never blocks or grows meanwhile.
source "$(dirname "$0")/lib.sh"
qr_cluster 1
cat >>"$QR_TMP/agent1.yaml" <<EOC
queue_max: 3
EOC
sed -i 's/^interval_ms: .*/interval_ms: 200/' "$QR_TMP/agent1.yaml"
qr_start ai1 "$QR_BIN/quorate-agent" -c "$QR_TMP/agent1.yaml"
sleep 3 # ~15 cycles with nobody listening
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID_ai1/status"; }
r1=$(rss)
sleep 2
r2=$(rss)
echo "measured: agent RSS with no controller: ${r1} KiB, 2 s later ${r2} KiB"
[ $((r2 - r1)) -lt 2048 ] || qr_fail "agent memory grew while no controller answered"
qr_start ctl "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
dropped() { { "$QR_BIN/quoratectl" status --json 2>/dev/null || true; } | jq -r '.nodes[0].dropped_reports // 0'; }
counted() { [ "$(dropped)" -ge 10 ]; }
qr_wait_for 15 counted || qr_fail "drops not counted (dropped_reports=$(dropped))"
echo "measured: dropped reports counted by the controller: $(dropped) (queue of 3, ~25 cycles offline)"
qr_ok "bounded queue: oldest dropped, drops counted and reported"
qr_sanitizer_clean
