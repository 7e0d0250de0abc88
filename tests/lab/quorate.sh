# quorate's processes in the lab: sourced by tests/lab/lab (needs its helpers:
# RUN, LAB_HOSTS, LAB_MANAGERS, hv, ns_of, dsock, journal, say, warn, die).
#
# start_quorate: CURVE keys for every host, a controller on each swarm
# manager host (one per DC, up to 3), an agent on every host reporting to all
# controllers, and $RUN/quoratectl.yaml for the operator. Every process is
# recorded in the journal so `lab down` stops it by PID.
# cmd_ctl: `lab ctl [--via HOST] ARGS...` runs quoratectl from inside a lab
# host (lab addresses exist only in the namespaces), by default the first
# controller host whose link is up.

quorate_bin() {
    local b=${QR_BIN:-}
    [[ -n $b && -x $b/quorate-agent ]] || b="$LAB_SRC/../../build"
    [[ -x $b/quorate-agent ]] || die "quorate binaries not found (set QR_BIN to the build dir)"
    (cd "$b" && pwd)
}

quorate_pubkey() { sed -n 's/.*public-key = "\(.*\)"/\1/p' "$1"; }

# QR_LAB_CLOCK_OFFSETS="ai2=300,ai4=-700": shift those agents' reported clocks
# (the test-only setting), to see the controller's skew verdicts in the lab
quorate_clock_offset() {
    local kv list=${QR_LAB_CLOCK_OFFSETS:-}
    for kv in ${list//,/ }; do
        [[ ${kv%%=*} == "$1" ]] && echo "test_clock_offset_ms: ${kv#*=}"
    done
    return 0
}

start_quorate() {
    local bin h c t0 ctl_list="" ops
    bin=$(quorate_bin)
    t0=$(now)
    local K="$RUN/keys"
    mkdir -p "$K/agents" "$K/operators"
    chmod 700 "$K"
    "$bin/quoratectl" keygen op --dir "$K" >/dev/null
    cp "$K/op.key" "$K/operators/"
    for h in $LAB_HOSTS; do
        "$bin/quoratectl" keygen "$h" --dir "$K" >/dev/null
        cp "$K/$h.key" "$K/agents/"
    done
    # controllers: on the manager hosts (pick_managers spreads them over DCs),
    # one election among them
    QR_LAB_CONTROLLERS=""
    mkdir -p "$K/controllers"
    local eid=0 peers_yaml=""
    declare -A EID=()
    for c in $LAB_MANAGERS; do
        eid=$((eid + 1)); EID[$c]=$eid
        cp "$K/$c.key" "$K/controllers/"
        peers_yaml+="  - {id: $eid, name: ctl-$c, endpoint: \"tcp://$(hv "$c" ADDR):7702\", operators_endpoint: \"tcp://$(hv "$c" ADDR):7701\", public_key: \"$(quorate_pubkey "$K/$c.key")\"}
"
    done
    for c in $LAB_MANAGERS; do
        QR_LAB_CONTROLLERS+="$c "
        cat >"$RUN/$c/controller.yaml" <<EOC
id: ctl-$c
dc: $(hv "$c" DC)
agents_endpoint: tcp://$(hv "$c" ADDR):7700
operators_endpoint: tcp://$(hv "$c" ADDR):7701
cert: $K/$c.key_secret
agent_keys: $K/agents
operator_keys: $K/operators
state_dir: $RUN/$c
probe_interval_ms: 15000
election_id: ${EID[$c]}
peers_endpoint: tcp://$(hv "$c" ADDR):7702
controller_keys: $K/controllers
peers:
$(printf '%s' "$peers_yaml" | grep -v "name: ctl-$c,")
EOC
        ctl_list+="  - endpoint: tcp://$(hv "$c" ADDR):7700
    public_key: \"$(quorate_pubkey "$K/$c.key")\"
"
    done
    echo "QR_LAB_CONTROLLERS=\"${QR_LAB_CONTROLLERS% }\"" >>"$STATE"
    for h in $LAB_HOSTS; do
        printf 'S3_ENDPOINT=https://%s:9000\nLOG_LEVEL=INFO\n' "$(hv "$h" ADDR)" >"$RUN/$h/tango.env"
        cat >"$RUN/$h/agent.yaml" <<EOC
node: $h
dc: $(hv "$h" DC)
address: $(hv "$h" ADDR)
interval_ms: ${QR_LAB_INTERVAL_MS:-2000}
$(quorate_clock_offset "$h")
cert: $K/$h.key_secret
state_dir: $RUN/$h
datadir: $RUN/$h/datadir
docker_socket: $(dsock "$h")
mongo_uri: "mongodb://$(hv "$h" ADDR):27017/?directConnection=true"
env_file: $RUN/$h/tango.env
# the lab runs no web tier, no MinIO and no sshd; its clocks are never
# disciplined (adjtimex says unsynchronised): those checks are left out
checks: [docker, disk, ports, mongod, envfile, host]
tcp_ports: [2377, 7946, 27017]
udp_ports: [7946]
controllers:
$ctl_list
EOC
    done
    # processes: controllers first, then agents
    local kind cfg
    for h in $QR_LAB_CONTROLLERS $LAB_HOSTS; do
        if [[ -f $RUN/$h/controller.yaml && ! -f $RUN/$h/controller.pid ]]; then
            kind=controller; cfg=$RUN/$h/controller.yaml
        else
            kind=agent; cfg=$RUN/$h/agent.yaml
        fi
        setsid nsenter --net="/run/netns/$(ns_of "$h")" unshare --uts sh -c "hostname $h && exec \
            $bin/quorate-$kind -c $cfg" </dev/null >"$RUN/$h/$kind.log" 2>&1 8>&- &
        echo "$!" >"$RUN/$h/$kind.pid"
        journal "pid $! quorate-$kind $h"
    done
    ops="controller: tcp://$(hv "${QR_LAB_CONTROLLERS%% *}" ADDR):7701"
    cat >"$RUN/quoratectl.yaml" <<EOC
$ops
controller_key: "$(quorate_pubkey "$K/${QR_LAB_CONTROLLERS%% *}.key")"
cert: $K/op.key_secret
timeout_ms: 3000
EOC
    say "quorate: controllers on $QR_LAB_CONTROLLERS, agents on every host: $(since "$t0") s"
}

cmd_ctl() {
    need_root
    load_state
    local via="" c bin
    if [[ ${1:-} == --via ]]; then via=$2; shift 2; fi
    [[ -n ${QR_LAB_CONTROLLERS:-} ]] || die "quorate is not running in this lab (up with QR_LAB_QUORATE=1)"
    bin=$(quorate_bin)
    if [[ -z $via ]]; then
        for c in $QR_LAB_CONTROLLERS; do
            if [[ $(ip -n "$(ns_of "$c")" -o link show 2>/dev/null | grep -c 'state UP') -gt 0 ]]; then
                via=$c; break
            fi
        done
        [[ -n $via ]] || die "no controller host has its link up"
    fi
    # talk to the controller on the host we run from
    exec nsenter --net="/run/netns/$(ns_of "$via")" "$bin/quoratectl" "$@" \
        --controller "tcp://$(hv "$via" ADDR):7701" \
        --controller-key "$(quorate_pubkey "$RUN/keys/$via.key")" \
        --cert "$RUN/keys/op.key_secret"
}
