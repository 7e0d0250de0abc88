#!/usr/bin/env bash
# The mongod check (libmongoc, for real over the wire) against a replica-set
# member played by python3-mockupdb (mock_mongod.py, MongoDB 6 replies) on
# loopback: PRIMARY and SECONDARY ok with members, optimes, config; a lagging
# member and a down member warn; no primary fails; the member gone fails; over
# TLS the CA file and allow-invalid-hostnames options decide, as deployed.
set -u

QR_BIN=${QR_BIN:?QR_BIN must point at the build dir}
QR_SOURCE_DIR=${QR_SOURCE_DIR:?}
AGENT=$QR_BIN/quorate-agent
LIVE=$QR_BIN/test_mongod_live
MOCK=$QR_SOURCE_DIR/tests/integration/mock_mongod.py

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${D:-}" ] && tail -n 20 "$D/mock.log" 2>/dev/null; exit 1; }

[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
/usr/bin/python3 -c 'import mockupdb' 2>/dev/null || skip "python3-mockupdb not installed"
[ -x "$AGENT" ] || fail "$AGENT not built"
[ -x "$LIVE" ] || fail "$LIVE not built"

D=$(mktemp -d /tmp/qr_mg.XXXXXX)
MPID=
stop_mock() {
    [ -n "$MPID" ] || return 0
    kill -TERM "$MPID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$MPID" 2>/dev/null && kill -KILL "$MPID"
    wait "$MPID" 2>/dev/null
    MPID=
}
cleanup() {
    local rc=$?
    stop_mock
    rm -rf "$D"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start_mock() { # start_mock [--tls]; sets MPID and PORT
    rm -f "$D/port"
    /usr/bin/python3 "$MOCK" --port-file "$D/port" --mode-file "$D/mode" "$@" >"$D/mock.log" 2>&1 &
    MPID=$!
    for _ in $(seq 1 100); do
        [ -s "$D/port" ] && break
        kill -0 "$MPID" 2>/dev/null || fail "mock mongod exited: $(cat "$D/mock.log")"
        sleep 0.1
    done
    [ -s "$D/port" ] || fail "mock mongod did not start"
    PORT=$(cat "$D/port")
}
write_conf() { # write_conf [extra yaml lines]
    printf 'checks: [mongod]\nmongo_uri: "mongodb://127.0.0.1:%s/?directConnection=true"\nmongo_timeout_ms: 1000\n%s\n' \
        "$PORT" "${1:-}" >"$D/agent.yaml"
}

echo primary >"$D/mode"
start_mock
write_conf

agent_once() {
    local t0 t1
    t0=$(date +%s%N)
    "$AGENT" --once --json --config "$D/agent.yaml" >"$D/out.json" 2>"$D/agent.err"
    RC=$?
    t1=$(date +%s%N)
    MS=$(((t1 - t0) / 1000000))
}

# field PATH: status, summary, values/state, values/members/2/lag_s, ...
field() {
    /usr/bin/python3 - "$D/out.json" "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
v = [c for c in doc["checks"] if c["name"] == "mongod"][0]
for k in sys.argv[2].split("/"):
    if isinstance(v, list):
        v = v[int(k)] if int(k) < len(v) else None
    else:
        v = v.get(k) if isinstance(v, dict) else None
print(v if isinstance(v, str) else json.dumps(v))
PY
}
expect() {
    local got
    got=$(field "$1")
    [ "$got" = "$2" ] || fail "$PHASE: $1 is '$got', expected '$2' (summary: $(field summary))"
}
contains() {
    case "$(field summary)" in *"$1"*) ;; *) fail "$PHASE: summary '$(field summary)' lacks '$1'" ;; esac
}
mode() { echo "$1" >"$D/mode"; PHASE=$1; }

mode primary
agent_once
[ "$RC" = 0 ] || fail "$PHASE: exit $RC: $(cat "$D/out.json" "$D/agent.err")"
expect status ok
expect values/state PRIMARY
expect values/set_name rs0
expect values/primary "127.0.0.1:$PORT"
expect values/term 7
expect values/config_version 5
expect values/config_term 7
expect values/members/0/self true
expect values/members/1/name m2.lab:27017
expect values/members/1/state_str SECONDARY
expect values/members/2/tags/dc north
expect values/members/0/optime/t 7
[ "$(field values/members/0/optime/ts)" -gt 1700000000 ] || fail "$PHASE: optime ts $(field values/members/0/optime/ts)"
echo "ok: $PHASE: $(field summary) (${MS} ms)"

PHASE="connection reuse and command helper"
QR_MONGO_URI="mongodb://127.0.0.1:$PORT/?directConnection=true" "$LIVE" >"$D/live.out" 2>&1 ||
    fail "$PHASE: $(cat "$D/live.out")"
grep -q "PASSED.*2 test" "$D/live.out" || fail "$PHASE: not all live tests ran: $(cat "$D/live.out")"
echo "ok: $PHASE: 10 check runs over one connection; admin command JSON helper"

mode secondary
agent_once
[ "$RC" = 0 ] || fail "$PHASE: exit $RC: $(field summary)"
expect values/state SECONDARY
expect values/primary m2.lab:27017
echo "ok: $PHASE: $(field summary) (${MS} ms)"

mode lag
agent_once
[ "$RC" = 1 ] || fail "$PHASE: exit $RC: $(field summary)"
expect status warn
contains "member m3.lab:27017 lags the primary by 30 s"
L=$(field values/members/2/lag_s)
/usr/bin/python3 -c "import sys; sys.exit(0 if 29 <= float('$L') <= 31 else 1)" || fail "$PHASE: lag_s $L"
echo "ok: $PHASE: $(field summary)"

mode member-down
agent_once
[ "$RC" = 1 ] || fail "$PHASE: exit $RC: $(field summary)"
expect status warn
contains "member m3.lab:27017 unhealthy"
expect values/members/2/health 0
echo "ok: $PHASE: $(field summary)"

mode no-primary
agent_once
[ "$RC" = 2 ] || fail "$PHASE: exit $RC: $(field summary)"
expect status fail
contains "no primary: replica set rs0 read-only"
expect values/primary null
echo "ok: $PHASE: $(field summary)"

PHASE="member gone"
stop_mock
agent_once
[ "$RC" = 2 ] || fail "$PHASE: exit $RC: $(field summary)"
expect status fail
contains "mongod unreachable at 127.0.0.1:$PORT"
[ "$MS" -lt 6000 ] || fail "$PHASE: took $MS ms with a 1000 ms timeout"
echo "ok: $PHASE: $(field summary) (${MS} ms)"

# --- TLS: the member has a self-signed certificate for CN=server ------------
PEM=$(/usr/bin/python3 -c 'import mockupdb, os; print(os.path.join(os.path.dirname(mockupdb.__file__), "server.pem"))')
mode primary
start_mock --tls
PHASE="tls without CA file"
write_conf "mongo_tls: true"
agent_once
[ "$RC" = 2 ] || fail "$PHASE: exit $RC: $(field summary)"
contains "certificate verify failed"
echo "ok: $PHASE: $(field summary)"
PHASE="tls with CA file, host name checked"
write_conf "mongo_tls: true
mongo_tls_ca_file: $PEM"
agent_once
[ "$RC" = 2 ] || fail "$PHASE: exit $RC: $(field summary)"
contains "mismatch"
echo "ok: $PHASE: $(field summary)"
PHASE="tls with CA file and allow invalid hostnames"
write_conf "mongo_tls: true
mongo_tls_ca_file: $PEM
mongo_tls_allow_invalid_hostnames: true"
agent_once
[ "$RC" = 0 ] || fail "$PHASE: exit $RC: $(field summary)"
expect values/state PRIMARY
echo "ok: $PHASE: $(field summary) (${MS} ms)"
echo PASS
