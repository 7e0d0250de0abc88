#!/usr/bin/python3
"""mongocli: a tiny MongoDB client for the lab (Debian's pymongo 3.11, /usr/bin/python3).

Run it inside a lab host's namespace (`lab exec HOST -- /usr/bin/python3 mongocli.py ...`),
since member addresses exist only there.

  mongocli.py cmd HOST:PORT '{"replSetGetStatus": 1}'     run an admin command, print it
                                                          as relaxed Extended JSON
  mongocli.py view HOST:PORT [HOST:PORT ...]              one JSON line: per member, what it
                                                          says about itself (state, primary,
                                                          term, config version, healthy peers)
  mongocli.py force-reconfig HOST:PORT --keep H:P,H:P     read the config on HOST, keep only
                                                          the listed members, send
                                                          replSetReconfig with force: true
  mongocli.py insert HOST:PORT N                          insert N documents into lab.t
  mongocli.py count HOST:PORT                             count lab.t (secondaries allowed)

Exit status: 0 ok, 1 the server answered with an error, 2 cannot connect / bad usage.
"""

import json
import sys
import threading

from bson import json_util
from bson.json_util import RELAXED_JSON_OPTIONS
import pymongo
from pymongo.errors import OperationFailure, PyMongoError


def client(host, timeout_ms=1500):
    return pymongo.MongoClient(host, directConnection=True,
                               serverSelectionTimeoutMS=timeout_ms,
                               connectTimeoutMS=timeout_ms, socketTimeoutMS=timeout_ms * 2)


def dump(doc):
    return json_util.dumps(doc, json_options=RELAXED_JSON_OPTIONS)


def view_one(host, out):
    c = client(host)
    try:
        st = c.admin.command("replSetGetStatus")
        me = [m for m in st["members"] if m.get("self")][0]
        primary = [m["name"] for m in st["members"] if m.get("stateStr") == "PRIMARY"
                   and m.get("health") == 1]
        out[host] = {"reachable": True, "state": me["stateStr"], "term": int(st["term"]),
                     "primary": primary[0] if primary else "",
                     "config_version": me["configVersion"],
                     "healthy": sorted(m["name"] for m in st["members"]
                                       if m.get("health") == 1),
                     "optime": [int(me["optime"]["t"]), me["optime"]["ts"].time,
                                me["optime"]["ts"].inc]}
    except OperationFailure as e:
        state = "REMOVED" if e.code == 93 else "ERROR"
        out[host] = {"reachable": True, "state": state, "error": str(e)}
    except PyMongoError as e:
        out[host] = {"reachable": False, "error": e.__class__.__name__}
    finally:
        c.close()


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    op, host = argv[1], argv[2]
    try:
        if op == "cmd":
            if len(argv) != 4:
                sys.stderr.write("usage: mongocli.py cmd HOST:PORT JSON\n")
                return 2
            cmd = json_util.loads(argv[3])
            c = client(host)
            print(dump(c.admin.command(cmd)))
            return 0
        if op == "view":
            out, threads = {}, []
            for h in argv[2:]:
                t = threading.Thread(target=view_one, args=(h, out))
                t.start()
                threads.append(t)
            for t in threads:
                t.join()
            print(json.dumps(out, sort_keys=True))
            return 0
        if op == "force-reconfig":
            if len(argv) != 5 or argv[3] != "--keep":
                sys.stderr.write("usage: mongocli.py force-reconfig HOST:PORT --keep H:P,...\n")
                return 2
            keep = set(argv[4].split(","))
            c = client(host)
            cfg = c.admin.command("replSetGetConfig")["config"]
            cfg["members"] = [m for m in cfg["members"] if m["host"] in keep]
            cfg["version"] = cfg["version"] + 1
            c.admin.command({"replSetReconfig": cfg, "force": True})
            new = c.admin.command("replSetGetConfig")["config"]
            print(json.dumps({"old_version": cfg["version"] - 1, "new_version": new["version"],
                              "members": [m["host"] for m in new["members"]]}))
            return 0
        if op == "insert":
            n = int(argv[3])
            c = client(host)
            r = c.lab.t.insert_many([{"i": i} for i in range(n)])
            print(json.dumps({"inserted": len(r.inserted_ids)}))
            return 0
        if op == "count":
            c = client(host)
            r = c.lab.command({"count": "t"},
                              read_preference=pymongo.ReadPreference.SECONDARY_PREFERRED)
            print(json.dumps({"n": int(r["n"])}))
            return 0
    except OperationFailure as e:
        sys.stderr.write("mongocli: server error: %s\n" % e)
        return 1
    except PyMongoError as e:
        sys.stderr.write("mongocli: %s: %s\n" % (e.__class__.__name__, e))
        return 2
    except ValueError as e:
        sys.stderr.write("mongocli: bad input: %s\n" % e)
        return 2
    sys.stderr.write("mongocli: unknown operation %r\n" % op)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
