#!/usr/bin/env bash
# The reachability matrix, in a private network namespace: three agents at
# 127.0.0.1/2/3 probe each other's required ports on the leader's request;
# an nftables rule drops ai2 -> ai3 port 2377; `quoratectl ports --refresh`
# names exactly that pair and port as blocked, and the rest as open.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null || ! ip netns add "qrit-probe-$$" 2>/dev/null; then
    echo "skip: needs root, nftables and network namespaces"; exit 77
fi
NS="qrit-probe-$$"
cleanup_ns() { ip netns del "$NS" 2>/dev/null || true; }
QR_EXTRA_CLEANUP=cleanup_ns
ip -n "$NS" link set lo up
qr_cluster 3
for i in 1 2 3; do echo "address: 127.0.0.$i" >>"$QR_TMP/agent$i.yaml"; done
# the probe must not wait long for the dropped port
echo "probe_timeout_ms: 700" >>"$QR_TMP/ctl.yaml"
nsx() { ip netns exec "$NS" "$@"; }
qr_start ctl ip netns exec "$NS" "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
for i in 1 2 3; do qr_start "ai$i" ip netns exec "$NS" "$QR_BIN/quorate-agent" -c "$QR_TMP/agent$i.yaml"; done
ip netns exec "$NS" nft -f - <<'EOR'
table inet qrtest {
  chain out {
    type filter hook output priority 0; policy accept;
    ip saddr 127.0.0.2 ip daddr 127.0.0.3 tcp dport 2377 drop
  }
}
EOR
ctl() { nsx "$QR_BIN/quoratectl" "$@"; }
three_up() { [ "$(ctl status --json 2>/dev/null | jq '[.nodes[] | select(.up and .address != "")] | length')" = 3 ]; }
qr_wait_for 15 three_up || qr_fail "3 nodes with addresses not up: $(ctl status --json || true)"
leads() { { ctl status --json 2>/dev/null || true; } | jq -e '.election.role == "leader" and .election.leader_valid' >/dev/null; }
qr_wait_for 10 leads || qr_fail "the controller did not elect itself"
t0=$(qr_now_ms)
m=$(ctl ports --refresh --json || true)
echo "measured: refresh round took $(( $(qr_now_ms) - t0 )) ms"
echo "$m" | jq -e '.complete' >/dev/null || qr_fail "round incomplete: $m"
n=$(echo "$m" | jq '.results | length')
[ "$n" = 36 ] || qr_fail "expected 3x2 pairs x 6 ports = 36 results, got $n"
echo "$m" | jq -e '.blocked == [{"from":"ai2","to":"ai3","port":2377,"ok":false,"error":"timeout"}]' >/dev/null \
    || qr_fail "blocked list wrong: $(echo "$m" | jq -c .blocked)"
qr_ok "matrix names exactly ai2 -> ai3:2377 as blocked"
table=$(ctl ports || true)
echo "$table"
echo "$table" | grep -q 'ai2 -> ai3 port 2377: timeout' || qr_fail "table does not name the blocked pair"
ctl ports >/dev/null && qr_fail "ports should exit 1 when something is blocked"
ip netns exec "$NS" nft delete table inet qrtest
m=$(ctl ports --refresh --json || true)
echo "$m" | jq -e '.blocked == [] and .complete' >/dev/null || qr_fail "still blocked after removing the rule"
qr_ok "after the rule is removed nothing is blocked"
qr_sanitizer_clean
