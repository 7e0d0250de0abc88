# Shared helpers for the integration tests: temp dir, process tracking by
# PID, cleanup on every exit path, keys and configs for loopback clusters.
set -euo pipefail

: "${QR_BIN:?QR_BIN must point at the build directory}"
: "${QR_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
QR_TMP=$(mktemp -d /tmp/quorate-it.XXXXXX)
QR_PIDS=()

qr_cleanup() {
    local rc=$?
    for pid in "${QR_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${QR_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        echo "--- logs of the failed run ($QR_TMP) ---"
        for f in "$QR_TMP"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
    fi
    [ -n "${QR_EXTRA_CLEANUP:-}" ] && "$QR_EXTRA_CLEANUP"
    [ -n "${QR_KEEP_TMP:-}" ] || rm -rf "$QR_TMP"
    exit "$rc"
}
trap qr_cleanup EXIT
trap "exit 130" INT TERM

qr_fail() { echo "FAIL: $*" >&2; exit 1; }
qr_ok() { echo "ok: $*"; }

# qr_start NAME CMD... : starts CMD in the background, log in $QR_TMP/NAME.log
qr_start() {
    local name=$1; shift
    "$@" >"$QR_TMP/$name.log" 2>&1 &
    QR_PIDS+=($!)
    eval "PID_${name//-/_}=$!"
}

# qr_status [BIN_DIR] [TIMEOUT_MS]: `quoratectl status --json`, or {} when
# the controller does not answer (jq 1.6 -e passes on empty input; {} makes
# every .nodes[] test fail as it should)
qr_status() {
    local o
    o=$("${1:-$QR_BIN}/quoratectl" status --json ${2:+--timeout "$2"} 2>/dev/null) || true
    [ -n "$o" ] && echo "$o" || echo '{}'
}

# qr_stop PID WHAT [SECONDS]: SIGTERM; the process must exit with 0 within
# SECONDS (default 10). A daemon that ignores SIGTERM fails here instead of
# hanging the test (the cleanup then kills it).
qr_stop() {
    local pid=$1 what=$2 secs=${3:-10} i st rc=0
    kill -TERM "$pid" 2>/dev/null || qr_fail "$what is not running"
    for ((i = 0; i < secs * 10; i++)); do
        st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
        [ "$st" = Z ] && break
        sleep 0.1
    done
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || st=gone
    [ "$st" = Z ] || [ "$st" = gone ] || qr_fail "$what did not exit within $secs s of SIGTERM"
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || qr_fail "$what exited $rc on SIGTERM"
}

qr_pubkey() { sed -n 's/.*public-key = "\(.*\)"/\1/p' "$1"; }

# qr_free_port: an unused loopback TCP port
qr_free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# qr_now_ms
qr_now_ms() { date +%s%3N; }

# qr_wait_for SECONDS CMD... : retries CMD every 100 ms until it succeeds
qr_wait_for() {
    local deadline=$(( $(qr_now_ms) + $1 * 1000 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(qr_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# qr_sanitizer_clean: no ASan/UBSan report in any log
qr_sanitizer_clean() {
    if grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$QR_TMP"/*.log 2>/dev/null; then
        qr_fail "sanitizer report in the logs above"
    fi
}

# qr_cluster N: keys and configs for one controller and N agents on loopback.
# Sets CTL_AGENTS, CTL_OPS, CTL_KEY and writes $QR_TMP/ctl.yaml, agentI.yaml,
# and quoratectl.yaml (QUORATECTL_CONFIG is exported).
qr_cluster() {
    local n=$1 i
    mkdir -p "$QR_TMP/keys/agents" "$QR_TMP/keys/operators" "$QR_TMP/state"
    "$QR_BIN/quoratectl" keygen ctl1 --dir "$QR_TMP/keys" >/dev/null
    "$QR_BIN/quoratectl" keygen op --dir "$QR_TMP/keys" >/dev/null
    cp "$QR_TMP/keys/op.key" "$QR_TMP/keys/operators/"
    CTL_KEY=$(qr_pubkey "$QR_TMP/keys/ctl1.key")
    CTL_AGENTS="tcp://127.0.0.1:$(qr_free_port)"
    CTL_OPS="tcp://127.0.0.1:$(qr_free_port)"
    cat >"$QR_TMP/ctl.yaml" <<EOC
id: ctl1
dc: east
agents_endpoint: $CTL_AGENTS
operators_endpoint: $CTL_OPS
cert: $QR_TMP/keys/ctl1.key_secret
agent_keys: $QR_TMP/keys/agents
operator_keys: $QR_TMP/keys/operators
state_dir: $QR_TMP/state
EOC
    cat >"$QR_TMP/quoratectl.yaml" <<EOC
controller: $CTL_OPS
controller_key: "$CTL_KEY"
cert: $QR_TMP/keys/op.key_secret
timeout_ms: 3000
EOC
    export QUORATECTL_CONFIG="$QR_TMP/quoratectl.yaml"
    for i in $(seq 1 "$n"); do
        "$QR_BIN/quoratectl" keygen "ai$i" --dir "$QR_TMP/keys" >/dev/null
        cp "$QR_TMP/keys/ai$i.key" "$QR_TMP/keys/agents/"
        mkdir -p "$QR_TMP/ai$i/datadir"
        cat >"$QR_TMP/agent$i.yaml" <<EOC
node: ai$i
dc: dc$(( (i - 1) % 3 + 1 ))
interval_ms: 1000
heartbeat_ms: 500
cert: $QR_TMP/keys/ai$i.key_secret
state_dir: $QR_TMP/ai$i
checks: [host, ntp, disk]
datadir: $QR_TMP/ai$i/datadir
datadir_min_gb: 0
root_free_min_gb: 0
controllers:
  - endpoint: $CTL_AGENTS
    public_key: "$CTL_KEY"
EOC
    done
}

# qr_controllers3: after qr_cluster N, three controllers electing a leader
# (keys ctl1..3, $QR_TMP/c1..3.yaml; OPS[c], KEY[c], PEER[c], AG[c]); every
# agent config lists all three. Extra controller settings: $QR_CTL_EXTRA.
qr_controllers3() {
    declare -gA PEER OPS KEY AG
    K=$QR_TMP/keys
    mkdir -p "$K/controllers"
    for c in 1 2 3; do
        [ "$c" = 1 ] || "$QR_BIN/quoratectl" keygen "ctl$c" --dir "$K" >/dev/null
        cp "$K/ctl$c.key" "$K/controllers/"
        PEER[$c]="tcp://127.0.0.1:$(qr_free_port)"
        OPS[$c]="tcp://127.0.0.1:$(qr_free_port)"
        AG[$c]="tcp://127.0.0.1:$(qr_free_port)"
        KEY[$c]=$(qr_pubkey "$K/ctl$c.key")
    done
    for c in 1 2 3; do
        {
            echo "id: ctl$c"
            echo "dc: dc$c"
            echo "election_id: $c"
            echo "agents_endpoint: ${AG[$c]}"
            echo "operators_endpoint: ${OPS[$c]}"
            echo "peers_endpoint: ${PEER[$c]}"
            echo "cert: $K/ctl$c.key_secret"
            echo "agent_keys: $K/agents"
            echo "operator_keys: $K/operators"
            echo "controller_keys: $K/controllers"
            mkdir -p "$QR_TMP/state$c"; echo "state_dir: $QR_TMP/state$c"
            echo "peers:"
            for p in 1 2 3; do
                [ "$p" = "$c" ] && continue
                echo "  - {id: $p, name: ctl$p, endpoint: \"${PEER[$p]}\", operators_endpoint: \"${OPS[$p]}\", public_key: \"${KEY[$p]}\"}"
            done
            [ -n "${QR_CTL_EXTRA:-}" ] && printf '%s\n' "$QR_CTL_EXTRA"
        } >"$QR_TMP/c$c.yaml"
        "$QR_BIN/quorate-controller" -n -c "$QR_TMP/c$c.yaml" >/dev/null || qr_fail "c$c config invalid"
    done
    local a
    for a in "$QR_TMP"/agent*.yaml; do
        sed -i '/^controllers:/,$d' "$a"
        { echo "controllers:"; for c in 1 2 3; do echo "  - {endpoint: \"${AG[$c]}\", public_key: \"${KEY[$c]}\"}"; done; } >>"$a"
    done
}
