# shellcheck shell=bash
# Helpers for the lab scenarios (sourced; bash). Needs LAB (path of tests/lab/lab) and the
# lab's environment (QR_LAB_DIR, QR_LAB_PREFIX) exported by the caller.

LAB_DIR_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=${LAB:-$LAB_DIR_SRC/lab}
MONGOCLI=$LAB_DIR_SRC/mongocli.py
FAILS=${FAILS:-0}

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
note() { printf '  %s\n' "$*"; }
timing() { printf 'TIMING %-52s %6s s\n' "$1" "$2"; }

ok() { printf '  ok   %s\n' "$*"; }
bad() { printf '  FAIL %s\n' "$*"; FAILS=$((FAILS + 1)); }
check() {   # check "what a user would notice" CMD...
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

addr_of() { "$LAB" env | jq -r --arg h "$1" '.hosts[] | select(.host == $h) | .addr'; }
sock_of() { "$LAB" env | jq -r --arg h "$1" '.hosts[] | select(.host == $h) | .docker_sock'; }
hosts_of_dc() { "$LAB" env | jq -r --arg d "$1" '.hosts[] | select(.dc == $d) | .host'; }
dc_of() { "$LAB" env | jq -r --arg h "$1" '.hosts[] | select(.host == $h) | .dc'; }
host_of_addr() { "$LAB" env | jq -r --arg a "${1%:*}" '.hosts[] | select(.addr == $a) | .host'; }
all_members() { "$LAB" env | jq -r '.hosts[] | .mongo'; }

# rs_view FROM [MEMBER...]: what every member says about itself, asked from FROM's namespace
rs_view() {
    local from=$1; shift
    local members=("$@")
    [[ ${#members[@]} -gt 0 ]] || mapfile -t members < <(all_members)
    "$LAB" exec "$from" -- /usr/bin/python3 "$MONGOCLI" view "${members[@]}"
}

# the primary every reachable member of the list agrees on ("" if none or no agreement);
# exactly one member must call itself PRIMARY
agreed_primary() {   # VIEW_JSON
    jq -r '[to_entries[] | select(.value.reachable)] as $r
           | [$r[] | select(.value.state == "PRIMARY") | .key] as $p
           | if ($p | length) == 1 and ([$r[] | .value.primary] | unique) == [$p[0]]
             then $p[0] else "" end' <<<"$1"
}

# wait_until TIMEOUT CMD...: poll every 0.25 s; prints nothing; returns 1 on timeout
wait_until() {
    local limit=$1 t0; shift
    t0=$SECONDS
    while ! "$@"; do
        [[ $((SECONDS - t0)) -lt $limit ]] || return 1
        sleep 0.25
    done
}

tcp_ok() {   # tcp_ok FROM ADDR PORT: a TCP connect from FROM's namespace succeeds within 2 s
    "$LAB" exec "$1" -- timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

lab_ram_mib() { "$LAB" status | sed -n 's/^RAM (PSS of all lab processes): \([0-9]*\) MiB$/\1/p'; }

# up_lab ARGS...: lab up, echo its timing lines as TIMING lines
up_lab() {
    local out rc=0 t0
    t0=$(now)
    out=$("$LAB" up "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    [[ $rc -eq 0 ]] || { bad "lab up $* (status $rc)"; return 1; }
    timing "lab up $*" "$(since "$t0")"
    local l
    l=$(sed -n 's/^\[lab\] swarm all .* nodes Ready.*: \([0-9.]*\) s$/\1/p' <<<"$out")
    [[ -n $l ]] && timing "  swarm init+join until all nodes Ready" "$l"
    l=$(sed -n 's/^\[lab\] dockerd x.* answering: \([0-9.]*\) s$/\1/p' <<<"$out")
    [[ -n $l ]] && timing "  all dockerd answering" "$l"
    l=$(sed -n 's/^\[lab\] replica set .* elected: \([0-9.]*\) s$/\1/p' <<<"$out")
    [[ -n $l ]] && timing "  first primary elected" "$l"
    return 0
}

down_lab() {
    local t0 out
    t0=$(now)
    out=$("$LAB" down 2>&1) || bad "lab down"
    printf '%s\n' "$out" | sed 's/^/    /'
    timing "lab down" "$(since "$t0")"
}
fails() { ! "$@" 2>/dev/null; }                 # check "x is refused" fails CMD...
tcp_blocked() { ! tcp_ok "$@"; }
in_list() { local x=$1; shift; printf '%s\n' "$@" | grep -qxF -- "$x"; }

# first_log_after T0 REGEX HOST...: seconds from T0 (epoch) to the first mongosim log line
# matching REGEX written after T0, taken over the given hosts' logs: the latest of the
# per-host firsts (every host has seen it). Prints "" when some host has no such line.
first_log_after() {
    local t0=$1 re=$2; shift 2
    local files=() h
    for h in "$@"; do files+=("$QR_LAB_DIR/$h/mongosim.log"); done
    /usr/bin/python3 - "$t0" "$re" "${files[@]}" <<'PY'
import datetime, re, sys
t0, rx, files = float(sys.argv[1]), re.compile(sys.argv[2]), sys.argv[3:]
worst = None
for f in files:
    first = None
    for line in open(f, errors="replace"):
        try:
            ts = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            continue
        if ts >= t0 and rx.search(line):
            first = ts
            break
    if first is None:
        sys.exit(0)
    worst = first if worst is None else max(worst, first)
print("%.2f" % (worst - t0))
PY
}
quiet() { "$@" >/dev/null; }                    # check "..." quiet CMD... (no stdout)
