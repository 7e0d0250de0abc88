# shellcheck shell=bash
# Helpers for the quorate-in-the-lab scenarios (sourced after lib.sh). The lab must have been
# brought up with QR_LAB_QUORATE=1 and QR_BIN set (tests/lab/quorate.sh starts a controller
# on each swarm manager host and an agent on every host).

measured() { printf 'measured: %-56s %7s s\n' "$1" "$2"; }

# ctl_json VIA ARGS...: quoratectl ARGS --json, run inside host VIA against the controller
# on VIA (stderr dropped). quoratectl's exit status 1 ("a node down or a check failing", or
# a refused apply) still comes with JSON and counts as success here; 2 and up (bad usage,
# no answer) fail.
ctl_json() {
    local via=$1 rc=0; shift
    timeout 10 "$LAB" ctl --via "$via" "$@" --json 2>/dev/null || rc=$?
    [[ $rc -le 1 ]]
}
# check "..." jqe FILTER <<<"$JSON" (empty input fails: jq -e accepts it)
jqe() { local in; in=$(cat); [[ -n $in ]] && jq -e "$@" >/dev/null 2>&1 <<<"$in"; }

controllers() { "$LAB" env | jq -r '.hosts[] | select(.swarm_role == "manager") | .host'; }

# the host whose controller the controller on VIA names as leader ("" if none known)
leader_seen_by() {
    ctl_json "$1" status | jq -r '.election.leader // "" | sub("^ctl-"; "")' 2>/dev/null
}

# the leader's host if every answering controller in the list agrees on one; "" otherwise
agreed_leader() {   # agreed_leader HOST...
    local h l seen=()
    for h in "$@"; do
        l=$(leader_seen_by "$h")
        [[ -n $l ]] || return 0
        seen+=("$l")
    done
    [[ $(printf '%s\n' "${seen[@]}" | sort -u | wc -l) -eq 1 ]] && printf '%s' "${seen[0]}"
}

# node_is VIA HOST up|down: the controller on VIA shows HOST up (or down)
node_is() {
    local want=true
    [[ $3 == down ]] && want=false
    ctl_json "$1" status | jq -e --arg h "$2" --argjson w "$want" \
        '[.nodes[] | select(.name == $h) | .up] == [$w]' >/dev/null 2>&1
}
nodes_are() {   # nodes_are VIA up|down HOST...
    local via=$1 st=$2 h js; shift 2
    js=$(ctl_json "$via" status) || return 1
    for h in "$@"; do
        jq -e --arg h "$h" --argjson w "$([[ $st == up ]] && echo true || echo false)" \
            '[.nodes[] | select(.name == $h) | .up] == [$w]' <<<"$js" >/dev/null || return 1
    done
}
all_up() {   # all_up VIA N: the controller on VIA shows N nodes, all up, each with a docker check
    ctl_json "$1" status | jq -e --argjson n "$2" \
        '.counts.nodes == $n and .counts.up == $n
         and ([.nodes[] | select(any(.checks[]; .name == "docker"))] | length) == $n' >/dev/null 2>&1
}

# poll_until TIMEOUT_S CMD...: run CMD every 100 ms until it succeeds; prints the seconds
# since the call (2 decimals) and returns 0, or prints nothing and returns 1 on timeout
poll_until() {
    local limit=$1 t0; shift
    t0=$EPOCHREALTIME
    while :; do
        if "$@"; then since "$t0"; return 0; fi
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN { exit !(b - a < l) }' || return 1
        sleep 0.1
    done
}
poll_since() {   # poll_since T0 TIMEOUT_S CMD...: like poll_until, time measured from T0
    local t0=$1 limit=$2; shift 2
    while :; do
        if "$@"; then since "$t0"; return 0; fi
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN { exit !(b - a < l) }' || return 1
        sleep 0.1
    done
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

# the lab's docker CLI against HOST's dockerd, from inside HOST's namespace
ldocker() {
    local h=$1; shift
    DOCKER_CONFIG="$QR_LAB_DIR/$h/docker/cli" timeout 20 \
        nsenter --net="/run/netns/$QR_LAB_PREFIX-$h" /usr/bin/docker -H "unix://$QR_LAB_DIR/$h/docker/docker.sock" "$@"
}
node_labels() { ldocker "$1" node inspect "$2" --format '{{json .Spec.Labels}}' | jq -cS '. // {}'; }

# docker check of HOST as the controller on VIA sees it: "STATUS MANAGERS_REACHABLE"
docker_check() {
    ctl_json "$1" checks "$2" | jq -r '.checks[] | select(.name == "docker") | "\(.status) \(.values.managers_reachable // "-")"' 2>/dev/null
}
managers_reachable_is() {   # managers_reachable_is VIA HOST N
    [[ $(docker_check "$1" "$2") == *" $3" ]]
}

# before `lab down`: no quorate process died or reported a sanitizer error (ASan builds)
quorate_logs_clean() {
    local f bad_logs=()
    for f in "$QR_LAB_DIR"/ai*/agent.log "$QR_LAB_DIR"/ai*/controller.log; do
        [[ -f $f ]] || continue
        grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$f" &&
            bad_logs+=("${f#"$QR_LAB_DIR"/}")
    done
    if [[ ${#bad_logs[@]} -eq 0 ]]; then
        ok "no sanitizer report in any quorate log"
    else
        bad "sanitizer reports in: ${bad_logs[*]}"
        for f in "${bad_logs[@]}"; do grep -m3 -E 'Sanitizer|runtime error' "$QR_LAB_DIR/$f" | sed 's/^/    /'; done
    fi
    local h k pid dead=()
    for h in $("$LAB" env | jq -r '.hosts[].host'); do
        for k in agent controller; do
            [[ -f $QR_LAB_DIR/$h/$k.pid ]] || continue
            pid=$(cat "$QR_LAB_DIR/$h/$k.pid")
            [[ -d /proc/$pid ]] || dead+=("$k@$h")
        done
    done
    check "every quorate process is still running (dead: ${dead[*]:-none})" test "${#dead[@]}" -eq 0
}

# ctl_event_after T0 CTLHOST NODE...: seconds from T0 (epoch) until the controller on CTLHOST
# logged event=node_down for every NODE (the latest of them; its own clock = this machine's);
# prints "" when one is missing
ctl_down_logged_after() {
    local t0=$1 c=$2; shift 2
    /usr/bin/python3 - "$t0" "$QR_LAB_DIR/$c/controller.log" "$@" <<'PY'
import datetime, sys
t0, path, nodes = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
first = {}
for line in open(path, errors="replace"):
    if "event=node_down" not in line:
        continue
    try:
        ts = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        continue
    for n in nodes:
        if ts >= t0 and n not in first and (" node=%s " % n) in line:
            first[n] = ts
if len(first) == len(nodes):
    print("%.2f" % (max(first.values()) - t0))
PY
}

# lab_fault ARGS...: run `lab ARGS` (kill, kill-dc, revive, ...), print its output indented
# and set FAULT_T to the epoch time the lab printed for the fault (links changed), or to the
# time it returned if that cannot be read
lab_fault() {
    local out ts
    out=$("$LAB" "$@" 2>&1)
    printf '%s\n' "$out" | sed 's/^/    /'
    FAULT_T=$EPOCHREALTIME
    ts=$(sed -n 's/^\[lab\] \([0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]*\) .*/\1/p' <<<"$out" | head -1)
    if [[ -n $ts ]]; then
        ts=$(date -u -d "$(date -u +%F) $ts" +%s.%N 2>/dev/null) &&
            awk -v a="$ts" -v b="$FAULT_T" 'BEGIN { exit !(a <= b && b - a < 5) }' && FAULT_T=$ts
    fi
    return 0
}

# detection_checks WHAT CTLHOST POLLED NODE...: print the controller's own detection time
# (its node_down log lines) next to the polled one; the detection must be within 3 s, the
# status showing it within 3.5 s (one quoratectl round trip more, on a loaded machine)
detection_checks() {
    local what=$1 c=$2 polled=$3 d; shift 3
    d=$(ctl_down_logged_after "$FAULT_T" "$c" "$@")
    if [[ -n $d ]]; then
        measured "$what -> ctl-$c logged node_down for $*" "$d"
        check "$what: ctl-$c marked $* down within 3 s ($d s)" le "$d" 3
    else
        bad "$what: ctl-$c logged no node_down for every one of $*"
    fi
    check "$what: status --json showed $* down within 3.5 s (polled: $polled s)" le "$polled" 3.5
}
