#!/usr/bin/python3
"""A local HTTP receiver for alert tests: records every POST (path, headers,
JSON body) as one line of JSON in OUT_FILE and answers 200, or the status
codes given with --fail (e.g. --fail 503,503 answers 503 twice, then 200).

usage: webhook_sink.py PORT_FILE OUT_FILE [--fail CODES]
Listens on 127.0.0.1 on an ephemeral port, written to PORT_FILE."""
import http.server
import json
import sys

port_file, out_file = sys.argv[1], sys.argv[2]
fails = []
if len(sys.argv) > 4 and sys.argv[3] == "--fail":
    fails = [int(c) for c in sys.argv[4].split(",") if c]


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(n, 4 << 20))
            try:
                doc = json.loads(body)
            except ValueError:
                doc = body.decode("utf-8", "replace")
            code = fails.pop(0) if fails else 200
            with open(out_file, "a") as f:
                f.write(json.dumps({"path": self.path, "code": code,
                                    "headers": dict(self.headers), "body": doc,
                                    "raw": body.decode("utf-8", "replace")}) + "\n")
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except Exception as e:  # never die on a bad request
            sys.stderr.write("sink: %r\n" % e)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
