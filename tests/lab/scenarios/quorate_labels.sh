#!/usr/bin/env bash
# quorate's label tests in the lab (issue 7), 5 hosts over 3 DCs (east:2, west:2, south:1;
# ai5's disk 40G, so 4 nodes are eligible for MongoDB and the plan keeps a spare):
#   A. a fresh swarm: status shows every node "unlabeled" until the first apply.
#   B. a concurrent writer: while apply runs, other clients update labels (x=N) on the
#      same nodes through another manager's Engine API; the final managed labels are still
#      the plan's, and the result shows attempts > 1 (a version conflict retried) at least
#      once over up to 6 rounds (how often is measured and printed).
#   C. a stale term is refused: a follower controller is stopped and a fake controller
#      (its certificate, its endpoint) sends node_update with an older term; the agent's
#      CommandResult is the stale-term refusal, its log says event=command_refused, and
#      the node is not drained.
#   D. decommission of a manager member: refused with 3 managers (the hint names a node to
#      promote); promoted as hinted, then: drained, its mongo.replica number moves to the
#      spare, every other member keeps its number, demoted; a re-run says "already done";
#      the host is cut, the swarm marks it Down, a re-run removes it from the swarm (docker
#      node ls). Another member, with no eligible spare left, is refused. Timed.
# Prints `measured:` lines. Exit status: number of failed checks.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quorate_lib.sh"

echo "== labels A: 5 hosts over 3 DCs, unlabeled until the first apply"
QR_LAB_CLOCK_OFFSETS="" up_lab --dcs east:2,west:2,south:1 --disk ai5=40G || exit 1
mapfile -t HOSTS < <("$LAB" env | jq -r '.hosts[].host')
mapfile -t CTLS < <(controllers)
note "controllers (swarm manager hosts): ${CTLS[*]}"
wait_until 30 all_up "${CTLS[0]}" 5 || bad "ctl-${CTLS[0]} did not show 5 nodes up within 30 s"
leader_agreed() { [[ -n $(agreed_leader "$@") ]]; }
wait_until 15 leader_agreed "${CTLS[@]}"
L=$(agreed_leader "${CTLS[@]}")
check "the controllers agree on a leader (ctl-$L)" test -n "$L"
wait_until 20 all_up "$L" 5 || bad "the leader ctl-$L lacks reports from some of the 5 agents"
all_unlabeled() {
    ctl_json "$L" status | jq -e '[.nodes[] | select(.unlabeled == true)] | length == 5' >/dev/null 2>&1
}
check "status --json: all 5 nodes \"unlabeled\" on the fresh swarm" wait_until 10 all_unlabeled
ST=$(ctl_json "$L" status)
ctl_text=$(timeout 10 "$LAB" ctl --via "$L" status 2>/dev/null)
check "quoratectl status (text) says (unlabeled)" grep -q "(unlabeled)" <<<"$ctl_text"

echo "== labels B: apply while other clients update the same nodes"
SWL=$(ldocker "${CTLS[0]}" node ls --format '{{.Hostname}} {{.ManagerStatus}}' | awk '$2 == "Leader" { print $1 }')
OTHER=""
for c in "${CTLS[@]}"; do [[ $c != "$SWL" ]] && { OTHER=$c; break; }; done
note "swarm leader: $SWL (apply goes through its agent); concurrent writers use ${OTHER}'s Engine API"
RACER=$QR_LAB_DIR/racer.py
cat >"$RACER" <<'PY'
# racer.py SOCK STOPFILE OUT NODE...: read-modify-write x=N on the nodes through the
# Engine API (version-checked, as any client must) until STOPFILE exists
import http.client, json, os, socket, sys
class UC(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.upath = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.upath)
sock, stop, out, nodes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
c, n, st = UC(sock), 0, {"writes": 0, "conflicts": 0, "errors": 0}
while not os.path.exists(stop):
    for node in nodes:
        n += 1
        try:
            c.request("GET", "/v1.41/nodes/" + node)
            r = c.getresponse(); body = r.read()
            if r.status != 200:
                st["errors"] += 1; continue
            j = json.loads(body); spec = j["Spec"]
            spec["Labels"] = dict(spec.get("Labels") or {}, x=str(n))
            c.request("POST", "/v1.41/nodes/%s/update?version=%d" % (node, j["Version"]["Index"]),
                      body=json.dumps(spec), headers={"Content-Type": "application/json"})
            r = c.getresponse(); b = r.read()
            if r.status == 200: st["writes"] += 1
            elif b"out of sequence" in b: st["conflicts"] += 1
            else: st["errors"] += 1
        except Exception:
            st["errors"] += 1
            c = UC(sock)
json.dump(st, open(out, "w"))
PY
OSOCK=$(sock_of "$OTHER")
MANAGED='with_entries(select(.key == "mongo.replica" or .key == "worker" or .key == "minio"))'
managed_match() {   # managed_match FINAL_JSON: every node's managed labels = the plan's
    local h got want
    for h in "${HOSTS[@]}"; do
        got=$(node_labels "$SWL" "$h" | jq -cS "$MANAGED")
        want=$(jq -cS --arg h "$h" ".[\$h] // {} | $MANAGED" <<<"$1")
        [[ $got == "$want" ]] || { note "$h: managed labels $got, plan $want"; return 1; }
    done
}
views_without_worker() {
    local c
    for c in "${CTLS[@]}"; do
        ctl_json "$L" checks "$c" | jq -e '[.checks[] | select(.name == "docker") | .values.swarm_nodes[]
            | .labels | has("worker")] | any | not' >/dev/null 2>&1 || return 1
    done
}
rounds=0; retried_rounds=0; max_att=0; FINAL=""
for round in 1 2 3 4 5 6; do
    rounds=$round
    rm -f "$QR_LAB_DIR/racer.stop"
    pids=()
    for k in 1 2 3; do
        /usr/bin/python3 "$RACER" "$OSOCK" "$QR_LAB_DIR/racer.stop" "$QR_LAB_DIR/racer.$k.json" "${HOSTS[@]}" &
        pids+=($!)
    done
    sleep 1
    t0=$(now)
    AP=$(ctl_json "$L" apply --yes)
    ta=$(since "$t0")
    touch "$QR_LAB_DIR/racer.stop"
    for p in "${pids[@]}"; do wait "$p"; done
    rs=$(jq -s -c '{writes: (map(.writes) | add), conflicts: (map(.conflicts) | add), errors: (map(.errors) | add)}' "$QR_LAB_DIR"/racer.[123].json)
    att=$(jq -c '[.result.results[]? | .attempts]' <<<"$AP")
    m=$(jq '[.result.results[]? | .attempts] | max // 0' <<<"$AP")
    note "round $round: apply ${ta} s, changes on $(jq '.changes | length' <<<"$AP") nodes, attempts $att; other clients: $rs"
    check "round $round: apply applied every change despite the other writers (failed 0)" \
        jqe '.applied == true and .result.failed == 0' <<<"$AP"
    FINAL=$(jq -c '.plan.final_labels' <<<"$AP")
    check "round $round: managed labels = plan's final_labels (docker node inspect)" managed_match "$FINAL"
    [[ $m -gt $max_att ]] && max_att=$m
    if [[ $m -gt 1 ]]; then retried_rounds=$((retried_rounds + 1)); break; fi
    # take the worker label off every node so that the next apply has work to do
    for h in "${HOSTS[@]}"; do
        if [[ $(node_labels "$SWL" "$h" | jq -r 'has("worker")') == true ]]; then
            ldocker "$SWL" node update --label-rm worker "$h" >/dev/null
        fi
    done
    # apply plans from quorate's view: wait until every manager's report shows it
    wait_until 15 views_without_worker || bad "round $round: quorate's view still shows worker labels after 15 s"
done
measured "concurrent writers: rounds with a retried conflict $retried_rounds of $rounds" "$max_att"
check "a version conflict was retried at least once (max attempts $max_att over $rounds round(s))" \
    test "$max_att" -gt 1
# a node the plan gives no managed label (ai5: its disk check fails) stays unlabeled
WANT_UNL=$(jq -c "[to_entries[] | select(.value | $MANAGED | length == 0) | .key] | sort" <<<"$FINAL")
unlabeled_as_planned() {
    ctl_json "$L" status | jq -e --argjson w "$WANT_UNL" '[.nodes[] | select(.unlabeled == true) | .name] | sort == $w' >/dev/null 2>&1
}
check "after the apply only the nodes the plan leaves without labels are \"unlabeled\" ($WANT_UNL)" \
    wait_until 15 unlabeled_as_planned

echo "== labels C: a command with an old term is refused by the agent"
F=""
for c in "${CTLS[@]}"; do [[ $c != "$L" ]] && { F=$c; break; }; done
T=""
for h in "${HOSTS[@]}"; do in_list "$h" "${CTLS[@]}" || { T=$h; break; }; done
TERM_NOW=$(ctl_json "$L" status | jq -r '.controller.term')
note "stopping ctl-$F (a follower); a fake controller takes its endpoint and certificate; target agent: $T; leader term $TERM_NOW"
FAKE=$QR_LAB_DIR/fake_ctl.py
cat >"$FAKE" <<'PY'
# fake_ctl.py BIND CERT NODE TERM OUT: a controller with a trusted key but an old term:
# waits for NODE's agent, sends it node_update (drain NODE) at TERM, records the answer
import json, sys, time
sys.path.insert(0, sys.argv[6])
import zmq
from hostile_peer import ROLE_CONTROLLER, env, pb_field, pb_parse, read_cert, signed32
bind, cert, node, term, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
ctx = zmq.Context(); s = ctx.socket(zmq.ROUTER); s.setsockopt(zmq.LINGER, 0)
pub, sec = read_cert(cert)
s.curve_server = True; s.curve_publickey, s.curve_secretkey = pub, sec
s.bind(bind)
res = {"connected": False}
deadline, rid, sent = time.time() + 20, None, False
while time.time() < deadline and "code" not in res:
    if not s.poll(100):
        continue
    frames = s.recv_multipart()
    e = pb_parse(frames[-1])
    if e.get(2, [b""])[0].decode(errors="replace") != node:
        continue
    res["connected"] = True
    if not sent:
        args = json.dumps({"node": node, "availability": "drain"})
        cmd = pb_field(1, 4242) + pb_field(2, "node_update") + pb_field(3, args)
        s.send_multipart([frames[0], env("ctl-fake", ROLE_CONTROLLER, term, 1,
                                         int(time.time() * 1e6), 16, cmd)])
        sent, res["sent_term"] = True, term
        continue
    if 17 in e:
        cr = pb_parse(e[17][0])
        if cr.get(1, [0])[0] == 4242:
            res.update(code=signed32(cr.get(2, [0])[0]),
                       error=cr.get(3, [b""])[0].decode(errors="replace"),
                       seen_term=cr.get(5, [0])[0])
json.dump(res, open(out, "w"))
s.close(); ctx.term()
PY
FPID=$(cat "$QR_LAB_DIR/$F/controller.pid")
kill "$FPID" 2>/dev/null
gone() { ! kill -0 "$FPID" 2>/dev/null; }
wait_until 10 gone || bad "ctl-$F did not stop within 10 s"
OLD=$((TERM_NOW > 0 ? TERM_NOW - 1 : 0))
rm -f "$QR_LAB_DIR/fake.json"
nsenter --net="/run/netns/$QR_LAB_PREFIX-$F" /usr/bin/python3 "$FAKE" "tcp://$(addr_of "$F"):7700" \
    "$QR_LAB_DIR/keys/$F.key_secret" "$T" "$OLD" "$QR_LAB_DIR/fake.json" \
    "$(cd "$(dirname "$0")/../../integration" && pwd)" 2>&1 | sed 's/^/    /'
FJ=$(cat "$QR_LAB_DIR/fake.json" 2>/dev/null)
note "fake controller: $FJ"
check "the agent on $T connected to the fake controller" jqe '.connected == true' <<<"$FJ"
check "the agent answered node_update at term $OLD with the stale-term refusal" \
    jqe --argjson t "$OLD" '.code < 0 and (.error | test("term \($t) is older than term")) and .seen_term > $t' <<<"$FJ"
check "$T's agent log says event=command_refused kind=node_update" \
    grep -q "event=command_refused kind=node_update from=ctl-fake" "$QR_LAB_DIR/$T/agent.log"
check "$T was not drained (the refused command did not run)" \
    test "$(ldocker "$L" node inspect "$T" --format '{{.Spec.Availability}}')" = active
# the follower comes back with its own config
setsid nsenter --net="/run/netns/$QR_LAB_PREFIX-$F" unshare --uts sh -c \
    "hostname $F && exec $QR_BIN/quorate-controller -c $QR_LAB_DIR/$F/controller.yaml" \
    </dev/null >>"$QR_LAB_DIR/$F/controller.log" 2>&1 9>&- &
echo "$!" >"$QR_LAB_DIR/$F/controller.pid"
wait_until 20 all_up "$F" 5 || bad "ctl-$F did not see the 5 agents again within 20 s"

echo "== labels D: decommission of a manager member"
wait_until 20 all_up "$L" 5 || bad "the leader lacks reports"
# labels_now VIA: every node's labels, read through manager VIA (not D: it gets demoted)
labels_now() { for h in "${HOSTS[@]}"; do node_labels "$1" "$h" | jq -c --arg h "$h" '{($h): .}'; done | jq -s -c 'add'; }
BEFORE=$(labels_now "$SWL")
note "labels before: $BEFORE"
role_of() { "$LAB" env | jq -r --arg h "$1" '.hosts[] | select(.host == $h) | .swarm_role'; }
D=""
for h in "${HOSTS[@]}"; do
    [[ $(jq -r --arg h "$h" '.[$h]["mongo.replica"] // ""' <<<"$BEFORE") != "" && $(role_of "$h") == manager ]] && { D=$h; break; }
done
# quoratectl runs through a controller that stays up when D's host is cut
V=""
for c in "${CTLS[@]}"; do [[ $c != "$D" ]] && { V=$c; break; }; done
note "the manager member to decommission: $D (quoratectl through ctl-$V)"
out=$(timeout 20 "$LAB" ctl --via "$V" decommission "$D" --json 2>&1 >/dev/null)
note "decommission $D with 3 managers: $out"
check "refused: demoting $D would leave 2 managers; the hint says promote one first" \
    eval '[[ $out == *"fewer than 3"* && $out == *"docker node promote "* ]]'
P=$(sed -n 's/.*docker node promote \([A-Za-z0-9._-]*\)`.*/\1/p' <<<"$out")
note "promoting $P as the hint says"
ldocker "$SWL" node promote "$P" >/dev/null || bad "docker node promote $P"
seen_manager() {   # the swarm leader's report shows P as a reachable manager
    ctl_json "$V" checks "$SWL" | jq -e --arg p "$P" '[.checks[] | select(.name == "docker") | .values.swarm_nodes[]
        | select(.hostname == $p and .role == "manager" and .reachability == "reachable")] | length == 1' >/dev/null 2>&1
}
wait_until 20 seen_manager || bad "quorate's view never showed $P as a manager"
PL=$(timeout 20 "$LAB" ctl --via "$V" decommission "$D" --json 2>/dev/null)
note "plan: $(jq -c '[.steps[] | {step, status, action}]' <<<"$PL")"
check "the plan lists drain, labels, demote, remove, mongodb in this order; demote to do" \
    jqe '[.steps[].step] == ["drain", "labels", "demote", "remove", "mongodb"] and .executed == false
         and .steps[2].status == "to do"' <<<"$PL"
REP=$(jq -r --arg h "$D" '.[$h]["mongo.replica"]' <<<"$BEFORE")
check "the MongoDB step prints rs.remove(\"$(addr_of "$D"):27017\"), never runs it" \
    jqe --arg m "rs.remove(\"$(addr_of "$D"):27017\")" '.steps[4].action | contains($m)' <<<"$PL"
T_FIRST=$(now)
DJ=$(timeout 150 "$LAB" ctl --via "$V" decommission "$D" --yes --json 2>/dev/null)
measured "decommission $D (drain, move labels, demote; host up) on 5 hosts" "$(since "$T_FIRST")"
note "result: $(jq -c '{ok, removed, via, elapsed_ms, steps: [.steps[] | {step, status, elapsed_ms, via}]}' <<<"$DJ")"
check "drain, labels and demote done, remove waits for the host to be down" \
    jqe '.ok == true and .removed == false and ([.steps[] | .status] | .[0:4]) == ["done", "done", "done", "waiting"]' <<<"$DJ"
check "the result says to shut the host down and run it again" \
    jqe '.steps[3].detail | contains("shut the host down")' <<<"$DJ"
check "$D is drained and a worker (docker node inspect)" \
    test "$(ldocker "$V" node inspect "$D" --format '{{.Spec.Availability}} {{.Spec.Role}}')" = "drain worker"
AFTER=$(labels_now "$V")
note "labels after: $AFTER"
NEWHOLDER=$(jq -r --arg r "$REP" --arg d "$D" 'to_entries[] | select(.key != $d and .value["mongo.replica"] == $r) | .key' <<<"$AFTER")
check "mongo.replica=$REP moved from $D to one replacement (${NEWHOLDER:-none})" \
    test "$(wc -w <<<"$NEWHOLDER")" -eq 1
check "the replacement held no number before" \
    jqe --arg h "$NEWHOLDER" '.[$h] | has("mongo.replica") | not' <<<"$BEFORE"
kept=1
for h in "${HOSTS[@]}"; do
    [[ $h == "$D" || $h == "$NEWHOLDER" ]] && continue
    b=$(jq -r --arg h "$h" '.[$h]["mongo.replica"] // "-"' <<<"$BEFORE")
    a=$(jq -r --arg h "$h" '.[$h]["mongo.replica"] // "-"' <<<"$AFTER")
    [[ $a == "$b" ]] || { note "$h: mongo.replica $b -> $a"; kept=0; }
done
check "every other member keeps its number" test "$kept" -eq 1
check "$D holds none of the managed labels any more" \
    jqe --arg h "$D" '.[$h] | (has("mongo.replica") or has("worker") or has("minio")) | not' <<<"$AFTER"
t0=$(now)
DJ2=$(timeout 150 "$LAB" ctl --via "$V" decommission "$D" --yes --json 2>/dev/null)
measured "decommission $D re-run (nothing left but the removal)" "$(since "$t0")"
check "a re-run reports drain, labels, demote as done before ($(jq -c '[.steps[] | .status]' <<<"$DJ2"))" \
    jqe '([.steps[] | .status] | .[0:2]) == ["already done", "already done"]
         and (.steps[2].status | test("already done|not needed")) and .removed == false' <<<"$DJ2"

lab_fault kill "$D"
swarm_down() { [[ $(ldocker "$V" node inspect "$D" --format '{{.Status.State}}' 2>/dev/null) == down ]]; }
if t=$(poll_since "$FAULT_T" 90 swarm_down); then
    measured "host $D cut -> the swarm marks it Down" "$t"
else
    bad "the swarm did not mark $D down within 90 s"
fi
t0=$(now)
removed_now() {   # (runs in poll_until's subshell: the answer goes through a file)
    timeout 150 "$LAB" ctl --via "$V" decommission "$D" --yes --json >"$QR_LAB_DIR/dj3.json" 2>/dev/null
    jqe '.removed == true' <"$QR_LAB_DIR/dj3.json"
}
if t=$(poll_until 40 removed_now); then
    measured "swarm shows $D Down -> a decommission re-run removed it" "$t"
else
    bad "decommission did not remove $D within 40 s of the swarm marking it down"
fi
DJ3=$(cat "$QR_LAB_DIR/dj3.json" 2>/dev/null)
note "result: $(jq -c '{ok, removed, via, elapsed_ms, steps: [.steps[] | {step, status}]}' <<<"$DJ3")"
check "the removal step is done" jqe '.ok == true and .steps[3].status == "done"' <<<"$DJ3"
check "$D is gone from docker node ls (on $V)" \
    fails eval 'ldocker "$V" node ls --format "{{.Hostname}}" | grep -qx "$D"'
measured "decommission $D from the first run to removed (incl. the swarm's down detection)" "$(since "$T_FIRST")"
# right after a removal the leader may still wait for fresh reports (the CLI retries
# such refusals for 20 s): ask again until it answers, for up to 60 s
rerun_done() {
    DJ4=$(timeout 60 "$LAB" ctl --via "$V" decommission "$D" --yes --json 2>"$QR_LAB_DIR/dj4.err")
    [[ -n $DJ4 ]]
}
wait_until 60 rerun_done || note "re-run gave no answer: $(tail -2 "$QR_LAB_DIR/dj4.err" 2>/dev/null)"
check "another re-run: removal \"already done\" ($(jq -c '[.steps[] | .status]' <<<"$DJ4"))" \
    jqe '.removed == true and .steps[3].status == "already done"' <<<"$DJ4"
check "a controller logged the decommission as complete" \
    eval 'grep -q "event=decommission_done node=$D ok=1 removed=1" "$QR_LAB_DIR"/ai*/controller.log'
W=""
for h in "${HOSTS[@]}"; do
    [[ $h != "$D" && $(jq -r --arg h "$h" '.[$h]["mongo.replica"] // ""' <<<"$AFTER") != "" ]] && { W=$h; break; }
done
out=$(timeout 60 "$LAB" ctl --via "$V" decommission "$W" --json 2>&1 >/dev/null)
note "decommission $W (3 members, no spare eligible node left): $out"
check "decommission of another member with no eligible spare is refused, saying why" \
    eval '[[ $out == *refused* && $out == *"eligible"* ]]'

quorate_logs_clean
down_lab
exit "$FAILS"
