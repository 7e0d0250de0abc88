#!/usr/bin/python3
"""A misbehaving peer for quorate's integration tests (Debian python3-zmq).

usage: hostile_peer.py MODE ENDPOINT SERVER_PUBLIC_KEY [CERT_FILE] [COUNT]

MODE: garbage (random bytes), truncated (a cut protobuf), version (an
envelope with protocol version 99), plaintext (no CURVE at all), badkey
(a key the server does not know), oversized (a frame above the limit),
multiframe (three frames). Sends COUNT messages (default 50) and exits 0;
the server must drop them all and keep serving honest peers.
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


def main():
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
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, server_key
    s.connect(endpoint)
    rnd = random.Random(42)
    for i in range(count):
        if mode in ("garbage", "badkey", "plaintext"):
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
