#!/usr/bin/python3
"""A misbehaving peer for quorate's integration tests (Debian python3-zmq).

usage: hostile_peer.py MODE ENDPOINT SERVER_PUBLIC_KEY [CERT_FILE] [COUNT]

MODE: garbage (random bytes), truncated (a cut protobuf), version (an
envelope with protocol version 99), plaintext (no CURVE at all), badkey
(a key the server does not know), oversized (a frame above the limit),
multiframe (three frames), wrongserverkey (a valid client key, but the
wrong server public key: the handshake cannot complete), replay (well-formed
reports in the name of the certificate's node, carrying an old sent_at time
and term 0, as a replay of an old capture would). Sends COUNT messages
(default 50) and exits 0; the server must drop them all and keep serving
honest peers.

Further modes (see each function for its arguments):
  hostile_peer.py opreq ENDPOINT SERVER_KEY CERT COMMAND [ARG...]
      one operator request; prints {"answered": bool, "code": N} as JSON
  hostile_peer.py fake-controller BIND_ENDPOINT SECRET_CERT OUT_JSON
      plays a controller that attacks the agent that connects to it
  hostile_peer.py flood ENDPOINT SERVER_KEY COUNT
      COUNT connects and disconnects (half raw TCP, half CURVE with unknown keys)
  hostile_peer.py agents ENDPOINT SERVER_KEY CERT_DIR ROUNDS
      every CERT_DIR/*.key_secret as a simulated agent: connect, heartbeat,
      report, go away; ROUNDS times
"""
import os
import random
import sys
import time

import zmq


def read_cert(path):
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            for k in ("public-key", "secret-key"):
                if line.startswith(k):
                    keys[k] = line.split("=", 1)[1].strip().strip('"')
    return keys["public-key"].encode(), keys.get("secret-key", "").encode()


def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def envelope(version, sender=b"rogue"):
    # field 1 version (varint), field 2 sender (bytes), field 11 heartbeat (empty message)
    return (b"\x08" + pb_varint(version) + b"\x12" + pb_varint(len(sender)) + sender
            + b"\x5a\x00")


def pb_field(num, value):
    """One canonical proto3 field: zero/empty values are omitted, as
    protobuf-c packs them (the receivers refuse non-canonical frames)."""
    if isinstance(value, int):
        if value == 0:
            return b""
        if value < 0:
            value += 1 << 64
        return pb_varint(num << 3) + pb_varint(value)
    if isinstance(value, str):
        value = value.encode()
    return pb_varint((num << 3) | 2) + pb_varint(len(value)) + value


def pb_msg(num, body):
    """A sub-message field: always present (a oneof member), even when empty."""
    return pb_varint((num << 3) | 2) + pb_varint(len(body)) + body


ROLE_AGENT, ROLE_CONTROLLER, ROLE_OPERATOR = 0, 1, 2


def env(sender, role, term, seq, sent_at_us, body_num, body, version=1):
    return (pb_field(1, version) + pb_field(2, sender) + pb_field(3, role) + pb_field(4, term)
            + pb_field(5, seq) + pb_field(6, sent_at_us) + pb_msg(body_num, body))


def report_body(node, dc, cycle, summary):
    check = (pb_field(1, "host") + pb_field(2, 2) + pb_field(3, summary)
             + pb_field(4, '{"replayed": true}'))
    return (pb_field(1, node) + pb_field(2, dc) + pb_field(3, cycle) + pb_msg(4, check)
            + pb_field(6, 1000) + pb_field(7, "0.0.1"))


def pb_parse(buf):
    """Decodes one message level: {field: [values]} (varints as int, others bytes)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def read_varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def signed32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def read_meta_name(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("name"):
                return line.split("=", 1)[1].strip().strip('"')
    return "rogue"


def curve_socket(ctx, kind, cert, server_key):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    pub, sec = read_cert(cert) if cert else zmq.curve_keypair()
    s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, server_key
    return s


def opreq(endpoint, server_key, cert, command, args):
    """Sends one operator request with CERT's key; answered or not, and the code."""
    import json
    ctx = zmq.Context()
    s = curve_socket(ctx, zmq.DEALER, cert, server_key.encode())
    s.connect(endpoint)
    body = pb_field(1, command) + b"".join(pb_field(2, a) for a in args)
    s.send(env(read_meta_name(cert), ROLE_OPERATOR, 0, 1, int(time.time() * 1e6), 12, body))
    result = {"answered": False, "code": None}
    if s.poll(3000):
        rep = pb_parse(s.recv())
        op = pb_parse(rep.get(13, [b""])[0])
        result = {"answered": True, "code": signed32(op.get(1, [0])[0])}
    print(json.dumps(result))
    s.close()
    ctx.term()


def fake_controller(bind, cert, out_path):
    """A controller (it holds a controller key the agent trusts) that attacks
    the agent: garbage, truncated, oversized and multi-frame messages, a wrong
    protocol version, commands from an earlier term, a command claiming to
    come from an agent, an unknown command. Records the agent's answers."""
    import json
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.setsockopt(zmq.LINGER, 0)
    pub, sec = read_cert(cert)
    s.curve_server = True
    s.curve_publickey, s.curve_secretkey = pub, sec
    s.bind(bind)
    res = {"agent_messages": 0, "results": {}, "oversized_sent": 0, "garbage_sent": 0,
           "reconnected_after_oversized": False}

    def recv_until(deadline, want_ids=()):
        rid = None
        while time.time() < deadline:
            if not s.poll(100):
                continue
            frames = s.recv_multipart()
            rid = frames[0]
            res["agent_messages"] += 1
            e = pb_parse(frames[-1])
            if 17 in e:
                cr = pb_parse(e[17][0])
                cid = cr.get(1, [0])[0]
                res["results"][str(cid)] = {
                    "code": signed32(cr.get(2, [0])[0]),
                    "error": cr.get(3, [b""])[0].decode(errors="replace"),
                    "seen_term": cr.get(5, [0])[0]}
                if all(str(w) in res["results"] for w in want_ids):
                    if want_ids:
                        return rid
            elif not want_ids:
                return rid
        return rid

    rid = recv_until(time.time() + 15)
    if rid is None:
        res["error"] = "the agent never connected"
    else:
        rnd = random.Random(7)
        for _ in range(200):  # garbage and truncated frames
            s.send_multipart([rid, bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 200)))])
            s.send_multipart([rid, envelope(1)[: rnd.randint(1, 6)]])
            res["garbage_sent"] += 2
        s.send_multipart([rid, b"x", b"y", b"z"])  # multi-frame
        s.send_multipart([rid, env("ctlx", ROLE_CONTROLLER, 1, 1, int(time.time() * 1e6), 14,
                                   pb_field(1, 1), version=99)])  # wrong version
        now = int(time.time() * 1e6)
        cmd = lambda cid, kind: pb_field(1, cid) + pb_field(2, kind) + pb_field(3, "{}")
        # term 0: older than the term the honest controller announced
        s.send_multipart([rid, env("ctlx", ROLE_CONTROLLER, 0, 2, now, 16,
                                   cmd(101, "apply_labels"))])
        # a command that claims to come from an agent
        s.send_multipart([rid, env("ctlx", ROLE_AGENT, 1 << 40, 3, now, 16,
                                   cmd(102, "apply_labels"))])
        # an unknown command at the current term (1: the honest leader's)
        s.send_multipart([rid, env("ctlx", ROLE_CONTROLLER, 1, 4, now, 16, cmd(103, "rm_rf"))])
        recv_until(time.time() + 10, want_ids=(101, 102, 103))
        # an oversized frame: the agent's socket must drop the connection
        # (ZMQ_MAXMSGSIZE) and reconnect, not allocate it
        s.send_multipart([rid, os.urandom(2 * 1024 * 1024)])
        res["oversized_sent"] = 1
        time.sleep(1.0)
        while s.poll(0):  # what was in flight before the link broke
            s.recv_multipart()
        # a live link brings a heartbeat every heartbeat_ms (500 ms in the tests)
        # (an agent may wait for a few silent ping intervals before it rebuilds)
        after, deadline = 0, time.time() + 15
        while time.time() < deadline and after < 3:
            if s.poll(100):
                s.recv_multipart()
                after += 1
        res["messages_after_oversized"] = after
        res["reconnected_after_oversized"] = after >= 3
    with open(out_path, "w") as f:
        json.dump(res, f)
    s.close()
    ctx.term()


def flood(endpoint, server_key, count):
    """COUNT connects and disconnects: half plain TCP (connect, close), half
    ZeroMQ CURVE clients with fresh unknown keys (handshake, ZAP refusal)."""
    import socket
    host, port = endpoint.replace("tcp://", "").rsplit(":", 1)
    raw = count // 2
    for i in range(raw):
        c = socket.create_connection((host, int(port)), timeout=2)
        if i % 2:
            c.sendall(b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f")  # a ZMTP greeting start
        c.close()
    ctx = zmq.Context()
    ctx.setsockopt(zmq.MAX_SOCKETS, 4096)
    batch = []
    for i in range(count - raw):
        d = curve_socket(ctx, zmq.DEALER, None, server_key.encode())
        d.connect(endpoint)
        batch.append(d)
        if len(batch) == 100:
            time.sleep(0.05)
            for b in batch:
                b.close()
            batch = []
    time.sleep(0.2)
    for b in batch:
        b.close()
    ctx.term()
    print("flood: %d TCP + %d CURVE connects" % (raw, count - raw))


def agents(endpoint, server_key, cert_dir, rounds):
    """Every CERT_DIR/*.key_secret plays an agent: connect, heartbeat, one
    report, disconnect; ROUNDS times over."""
    import glob
    certs = sorted(glob.glob(os.path.join(cert_dir, "*.key_secret")))
    ctx = zmq.Context()
    ctx.setsockopt(zmq.MAX_SOCKETS, len(certs) + 64)
    for r in range(rounds):
        socks = []
        for c in certs:
            name = read_meta_name(c)
            d = curve_socket(ctx, zmq.DEALER, c, server_key.encode())
            d.setsockopt(zmq.SNDHWM, 10)
            d.connect(endpoint)
            now = int(time.time() * 1e6)
            d.send(env(name, ROLE_AGENT, 0, 1, now, 11, pb_field(1, name) + pb_field(2, "sim")),
                   flags=zmq.NOBLOCK)
            d.send(env(name, ROLE_AGENT, 0, 2, now, 10,
                       report_body(name, "sim", r + 1, "simulated agent round %d" % r)),
                   flags=zmq.NOBLOCK)
            socks.append(d)
            if len(socks) % 100 == 0:  # a wave, not one SYN burst (listen backlog 100)
                time.sleep(0.2)
        # the leader pings a node that comes up: wait for every agent's ping
        # (its messages were processed), at most 60 s
        poller = zmq.Poller()
        for d in socks:
            poller.register(d, zmq.POLLIN)
        t0 = time.time()
        waiting, deadline = set(socks), t0 + 60
        while waiting and time.time() < deadline:
            for d, _ in poller.poll(200):
                d.recv_multipart()
                if d in waiting:
                    waiting.discard(d)
                    poller.unregister(d)
        print("agents: round %d: %d of %d agents answered in %.1f s" % (
            r + 1, len(socks) - len(waiting), len(socks), time.time() - t0))
        for d in socks:
            d.close()
        time.sleep(0.5)
    ctx.term()
    print("agents: %d simulated agents x %d rounds" % (len(certs), rounds))


def main():
    if sys.argv[1] == "opreq":
        return opreq(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    if sys.argv[1] == "fake-controller":
        return fake_controller(sys.argv[2], sys.argv[3], sys.argv[4])
    if sys.argv[1] == "flood":
        return flood(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    if sys.argv[1] == "agents":
        return agents(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    mode, endpoint, server_key = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    cert = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "-" else None
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 50
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 500)
    if mode != "plaintext":
        if mode == "badkey" or not cert:
            pub, sec = zmq.curve_keypair()
        else:
            pub, sec = read_cert(cert)
        if mode == "wrongserverkey":
            server_key = zmq.curve_keypair()[0]
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, server_key
    s.connect(endpoint)
    rnd = random.Random(42)
    for i in range(count):
        if mode == "replay":
            name = read_meta_name(cert)
            old = int((time.time() - 3600) * 1e6)  # captured an hour ago
            msg = [env(name, ROLE_AGENT, 0, i + 1, old + i, 10,
                       report_body(name, "replayed", i + 1, "REPLAYED old report"))]
        elif mode in ("garbage", "badkey", "plaintext", "wrongserverkey"):
            msg = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))]
        elif mode == "truncated":
            msg = [envelope(1)[: rnd.randint(1, 6)]]
        elif mode == "version":
            msg = [envelope(99)]
        elif mode == "oversized":
            msg = [os.urandom(2 * 1024 * 1024)]
        elif mode == "multiframe":
            msg = [b"a", b"b", b"c"]
        else:
            sys.exit("unknown mode " + mode)
        try:
            s.send_multipart(msg, flags=zmq.NOBLOCK)
        except zmq.Again:
            pass
        time.sleep(0.005)
    time.sleep(0.5)
    s.close()
    ctx.term()


if __name__ == "__main__":
    main()
