#!/usr/bin/python3
"""A MongoDB 6 replica-set member played by MockupDB, for the mongod check.

It answers hello/isMaster, replSetGetStatus, replSetGetConfig, ping,
buildInfo and the driver's housekeeping commands the way a mongod 6.0 member
of a three-member set does. The scenario is read from --mode-file on every
request, so a test changes it without restarting the server:

  primary     this member PRIMARY, two healthy SECONDARYs
  secondary   this member SECONDARY, m2 PRIMARY
  lag         this member PRIMARY, m3 30 s behind
  member-down this member PRIMARY, m3 unreachable
  no-primary  this member SECONDARY, m2 and m3 unreachable (read-only set)

Usage: mock_mongod.py --port-file F --mode-file M [--port N] [--tls]
Prints nothing; writes the port it listens on (127.0.0.1 only) to F.
--tls serves TLS only, with MockupDB's self-signed certificate (CN=server,
so a client must trust that file and allow the host name mismatch).
"""
import argparse
import datetime
import os
import signal
import ssl
import sys
import threading
import time

from bson import Int64, ObjectId, Timestamp
import mockupdb
from mockupdb import MockupDB

SET = "rs0"
PROCESS_ID = ObjectId()
ELECTION_ID = ObjectId("7fffffff0000000000000007")
TERM = 7
START = time.time()


def utc(t):
    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)


class Member:
    def __init__(self, mid, name, state, health=1, lag=0):
        self.mid, self.name, self.state, self.health, self.lag = mid, name, state, health, lag


STATE_STR = {1: "PRIMARY", 2: "SECONDARY", 8: "(not reachable/healthy)"}


def scenario(mode, me):
    m = [Member(0, me, 1), Member(1, "m2.lab:27017", 2), Member(2, "m3.lab:27017", 2)]
    if mode == "secondary":
        m[0].state, m[1].state = 2, 1
    elif mode == "lag":
        m[2].lag = 30
    elif mode == "member-down":
        m[2].state, m[2].health = 8, 0
    elif mode == "no-primary":
        m[0].state = 2
        for x in m[1:]:
            x.state, x.health = 8, 0
    return m


class Sim:
    def __init__(self, mode_file, me):
        self.mode_file, self.me = mode_file, me
        self.conn_ids = 0
        self.client_ports = set()
        self.commands = {}  # command name -> times asked (mockStats reports it)
        self.lock = threading.Lock()

    def mode(self):
        try:
            with open(self.mode_file) as f:
                return f.read().strip() or "primary"
        except OSError:
            return "primary"

    def members(self):
        return scenario(self.mode(), self.me)

    def now(self):
        return int(time.time())

    def optime(self, lag=0):
        t = self.now() - lag
        return {"ts": Timestamp(t, 1), "t": Int64(TERM)}, utc(t)

    def hello(self, legacy, req):
        mem = self.members()
        me = mem[0]
        primary = [x for x in mem if x.state == 1]
        op, date = self.optime()
        with self.lock:
            self.conn_ids += 1
            cid = self.conn_ids
        d = {
            "topologyVersion": {"processId": PROCESS_ID, "counter": Int64(6)},
            "hosts": [x.name for x in mem],
            "setName": SET,
            "setVersion": 5,
        }
        if legacy:
            d["ismaster"] = me.state == 1
        else:
            d["isWritablePrimary"] = me.state == 1
        d["secondary"] = me.state == 2
        if primary:
            d["primary"] = primary[0].name
        d["me"] = me.name
        if me.state == 1:
            d["electionId"] = ELECTION_ID
        d["lastWrite"] = {"opTime": op, "lastWriteDate": date, "majorityOpTime": op,
                          "majorityWriteDate": date}
        if req.doc.get("helloOk"):
            d["helloOk"] = True
        d.update({
            "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000,
            "maxWriteBatchSize": 100000, "localTime": utc(time.time()),
            "logicalSessionTimeoutMinutes": 30, "connectionId": cid,
            "minWireVersion": 0, "maxWireVersion": 17, "readOnly": False, "ok": 1.0,
        })
        return d

    def status(self):
        mem = self.members()
        now = self.now()
        out = []
        for x in mem:
            d = {"_id": x.mid, "name": x.name, "health": float(x.health), "state": x.state,
                 "stateStr": STATE_STR[x.state], "uptime": int(time.time() - START) if x.health else 0}
            if x.health:
                op, date = self.optime(x.lag)
            else:
                op, date = {"ts": Timestamp(0, 0), "t": Int64(-1)}, utc(0)
            d["optime"] = op
            d["optimeDate"] = date
            if x.mid != 0:
                d["optimeDurable"] = op
                d["optimeDurableDate"] = date
                d["lastHeartbeat"] = utc(now)
                d["lastHeartbeatRecv"] = utc(now) if x.health else utc(0)
                d["pingMs"] = Int64(0)
                d["lastHeartbeatMessage"] = "" if x.health else \
                    "Error connecting to %s :: caused by :: Connection refused" % x.name
            d["lastAppliedWallTime"] = date
            d["lastDurableWallTime"] = date
            d["syncSourceHost"] = ""
            d["syncSourceId"] = -1
            d["infoMessage"] = ""
            if x.state == 1:
                d["electionTime"] = Timestamp(int(START), 1)
                d["electionDate"] = utc(int(START))
            d["configVersion"] = 5
            d["configTerm"] = TERM
            if x.mid == 0:
                d["self"] = True
            out.append(d)
        op, date = self.optime()
        return {
            "set": SET, "date": utc(time.time()), "myState": mem[0].state, "term": Int64(TERM),
            "syncSourceHost": "", "syncSourceId": -1, "heartbeatIntervalMillis": Int64(2000),
            "majorityVoteCount": 2, "writeMajorityCount": 2, "votingMembersCount": 3,
            "writableVotingMembersCount": 3,
            "optimes": {"lastCommittedOpTime": op, "lastCommittedWallTime": date,
                        "readConcernMajorityOpTime": op, "appliedOpTime": op, "durableOpTime": op,
                        "lastAppliedWallTime": date, "lastDurableWallTime": date},
            "members": out, "ok": 1.0,
        }

    def config(self):
        mem = self.members()
        return {"config": {
            "_id": SET, "version": 5, "term": TERM, "protocolVersion": Int64(1),
            "writeConcernMajorityJournalDefault": True,
            "members": [{"_id": x.mid, "host": x.name, "arbiterOnly": False,
                         "buildIndexes": True, "hidden": False,
                         "priority": 2.0 if x.mid == 0 else 1.0,
                         "tags": {"dc": ["east", "west", "north"][x.mid]},
                         "secondaryDelaySecs": Int64(0), "votes": 1} for x in mem],
            "settings": {"chainingAllowed": True, "heartbeatIntervalMillis": 2000,
                         "heartbeatTimeoutSecs": 10, "electionTimeoutMillis": 10000,
                         "catchUpTimeoutMillis": -1, "catchUpTakeoverDelayMillis": 30000,
                         "getLastErrorModes": {}, "getLastErrorDefaults": {"w": 1, "wtimeout": 0},
                         "replicaSetId": ObjectId("65a1b2c3d4e5f60718293a00")}},
            "ok": 1.0}

    def handle(self, req):
        # one bad request must not kill the server: every path replies
        try:
            name = (req.command_name or "").lower()
            with self.lock:
                self.client_ports.add(req.client_port)
                self.commands[name] = self.commands.get(name, 0) + 1
            if name == "mockstats":  # test hook: client connections and commands so far
                with self.lock:
                    n = len(self.client_ports)
                    cmds = dict(self.commands)
                req.reply({"connections": n, "commands": cmds, "ok": 1.0})
            elif name in ("hello", "ismaster"):
                req.reply(self.hello(name == "ismaster", req))
            elif name == "replsetgetstatus":
                req.reply(self.status())
            elif name == "replsetgetconfig":
                req.reply(self.config())
            elif name == "ping":
                req.reply({"ok": 1.0})
            elif name == "buildinfo":
                req.reply({"version": "6.0.13", "versionArray": [6, 0, 13, 0],
                           "maxBsonObjectSize": 16777216, "ok": 1.0})
            elif name in ("endsessions", "killcursors", "getparameter", "getcmdlineopts"):
                req.reply({"ok": 1.0})
            else:
                req.reply({"ok": 0.0, "errmsg": "no such command: '%s'" % name, "code": 59,
                           "codeName": "CommandNotFound"})
        except Exception as e:  # noqa: BLE001 - anything, but keep serving
            try:
                req.reply({"ok": 0.0, "errmsg": "mock error: %s" % e, "code": 1,
                           "codeName": "InternalError"})
            except Exception:
                pass
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--tls", action="store_true")
    a = ap.parse_args()

    if a.tls:
        # MockupDB's own ssl=True handshakes inside its accept loop, and one
        # client that rejects the certificate kills that loop. Handshake
        # lazily instead, in the connection's own thread.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(os.path.dirname(mockupdb.__file__), "server.pem"))
        plain_bind = mockupdb.bind_tcp_socket

        def tls_bind(address):
            sock, addr = plain_bind(address)
            return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        mockupdb.bind_tcp_socket = tls_bind

    server = MockupDB(port=a.port, auto_ismaster=False, request_timeout=int(1e6))
    server._address = ("127.0.0.1", a.port)  # MockupDB has no host argument
    port = server.run()
    sim = Sim(a.mode_file, "127.0.0.1:%d" % port)
    server.autoresponds(sim.handle)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, a.port_file)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
