#!/usr/bin/env bash
# Controller election in the namespace lab (5 hosts, 3 DCs, a controller on
# each swarm manager: ai1 east, ai3 west, ai5 south): the leader's host is cut
# off from the other two controllers' hosts (nftables drops, both ways). The
# cut-off leader steps down within its lease; the majority elects a new leader;
# after the heal the old leader follows the higher term.
set -uo pipefail
source "${QR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/preflight.sh"
lab_preflight le quorate
lab_traps
fail() { echo "FAIL: $*"; exit 1; }
"$LAB" up --dcs east:2,west:2,south:1 9>&- >"$QR_LAB_DIR.up" 2>&1 || { cat "$QR_LAB_DIR.up"; fail "lab up"; }
rm -f "$QR_LAB_DIR.up"
now_ms() { date +%s%3N; }
st() { "$LAB" ctl --via "$1" status --json --timeout 800 2>/dev/null || true; }
role() { st "$1" | jq -r '.election.role // "?"'; }
valid() { st "$1" | jq -r '.election.leader_valid // false'; }
leader_host() { local h; for h in ai1 ai3 ai5; do [[ $(role "$h") == leader && $(valid "$h") == true ]] && { echo "$h"; return; }; done; }
deadline=$(( $(now_ms) + 15000 ))
L=""
while [[ -z $L && $(now_ms) -lt $deadline ]]; do L=$(leader_host); sleep 0.2; done
[[ -n $L ]] || fail "no leader among ai1 ai3 ai5"
others=(); for h in ai1 ai3 ai5; do [[ $h != "$L" ]] && others+=("$h"); done
echo "leader: $L; cutting it off from ${others[*]}"
t0=$(now_ms)
for o in "${others[@]}"; do "$LAB" partition "$L" "$o" >/dev/null || fail "partition"; done
# the cut-off leader steps down within its lease (election_min_ms 500 by default)
down_ms=""
while [[ $(now_ms) -lt $((t0 + 10000)) ]]; do
    if [[ $(valid "$L") != true ]]; then down_ms=$(( $(now_ms) - t0 )); break; fi
    sleep 0.05
done
[[ -n $down_ms ]] || fail "the cut-off leader $L still claims a valid lease after 10 s"
echo "measured: cut-off leader stopped leading after $down_ms ms (lease 500 ms + polling)"
new=""
while [[ $(now_ms) -lt $((t0 + 15000)) ]]; do
    for o in "${others[@]}"; do [[ $(role "$o") == leader && $(valid "$o") == true ]] && new=$o; done
    [[ -n $new ]] && break
    sleep 0.1
done
[[ -n $new ]] || fail "the majority elected no leader"
echo "measured: majority side (${others[*]}) elected $new after $(( $(now_ms) - t0 )) ms"
"$LAB" heal >/dev/null
t1=$(now_ms)
follows=""
while [[ $(now_ms) -lt $((t1 + 15000)) ]]; do
    [[ $(role "$L") == follower && $(st "$L" | jq -r '.election.leader') == "ctl-$new" ]] && { follows=1; break; }
    sleep 0.2
done
[[ -n $follows ]] || fail "after the heal $L does not follow ctl-$new: $(st "$L" | jq -c .election)"
echo "measured: after the heal $L follows ctl-$new in $(( $(now_ms) - t1 )) ms"
echo "ok: partitioned leader steps down, majority elects, old leader follows after the heal"
