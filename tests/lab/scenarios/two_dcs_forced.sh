#!/usr/bin/env bash
# Scenario 3: 5 hosts over 2 DCs (east:3, west:2). Losing east (the majority DC) leaves the
# 2 west survivors without a primary (read-only: the runbook's case). A forced
# replSetReconfig keeping only the survivors, sent to the survivor with the newest optime,
# gives them a primary again; when east returns, its members learn the new config and
# report themselves REMOVED while the survivors' primary stays.
# Exit status: number of failed checks (0 = all passed).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

echo "== scenario 3: 5 hosts over 2 DCs, the majority DC is lost"
up_lab --dcs east:3,west:2 || exit 1
mapfile -t EAST < <(hosts_of_dc east)
note "east: ${EAST[*]} (3 of 5 voters), west: $(hosts_of_dc west | tr "\n" " ")"
mapfile -t WEST < <(hosts_of_dc west)
WEST_M=()
for h in "${WEST[@]}"; do WEST_M+=("$(addr_of "$h"):27017"); done
view=$(rs_view "${WEST[0]}")
check "before: one primary for all 5 ($(agreed_primary "$view"))" test -n "$(agreed_primary "$view")"

west_read_only() {   # both survivors answer, both SECONDARY, neither knows a primary
    local v
    v=$(rs_view "${WEST[0]}" "${WEST_M[@]}") || return 1
    jq -e '[.[] | select(.reachable and .state == "SECONDARY" and .primary == ""
                          and (.healthy | length) == 2)] | length == 2' <<<"$v" >/dev/null
}
t0=$(now)
"$LAB" kill-dc east | sed 's/^/    /'
if wait_until 15 west_read_only; then
    timing "majority DC lost: survivors without primary" "$(since "$t0")"
    ok "the 2 west survivors have no primary (read-only)"
else
    bad "the west survivors did not settle without a primary"
    rs_view "${WEST[0]}" "${WEST_M[@]}" | jq -c . | sed 's/^/    /'
fi
sleep 4   # several election timeouts: a minority must still not elect anyone
check "4 s later the survivors still have no primary" west_read_only
check "an insert on a survivor is refused (not primary)" \
    fails "$LAB" exec "${WEST[0]}" -- /usr/bin/python3 "$MONGOCLI" insert "${WEST_M[0]}" 1
check "a non-forced replSetReconfig on a survivor is refused" \
    fails "$LAB" exec "${WEST[0]}" -- /usr/bin/python3 "$MONGOCLI" cmd "${WEST_M[0]}" \
    '{"replSetReconfig": {"_id": "rs0", "version": 2, "members": [{"_id": 3, "host": "'"${WEST_M[0]}"'"}]}}'

# the survivor with the newest optime (term, then timestamp) gets the forced reconfig
v=$(rs_view "${WEST[0]}" "${WEST_M[@]}")
target=$(jq -r 'to_entries | max_by(.value.optime) | .key' <<<"$v")
old_ver=$(jq -r --arg t "$target" '.[$t].config_version' <<<"$v")
keep=$(IFS=,; echo "${WEST_M[*]}")
t0=$(now)
out=$("$LAB" exec "${WEST[0]}" -- /usr/bin/python3 "$MONGOCLI" force-reconfig "$target" --keep "$keep" 2>&1)
note "force reconfig on $target: $out"
new_ver=$(jq -r '.new_version // 0' <<<"$out" 2>/dev/null || echo 0)
check "forced reconfig accepted on a secondary, version $old_ver -> $new_ver (+10000 or more)" \
    test "$new_ver" -ge $((old_ver + 10000))
west_primary() {
    local v
    v=$(rs_view "${WEST[0]}" "${WEST_M[@]}") || return 1
    [[ -n $(agreed_primary "$v") ]] &&
        jq -e '[.[] | select(.reachable and (.healthy | length) == 2)] | length == 2' <<<"$v" >/dev/null
}
if wait_until 15 west_primary; then
    timing "forced reconfig: survivors elect a primary" "$(since "$t0")"
    for h in "${WEST[@]}"; do
        e=$(first_log_after "$t0" "elected PRIMARY" "$h")
        [[ -n $e ]] && timing "forced reconfig: $h elected PRIMARY (mongosim log)" "$e"
    done
    wp=$(agreed_primary "$(rs_view "${WEST[0]}" "${WEST_M[@]}")")
    check "a survivor is primary after the forced reconfig ($wp)" in_list "$wp" "${WEST_M[@]}"
else
    bad "no primary among the survivors after the forced reconfig"
fi
check "writes work again on the new primary" \
    quiet "$LAB" exec "${WEST[0]}" -- /usr/bin/python3 "$MONGOCLI" insert "${wp:-none}" 2

east_removed() {
    local v
    v=$(rs_view "${WEST[0]}") || return 1
    [[ $(jq --arg p "${wp:-none}" '[to_entries[] | select(.value.state == "REMOVED")] | length' <<<"$v") -eq 3 &&
        $(jq -r --arg p "${wp:-none}" '.[$p].state' <<<"$v") == PRIMARY ]]
}
t0=$(now)
"$LAB" revive-dc east | sed 's/^/    /'
if wait_until 15 east_removed; then
    timing "east back: its members learn they were removed" "$(since "$t0")"
    ok "east's 3 members report REMOVED; the survivors' primary stays"
else
    bad "after revive-dc east the old members did not report REMOVED under the new primary"
    rs_view "${WEST[0]}" | jq -c . | sed 's/^/    /'
fi
RAM2=$(lab_ram_mib)
echo "RAM lab 5 hosts/2 DCs: ${RAM2} MiB"
down_lab
exit "$FAILS"
