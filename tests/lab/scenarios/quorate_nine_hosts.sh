#!/usr/bin/env bash
# quorate in the lab, 9 hosts over 3 DCs (east:3, west:3, south:3): one apply on a fresh
# swarm of 9, timed, and every label docker reports afterwards is the plan's final_labels.
# Then a partition between the controller leader's host and another controller's host: the
# leader cannot ask the cut-off host for its probes; `ports --refresh` must still tell the
# operator (the pair named blocked, or the host listed as not probed), never "nothing
# blocked". After heal the time until the cut-off host is shown up again is measured.
# Prints `measured:` lines. Exit status: number of failed checks.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quorate_lib.sh"

echo "== quorate G: apply on 9 hosts over 3 DCs"
up_lab --dcs east:3,west:3,south:3 || exit 1
mapfile -t HOSTS < <("$LAB" env | jq -r '.hosts[].host')
mapfile -t CTLS < <(controllers)
if t=$(poll_until 40 all_up "${CTLS[0]}" 9); then
    measured "lab up -> all 9 agents reported to ctl-${CTLS[0]}" "$t"
else
    bad "ctl-${CTLS[0]} did not show 9 nodes up within 40 s"
fi
leader_agreed() { [[ -n $(agreed_leader "$@") ]]; }
wait_until 10 leader_agreed "${CTLS[@]}" || bad "the controllers agree on no leader"
L=$(agreed_leader "${CTLS[@]}")
# the leader refuses to plan from a stale inventory: wait until it has every
# agent's first report (agents report to each controller independently)
wait_until 20 all_up "$L" 9 || bad "the leader ctl-$L lacks reports from some of the 9 agents"
t0=$(now)
AP=$(ctl_json "$L" apply --yes)
measured "apply on 9 hosts (fresh swarm, quoratectl round trip)" "$(since "$t0")"
note "apply: via $(jq -r '.via' <<<"$AP"), $(jq -c '.result | {applied, failed}' <<<"$AP")"
check "apply applied every change (failed 0)" \
    jqe '.applied == true and .result.failed == 0 and .result.applied > 0' <<<"$AP"
FINAL=$(jq -c '.plan.final_labels' <<<"$AP")
# read through ctl-$L's own dockerd: another manager than the one the apply went
# through may lag a moment behind the swarm's Raft log, so allow it to catch up
matching() {
    n=0
    for h in "${HOSTS[@]}"; do
        [[ $(node_labels "$L" "$h") == "$(jq -cS --arg h "$h" '.[$h]' <<<"$FINAL")" ]] && n=$((n + 1))
    done
    [[ $n -eq 9 ]]
}
if t=$(poll_until 10 matching); then
    measured "apply -> labels visible on ctl-$L's manager" "$t"
fi
matching # once more here: poll_until ran in a subshell, n is counted again
check "docker node inspect = plan's final_labels on all 9 hosts ($n/9)" test "$n" -eq 9
t0=$(now)
AP2=$(ctl_json "$L" apply --yes)
measured "second apply on 9 hosts (no-op)" "$(since "$t0")"
check "a second apply reports no changes" jqe '.changes == {} and .applied == false' <<<"$AP2"

echo "== quorate H: partition between the controller leader's host and another host"
X=""
for c in "${CTLS[@]}"; do [[ $c != "$L" ]] && { X=$c; break; }; done
"$LAB" partition "$L" "$X" | sed 's/^/    /'
t0=$(now)
if t=$(poll_since "$t0" 10 node_is "$L" "$X" down); then
    measured "partition $L/$X -> $X shown down by ctl-$L" "$t"
else
    bad "$X not shown down by ctl-$L within 10 s of the partition"
fi
PJ=$(ctl_json "$L" ports --refresh)
note "ports --refresh on ctl-$L: blocked $(jq -c '[.blocked[]? | "\(.from)>\(.to)"] | unique' <<<"$PJ"), missing $(jq -c '.missing' <<<"$PJ"), complete $(jq -c '.complete' <<<"$PJ")"
note "text: $(timeout 10 "$LAB" ctl --via "$L" ports 2>&1 | grep -i 'blocked' | head -2 | tr '\n' ' ')"
if jq -e --arg l "$L" --arg x "$X" \
    '([.blocked[]? | select((.from == $l and .to == $x) or (.from == $x and .to == $l))] | length) > 0
     or ((.missing // []) | index($x)) != null or ((.down // []) | index($x)) != null' <<<"$PJ" >/dev/null 2>&1; then
    ok "ports --refresh tells the operator about $L/$X (blocked or not probed)"
else
    bad "ports --refresh says nothing about $L/$X while they are partitioned: $X (down to the leader) is left out of the matrix and 'no port is blocked' is printed (quorate bug)"
fi
"$LAB" heal | sed 's/^/    /'
t0=$(now)
if t=$(poll_since "$t0" 90 node_is "$L" "$X" up); then
    measured "heal -> $X shown up again by ctl-$L" "$t"
else
    bad "$X not shown up by ctl-$L within 90 s of heal"
fi

quorate_logs_clean
down_lab
exit "$FAILS"
