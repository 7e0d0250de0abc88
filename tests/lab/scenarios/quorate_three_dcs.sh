#!/usr/bin/env bash
# quorate itself in the lab, 5 hosts over 3 DCs (east:2, west:2, south:1; ai5's disk 40G):
# real quorate-controller (one per swarm manager host, one election), real quorate-agent on
# every host, quoratectl run from inside a lab host (`lab ctl`). One lab, in this order:
#   A. status: 5 nodes up, one leader every controller agrees on, per host the docker role
#      the swarm gave it, the mongod state the simulator reports, ai5's disk check failing.
#   B. labels on the fresh lab (issue 7): apply, labels = plan's final_labels = docker node
#      inspect; a second apply changes nothing; a label removed by hand shows as drift and
#      the next apply repairs it, keeping a label quorate does not manage.
#   C. reachability: a partition between two hosts shows in `ports --refresh` as exactly
#      those two directions blocked; heal -> nothing blocked.
#   D. loss detection: a killed host and a killed DC are shown down within 3 s (polled every
#      100 ms through a controller that is still reachable); the surviving controllers keep
#      or elect a leader; revived hosts come back up.
#   E. labels with managers lost: one manager host down -> apply goes through another
#      manager; two of three down -> apply refused, naming the manager quorum and
#      `docker swarm init --force-new-cluster`.
# Prints `measured:` lines. Exit status: number of failed checks.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quorate_lib.sh"

echo "== quorate A: 5 hosts over 3 DCs, status"
# ai2's and ai4's agents shift their clocks (test-only setting): the controller
# measures the skew over the lab network and must call ai2 warn, ai4 fail
QR_LAB_CLOCK_OFFSETS="ai2=300,ai4=-700" up_lab --dcs east:2,west:2,south:1 --disk ai5=40G || exit 1
mapfile -t HOSTS < <("$LAB" env | jq -r '.hosts[].host')
mapfile -t CTLS < <(controllers)
note "controllers (swarm manager hosts): ${CTLS[*]}"
if t=$(poll_until 30 all_up "${CTLS[0]}" 5); then
    measured "lab up -> all 5 agents reported to ctl-${CTLS[0]}" "$t"
else
    bad "the controller on ${CTLS[0]} did not show 5 nodes up with checks within 30 s"
    ctl_json "${CTLS[0]}" status | jq -c '.counts' | sed 's/^/    /'
fi
leader_agreed() { [[ -n $(agreed_leader "$@") ]]; }
poll_until 10 leader_agreed "${CTLS[@]}" >/dev/null
L=$(agreed_leader "${CTLS[@]}")
check "all 3 controllers name the same leader (ctl-$L)" test -n "$L"
nlead=0
for c in "${CTLS[@]}"; do
    [[ $(ctl_json "$c" status | jq -r '.election.role') == leader ]] && nlead=$((nlead + 1))
done
check "exactly one controller says it is the leader ($nlead)" test "$nlead" -eq 1
check "the leader is one of the controllers" in_list "$L" "${CTLS[@]}"
# agents report to each controller independently: the leader may still lack one
# agent's first report when ctl-${CTLS[0]} already has them all
wait_until 20 all_up "$L" 5 || bad "the leader ctl-$L lacks reports from some of the 5 agents"

ST=$(ctl_json "$L" status)
check "status --json: 5 nodes, 5 up" test "$(jq -c '.counts' <<<"$ST")" = '{"nodes":5,"up":5,"down":0}'
nprim=0
for h in "${HOSTS[@]}"; do
    sum() { jq -r --arg h "$h" --arg c "$1" '.nodes[] | select(.name == $h) | .checks[] | select(.name == $c) | "\(.status)|\(.summary)"' <<<"$ST"; }
    dsum=$(sum docker); msum=$(sum mongod); ksum=$(sum disk)
    role=$(sed -n 's/.*swarm active, \(manager\|worker\).*/\1/p' <<<"$dsum")
    want=$("$LAB" env | jq -r --arg h "$h" '.hosts[] | select(.host == $h) | .swarm_role')
    mstate=$(sed -n 's/^[a-z]*|\(PRIMARY\|SECONDARY\) of rs0.*/\1/p' <<<"$msum")
    sim=$(jq -r '.state' "$QR_LAB_DIR/$h/mongosim.json" 2>/dev/null)
    [[ $mstate == PRIMARY ]] && nprim=$((nprim + 1))
    note "$h: docker=${dsum%%|*} ($role)  mongod=${msum%%|*} ($mstate)  disk=${ksum}"
    check "$h: status shows docker role $want (the swarm's)" test "$role" = "$want"
    check "$h: status shows mongod $mstate as the simulator reports ($sim)" test -n "$mstate" -a "$mstate" = "$sim"
    if [[ $h == ai5 ]]; then
        check "$h: disk check fails: data dir too small (${ksum#*|})" \
            eval '[[ $ksum == fail\|*capacity*"< 50 GB"* ]]'
    else
        check "$h: disk check passes" eval '[[ $ksum == ok\|* ]]'
    fi
done
check "status shows exactly one PRIMARY ($nprim)" test "$nprim" -eq 1

skews_measured() { ctl_json "$L" status | jq -e '[.nodes[] | select(.clock.status != null)] | length == 5' >/dev/null 2>&1; }
if t=$(poll_until 15 skews_measured); then
    SK=$(ctl_json "$L" status)
    for h in "${HOSTS[@]}"; do
        note "$h clock: $(jq -c --arg h "$h" '.nodes[] | select(.name == $h) | .clock | {skew_ms, status, rtt_ms}' <<<"$SK")"
    done
    sk() { jq -r --arg h "$1" '.nodes[] | select(.name == $h) | .clock.status' <<<"$SK"; }
    check "clock skew over the lab network: ai2 (+300 ms) warn" test "$(sk ai2)" = warn
    check "clock skew over the lab network: ai4 (-700 ms) fail" test "$(sk ai4)" = fail
    check "clock skew over the lab network: ai1 ok" test "$(sk ai1)" = ok
else
    bad "the leader did not measure every node's clock within 15 s"
fi

echo "== quorate B: labels on the fresh lab (apply, idempotence, drift)"
wait_until 20 all_up "$L" 5 || bad "the leader ctl-$L lacks reports from some agents"
t0=$(now)
AP=$(ctl_json "$L" apply --yes)
measured "apply on 5 hosts (fresh swarm, quoratectl round trip)" "$(since "$t0")"
note "apply: via $(jq -r '.via' <<<"$AP"), changes $(jq -c '.changes' <<<"$AP")"
check "apply applied every change (failed 0)" \
    jqe '.applied == true and .result.failed == 0 and .result.applied > 0' <<<"$AP"
FINAL=$(jq -c '.plan.final_labels' <<<"$AP")
check "the plan has final labels for all 5 hosts" test "$(jq 'length' <<<"$FINAL")" -eq 5
for h in "${HOSTS[@]}"; do
    want=$(jq -cS --arg h "$h" '.[$h]' <<<"$FINAL")
    got=$(node_labels ai1 "$h")
    check "$h: docker node inspect labels = plan's final_labels ($got)" test "$got" = "$want"
done
quorate_view_ok() {   # the swarm's labels as quorate's docker check reports them = final_labels
    ctl_json "$L" checks ai1 | jq -e --argjson f "$FINAL" \
        '[.checks[] | select(.name == "docker") | .values.swarm_nodes[] | {(.hostname): .labels}] | add
         | . == $f' >/dev/null 2>&1
}
check "quorate's own view of the labels (docker check) agrees within 10 s" wait_until 10 quorate_view_ok
t0=$(now)
AP2=$(ctl_json "$L" apply --yes)
measured "second apply on 5 hosts (no-op)" "$(since "$t0")"
check "a second apply reports no changes ($(jq -c 'del(.plan)' <<<"$AP2"))" \
    jqe '.changes == {} and .applied == false' <<<"$AP2"

DN=$(jq -r 'to_entries[] | select(.value["mongo.replica"] != null) | .key' <<<"$FINAL" | head -1)
note "by hand on $DN: docker node update --label-rm mongo.replica --label-add team=blue"
ldocker ai1 node update --label-rm mongo.replica --label-add team=blue "$DN" >/dev/null ||
    bad "docker node update by hand"
drift_shows() {
    ctl_json "$L" status | jq -e --arg n "$DN" \
        '[.drift[]? | select(.node == $n and (.expected | has("mongo.replica")))] | length == 1' >/dev/null 2>&1
}
if t=$(poll_until 15 drift_shows); then
    measured "label removed by hand -> drift in status" "$t"
    ok "status --json .drift names $DN's mongo.replica ($(ctl_json "$L" status | jq -c '.drift'))"
else
    bad "status --json never showed the removed label of $DN as drift ($(ctl_json "$L" status | jq -c '.drift'))"
fi
AP3=$(ctl_json "$L" apply --yes)
check "the next apply repairs it (changes $(jq -c '.changes' <<<"$AP3"))" \
    jqe --arg n "$DN" '.applied == true and .result.failed == 0 and (.changes[$n].add | has("mongo.replica"))' <<<"$AP3"
got=$(node_labels ai1 "$DN")
check "$DN: mongo.replica is back and the non-managed team=blue is kept ($got)" \
    test "$got" = "$(jq -cS --arg h "$DN" '.[$h] + {team: "blue"}' <<<"$FINAL")"
no_drift() { ctl_json "$L" status | jq -e '(.drift // []) == []' >/dev/null 2>&1; }
check "no drift left in status after the repair" wait_until 15 no_drift

echo "== quorate C: reachability matrix under a partition"
if [[ $L == ai1 || $L == ai3 ]]; then
    # The controller leader asks the agents for the probes: a host cut off from the
    # leader's host cannot be asked, so the pair is taken away from the leader's host.
    PA=ai2; PB=ai4
    note "the leader is on $L: partitioning $PA/$PB (two hosts the leader still reaches) instead of ai1/ai3"
else
    PA=ai1; PB=ai3
fi
blocked_pairs() {   # unique FROM>TO of the blocked list, sorted, one line
    jq -r '[.blocked[] | "\(.from)>\(.to)"] | unique | join(" ")' <<<"$1"
}
PJ=$(ctl_json "$L" ports --refresh)
check "before: ports --refresh: complete, nothing blocked" \
    jqe '.complete == true and .blocked == []' <<<"$PJ"
"$LAB" partition "$PA" "$PB" | sed 's/^/    /'
t0=$(now)
PJF=$QR_LAB_DIR/ports.json
partition_seen() {
    ctl_json "$L" ports --refresh >"$PJF" || return 1
    jq -e '.complete == true and .blocked != []' "$PJF" >/dev/null
}
if t=$(poll_until 15 partition_seen); then
    measured "partition -> ports --refresh shows it" "$t"
fi
PJ=$(cat "$PJF")
bp=$(blocked_pairs "$PJ")
want=$(printf '%s\n' "$PA>$PB" "$PB>$PA" | sort | paste -sd' ')
check "ports --refresh blocks exactly $want (got: ${bp:-nothing})" test "$bp" = "$want"
check "the blocked ports time out (dropped), on all 6 required ports each way" \
    jqe '(.blocked | length) == 12 and all(.blocked[]; .error == "timeout")' <<<"$PJ"
check "the matrix covers all 5 hosts (none missing)" \
    jqe '.missing == [] and ([.results[].from] | unique | length) == 5' <<<"$PJ"
"$LAB" heal | sed 's/^/    /'
PJ=$(ctl_json "$L" ports --refresh)
check "after heal: ports --refresh complete, nothing blocked ($(blocked_pairs "$PJ"))" \
    jqe '.complete == true and .blocked == []' <<<"$PJ"

echo "== quorate D: host and DC loss detection"
# through the leader: ai4 is a worker (no controller) in this layout
lab_fault kill ai4
if t=$(poll_since "$FAULT_T" 10 node_is "$L" ai4 down); then
    measured "host ai4 killed -> shown down in status (ctl-$L, polled 100 ms)" "$t"
    detection_checks "host ai4 killed" "$L" "$t" ai4
else
    bad "ai4 not shown down within 10 s"
fi
"$LAB" revive ai4 | sed 's/^/    /'
t0=$(now)
if t=$(poll_since "$t0" 90 node_is "$L" ai4 up); then
    measured "host ai4 revived -> shown up" "$t"
    ok "ai4 up again after revive"
else
    bad "ai4 not up again 90 s after revive"
fi

mapfile -t WEST < <(hosts_of_dc west)
SURV_C=()
for c in "${CTLS[@]}"; do in_list "$c" "${WEST[@]}" || SURV_C+=("$c"); done
V=$L
in_list "$V" "${WEST[@]}" && V=${SURV_C[0]}
note "killing DC west (${WEST[*]}); watching through ctl-$V (surviving controllers: ${SURV_C[*]})"
lab_fault kill-dc west
t0=$FAULT_T
if t=$(poll_since "$t0" 10 nodes_are "$V" down "${WEST[@]}"); then
    measured "DC west killed -> ${WEST[*]} shown down in status (ctl-$V)" "$t"
    detection_checks "DC west killed" "$V" "$t" "${WEST[@]}"
else
    bad "the west hosts were not both shown down within 10 s"
fi
if t=$(poll_since "$t0" 15 leader_agreed "${SURV_C[@]}"); then
    measured "DC west killed -> surviving controllers agree on a leader" "$t"
fi
NL=$(agreed_leader "${SURV_C[@]}")
note "controller leader before: ctl-$L, after losing west: ctl-${NL:-none}"
check "the 2 of 3 surviving controllers have a leader among them (ctl-${NL:-none})" in_list "$NL" "${SURV_C[@]}"
"$LAB" revive-dc west | sed 's/^/    /'
t0=$(now)
if t=$(poll_since "$t0" 90 nodes_are "$V" up "${WEST[@]}"); then
    measured "DC west revived -> ${WEST[*]} shown up" "$t"
    ok "both west hosts up again after revive-dc"
else
    bad "the west hosts were not up again 90 s after revive-dc"
fi

echo "== quorate E: apply with swarm managers lost"
L=$(agreed_leader "${CTLS[@]}")
[[ -n $L ]] || L=$NL
note "controller leader: ctl-$L"
check "the swarm sees all 3 managers again (docker check on $L)" wait_until 30 managers_reachable_is "$L" "$L" 3
SWL=$(ctl_json "$L" checks "$L" | jq -r '.checks[] | select(.name == "docker") | .values.swarm_nodes[] | select(.leader) | .hostname')
OTHERS=()
for c in "${CTLS[@]}"; do [[ $c == "$L" ]] || OTHERS+=("$c"); done
M1=${OTHERS[0]}
[[ $M1 == "$SWL" ]] && M1=${OTHERS[1]}
note "swarm leader: $SWL; killing manager host $M1 (not the controller leader's host)"
"$LAB" kill "$M1" | sed 's/^/    /'
t0=$(now)
if t=$(poll_since "$t0" 20 managers_reachable_is "$L" "$L" 2); then
    measured "manager $M1 killed -> docker check shows 2 of 3 reachable" "$t"
else
    bad "the docker check never showed $M1 unreachable"
fi
# drift to repair while the manager is down: a label removed by hand on a node we still reach
DN2=$(jq -r --arg m "$M1" 'to_entries[] | select(.key != $m and .value.worker == "true") | .key' <<<"$FINAL" | head -1)
ldocker "$L" node update --label-rm worker "$DN2" >/dev/null || bad "docker node update by hand on $DN2"
drift2() {
    ctl_json "$L" status | jq -e --arg n "$DN2" '[.drift[]? | select(.node == $n)] | length == 1' >/dev/null 2>&1
}
wait_until 15 drift2 || bad "the removed worker label of $DN2 never showed as drift"
# until the controller has marked the cut-off host down, its last report only
# ages: apply rightly refuses a stale inventory in that window
wait_until 15 node_is "$L" "$M1" down || bad "$M1 never shown down by ctl-$L"
t0=$(now)
AP4=$(ctl_json "$L" apply --yes)
measured "apply with one manager down" "$(since "$t0")"
via=$(jq -r '.via // ""' <<<"$AP4")
check "apply with $M1 down goes through another manager (via $via)" \
    eval '[[ -n $via && $via != "$M1" ]] && in_list "$via" "${CTLS[@]}"'
check "and repairs $DN2 (result $(jq -c '.result' <<<"$AP4"))" \
    jqe --arg n "$DN2" '.applied == true and .result.failed == 0 and (.changes[$n].add.worker == "true")' <<<"$AP4"
check "$DN2: docker node inspect has worker=true again" \
    eval '[[ $(node_labels "$L" "$DN2" | jq -r .worker) == true ]]'


# Two of three manager hosts lost, in both ways it can happen: (a) the swarm's raft leader
# survives, (b) it is among the lost. Either way the surviving controller (made leader with
# `takeover --force`, as the runbook says: its 2 peers are gone too) must refuse the apply,
# naming the manager quorum and the recovery step.
quorum_lost_shown() {   # the docker check of HOST (seen by the controller on HOST) shows it
    local d
    d=$(ctl_json "$1" checks "$1" | jq -r '.checks[] | select(.name == "docker") | "\(.status)|\(.values.managers_reachable // "-")|\(.summary)"' 2>/dev/null)
    [[ $d != ok\|* && ( $d == *"|1|"* || $d == *"without a leader"* ) ]]
}
two_managers_lost() {   # two_managers_lost SURVIVOR CASE KILL1 [KILL2]
    local s=$1 what=$2 t0 t msg rc; shift 2
    for k in "$@"; do "$LAB" kill "$k" | sed 's/^/    /'; done
    t0=$(now)
    if t=$(poll_since "$t0" 30 quorum_lost_shown "$s"); then
        measured "($what) manager host(s) $* killed -> docker check on $s shows no quorum" "$t"
    else
        bad "($what) the docker check on $s never showed the lost manager quorum"
    fi
    note "($what) docker check on $s: $(ctl_json "$s" checks "$s" | jq -r '.checks[] | select(.name == "docker") | "\(.status): \(.summary)"')"
    msg=$(timeout 20 "$LAB" ctl --via "$s" apply --yes 2>&1); rc=$?
    if [[ $rc -ne 0 && $msg == *"not the leader"* ]]; then
        note "($what) apply on ctl-$s: $msg"
        msg=$(timeout 20 "$LAB" ctl --via "$s" takeover --force --yes --reason "lab: 2 of 3 manager hosts lost" 2>&1) ||
            bad "($what) takeover --force on ctl-$s: $msg"
        note "($what) takeover: $(head -1 <<<"$msg")"
        msg=$(timeout 20 "$LAB" ctl --via "$s" apply --yes 2>&1); rc=$?
    fi
    note "($what) apply on ctl-$s: rc $rc: $msg"
    check "($what) apply is refused with 1 of 3 swarm managers left" test "$rc" -ne 0
    if grep -qi 'manager quorum' <<<"$msg"; then
        ok "($what) the refusal names the manager quorum"
    else
        bad "($what) the refusal does not name the manager quorum (quorate bug: a surviving manager whose dockerd has no raft leader is taken for 'no manager agent up')"
    fi
    if grep -qF 'docker swarm init --force-new-cluster' <<<"$msg"; then
        ok "($what) the refusal names docker swarm init --force-new-cluster"
    else
        bad "($what) the refusal does not name docker swarm init --force-new-cluster (same quorate bug)"
    fi
}

K=""
for c in "${CTLS[@]}"; do [[ $c != "$M1" && $c != "$SWL" ]] && K=$c; done
note "(a) swarm leader $SWL survives: also killing $K"
two_managers_lost "$SWL" a "$K"

note "(b) reviving $M1 and $K, then losing the swarm leader with another manager"
"$LAB" revive "$M1" | sed 's/^/    /'
"$LAB" revive "$K" | sed 's/^/    /'
swarm_whole() { managers_reachable_is "$SWL" "$SWL" 3; }
if t=$(poll_until 60 swarm_whole); then
    measured "2 manager hosts revived -> docker check on $SWL shows 3 reachable" "$t"
else
    bad "the swarm did not show 3 reachable managers on $SWL within 60 s"
fi
SWL2=$(ctl_json "$SWL" checks "$SWL" | jq -r '.checks[] | select(.name == "docker") | .values.swarm_nodes[]? | select(.leader) | .hostname')
SB=""
for c in "${CTLS[@]}"; do [[ $c != "$SWL2" ]] && { SB=$c; break; }; done
KB=()
for c in "${CTLS[@]}"; do [[ $c != "$SB" ]] && KB+=("$c"); done
note "(b) swarm leader now ${SWL2:-unknown}; killing ${KB[*]}, $SB survives"
check "(b) the swarm leader is among the hosts killed" in_list "$SWL2" "${KB[@]}"
two_managers_lost "$SB" b "${KB[@]}"

quorate_logs_clean
down_lab
exit "$FAILS"
