#!/usr/bin/env bash
# `quoratectl recover --plan-only` on saved mongod 6.0 documents: the 3+2
# two-data-centre loss plans a forced reconfig (exit 0, JSON fields checked
# with jq), refusals exit 1 with reasons and no new_config, malformed or
# mismatched input exits 2 with a message on stderr and nothing on stdout.
set -uo pipefail

BIN=${QR_BIN:?QR_BIN not set}/quoratectl
SRC=${QR_SOURCE_DIR:?QR_SOURCE_DIR not set}
FX=$SRC/tests/fixtures/recover
command -v jq >/dev/null || { echo "skip: jq is not installed"; exit 77; }
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME ARGS...: runs quoratectl recover, keeps stdout/stderr/exit code
run() {
  local name=$1; shift
  "$BIN" recover "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
  echo $? >"$TMP/$name.rc"
}
rc() { cat "$TMP/$1.rc"; }
expect_rc() { [ "$(rc "$1")" = "$2" ] || fail "$1: exit $(rc "$1"), want $2 (stderr: $(head -c 300 "$TMP/$1.err"))"; }
# jqt NAME FILTER: the filter must yield true on NAME's stdout
jqt() { [ "$(jq -r "$2" "$TMP/$1.out" 2>/dev/null)" = true ] || fail "$1: jq '$2' is not true"; }
expect_err() {
  [ -s "$TMP/$1.out" ] && fail "$1: stdout not empty: $(head -c 200 "$TMP/$1.out")"
  grep -q -- "$2" "$TMP/$1.err" || fail "$1: stderr lacks '$2': $(cat "$TMP/$1.err")"
}

PLAN=(--plan-only --json)

# --- the loss of the 3-member data centre west -------------------------------
run west "${PLAN[@]}" --status "$FX/status-lost-west.ai4.canonical.json" \
  --config "$FX/config-3+2.canonical.json"
expect_rc west 0
jqt west '.ok == true and .refused == []'
jqt west '.target == "ai4:27017" and .target_id == 3'
jqt west '.removed == ["ai1:27017","ai2:27017","ai3:27017"] and .removed_dc == "west"'
jqt west '.old_version == 7 and .new_version == 8 and .new_config.version == 8'
jqt west '[.new_config.members[]._id] == [3,4]'
jqt west '.new_config.members[0].votes == 1 and .new_config.members[1].votes == 0 and .new_config.members[1].priority == 0'
jqt west '.demoted == ["ai5:27017"] and .votes == {"total":5,"reachable":2,"after":1}'
# every other field kept, with MongoDB's types: longs stay longs, the ObjectId stays one
jqt west '.new_config.protocolVersion == {"$numberLong":"1"}'
jqt west '.new_config.members[0].secondaryDelaySecs == {"$numberLong":"0"}'
jqt west '.new_config.settings.replicaSetId == {"$oid":"6564a0f3c2b1a9e8d7f60512"}'
jqt west '.new_config.settings.getLastErrorModes == {"bothDCs":{"dc":2}} and .new_config.term == 4'
jqt west '.new_config.members[0].tags == {"dc":"east"} and .new_config.members[0].hidden == false'
jqt west '.rollback_risk.known == true and .rollback_risk.lag_seconds == 1.292'
jqt west '.rollback_risk.removed_last_write_member == "ai1:27017"'
jqt west '[.evidence[] | select(.removed) | .host] == ["ai1:27017","ai2:27017","ai3:27017"]'
jqt west '.evidence[0].views[0].health == 0 and .evidence[0].views[0].down_seconds == 15.5'
jqt west '.evidence[3].views[0].self == true and .evidence[3].views[0].optime.ts.t == 1795633208'
jqt west '[.warnings[] | select(test("bothDCs"))] | length == 1'

# what mongosh / libmongoc would read: pymongo's Extended JSON reader, when present
if /usr/bin/python3 -c 'import bson.json_util' 2>/dev/null; then
  # (not through jq, which prints 1.0 as 1)
  /usr/bin/python3 - "$TMP/west.out" <<'PY' || fail "new_config does not read back with its BSON types"
import sys
from bson import Int64, ObjectId
from bson.json_util import loads
c = loads(open(sys.argv[1]).read())["new_config"]
assert type(c["version"]) is int and c["version"] == 8, c["version"]
assert isinstance(c["protocolVersion"], Int64), type(c["protocolVersion"])
assert isinstance(c["members"][0]["secondaryDelaySecs"], Int64)
assert isinstance(c["members"][0]["priority"], float)
assert isinstance(c["settings"]["replicaSetId"], ObjectId)
PY
else
  echo "note: /usr/bin/python3 has no bson module; type round trip checked by unit/test_recover only"
fi

# the same loss seen by both survivors, relaxed JSON, the whole replSetGetConfig reply
run both "${PLAN[@]}" --status "$FX/status-lost-west.both.relaxed.json" \
  --config "$FX/config-3+2.reply.relaxed.json"
expect_rc both 0
jqt both '.target == "ai4:27017" and .views == ["ai4:27017","ai5:27017"] and (.removed | length) == 3'
jqt both '.new_config.version == 8 and (.new_config.members | length) == 2'
jqt both '(.evidence[0].views | length) == 2'

# status from stdin
"$BIN" recover --plan-only --json --status - --config "$FX/config-3+2.canonical.json" \
  <"$FX/status-lost-west.ai5.relaxed.json" >"$TMP/stdin.out" 2>"$TMP/stdin.err"
echo $? >"$TMP/stdin.rc"
expect_rc stdin 0
jqt stdin '.target == "ai4:27017"'

# the readable report
run report --plan-only --status "$FX/status-lost-west.ai4.canonical.json" \
  --config "$FX/config-3+2.canonical.json"
expect_rc report 0
for want in "Decision: forced reconfig planned" "target    ai4:27017" "data centre west" \
  "replSetReconfig: EJSON.parse(" "force: true" "lags it by 1.292 s" "No route to host"; do
  grep -qF -- "$want" "$TMP/report.out" || fail "report lacks '$want'"
done

# --- refusals: exit 1, ok false, reasons, no new_config ------------------------
run partition "${PLAN[@]}" --status "$FX/status-partition.relaxed.json" \
  --config "$FX/config-3+2.canonical.json"
expect_rc partition 1
jqt partition '.ok == false and (has("new_config") | not) and (has("target") | not)'
jqt partition '[.refused[] | select(test("ai3:27017 is seen down by ai4:27017 but healthy by ai5:27017"))] | length == 1'

run east "${PLAN[@]}" --status "$FX/status-lost-east.canonical.json" \
  --config "$FX/config-3+2.canonical.json"
expect_rc east 1
jqt east '.ok == false and (has("new_config") | not)'
jqt east '[.refused[] | select(test("PRIMARY"))] | length >= 1'
jqt east '[.refused[] | select(test("3 of 5 votes, a majority"))] | length == 1'

echo '[]' >"$TMP/empty.json"
run empty "${PLAN[@]}" --status "$TMP/empty.json" --config "$FX/config-3+2.canonical.json"
expect_rc empty 1
jqt empty '.ok == false and (.refused | length) == 1 and (has("new_config") | not)'

run refused_report --plan-only --status "$FX/status-partition.relaxed.json" \
  --config "$FX/config-3+2.canonical.json"
expect_rc refused_report 1
grep -q "REFUSED" "$TMP/refused_report.out" || fail "refusal report lacks REFUSED"
grep -q "replSetReconfig" "$TMP/refused_report.out" && fail "refusal report shows a command"

# --- malformed or mismatched input: exit 2, stderr, empty stdout --------------
head -c 400 "$FX/status-lost-west.ai4.canonical.json" >"$TMP/truncated.json"
run truncated "${PLAN[@]}" --status "$TMP/truncated.json" --config "$FX/config-3+2.canonical.json"
expect_rc truncated 2
expect_err truncated "not valid Extended JSON"

printf '{"_id": "rs0", "version": 7, "members": []}' >"$TMP/nomembers.json"
run nomembers "${PLAN[@]}" --status "$FX/status-lost-west.ai4.canonical.json" --config "$TMP/nomembers.json"
expect_rc nomembers 2
expect_err nomembers "has no members"

sed 's/"set": "rs0"/"set": "rs9"/' "$FX/status-lost-west.ai5.relaxed.json" >"$TMP/otherset.json"
run otherset "${PLAN[@]}" --status "$TMP/otherset.json" --config "$FX/config-3+2.canonical.json"
expect_rc otherset 2
expect_err otherset "replica set 'rs9' but the config is for 'rs0'"

sed 's/"ai5:27017"/"ai9:27017"/' "$FX/status-lost-west.ai5.relaxed.json" >"$TMP/otherhost.json"
run otherhost "${PLAN[@]}" --status "$TMP/otherhost.json" --config "$FX/config-3+2.canonical.json"
expect_rc otherhost 2
expect_err otherhost "different replica sets"

run missing "${PLAN[@]}" --status "$TMP/nope.json" --config "$FX/config-3+2.canonical.json"
expect_rc missing 2
expect_err missing "nope.json"

echo 'not json at all' >"$TMP/garbage.json"
run garbage "${PLAN[@]}" --status "$FX/status-lost-west.ai4.canonical.json" --config "$TMP/garbage.json"
expect_rc garbage 2
expect_err garbage "config"

# --- usage ---------------------------------------------------------------------
run live --status "$FX/status-lost-west.ai4.canonical.json" --config "$FX/config-3+2.canonical.json"
expect_rc live 2
expect_err live "--status belongs to --plan-only"
# live without the operator's settings: a clear usage error, nothing sent
run confirm --confirm-down west --yes
expect_rc confirm 2
expect_err confirm "needs --controller-key and --cert"
run noyes --confirm-down west --no-curve --controller tcp://127.0.0.1:9 --timeout 300
expect_rc noyes 2
expect_err noyes "add --yes"
run planconfirm --plan-only --status "$FX/status-lost-west.ai4.canonical.json" --config "$FX/config-3+2.canonical.json" --confirm-down west
expect_rc planconfirm 2
expect_err planconfirm "belong to the live recovery"
run nostatus --plan-only --config "$FX/config-3+2.canonical.json"
expect_rc nostatus 2
expect_err nostatus "needs --status FILE and --config FILE"
run badopt --plan-only --frobnicate
expect_rc badopt 2
run help --help
expect_rc help 0
grep -q -- "--plan-only --status FILE --config FILE" "$TMP/help.out" || fail "--help lacks the synopsis"
"$BIN" --help | grep -q '^  recover ' || fail "quoratectl --help does not list recover"

if [ "$fails" -gt 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "ok: recover --plan-only CLI"
