#!/usr/bin/env bash
# quorate in the lab, 5 hosts over 2 DCs (east:3, west:2): the 3-host DC is lost. The
# survivors' replica-set members are a minority: no primary (read-only, the runbook's case),
# and quorate's mongod check on each survivor must say so (fail, "no primary"). Watched
# through the controller on the surviving west manager host: it lost its controller majority
# (2 of 3 controllers were in east) but still shows its own view of the agents.
# Prints `measured:` lines. Exit status: number of failed checks.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quorate_lib.sh"

echo "== quorate F: 5 hosts over 2 DCs, the 3-host DC lost"
up_lab --dcs east:3,west:2 || exit 1
mapfile -t CTLS < <(controllers)
mapfile -t WEST < <(hosts_of_dc west)
V=""
for c in "${CTLS[@]}"; do in_list "$c" "${WEST[@]}" && { V=$c; break; }; done
note "controllers: ${CTLS[*]}; watching from ctl-$V (west); survivors: ${WEST[*]}"
check "one controller runs in west" test -n "$V"
if t=$(poll_until 30 all_up "$V" 5); then
    measured "lab up -> all 5 agents reported to ctl-$V" "$t"
else
    bad "ctl-$V did not show 5 nodes up within 30 s"
fi
mongod_is() {   # mongod_is VIA STATUS PATTERN HOST...: each host's mongod check matches
    local via=$1 st=$2 pat=$3 h js; shift 3
    js=$(ctl_json "$via" status) || return 1
    for h in "$@"; do
        jq -e --arg h "$h" --arg s "$st" --arg p "$pat" \
            '[.nodes[] | select(.name == $h and .up) | .checks[] | select(.name == "mongod")
              | select(.status == $s and (.summary | test($p)))] | length == 1' <<<"$js" >/dev/null || return 1
    done
}
check "before: the survivors' mongod checks pass with a primary" \
    wait_until 10 mongod_is "$V" ok '(PRIMARY|SECONDARY) of rs0' "${WEST[@]}"

lab_fault kill-dc east
t0=$FAULT_T
mapfile -t EAST < <(hosts_of_dc east)
if t=$(poll_since "$t0" 10 nodes_are "$V" down "${EAST[@]}"); then
    measured "DC east (3 hosts) killed -> shown down in status (ctl-$V)" "$t"
    detection_checks "DC east killed" "$V" "$t" "${EAST[@]}"
else
    bad "the east hosts were not shown down within 10 s"
fi
if t=$(poll_since "$t0" 30 mongod_is "$V" fail 'no primary' "${WEST[@]}"); then
    measured "DC east killed -> survivors' mongod checks fail: no primary" "$t"
    ok "both survivors' mongod checks fail with \"no primary\""
else
    bad "the survivors' mongod checks did not report \"no primary\" within 30 s"
fi
ctl_json "$V" status | jq -r --argjson w "$(printf '%s\n' "${WEST[@]}" | jq -R . | jq -s .)" \
    '.nodes[] | select(.name as $n | $w | index($n)) | "\(.name): \(.checks[] | select(.name == "mongod") | "\(.status): \(.summary)")"' |
    sed 's/^/    /'
mapfile -t WEST_M < <(for h in "${WEST[@]}"; do addr_of "$h"; done | sed 's/$/:27017/')
view=$(rs_view "${WEST[0]}" "${WEST_M[@]}")
check "the simulator agrees: no survivor is PRIMARY" \
    test "$(jq '[.[] | select(.state == "PRIMARY")] | length' <<<"$view")" -eq 0

quorate_logs_clean
down_lab
exit "$FAILS"
