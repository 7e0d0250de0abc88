#!/usr/bin/env bash
# Least privilege (needs root to create users and switch to them; skips
# otherwise): the agent runs every local check as the unprivileged user
# `quorate` in group `docker` without a permission error: host (/proc,
# /sys), ntp (ntp_adjtime read-only), disk (statvfs, and the data dir's
# writability judged for the install user), ports (sock_diag, /proc/net),
# env file, and docker through a root:docker 0660 Engine API socket (a stub
# engine here). Without the docker group the same socket is refused (so
# the test can fail). The controller runs as `quorate` too with its own
# state directory, and both refuse a key file owned by another user, or
# readable by others, with the chown/chmod to run.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
    echo "skip: needs root, useradd and setpriv"
    exit 77
fi
created_user=""; created_group=""
lp_cleanup() {
    [ -n "$created_user" ] && userdel quorate 2>/dev/null
    [ -n "$created_group" ] && groupdel docker 2>/dev/null
    [ -n "${created_nogroup_user:-}" ] && userdel quorate-nodocker 2>/dev/null
    return 0
}
QR_EXTRA_CLEANUP=lp_cleanup
if ! getent group docker >/dev/null; then
    groupadd --system docker && created_group=1
fi
if ! id quorate >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin --user-group quorate && created_user=1
fi
id -nG quorate | grep -qw docker || usermod -aG docker quorate
if ! id quorate-nodocker >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin --user-group quorate-nodocker &&
        created_nogroup_user=1
fi
chmod 711 "$QR_TMP" # the service users traverse it, nothing more
qr_cluster 1
K=$QR_TMP/keys
# the service's own files: keys 0600 owned by quorate, state dirs 0700
chown quorate: "$K" "$K/ai1.key_secret" "$K/ctl1.key_secret"
chmod 711 "$K"
chmod 755 "$K/agents" "$K/operators"
chown -R quorate: "$QR_TMP/state" "$QR_TMP/ai1"
chmod 700 "$QR_TMP/state" "$QR_TMP/ai1"
# the data dir belongs to the install user (here nobody), not to quorate
mkdir -p "$QR_TMP/data" && chown nobody: "$QR_TMP/data" && chmod 700 "$QR_TMP/data"

# a stub Docker Engine on a root:docker 0660 unix socket, as dockerd makes it
SOCK=$QR_TMP/docker/docker.sock
mkdir -p "$QR_TMP/docker" && chmod 755 "$QR_TMP/docker"
cat >"$QR_TMP/engine.py" <<'PY'
import json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler
path = sys.argv[1]
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        p = self.path.split("?")[0]
        p = "/" + p.split("/", 2)[2] if p.startswith("/v1.") else p
        body = {"/_ping": "OK", "/version": {"Version": "20.10.24", "ApiVersion": "1.41"},
                "/info": {"ID": "stub", "Name": "ai1", "ServerVersion": "20.10.24",
                          "DockerRootDir": "/var/lib/docker",
                          "Swarm": {"LocalNodeState": "inactive", "NodeID": "",
                                    "ControlAvailable": False}}}.get(p)
        if body is None:
            self.send_response(404); self.end_headers(); return
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
class S(socketserver.UnixStreamServer):
    def get_request(self):
        req, _ = super().get_request()
        return req, ("local", 0)
srv = S(path, H)
os.chown(path, 0, int(sys.argv[2]))
os.chmod(path, 0o660)
srv.serve_forever()
PY
qr_start engine /usr/bin/python3 "$QR_TMP/engine.py" "$SOCK" "$(getent group docker | cut -d: -f3)"
qr_wait_for 5 test -S "$SOCK" || qr_fail "the stub engine did not start"
printf 'S3_ENDPOINT=https://ai1:9000\nLOG_LEVEL=INFO\n' >"$QR_TMP/tango.env"
chmod 644 "$QR_TMP/tango.env"
sed -i '/^checks:/d; /^datadir:/d' "$QR_TMP/agent1.yaml"
cat >>"$QR_TMP/agent1.yaml" <<EOC
checks: [host, ntp, disk, ports, envfile, docker]
datadir: $QR_TMP/data
install_user: nobody
docker_socket: $SOCK
env_file: $QR_TMP/tango.env
EOC

# as USER CMD...: CMD with USER's uid, gid and groups (setpriv execs: same PID)
as() {
    local user=$1; shift
    setpriv --reuid "$user" --regid "$user" --init-groups -- "$@"
}

# runs the agent's checks once as USER; JSON in $QR_TMP/once-USER.json
once_as() {
    local user=$1 rc=0
    as "$user" "$QR_BIN/quorate-agent" --once --json -c "$QR_TMP/agent1.yaml" \
        >"$QR_TMP/once-$user.json" 2>"$QR_TMP/once-$user.log" || rc=$?
    [ "$rc" -le 3 ] || qr_fail "agent --once as $user exited $rc: $(cat "$QR_TMP/once-$user.log")"
    jq -e '.checks | length == 6' "$QR_TMP/once-$user.json" >/dev/null ||
        qr_fail "agent --once as $user did not run 6 checks: $(cat "$QR_TMP/once-$user.json" "$QR_TMP/once-$user.log")"
}
perm_errors() {
    jq -r '.checks[] | select((.summary + (.values | tostring)) | test("[Pp]ermission denied|not permitted|EACCES|EPERM")) | "\(.name): \(.summary)"' "$1"
}

# the agent key belongs to quorate: root itself may not use it
rc=0; timeout 10 "$QR_BIN/quorate-agent" -c "$QR_TMP/agent1.yaml" >"$QR_TMP/root-agent.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || qr_fail "the agent started as root with quorate's key (exit $rc)"
grep -q "owned by quorate" "$QR_TMP/root-agent.log" && grep -q "chown root" "$QR_TMP/root-agent.log" ||
    qr_fail "no clear message for a key owned by another user: $(cat "$QR_TMP/root-agent.log")"
qr_ok "a key owned by another user is refused: $(grep -o 'secret key is owned.*' "$QR_TMP/root-agent.log" | head -1)"

once_as quorate
jq -c '.checks[] | {name, status, summary}' "$QR_TMP/once-quorate.json"
errs=$(perm_errors "$QR_TMP/once-quorate.json")
[ -z "$errs" ] || qr_fail "permission errors as quorate: $errs"
jq -e '.checks[] | select(.name == "docker") | .summary | test("cannot|connect|refused") | not' \
    "$QR_TMP/once-quorate.json" >/dev/null || qr_fail "the docker check did not reach the engine as quorate"
jq -e '.checks[] | select(.name == "ntp") | .status != "unknown"' "$QR_TMP/once-quorate.json" >/dev/null ||
    qr_fail "ntp_adjtime did not work unprivileged"
jq -e '.checks[] | select(.name == "host") | .values.cpus > 0' "$QR_TMP/once-quorate.json" >/dev/null ||
    qr_fail "the host check read nothing"
jq -e '.checks[] | select(.name == "disk") | .values.install_user == "nobody" and .values.writable == true' \
    "$QR_TMP/once-quorate.json" >/dev/null || qr_fail "the data dir writability for the install user was not judged: $(jq -c '.checks[] | select(.name == "disk")' "$QR_TMP/once-quorate.json")"
qr_ok "as quorate (groups: $(id -nG quorate)): every check ran without a permission error"

# control: the same socket without the docker group is refused
once_as quorate-nodocker
jq -e '.checks[] | select(.name == "docker") | (.summary + (.values | tostring)) | test("[Pp]ermission denied|EACCES")' \
    "$QR_TMP/once-quorate-nodocker.json" >/dev/null ||
    qr_fail "without the docker group the engine socket should be refused: $(jq -c '.checks[] | select(.name == "docker")' "$QR_TMP/once-quorate-nodocker.json")"
qr_ok "without the docker group: $(jq -r '.checks[] | select(.name == "docker") | .summary' "$QR_TMP/once-quorate-nodocker.json")"

# controller and agent daemons as quorate, end to end
AS_QUORATE=(setpriv --reuid quorate --regid quorate --init-groups --)
qr_start ctl "${AS_QUORATE[@]}" "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml"
qr_start ai1 "${AS_QUORATE[@]}" "$QR_BIN/quorate-agent" -c "$QR_TMP/agent1.yaml"
status() { qr_status; }
reported() { status | jq -e '.nodes[] | select(.name == "ai1") | .up and (.checks | length == 6)' >/dev/null; }
qr_wait_for 20 reported || qr_fail "the quorate agent did not report to the quorate controller: $(status)"
for p in "$PID_ctl" "$PID_ai1"; do
    [ "$(stat -c %U "/proc/$p")" = quorate ] || qr_fail "process $p does not run as quorate"
done
qr_wait_for 10 test -f "$QR_TMP/state/election.state" || qr_fail "the controller persisted no state"
[ "$(stat -c %U "$QR_TMP/state/election.state")" = quorate ] || qr_fail "the controller state is not quorate's"
[ "$(stat -c %a "$QR_TMP/state/election.state")" = 600 ] || qr_fail "the controller state is not 0600"
qr_ok "controller and agent run as quorate; state $(stat -c '%U %a' "$QR_TMP/state/election.state")"

# a group-readable key is refused as well (as the owning user)
chmod 640 "$K/ctl1.key_secret"
rc=0; timeout 10 "${AS_QUORATE[@]}" "$QR_BIN/quorate-controller" -c "$QR_TMP/ctl.yaml" \
    >"$QR_TMP/ctl-640.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || qr_fail "the controller started with a 0640 key (exit $rc)"
grep -q "chmod 600" "$QR_TMP/ctl-640.log" || qr_fail "no clear message for a 0640 key: $(cat "$QR_TMP/ctl-640.log")"
chmod 600 "$K/ctl1.key_secret"
qr_ok "a group-readable key is refused: $(grep -o 'secret key is readable.*' "$QR_TMP/ctl-640.log" | head -1)"
qr_sanitizer_clean
