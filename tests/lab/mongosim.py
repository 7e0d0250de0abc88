#!/usr/bin/python3
"""mongosim: one MongoDB 6 replica-set member, simulated for the quorate test lab.

Run with Debian's /usr/bin/python3 (python3-mockupdb, python3-pymongo 3.11) inside a lab
host's network namespace:

    mongosim.py --me 10.77.0.11:27017 --config rs.json [--status-file F] [--pid-file F]

The wire-protocol side is a mockupdb server on the member's address; it answers `hello` /
`isMaster`, `replSetGetStatus`, `replSetGetConfig`, `replSetReconfig` (with and without
force), `replSetStepDown`, `insert` / `find` / `count`, `ping`, `buildInfo`, `serverStatus`
with the field names and BSON types MongoDB 6 uses.

Members talk to each other with a small heartbeat protocol of our own: JSON datagrams over
UDP on port+1 (27018) of each member's lab address, so partitions (nftables) and site loss
(veth down) hit them exactly like any other traffic. On top of that runs the replica-set
logic: terms, pre-vote ("dry run") and real elections that need a majority of the voters,
a primary that steps down when it cannot see a majority, optimes that advance on the primary
(a simulated write every 100 ms plus client inserts) and replicate to reachable secondaries,
config propagation ordered by (term, version) the way MongoDB 4.4+ compares configs, and
forced reconfiguration.

What it does NOT simulate is listed in docs/lab.md ("mongosim limits").
"""

import argparse
import copy
import datetime
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict

from bson import Int64, ObjectId, Timestamp, json_util

import mockupdb

VERSION = "6.0.13"
MAX_WIRE = 17

STATE_NAMES = {0: "STARTUP", 1: "PRIMARY", 2: "SECONDARY", 3: "RECOVERING", 5: "STARTUP2",
               6: "UNKNOWN", 7: "ARBITER", 8: "DOWN", 9: "ROLLBACK", 10: "REMOVED"}
PRIMARY, SECONDARY, REMOVED = 1, 2, 10

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

# Timing (milliseconds). Much shorter than MongoDB's defaults (2000 / 10 s / 10000) so the
# lab's scenarios run in seconds; reported as they are in replSetGetConfig's settings.
DEFAULTS = {"heartbeatIntervalMillis": 500, "heartbeatTimeoutSecs": 2,
            "electionTimeoutMillis": 2000}
WRITE_INTERVAL = 0.1          # simulated write on the primary
MAX_OPS_PER_HB = 50           # user ops shipped to one secondary per heartbeat
MAX_DATAGRAM = 60000


class CmdError(Exception):
    def __init__(self, code, code_name, msg):
        super().__init__(msg)
        self.code, self.code_name, self.msg = code, code_name, msg


def now_wall():
    return time.time()


def mono():
    return time.monotonic()


def dt_from(secs):
    return datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc)


def log(msg):
    ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    sys.stderr.write("%sZ mongosim %s\n" % (ts, msg))
    sys.stderr.flush()


# An optime is a tuple (t, secs, inc): MongoDB orders OpTimes by term, then timestamp.
NULL_OPTIME = (-1, 0, 0)


def optime_doc(ot):
    return OrderedDict([("ts", Timestamp(ot[1], ot[2])), ("t", Int64(ot[0]))])


def cfg_newer(a, b):
    """True when config version/term a = (version, term) is newer than b.

    MongoDB 4.4+ (ConfigVersionAndTerm): when either term is -1 (a forced reconfig
    leaves the term uninitialised) only the versions count; else term, then version."""
    (va, ta), (vb, tb) = a, b
    if ta == -1 or tb == -1:
        return va > vb
    return (ta, va) > (tb, vb)


def as_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CmdError(93, "InvalidReplicaSetConfig", "%s must be a number" % name)
    if isinstance(v, float) and v != int(v):
        raise CmdError(93, "InvalidReplicaSetConfig", "%s must be an integer" % name)
    return int(v)


def normalize_config(doc, old):
    """Validate a replSetReconfig argument and return it in our internal JSON form."""
    if not isinstance(doc, dict):
        raise CmdError(14, "TypeMismatch", "replSetReconfig argument must be an object")
    set_name = doc.get("_id")
    if set_name != old["_id"]:
        raise CmdError(103, "NewReplicaSetConfigurationIncompatible",
                       "New and old configurations differ in replica set name; old was %s, "
                       "and new is %s" % (old["_id"], set_name))
    members = doc.get("members")
    if not isinstance(members, list) or not members:
        raise CmdError(93, "InvalidReplicaSetConfig",
                       "Replica set configuration must contain at least one member")
    if len(members) > 50:
        raise CmdError(93, "InvalidReplicaSetConfig", "Replica set has more than 50 members")
    out_members, ids, hosts = [], set(), set()
    for m in members:
        if not isinstance(m, dict):
            raise CmdError(93, "InvalidReplicaSetConfig", "members entries must be objects")
        mid = as_int(m.get("_id"), "members._id")
        host = m.get("host")
        if not isinstance(host, str) or ":" not in host:
            raise CmdError(93, "InvalidReplicaSetConfig", "members.host must be \"host:port\"")
        if mid in ids or host in hosts:
            raise CmdError(93, "InvalidReplicaSetConfig",
                           "Found two member configurations with same _id or host (%s)" % host)
        ids.add(mid)
        hosts.add(host)
        votes = as_int(m.get("votes", 1), "votes")
        if votes not in (0, 1):
            raise CmdError(93, "InvalidReplicaSetConfig", "votes must be 0 or 1")
        prio = m.get("priority", 1.0 if votes else 0.0)
        if isinstance(prio, bool) or not isinstance(prio, (int, float)) or not 0 <= prio <= 1000:
            raise CmdError(93, "InvalidReplicaSetConfig", "priority must be between 0 and 1000")
        if votes == 0 and prio != 0:
            raise CmdError(93, "InvalidReplicaSetConfig",
                           "priority must be 0 when non-voting (votes:0)")
        tags = m.get("tags", {}) or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise CmdError(93, "InvalidReplicaSetConfig", "tags must be strings")
        arb = bool(m.get("arbiterOnly", False))
        if arb:
            raise CmdError(93, "InvalidReplicaSetConfig", "arbiters are not simulated")
        out_members.append(OrderedDict([
            ("_id", mid), ("host", host), ("arbiterOnly", False),
            ("buildIndexes", bool(m.get("buildIndexes", True))),
            ("hidden", bool(m.get("hidden", False))), ("priority", float(prio)),
            ("tags", dict(tags)),
            ("secondaryDelaySecs", as_int(m.get("secondaryDelaySecs", 0), "secondaryDelaySecs")),
            ("votes", votes)]))
    voters = [m for m in out_members if m["votes"]]
    if len(voters) > 7:
        raise CmdError(93, "InvalidReplicaSetConfig",
                       "Replica set configuration contains %d voting members, but must be at "
                       "least 1 and no more than 7" % len(voters))
    if not voters:
        raise CmdError(93, "InvalidReplicaSetConfig",
                       "Replica set configuration must contain at least one voting member")
    if not any(m["priority"] > 0 for m in voters):
        raise CmdError(93, "InvalidReplicaSetConfig",
                       "Replica set configuration must contain at least one electable member")
    settings = copy.deepcopy(old.get("settings", {}))
    new_settings = doc.get("settings")
    if isinstance(new_settings, dict):
        rsid = new_settings.get("replicaSetId")
        if rsid is not None and str(rsid) != settings.get("replicaSetId"):
            raise CmdError(103, "NewReplicaSetConfigurationIncompatible",
                           "New and old configurations differ in replica set ID")
        for k in ("chainingAllowed", "heartbeatIntervalMillis", "heartbeatTimeoutSecs",
                  "electionTimeoutMillis", "catchUpTimeoutMillis", "catchUpTakeoverDelayMillis"):
            if k in new_settings:
                v = new_settings[k]
                settings[k] = bool(v) if k == "chainingAllowed" else as_int(v, k)
    version = as_int(doc.get("version", old["version"] + 1), "version")
    return OrderedDict([("_id", set_name), ("version", version), ("term", old["term"]),
                        ("members", out_members), ("settings", settings)])


class Peer:
    def __init__(self):
        self.last_recv = None      # monotonic time of the last datagram from it
        self.last_recv_wall = None
        self.last_sent_wall = None
        self.state = 0
        self.term = 0
        self.optime = NULL_OPTIME
        self.optime_wall = 0.0
        self.cfg = (0, -1)
        self.uptime = 0
        self.sync_source = ""
        self.election_ts = None
        self.ping_ms = 0
        self.up_since = None       # monotonic time it became healthy (for logs)
        self.healthy = False


class Member:
    def __init__(self, me, config, status_file=None):
        self.lock = threading.RLock()
        self.me = me
        self.addr, port = me.rsplit(":", 1)
        self.port = int(port)
        self.hb_port = self.port + 1
        self.status_file = status_file
        self.config = config
        self.started = mono()
        self.state = SECONDARY
        self.term = 0
        self.voted_for = {}          # term -> candidate id
        self.optime = (0, int(now_wall()), 1)
        self.optime_wall = now_wall()
        self.commit = self.optime
        self.commit_wall = self.optime_wall
        self.oplog = []              # user ops: dicts {ot: [t,s,i], wall, ns, doc}
        self.data = {}               # ns -> list of docs (extended JSON-safe copies)
        self.peers = {}              # host -> Peer
        self.primary_host = None
        self.primary_seen = None     # monotonic
        self.election_ts = None
        self.election_wall = None
        self.election_id = None
        self.term_start = NULL_OPTIME
        self.stepdown_until = 0.0
        self.election = None         # in-flight election: dict
        # First election soon after start (the set starts initiated), once the first
        # heartbeats have been exchanged: 1 to 2 s with the default timeout.
        self.next_election = mono() + self.election_timeout() * (0.5 + random.random() * 0.5)
        self.last_cfg_push = {}
        self.rollbacks = 0
        self.conn_id = 0
        self.topo_counter = 0
        self.process_id = ObjectId()
        self.sock = None
        self._apply_config(config, initial=True)

    # ---- configuration helpers -------------------------------------------------------
    def setting(self, k):
        return int(self.config.get("settings", {}).get(k, DEFAULTS[k]))

    def election_timeout(self):
        return self.setting("electionTimeoutMillis") / 1000.0

    def hb_interval(self):
        return self.setting("heartbeatIntervalMillis") / 1000.0

    def hb_timeout(self):
        return float(self.setting("heartbeatTimeoutSecs"))

    def my_member(self):
        for m in self.config["members"]:
            if m["host"] == self.me:
                return m
        return None

    def member_by_host(self, host):
        for m in self.config["members"]:
            if m["host"] == host:
                return m
        return None

    def voters(self):
        return [m for m in self.config["members"] if m["votes"]]

    def majority(self):
        return len(self.voters()) // 2 + 1

    def cfg_vt(self):
        return (self.config["version"], self.config["term"])

    def _apply_config(self, cfg, initial=False):
        self.config = cfg
        for m in cfg["members"]:
            if m["host"] != self.me and m["host"] not in self.peers:
                self.peers[m["host"]] = Peer()
        for h in list(self.peers):
            if self.member_by_host(h) is None:
                del self.peers[h]
        mine = self.my_member()
        if mine is None:
            if self.state != REMOVED:
                log("%s is not in config version %d: REMOVED" % (self.me, cfg["version"]))
            self._set_state(REMOVED)
            self.primary_host = None
        elif self.state == REMOVED:
            self._set_state(SECONDARY)
        elif self.state == PRIMARY and (mine["votes"] == 0 or mine["priority"] == 0):
            self._step_down("no longer electable in config version %d" % cfg["version"])
        if not initial:
            log("installed config version %d term %d (%d members, %d voters)" % (
                cfg["version"], cfg["term"], len(cfg["members"]), len(self.voters())))

    def _set_state(self, st):
        if st != self.state:
            self.state = st
            self.topo_counter += 1

    def _step_down(self, why):
        if self.state == PRIMARY:
            log("stepping down from PRIMARY (term %d): %s" % (self.term, why))
            self._set_state(SECONDARY)
        if self.primary_host == self.me:
            self.primary_host = None
        self.election = None
        self.next_election = mono() + self.election_timeout() * (1 + random.random() * 0.5)

    def _update_term(self, t, why):
        if t > self.term:
            self.term = t
            if self.state == PRIMARY:
                self._step_down("saw higher term %d (%s)" % (t, why))
            self.election = None
            return True
        return False

    # ---- health --------------------------------------------------------------------
    def peer_healthy(self, host, t=None):
        p = self.peers.get(host)
        if p is None or p.last_recv is None:
            return False
        return (t or mono()) - p.last_recv <= self.hb_timeout()

    def _refresh_health(self):
        t = mono()
        for h, p in self.peers.items():
            ok = self.peer_healthy(h, t)
            if ok != p.healthy:
                p.healthy = ok
                if ok:
                    p.up_since = t
                    log("member %s is now healthy (%s)" % (h, STATE_NAMES.get(p.state, "?")))
                else:
                    log("member %s is now DOWN (no heartbeat for %.1f s)" % (
                        h, t - p.last_recv if p.last_recv else -1))
                self.topo_counter += 1
        if self.primary_host and self.primary_host != self.me:
            if not self.peer_healthy(self.primary_host, t) or \
                    self.peers[self.primary_host].state != PRIMARY:
                self.primary_host = None

    def visible_voters(self, t=None):
        t = t or mono()
        n = 0
        for m in self.voters():
            if m["host"] == self.me or self.peer_healthy(m["host"], t):
                n += 1
        return n

    # ---- networking ----------------------------------------------------------------
    def _send(self, host, msg):
        try:
            addr = host.rsplit(":", 1)[0]
            port = int(host.rsplit(":", 1)[1]) + 1
            data = json.dumps(msg, separators=(",", ":")).encode()
            if len(data) > MAX_DATAGRAM:
                return
            self.sock.sendto(data, (addr, port))
        except OSError:
            pass  # unreachable network, link down: that is what the lab is for

    def _hb_msg(self, to):
        msg = {"type": "hb", "set": self.config["_id"], "from": self.me, "term": self.term,
               "state": self.state, "optime": list(self.optime), "wall": self.optime_wall,
               "uptime": int(mono() - self.started), "config": self.config,
               "sync": self.primary_host if self.state == SECONDARY and self.primary_host else "",
               "sent": now_wall()}
        if self.state == PRIMARY:
            p = self.peers.get(to)
            frm = p.optime if p and p.healthy else NULL_OPTIME
            ops = [o for o in self.oplog if tuple(o["ot"]) > tuple(frm)][:MAX_OPS_PER_HB]
            upto = tuple(ops[-1]["ot"]) if len(ops) == MAX_OPS_PER_HB else self.optime
            msg.update({"from_optime": list(frm), "ops": ops, "upto": list(upto),
                        "commit": list(self.commit), "commit_wall": self.commit_wall,
                        "term_start": list(self.term_start),
                        "election_ts": list(self.election_ts) if self.election_ts else None})
        return msg

    def send_heartbeats(self):
        if self.state == REMOVED:
            return  # a removed member stays quiet until a member's heartbeat re-adds it
        for h in list(self.peers):
            self.peers[h].last_sent_wall = now_wall()
            self._send(h, self._hb_msg(h))

    def handle_datagram(self, data, src):
        try:
            msg = json.loads(data.decode())
            if not isinstance(msg, dict) or msg.get("set") != self.config["_id"]:
                return
            kind = msg.get("type")
            with self.lock:
                if kind == "hb":
                    self._on_hb(msg)
                elif kind == "vreq":
                    self._on_vote_request(msg)
                elif kind == "vresp":
                    self._on_vote_response(msg)
        except Exception:  # a bad datagram is dropped, never fatal
            log("dropped bad datagram from %s: %s" % (src, traceback.format_exc(limit=2)))

    def _maybe_push_config(self, host):
        t = mono()
        if t - self.last_cfg_push.get(host, 0) >= 1.0:
            self.last_cfg_push[host] = t
            # Same shape as a heartbeat, so the receiver installs it through _on_hb.
            self._send(host, {"type": "hb", "set": self.config["_id"], "from": self.me,
                              "term": self.term, "state": self.state,
                              "optime": list(self.optime), "wall": self.optime_wall,
                              "uptime": int(mono() - self.started), "config": self.config,
                              "sync": "", "sent": now_wall(), "config_only": True})

    def _on_hb(self, msg):
        frm = msg["from"]
        their_cfg = msg["config"]
        their_vt = (int(their_cfg["version"]), int(their_cfg["term"]))
        if cfg_newer(their_vt, self.cfg_vt()):
            self._apply_config(their_cfg)
        elif cfg_newer(self.cfg_vt(), their_vt):
            self._maybe_push_config(frm)
        if frm not in self.peers or msg.get("config_only"):
            return  # not a member of our config: it only gets our config back
        p = self.peers[frm]
        t = mono()
        p.last_recv = t
        p.last_recv_wall = now_wall()
        p.ping_ms = max(0, int((now_wall() - float(msg.get("sent", now_wall()))) * 1000))
        p.state = int(msg["state"])
        p.term = int(msg["term"])
        p.optime = tuple(msg["optime"])
        p.optime_wall = float(msg["wall"])
        p.cfg = their_vt
        p.uptime = int(msg.get("uptime", 0))
        p.sync_source = msg.get("sync", "")
        p.election_ts = tuple(msg["election_ts"]) if msg.get("election_ts") else None
        self._update_term(p.term, "heartbeat from %s" % frm)
        if p.state == PRIMARY and p.term >= self.term and self.state != REMOVED:
            if self.state == PRIMARY:
                # Two primaries cannot share a term; the older term already stepped down above.
                return
            if self.primary_host != frm:
                log("primary is %s (term %d)" % (frm, p.term))
                self.topo_counter += 1
            self.primary_host = frm
            self.primary_seen = t
            self._replicate(msg)

    def _replicate(self, msg):
        """Apply what the primary shipped: roll back a diverged tail, then new ops."""
        pterm = int(msg["term"])
        term_start = tuple(msg["term_start"])
        if self.optime > term_start and self.optime[0] < pterm:
            # Our tail was written by an older primary after the point where the current
            # primary's history begins: MongoDB rolls it back (writes rollback files).
            # (the no-op writes after term_start count too, even without user ops)
            lost = [o for o in self.oplog if tuple(o["ot"]) > term_start]
            self.rollbacks += 1
            log("ROLLBACK: %d user ops after %s undone (my optime %s, primary term %d)" % (
                len(lost), term_start, self.optime, pterm))
            for o in lost:
                docs = self.data.get(o["ns"], [])
                if o["doc"] in docs:
                    docs.remove(o["doc"])
            self.oplog = [o for o in self.oplog if tuple(o["ot"]) <= term_start]
            self.optime = term_start
        frm = tuple(msg["from_optime"])
        if frm > self.optime:
            return  # primary's view of us is ahead (we just rolled back): wait for next hb
        for o in msg.get("ops", []):
            ot = tuple(o["ot"])
            if ot > self.optime:
                self.oplog.append(o)
                self.data.setdefault(o["ns"], []).append(o["doc"])
                self.optime = ot
                self.optime_wall = float(o["wall"])
        upto = tuple(msg["upto"])
        if upto > self.optime:
            self.optime = upto
            self.optime_wall = float(msg["wall"])
        commit = tuple(msg["commit"])
        self.commit = min(commit, self.optime)
        self.commit_wall = float(msg.get("commit_wall", self.commit_wall))

    # ---- elections -----------------------------------------------------------------
    def _can_stand(self):
        mine = self.my_member()
        return (self.state == SECONDARY and mine is not None and mine["votes"] > 0
                and mine["priority"] > 0 and mono() >= self.stepdown_until)

    def _start_election(self, dry):
        mine = self.my_member()
        if not dry:
            self.term += 1
            self.voted_for[self.term] = mine["_id"]
            log("standing for election in term %d" % self.term)
        e = {"dry": dry, "term": self.term + (1 if dry else 0), "yes": {self.me}, "no": set(),
             "deadline": mono() + max(0.5, self.election_timeout() / 2)}
        self.election = e
        req = {"type": "vreq", "set": self.config["_id"], "from": self.me,
               "cand_id": mine["_id"], "term": e["term"], "dry": dry,
               "optime": list(self.optime), "cfg": list(self.cfg_vt())}
        for m in self.voters():
            if m["host"] != self.me:
                self._send(m["host"], req)
        self._check_election()

    def _check_election(self):
        e = self.election
        if e is None:
            return
        if len(e["yes"]) >= self.majority():
            self.election = None
            if e["dry"]:
                self._start_election(False)
            else:
                self._become_primary()

    def _become_primary(self):
        self._set_state(PRIMARY)
        self.primary_host = self.me
        self.term_start = self.optime
        now = now_wall()
        self.election_ts = (int(now), 1)
        self.election_wall = now
        self.election_id = ObjectId(("7fffffff%016x" % self.term))
        # A new primary writes its config with its own term (MongoDB 4.4+), and a
        # "new primary" no-op that starts its term in the oplog.
        cfg = copy.deepcopy(self.config)
        cfg["term"] = self.term
        self.config = cfg
        self._advance_optime()
        log("elected PRIMARY in term %d with %d/%d voters visible (config version %d)" % (
            self.term, self.visible_voters(), len(self.voters()), cfg["version"]))
        self.send_heartbeats()

    def _on_vote_request(self, msg):
        cand = msg["from"]
        term = int(msg["term"])
        dry = bool(msg.get("dry"))
        reason = None
        if self.state == REMOVED or self.my_member() is None:
            reason = "not a member"
        elif self.member_by_host(cand) is None or not self.member_by_host(cand)["votes"]:
            reason = "candidate is not a voting member of my config"
        if reason is None and not dry:
            self._update_term(term, "vote request from %s" % cand)
        cand_cfg = tuple(msg["cfg"])
        if reason is not None:
            pass
        elif term < self.term or (dry and term <= self.term):
            reason = "candidate's term %d is not newer than mine %d" % (term, self.term)
        elif cfg_newer(self.cfg_vt(), cand_cfg):
            reason = "candidate's config is older than mine"
        elif tuple(msg["optime"]) < self.optime:
            reason = "candidate's optime is older than mine"
        elif self.state == PRIMARY:
            reason = "I am primary and can see a majority"
        elif (self.primary_host and self.primary_host != cand and self.primary_seen
              and mono() - self.primary_seen < self.election_timeout()):
            reason = "I can see a primary (%s)" % self.primary_host
        elif not dry and self.voted_for.get(term) not in (None, msg["cand_id"]):
            reason = "already voted for member %s in term %d" % (self.voted_for[term], term)
        granted = reason is None
        if granted and not dry:
            self.voted_for[term] = msg["cand_id"]
            # Granting a vote resets our own election timer, as in Raft.
            self.next_election = mono() + self.election_timeout() * (1 + random.random() * 0.5)
        self._send(cand, {"type": "vresp", "set": self.config["_id"], "from": self.me,
                          "term": term if dry else self.term, "req_term": term, "dry": dry,
                          "granted": granted, "reason": reason or ""})

    def _election_failed(self, e, why):
        log("%s election for term %d failed: %d of %d votes needed (%s)" % (
            "dry-run" if e["dry"] else "real", e["term"], len(e["yes"]), self.majority(), why))
        self.election = None
        # Retry soon: a failed dry run changed nothing, and the random spread keeps two
        # candidates of a real election from colliding again.
        self.next_election = mono() + self.election_timeout() * (0.15 + random.random() * 0.35)

    def _on_vote_response(self, msg):
        e = self.election
        if not msg.get("dry"):
            self._update_term(int(msg["term"]), "vote response from %s" % msg["from"])
        if e is None or bool(msg.get("dry")) != e["dry"] or int(msg["req_term"]) != e["term"]:
            return
        if msg.get("granted"):
            e["yes"].add(msg["from"])
            self._check_election()
        else:
            e["no"].add(msg["from"])
            if len(e["no"]) > len(self.voters()) - self.majority():
                self._election_failed(e, "refused by %s" % ", ".join(sorted(e["no"])))

    # ---- writes --------------------------------------------------------------------
    def _advance_optime(self):
        s = int(now_wall())
        inc = self.optime[2] + 1 if s <= self.optime[1] else 1
        s = max(s, self.optime[1])
        self.optime = (self.term, s, inc)
        self.optime_wall = now_wall()
        return self.optime

    def _update_commit(self):
        ots = [self.optime]
        for m in self.voters():
            if m["host"] != self.me and self.peer_healthy(m["host"]):
                ots.append(self.peers[m["host"]].optime)
        ots.sort(reverse=True)
        maj = self.majority()
        if len(ots) >= maj:
            c = ots[maj - 1]
            if c > self.commit:
                self.commit = c
                self.commit_wall = now_wall()

    # ---- the periodic tick ---------------------------------------------------------
    def tick(self, t, last):
        with self.lock:
            self._refresh_health()
            if self.state == PRIMARY:
                if self.visible_voters(t) < self.majority():
                    # MongoDB: a primary that cannot see a majority steps down.
                    self._step_down("can see only %d of %d voters" % (
                        self.visible_voters(t), len(self.voters())))
                elif t - last["write"] >= WRITE_INTERVAL:
                    last["write"] = t
                    self._advance_optime()
                    self._update_commit()
            if t - last["hb"] >= self.hb_interval():
                last["hb"] = t
                self.send_heartbeats()
            e = self.election
            if e is not None and t >= e["deadline"]:
                self._election_failed(e, "no answer in time")
            primary_fresh = (self.primary_host is not None and self.primary_seen is not None
                             and t - self.primary_seen < self.election_timeout())
            if primary_fresh and self.state == SECONDARY:
                # Heard from a primary: an election may start only electionTimeout (plus a
                # random offset, as MongoDB adds up to 15 %) after its last heartbeat.
                self.next_election = max(self.next_election, self.primary_seen +
                                         self.election_timeout() *
                                         (1 + random.random() * 0.15))
            if (self.election is None and self._can_stand() and not primary_fresh
                    and t >= self.next_election):
                self._start_election(True)
            if t - last["status"] >= 0.25:
                last["status"] = t
                self.write_status()

    def write_status(self):
        if not self.status_file:
            return
        st = {"me": self.me, "state": STATE_NAMES.get(self.state, "?"), "term": self.term,
              "primary": self.primary_host or "", "optime": list(self.optime),
              "config_version": self.config["version"], "config_term": self.config["term"],
              "healthy_peers": sorted(h for h in self.peers if self.peer_healthy(h)),
              "rollbacks": self.rollbacks, "updated": now_wall(), "pid": os.getpid()}
        tmp = self.status_file + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(st, f)
            os.replace(tmp, self.status_file)
        except OSError:
            pass

    def run_network(self, stop):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.addr, self.hb_port))
        last = {"hb": 0.0, "write": 0.0, "status": 0.0}
        while not stop.is_set():
            try:
                r, _, _ = select.select([self.sock], [], [], 0.05)
                if r:
                    data, src = self.sock.recvfrom(65535)
                    self.handle_datagram(data, src)
                self.tick(mono(), last)
            except Exception:
                log("tick error: %s" % traceback.format_exc())
                time.sleep(0.1)

    # ---- commands ------------------------------------------------------------------
    def cluster_time_fields(self):
        ts = Timestamp(self.optime[1], self.optime[2])
        return OrderedDict([
            ("$clusterTime", OrderedDict([
                ("clusterTime", ts),
                ("signature", OrderedDict([("hash", bytes(20)), ("keyId", Int64(0))]))])),
            ("operationTime", ts)])

    def hello(self, legacy, hello_ok):
        cfg = self.config
        r = OrderedDict()
        mine = self.my_member()
        if self.state == REMOVED or mine is None:
            r[("ismaster" if legacy else "isWritablePrimary")] = False
            r["secondary"] = False
            r["info"] = "Does not have a valid replica set config"
            r["isreplicaset"] = True
        else:
            visible = [m for m in cfg["members"] if not m["hidden"]]
            r["hosts"] = [m["host"] for m in visible if m["priority"] > 0]
            passives = [m["host"] for m in visible if m["priority"] == 0]
            if passives:
                r["passives"] = passives
            r["setName"] = cfg["_id"]
            r["setVersion"] = cfg["version"]
            r[("ismaster" if legacy else "isWritablePrimary")] = self.state == PRIMARY
            r["secondary"] = self.state == SECONDARY
            if self.primary_host:
                r["primary"] = self.primary_host
            if mine["tags"]:
                r["tags"] = dict(mine["tags"])
            r["me"] = self.me
            if self.state == PRIMARY:
                r["electionId"] = self.election_id
            r["lastWrite"] = OrderedDict([
                ("opTime", optime_doc(self.optime)),
                ("lastWriteDate", dt_from(int(self.optime_wall))),
                ("majorityOpTime", optime_doc(self.commit)),
                ("majorityWriteDate", dt_from(int(self.commit_wall)))])
        if hello_ok:
            r["helloOk"] = True
        r["maxBsonObjectSize"] = 16777216
        r["maxMessageSizeBytes"] = 48000000
        r["maxWriteBatchSize"] = 100000
        r["localTime"] = dt_from(now_wall())
        r["logicalSessionTimeoutMinutes"] = 30
        self.conn_id += 1
        r["connectionId"] = self.conn_id
        r["minWireVersion"] = 0
        r["maxWireVersion"] = MAX_WIRE
        r["readOnly"] = False
        r["ok"] = 1.0
        r.update(self.cluster_time_fields())
        return r

    def repl_status(self):
        if self.state == REMOVED or self.my_member() is None:
            raise CmdError(93, "InvalidReplicaSetConfig",
                           "Our replica set config is invalid or we are not a member of it")
        t = mono()
        wall = now_wall()
        members = []
        for m in self.config["members"]:
            e = OrderedDict([("_id", m["_id"]), ("name", m["host"])])
            if m["host"] == self.me:
                e["health"] = 1.0
                e["state"] = self.state
                e["stateStr"] = STATE_NAMES[self.state]
                e["uptime"] = int(t - self.started)
                e["optime"] = optime_doc(self.optime)
                e["optimeDate"] = dt_from(self.optime[1])
                e["lastAppliedWallTime"] = dt_from(self.optime_wall)
                e["lastDurableWallTime"] = dt_from(self.optime_wall)
                sync = self.primary_host if self.state == SECONDARY and self.primary_host else ""
                e["syncSourceHost"] = sync
                e["syncSourceId"] = self.member_by_host(sync)["_id"] if sync else -1
                e["infoMessage"] = ""
                if self.state == PRIMARY:
                    e["electionTime"] = Timestamp(*self.election_ts)
                    e["electionDate"] = dt_from(self.election_wall)
                e["configVersion"] = self.config["version"]
                e["configTerm"] = self.config["term"]
                e["self"] = True
                e["lastHeartbeatMessage"] = ""
            else:
                p = self.peers[m["host"]]
                sent = dt_from(p.last_sent_wall) if p.last_sent_wall else EPOCH
                recv = dt_from(p.last_recv_wall) if p.last_recv_wall else EPOCH
                if self.peer_healthy(m["host"], t):
                    e["health"] = 1.0
                    e["state"] = p.state
                    e["stateStr"] = STATE_NAMES.get(p.state, "UNKNOWN")
                    e["uptime"] = p.uptime
                    e["optime"] = optime_doc(p.optime)
                    e["optimeDurable"] = optime_doc(p.optime)
                    e["optimeDate"] = dt_from(p.optime[1])
                    e["optimeDurableDate"] = dt_from(p.optime[1])
                    e["lastAppliedWallTime"] = dt_from(p.optime_wall)
                    e["lastDurableWallTime"] = dt_from(p.optime_wall)
                    e["lastHeartbeat"] = sent
                    e["lastHeartbeatRecv"] = recv
                    e["pingMs"] = Int64(p.ping_ms)
                    e["lastHeartbeatMessage"] = ""
                    e["syncSourceHost"] = p.sync_source
                    sm = self.member_by_host(p.sync_source) if p.sync_source else None
                    e["syncSourceId"] = sm["_id"] if sm else -1
                    e["infoMessage"] = ""
                    if p.state == PRIMARY and p.election_ts:
                        e["electionTime"] = Timestamp(*p.election_ts)
                        e["electionDate"] = dt_from(p.election_ts[0])
                    e["configVersion"] = p.cfg[0]
                    e["configTerm"] = p.cfg[1]
                else:
                    e["health"] = 0.0
                    e["state"] = 8
                    e["stateStr"] = "(not reachable/healthy)"
                    e["uptime"] = 0
                    e["optime"] = optime_doc(NULL_OPTIME)
                    e["optimeDurable"] = optime_doc(NULL_OPTIME)
                    e["optimeDate"] = EPOCH
                    e["optimeDurableDate"] = EPOCH
                    e["lastAppliedWallTime"] = EPOCH
                    e["lastDurableWallTime"] = EPOCH
                    e["lastHeartbeat"] = sent
                    e["lastHeartbeatRecv"] = recv
                    e["pingMs"] = Int64(0)
                    e["lastHeartbeatMessage"] = (
                        "Couldn't get a connection within the time limit of %dms" %
                        int(self.hb_timeout() * 1000))
                    e["authenticated"] = False
                    e["syncSourceHost"] = ""
                    e["syncSourceId"] = -1
                    e["infoMessage"] = ""
                    e["configVersion"] = -1
                    e["configTerm"] = -1
            members.append(e)
        voters = self.voters()
        r = OrderedDict()
        r["set"] = self.config["_id"]
        r["date"] = dt_from(wall)
        r["myState"] = self.state
        r["term"] = Int64(self.term)
        sync = self.primary_host if self.state == SECONDARY and self.primary_host else ""
        r["syncSourceHost"] = sync
        r["syncSourceId"] = self.member_by_host(sync)["_id"] if sync else -1
        r["heartbeatIntervalMillis"] = Int64(self.setting("heartbeatIntervalMillis"))
        r["majorityVoteCount"] = len(voters) // 2 + 1
        r["writeMajorityCount"] = len(voters) // 2 + 1
        r["votingMembersCount"] = len(voters)
        r["writableVotingMembersCount"] = len(voters)
        r["optimes"] = OrderedDict([
            ("lastCommittedOpTime", optime_doc(self.commit)),
            ("lastCommittedWallTime", dt_from(self.commit_wall)),
            ("readConcernMajorityOpTime", optime_doc(self.commit)),
            ("appliedOpTime", optime_doc(self.optime)),
            ("durableOpTime", optime_doc(self.optime)),
            ("lastAppliedWallTime", dt_from(self.optime_wall)),
            ("lastDurableWallTime", dt_from(self.optime_wall))])
        r["lastStableRecoveryTimestamp"] = Timestamp(self.commit[1], self.commit[2])
        r["members"] = members
        r["ok"] = 1.0
        r.update(self.cluster_time_fields())
        return r

    def config_doc(self):
        c = self.config
        s = c.get("settings", {})
        members = []
        for m in c["members"]:
            members.append(OrderedDict([
                ("_id", m["_id"]), ("host", m["host"]), ("arbiterOnly", m["arbiterOnly"]),
                ("buildIndexes", m["buildIndexes"]), ("hidden", m["hidden"]),
                ("priority", float(m["priority"])), ("tags", dict(m["tags"])),
                ("secondaryDelaySecs", Int64(m["secondaryDelaySecs"])), ("votes", m["votes"])]))
        settings = OrderedDict([
            ("chainingAllowed", bool(s.get("chainingAllowed", True))),
            ("heartbeatIntervalMillis", self.setting("heartbeatIntervalMillis")),
            ("heartbeatTimeoutSecs", self.setting("heartbeatTimeoutSecs")),
            ("electionTimeoutMillis", self.setting("electionTimeoutMillis")),
            ("catchUpTimeoutMillis", int(s.get("catchUpTimeoutMillis", -1))),
            ("catchUpTakeoverDelayMillis", int(s.get("catchUpTakeoverDelayMillis", 30000))),
            ("getLastErrorModes", {}),
            ("getLastErrorDefaults", OrderedDict([("w", 1), ("wtimeout", 0)])),
            ("replicaSetId", ObjectId(s["replicaSetId"]))])
        return OrderedDict([
            ("_id", c["_id"]), ("version", c["version"]), ("term", c["term"]),
            ("members", members), ("protocolVersion", Int64(1)),
            ("writeConcernMajorityJournalDefault", True), ("settings", settings)])

    def reconfig(self, doc, force):
        new = normalize_config(doc, self.config)
        if self.member_by_host(self.me) is None and self.state == REMOVED and not force:
            raise CmdError(10107, "NotWritablePrimary",
                           "replSetReconfig should only be run on a writable PRIMARY")
        if not any(m["host"] == self.me for m in new["members"]):
            raise CmdError(74, "NodeNotFound",
                           "No host described in new configuration with {version: %d, term: %d} "
                           "for replica set %s maps to this node" % (
                               new["version"], new["term"], new["_id"]))
        if force:
            # MongoDB: a forced reconfig bumps the version by a large random amount so it
            # wins over any config the lost members may still carry, and leaves the term
            # uninitialised (-1) so only versions are compared.
            new["version"] = max(new["version"], self.config["version"]) + \
                10000 + random.randint(0, 100000)
            new["term"] = -1
            log("FORCED reconfig to version %d (%d members) accepted as %s" % (
                new["version"], len(new["members"]), STATE_NAMES[self.state]))
            self._apply_config(new)
            return
        if self.state != PRIMARY:
            raise CmdError(10107, "NotWritablePrimary",
                           "replSetReconfig should only be run on a writable PRIMARY. Current "
                           "state %s;" % STATE_NAMES.get(self.state, "?"))
        if new["version"] <= self.config["version"]:
            raise CmdError(103, "NewReplicaSetConfigurationIncompatible",
                           "New replica set configuration version must be greater than old, "
                           "but %d is not greater than %d for replica set %s" % (
                               new["version"], self.config["version"], new["_id"]))
        old_voters = {m["host"] for m in self.voters()}
        new_voters = {m["host"] for m in new["members"] if m["votes"]}
        if len(old_voters ^ new_voters) > 1:
            raise CmdError(103, "NewReplicaSetConfigurationIncompatible",
                           "Non force replica set reconfig can only add or remove at most 1 "
                           "voting member.")
        if self.commit[0] < self.term:
            raise CmdError(
                308, "CurrentConfigNotCommittedYet",
                "Cannot run replSetReconfig because the current config is not majority "
                "committed.")
        # Quorum check: a majority of the new config's voters must answer heartbeats.
        t = mono()
        up = sum(1 for h in new_voters if h == self.me or self.peer_healthy(h, t))
        if up < len(new_voters) // 2 + 1:
            raise CmdError(74, "NodeNotFound",
                           "Quorum check failed because not enough voting nodes responded; "
                           "required %d but only %d responded" % (len(new_voters) // 2 + 1, up))
        new["term"] = self.term
        log("reconfig to version %d term %d accepted on PRIMARY" % (new["version"], self.term))
        self._apply_config(new)
        self.send_heartbeats()

    def insert(self, req):
        if self.state != PRIMARY:
            raise CmdError(10107, "NotWritablePrimary", "not primary")
        doc = req.doc
        coll = doc["insert"]
        db = doc.get("$db") or req.namespace.split(".")[0]
        docs = doc.get("documents") or []
        if not isinstance(coll, str) or not isinstance(docs, list):
            raise CmdError(14, "TypeMismatch", "bad insert")
        ns = "%s.%s" % (db, coll)
        for d in docs:
            d = dict(d)
            d.setdefault("_id", ObjectId())
            jd = json.loads(json_util.dumps(d))
            ot = self._advance_optime()
            self.oplog.append({"ot": list(ot), "wall": self.optime_wall, "ns": ns, "doc": jd})
            self.data.setdefault(ns, []).append(jd)
        r = OrderedDict([("n", len(docs)), ("electionId", self.election_id),
                         ("opTime", optime_doc(self.optime)), ("ok", 1.0)])
        r.update(self.cluster_time_fields())
        return r

    def read_docs(self, req, key):
        doc = req.doc
        read_ok = self.state == PRIMARY or getattr(req, "slave_ok", False) or \
            (doc.get("$readPreference") or {}).get("mode", "primary") != "primary"
        if self.state == REMOVED:
            raise CmdError(13436, "NotPrimaryOrSecondary", "node is not in primary or recovering state")
        if not read_ok:
            raise CmdError(13435, "NotPrimaryNoSecondaryOk", "not master and slaveOk=false")
        db = doc.get("$db") or req.namespace.split(".")[0]
        ns = "%s.%s" % (db, doc[key])
        return [json_util.loads(json.dumps(d)) for d in self.data.get(ns, [])], ns

    def dispatch(self, req):
        doc = req.doc
        if "$query" in doc and isinstance(doc["$query"], dict):
            doc = doc["$query"]
        if not doc:
            raise CmdError(59, "CommandNotFound", "no command")
        name = next(iter(doc))
        lname = name.lower()
        with self.lock:
            if lname in ("hello", "ismaster"):
                return self.hello(lname == "ismaster", bool(doc.get("helloOk")))
            if name == "replSetGetStatus":
                return self.repl_status()
            if name == "replSetGetConfig":
                r = OrderedDict([("config", self.config_doc())])
                if doc.get("commitmentStatus"):
                    r["commitmentStatus"] = self.state == PRIMARY and self.commit[0] == self.term
                r["ok"] = 1.0
                r.update(self.cluster_time_fields())
                return r
            if name == "replSetReconfig":
                self.reconfig(doc[name], bool(doc.get("force", False)))
                r = OrderedDict([("ok", 1.0)])
                r.update(self.cluster_time_fields())
                return r
            if name == "replSetStepDown":
                if self.state != PRIMARY:
                    raise CmdError(10107, "NotWritablePrimary",
                                   "not primary so can't step down")
                secs = float(doc[name] or 60)
                self._step_down("replSetStepDown")
                self.stepdown_until = mono() + secs
                return OrderedDict([("ok", 1.0)])
            if name == "insert":
                return self.insert(req)
            if name == "find":
                docs, ns = self.read_docs(req, "find")
                lim = int(doc.get("limit", 0) or 0)
                if lim > 0:
                    docs = docs[:lim]
                return OrderedDict([("cursor", OrderedDict([
                    ("firstBatch", docs), ("id", Int64(0)), ("ns", ns)])), ("ok", 1.0)])
            if name == "count":
                docs, _ = self.read_docs(req, "count")
                return OrderedDict([("n", len(docs)), ("ok", 1.0)])
            if lname == "ping":
                return OrderedDict([("ok", 1.0)])
            if lname == "buildinfo":
                return OrderedDict([("version", VERSION), ("gitVersion", "mongosim"),
                                    ("versionArray", [6, 0, 13, 0]), ("bits", 64),
                                    ("maxBsonObjectSize", 16777216), ("ok", 1.0)])
            if name == "serverStatus":
                return OrderedDict([
                    ("host", socket.gethostname()), ("version", VERSION),
                    ("process", "mongod"), ("pid", Int64(os.getpid())),
                    ("uptime", float(int(mono() - self.started))),
                    ("localTime", dt_from(now_wall())),
                    ("repl", self.hello(False, False)), ("ok", 1.0)])
            if name in ("endSessions", "killCursors", "getLastError"):
                return OrderedDict([("ok", 1.0)])
        raise CmdError(59, "CommandNotFound", "no such command: '%s'" % name)

    def handle_request(self, req):
        """mockupdb autoresponder: every request ends here; nothing may escape."""
        try:
            if isinstance(req, mockupdb.OpMsg) and \
                    req.flags & mockupdb.OP_MSG_FLAGS["moreToCome"]:
                try:
                    self.dispatch(req)   # unacknowledged write: no reply allowed
                except Exception:
                    pass
                return True
            if not isinstance(req, (mockupdb.OpMsg, mockupdb.Command)):
                req.fail("mongosim answers commands only")
                return True
            try:
                reply = self.dispatch(req)
            except CmdError as e:
                reply = OrderedDict([("ok", 0.0), ("errmsg", e.msg), ("code", e.code),
                                     ("codeName", e.code_name)])
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                reply = OrderedDict([("ok", 0.0), ("errmsg", "bad command: %s" % e),
                                     ("code", 9), ("codeName", "FailedToParse")])
            req.reply(reply)
        except Exception:
            log("request handler error: %s" % traceback.format_exc(limit=3))
            try:
                req.reply(OrderedDict([("ok", 0.0), ("errmsg", "internal error"),
                                       ("code", 1), ("codeName", "InternalError")]))
            except Exception:
                pass
        return True


def load_config(path):
    with open(path) as f:
        c = json.load(f)
    c.setdefault("version", 1)
    c.setdefault("term", 0)
    settings = c.setdefault("settings", {})
    for k, v in DEFAULTS.items():
        settings.setdefault(k, v)
    settings.setdefault("replicaSetId", str(ObjectId()))
    members = []
    for m in c["members"]:
        votes = int(m.get("votes", 1))
        members.append(OrderedDict([
            ("_id", int(m["_id"])), ("host", m["host"]), ("arbiterOnly", False),
            ("buildIndexes", True), ("hidden", bool(m.get("hidden", False))),
            ("priority", float(m.get("priority", 1.0 if votes else 0.0))),
            ("tags", dict(m.get("tags", {}))), ("secondaryDelaySecs", 0), ("votes", votes)]))
    c["members"] = members
    return c


def main():
    ap = argparse.ArgumentParser(description="simulated MongoDB 6 replica-set member")
    ap.add_argument("--me", required=True, help="this member's host:port (as in the config)")
    ap.add_argument("--config", required=True, help="initial replica set config (JSON)")
    ap.add_argument("--status-file", help="JSON status written every 250 ms (for `lab status`)")
    ap.add_argument("--pid-file")
    args = ap.parse_args()

    config = load_config(args.config)
    if not any(m["host"] == args.me for m in config["members"]):
        sys.exit("mongosim: %s is not a member of the config" % args.me)
    member = Member(args.me, config, args.status_file)
    stop = threading.Event()

    server = mockupdb.MockupDB(port=member.port, request_timeout=5)
    server._address = (member.addr, member.port)
    server.autoresponds(member.handle_request)
    server.run()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    log("member %s up (replica set %s, %d members, pid %d)" % (
        args.me, config["_id"], len(config["members"]), os.getpid()))
    net = threading.Thread(target=member.run_network, args=(stop,), daemon=True)
    net.start()
    while not stop.is_set():
        stop.wait(0.5)
    log("shutting down")
    if args.status_file:
        try:
            os.unlink(args.status_file)
        except OSError:
            pass
    # mockupdb's stop() joins every connection thread (seconds); all state is in memory
    # and all threads are daemons, so leave at once.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
