#!/usr/bin/env bash
# Scenarios on 5 hosts over 3 DCs (east:2, west:2, south:1; ai5's disk 40G):
#   1. everything up: 5 dockerd, a swarm of 3 managers (one per DC) + 2 workers all Ready,
#      5 data disks mounted (ai5 smaller than the 50 GB the disk check wants), a replica set
#      with exactly one primary that every member agrees on.
#   2. a 2-host DC is lost (veths down): its members become unreachable and the 3 of 5
#      survivors elect or keep a primary within 10 s; when the DC returns every member is
#      healthy again under one primary.
#   4. a partition between two hosts blocks TCP between just those two; heal restores it.
# Exit status: number of failed checks (0 = all passed).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

echo "== scenario 1: 5 hosts over 3 DCs, all up"
up_lab --dcs east:2,west:2,south:1 --disk ai5=40G || exit 1
mapfile -t HOSTS < <("$LAB" env | jq -r '.hosts[].host')

n_up=0
for h in "${HOSTS[@]}"; do
    [[ $(curl -s -m 3 --unix-socket "$(sock_of "$h")" http://d/_ping) == OK ]] && n_up=$((n_up + 1))
done
check "all 5 dockerd answer on their own sockets ($n_up/5)" test "$n_up" -eq 5

s1=$(sock_of ai1)
nodes=$(DOCKER_CONFIG="$QR_LAB_DIR/ai1/docker/cli" timeout 20 /usr/bin/docker -H "unix://$s1" \
    node ls --format '{{.Hostname}} {{.Status}} {{if .ManagerStatus}}manager{{else}}worker{{end}}' 2>&1)
note "swarm nodes: $(tr '\n' ';' <<<"$nodes")"
check "swarm: 5 nodes Ready" test "$(grep -c ' Ready ' <<<"$nodes")" -eq 5
check "swarm: 3 managers + 2 workers" test "$(grep -c ' manager$' <<<"$nodes"),$(grep -c ' worker$' <<<"$nodes")" = "3,2"
mdcs=$(for h in $(awk '$3 == "manager" { print $1 }' <<<"$nodes"); do dc_of "$h"; done | sort -u | wc -l)
check "swarm managers are spread over all 3 DCs" test "$mdcs" -eq 3

for h in "${HOSTS[@]}"; do
    d="$QR_LAB_DIR/$h/datadir"
    fs=$(findmnt -n -o FSTYPE --target "$d" 2>/dev/null)
    size=$(df -B1 --output=size "$d" | tail -1 | tr -d ' ')
    if [[ $h == ai5 ]]; then
        check "$h: datadir is its own ext4 filesystem, smaller than 50 GB ($((size / 1000000000)) GB)" \
            test "$fs" = ext4 -a "$size" -lt 50000000000
    else
        check "$h: datadir is its own ext4 filesystem of at least 50 GB ($((size / 1000000000)) GB)" \
            test "$fs" = ext4 -a "$size" -ge 50000000000
    fi
done

check "no lab address in the root namespace" bash -c '! ip -o addr | grep -q " 10\.77\."'
nodef=0
for h in "${HOSTS[@]}"; do
    [[ -z $("$LAB" exec "$h" -- ip route show default) ]] && nodef=$((nodef + 1))
done
check "no default route in any host namespace ($nodef/5 without)" test "$nodef" -eq 5
check "lab exec runs with the host's hostname" test "$("$LAB" exec ai3 -- hostname)" = ai3

view=$(rs_view ai1)
prim=$(agreed_primary "$view")
note "replica set: $(jq -c 'to_entries | map({(.key): .value.state}) | add' <<<"$view")"
check "replica set: exactly one primary, all 5 members agree ($prim)" test -n "$prim"
check "replica set: every member sees all 5 healthy" \
    test "$(jq '[.[] | select((.healthy | length) == 5)] | length' <<<"$view")" -eq 5
check "insert accepted by the primary" \
    quiet "$LAB" exec ai1 -- /usr/bin/python3 "$MONGOCLI" insert "$prim" 5
sec=$(jq -r 'to_entries[] | select(.value.state == "SECONDARY") | .key' <<<"$view" | head -1)
check "insert refused by a secondary ($sec)" \
    fails "$LAB" exec ai1 -- /usr/bin/python3 "$MONGOCLI" insert "$sec" 1
sleep 1
check "the insert replicated to that secondary" \
    test "$("$LAB" exec ai1 -- /usr/bin/python3 "$MONGOCLI" count "$sec" | jq .n)" = 5
RAM1=$(lab_ram_mib)
note "RAM (PSS of all lab processes, 5 hosts): ${RAM1} MiB"
echo "RAM lab 5 hosts/3 DCs: ${RAM1} MiB"

echo "== scenario 2: loss of a 2-host DC"
pdc=$(dc_of "$(host_of_addr "$prim")")
if [[ $pdc == south ]]; then
    # Move the primary into a 2-host DC first, so losing that DC needs an election.
    note "primary $prim is in south: replSetStepDown so a 2-host DC holds it"
    "$LAB" exec ai1 -- /usr/bin/python3 "$MONGOCLI" cmd "$prim" '{"replSetStepDown": 60}' >/dev/null ||
        bad "replSetStepDown on the primary"
    new_primary_elsewhere() {
        local p
        p=$(agreed_primary "$(rs_view ai1)")
        [[ -n $p && $p != "$prim" ]]
    }
    check "after replSetStepDown another member is elected" wait_until 15 new_primary_elsewhere
    prim=$(agreed_primary "$(rs_view ai1)")
    pdc=$(dc_of "$(host_of_addr "$prim")")
fi
lost=$pdc
[[ $lost == south || -z $lost ]] && lost=east
mapfile -t LOST < <(hosts_of_dc "$lost")
SURV=()
for h in "${HOSTS[@]}"; do [[ " ${LOST[*]} " == *" $h "* ]] || SURV+=("$h"); done
LOST_M=()
for h in "${LOST[@]}"; do LOST_M+=("$(addr_of "$h"):27017"); done
SURV_M=()
for h in "${SURV[@]}"; do SURV_M+=("$(addr_of "$h"):27017"); done
note "killing DC $lost (${LOST[*]}), primary was $prim in $pdc; survivors ${SURV[*]}"

survivors_see_loss() {   # every survivor reports every lost member unhealthy
    local v
    v=$(rs_view "${SURV[0]}" "${SURV_M[@]}") || return 1
    jq -e --argjson lost "$(printf '%s\n' "${LOST_M[@]}" | jq -R . | jq -s .)" \
        '[to_entries[] | select(.value.reachable) | .value.healthy] as $hs
         | ($hs | length) == 3 and all($hs[]; . as $h | all($lost[]; . as $l | ($h | index($l)) == null))' \
        <<<"$v" >/dev/null
}
survivors_have_primary() {
    local v
    v=$(rs_view "${SURV[0]}" "${SURV_M[@]}") || return 1
    [[ $(jq '[.[] | select(.reachable)] | length' <<<"$v") -eq 3 && -n $(agreed_primary "$v") ]]
}
t0=$(now)
"$LAB" kill-dc "$lost" | sed 's/^/    /'
if wait_until 15 survivors_see_loss; then
    timing "DC loss: survivors' mongosims mark the lost members down" "$(since "$t0")"
    ok "the 3 survivors report both members of $lost unhealthy"
else
    bad "survivors never marked the members of $lost down"
fi
if wait_until 15 survivors_have_primary; then
    timing "DC loss: all 3 survivors agree on a primary (polled)" "$(since "$t0")"
    ok "the 3 of 5 survivors have a primary"
else
    bad "the 3 of 5 survivors elected no primary in 15 s"
fi
# Precise times from the simulators' own logs (the polling above adds client overhead).
lost_re=$(IFS='|'; echo "${LOST_M[*]}" | sed 's/\./\\./g')
d=$(first_log_after "$t0" "member ($lost_re) is now DOWN" "${SURV[@]}")
[[ -n $d ]] && timing "DC loss: every survivor's mongosim logged the loss" "$d"
el=""
for h in "${SURV[@]}"; do
    e=$(first_log_after "$t0" "elected PRIMARY" "$h")
    [[ -n $e ]] && { el=$e; timing "DC loss: $h elected PRIMARY (mongosim log)" "$e"; }
done
if [[ -n $el ]]; then
    check "a new primary was elected within 10 s of the DC loss (${el} s)" awk -v e="$el" 'BEGIN { exit !(e <= 10) }'
else
    note "the primary was outside $lost and stayed primary (no election needed)"
fi
v=$(rs_view "${SURV[0]}")
check "the lost DC's mongosims are unreachable from a survivor" \
    test "$(jq --argjson lost "$(printf '%s\n' "${LOST_M[@]}" | jq -R . | jq -s .)" \
        '[to_entries[] | select(.key as $k | $lost | index($k)) | select(.value.reachable)] | length' <<<"$v")" -eq 0
newp=$(agreed_primary "$(rs_view "${SURV[0]}" "${SURV_M[@]}")")
check "the new primary is a survivor ($newp)" in_list "$newp" "${SURV_M[@]}"

all_back() {
    local v
    v=$(rs_view ai1) || return 1
    [[ -n $(agreed_primary "$v") &&
        $(jq '[.[] | select(.reachable and (.healthy | length) == 5)] | length' <<<"$v") -eq 5 ]]
}
t0=$(now)
"$LAB" revive-dc "$lost" | sed 's/^/    /'
if wait_until 20 all_back; then
    timing "DC back: all 5 healthy under one primary" "$(since "$t0")"
    ok "after revive-dc all 5 members are healthy and agree on one primary"
else
    bad "after revive-dc the replica set did not come back whole in 20 s"
    rs_view ai1 | jq -c . | sed 's/^/    /'
fi

echo "== scenario 4: partition between two hosts"
a1=$(addr_of ai1); a2=$(addr_of ai2); a3=$(addr_of ai3)
check "before: ai1 -> ai3:27017 connects" tcp_ok ai1 "$a3" 27017
t0=$(now)
"$LAB" partition ai1 ai3 | sed 's/^/    /'
check "partitioned: ai1 -> ai3:27017 blocked" tcp_blocked ai1 "$a3" 27017
check "partitioned: ai3 -> ai1:27017 blocked" tcp_blocked ai3 "$a1" 27017
check "partitioned: ai1 -> ai2:27017 still connects" tcp_ok ai1 "$a2" 27017
check "partitioned: ai3 -> ai2:27017 still connects" tcp_ok ai3 "$a2" 27017
check "partitioned: ai2 -> ai1:27017 still connects" tcp_ok ai2 "$a1" 27017
check "partitioned: ai2 -> ai3:27017 still connects" tcp_ok ai2 "$a3" 27017
check "lab status lists the partition" grep -q 'ai1 (ai1) <-/-> ai3 (ai3)' <<<"$("$LAB" status)"
timing "partition set + checked" "$(since "$t0")"
t0=$(now)
"$LAB" heal | sed 's/^/    /'
check "healed: ai1 -> ai3:27017 connects again" tcp_ok ai1 "$a3" 27017
timing "heal + checked" "$(since "$t0")"
check "after heal the replica set is whole under one primary" wait_until 10 all_back

down_lab
exit "$FAILS"
