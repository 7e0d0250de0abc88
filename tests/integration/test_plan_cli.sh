#!/usr/bin/env bash
# quoratectl plan end to end on the fixture inventories in tests/fixtures/plan:
# exit codes 0/1/2, the contract's JSON fields (checked with jq), bad input
# named on stderr with nothing on stdout, and re-planning a plan's result.
set -u
: "${QR_BIN:?QR_BIN must point at the build dir}" "${QR_SOURCE_DIR:?}"
Q="$QR_BIN/quoratectl"
F="$QR_SOURCE_DIR/tests/fixtures/plan"
command -v jq >/dev/null || { echo "skip: jq is not installed"; exit 77; }
[ -x "$Q" ] || { echo "skip: $Q not built"; exit 77; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run EXPECTED_EXIT ARGS...: stdout in $T/out, stderr in $T/err
run() {
    local want=$1; shift
    "$Q" plan "$@" >"$T/out" 2>"$T/err"
    local got=$?
    [ "$got" = "$want" ] || fail "plan $* exited $got, want $want; stderr: $(head -c 300 "$T/err")"
}
# jqt FILTER DESCRIPTION: the filter must print true on $T/out
jqt() {
    [ "$(jq -r "$1" "$T/out" 2>/dev/null)" = "true" ] || fail "$2 ($1)"
}
# bad EXPECTED_STDERR_FRAGMENT ARGS...: exit 2, message on stderr, empty stdout
bad() {
    local msg=$1; shift
    run 2 "$@"
    grep -qF -- "$msg" "$T/err" || fail "plan $*: stderr lacks '$msg': $(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "plan $*: stdout not empty on bad input"
}

# --- runbook layouts --------------------------------------------------------
run 0 --inventory "$F/three-2dc-fresh.json" --json
jqt '.ok == true and (.members | length) == 3 and .majority_dc == "east"' "3 servers 2 DCs: 3 members, east majority"
jqt '[.warnings[] | select(test("two data centres: east holds the MongoDB majority"))] | length == 1' "two-DC warning names east"
jqt '(.survivability[] | select(.lose == "east")) | .needs_forced_recovery and (.mongo_majority | not)' "losing east needs forced recovery"
jqt '(.survivability[] | select(.lose == "west")) | .mongo_majority and .mongo_voters_left == 2' "losing west keeps the majority"
jqt '[.final_labels[] | .worker == "true"] | all' "fresh cluster: worker on every node"
jqt '[.final_labels[] | select(.minio == "true")] | length == 2' "two MinIO candidates"
jqt '[.members[] | .votes == 1 and .tags.dc == .dc] | all' "members vote and carry their dc tag"
jqt '(.commands | length) == 3 and (.commands[0] | startswith("docker node update --label-add"))' "one command per node"
jqt '[.survivability[] | select(.lose | startswith("node:"))] | length == 3' "one survivability entry per node"

run 0 --inventory "$F/three-3dc-fresh.json" --json
jqt '.majority_dc == null and ([.survivability[] | select(.lose | startswith("node:") | not) | .mongo_majority] | all)' "3 DCs: no majority, each DC loss survivable"

run 0 --inventory "$F/five-3dc-fresh.json" --json
jqt '[.members[] | .dc] | group_by(.) | map(length) | sort == [1,2,2]' "5 servers 3 DCs: 2-2-1"

run 0 --inventory "$F/seven-421.json" --json
jqt '(.members | length) == 5 and ([.members[] | .dc] | group_by(.) | map(length) | sort == [1,2,2])' "7 nodes 4-2-1: 5 members 2-2-1"

run 0 --inventory "$F/five-2dc-labelled.json" --json
jqt '.changes == {} and .commands == [] and (.members | length) == 5' "valid hand-made layout: nothing to change"
jqt '(.survivability[] | select(.lose == "east")) | (.swarm_quorum | not) and (.steps[0] | contains("docker swarm init --force-new-cluster"))' "losing east freezes the swarm: force-new-cluster step first"
jqt '[.warnings[] | select(test("S3_ENDPOINT"))] | length == 1' "MinIO candidate off S3_ENDPOINT warned"

run 0 --inventory "$F/five-3dc-broken.json" --json
jqt '.changes.ai3.remove == ["mongo.replica", "minio"] and (.commands[0] == "docker node update --label-rm mongo.replica --label-rm minio ai3")' "labels leave the down node first"
jqt '.final_labels.ai4["mongo.replica"] == "3" and .final_labels.ai2["mongo.replica"] == "2"' "duplicate 2: ai2 keeps it, ai4 renumbered"
jqt '[.warnings[] | select(test("mongo.replica=2 is on 2 nodes"))] | length == 1' "duplicate number warned"

# re-planning the result changes nothing
jq --slurpfile p "$T/out" '.nodes |= map(.labels = $p[0].final_labels[.hostname])' \
    "$F/five-3dc-broken.json" >"$T/replan.json"
run 0 --inventory "$T/replan.json" --json
jqt '.changes == {} and .commands == []' "re-planning a plan's result is a no-op"

# --- rehearsal and decommission -----------------------------------------------
run 1 --inventory "$F/five-2dc-labelled.json" --lose east --json
jqt '.ok == false and (.errors | length) > 0' "losing east of 3-2 leaves no valid plan"
jqt '.rehearsal.mongo_voters_left == 2 and .rehearsal.needs_forced_recovery and (.rehearsal.swarm_quorum | not)' "rehearsal: forced recovery, swarm frozen"
jqt '(.rehearsal.steps[0] | startswith("swarm:")) and ([.rehearsal.steps[] | select(startswith("MongoDB:"))] | length) == 1 and (.rehearsal.steps[-1] | startswith("labels:"))' "rehearsal steps: swarm, MongoDB, labels"

run 0 --inventory "$F/seven-421.json" --lose witness --json
jqt '.ok and .rehearsal.mongo_voters == 0 and ([.members[] | select(.dc == "witness")] | length) == 0' "rehearsal on a fresh cluster plans without the lost DC"

run 0 --inventory "$F/six-3dc-labelled.json" --json
jqt '.changes == {}' "six nodes, valid 2-2-1 layout: nothing to change"
run 0 --inventory "$F/six-3dc-labelled.json" --remove ai5 --json
jqt '.commands[0] == "docker node update --label-rm mongo.replica --label-rm worker ai5"' "decommission: ai5's labels go first"
jqt '.commands[1] == "docker node update --label-add mongo.replica=5 ai6"' "replica 5 moves to the spare in the same DC"
jqt '.commands[-3:] == ["docker node update --availability drain ai5", "docker node demote ai5", "docker node rm ai5"]' "decommission: drain, demote, rm last"
jqt '(.final_labels | has("ai5") | not) and .decommission.node == "ai5" and .decommission.manager' "removed node leaves final_labels"
jqt '(.members | length) == 5 and .changes.ai1 == null' "member count kept, other members untouched"
jqt '[.warnings[] | select(test("after removing ai5 the swarm has 2 managers"))] | length == 1' "even managers after removal warned"

# --- no valid plan ------------------------------------------------------------
run 1 --inventory "$F/too-few-eligible.json" --json
jqt '.ok == false and (.errors[0] | test("only 1 eligible node")) and .commands == [] and .changes == {}' "too few eligible: exit 1, errors"
run 1 --inventory "$F/design-example.json" --json
jqt '.ok == false' "DESIGN.md's one-node example has no plan"
run 1 --inventory "$F/three-3dc-fresh.json" --members 5 --json
jqt '.errors[0] | test("--members 5: only 3 eligible nodes")' "--members above the eligible count: exit 1"

# --- bad input and usage --------------------------------------------------------
bad "malformed.json: line 2 column" --inventory "$F/malformed.json" --json
bad "bad-type.json: nodes[3].datadir_gb: expected a number" --inventory "$F/bad-type.json"
bad "missing-field.json: nodes[1].dc: missing" --inventory "$F/missing-field.json" --json
bad 'nodes[2].hostname: duplicate hostname "ai1" (also nodes[0])' --inventory "$F/duplicate-hostname.json"
bad 'unknown-dc.json: nodes[2].dc: unknown data centre "sout"' --inventory "$F/unknown-dc.json"
bad "nope.json: cannot read" --inventory "$F/nope.json"
bad "--members 4: expected an odd number from 3 to 7" --inventory "$F/three-2dc-fresh.json" --members 4
bad "--lose mars: unknown data centre (known: east, west)" --inventory "$F/three-2dc-fresh.json" --lose mars
bad "--remove zz: no such node" --inventory "$F/three-2dc-fresh.json" --remove zz
bad "--inventory FILE is required" --json
bad "unknown option" --inventory "$F/three-2dc-fresh.json" --bogus
bad "unexpected argument" --inventory "$F/three-2dc-fresh.json" extra

# truncated inventories: exit 2 with a message, never a crash, never a partial plan
size=$(wc -c <"$F/five-3dc-broken.json")
for cut in 1 17 100 333 $((size / 2)) $((size - 3)); do
    head -c "$cut" "$F/five-3dc-broken.json" >"$T/cut.json"
    bad "cut.json: line" --inventory "$T/cut.json" --json
done
head -c 4096 /dev/urandom >"$T/noise.json"
bad "noise.json: line" --inventory "$T/noise.json"

run 0 --help
grep -q "usage: quoratectl plan --inventory FILE" "$T/out" || fail "--help prints usage on stdout"

# --- the readable table -----------------------------------------------------------
run 0 --inventory "$F/five-3dc-broken.json"
for want in "NODES" "MONGODB MEMBERS" "COMMANDS" "SURVIVABILITY" "WARNINGS" \
            "mongo.replica=3 worker=true minio=true -> worker=true" "{dc: witness}"; do
    grep -qF -- "$want" "$T/out" || fail "table lacks '$want'"
done

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "ok: quoratectl plan CLI"
