#!/usr/bin/env python3
"""A canned Docker engine on a unix socket, for what the real one will not do
on demand: an image export that stalls, or one cut short.

    fake-engine.py SOCKET MODE      MODE: stall | truncate

Answers GET /_ping, GET /v1.41/images/NAME/json and GET /v1.41/images/NAME/get;
everything else is a 404. Runs until killed."""
import http.server
import json
import os
import socketserver
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", length=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            return self.send(200, b"OK", "text/plain")
        if path.startswith("/v1.41/images/") and path.endswith("/json"):
            return self.send(200, json.dumps({"Id": "sha256:" + "0" * 64,
                                              "RepoTags": ["fake:1"]}).encode())
        if path.startswith("/v1.41/images/") and path.endswith("/get"):
            if MODE == "stall":
                self.send_response(200)
                self.send_header("Content-Type", "application/x-tar")
                self.send_header("Content-Length", "1048576")
                self.end_headers()
                self.wfile.flush()
                time.sleep(120)
                return
            # a tar header and a little data, then the connection closes
            self.send(200, b"manifest.json".ljust(512, b"\0") + b"x" * 600,
                      "application/x-tar", length=1048576)
            self.close_connection = True
            return
        self.send(404, b'{"message": "not found"}')


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("local", 0)


if __name__ == "__main__":
    SOCK, MODE = sys.argv[1], sys.argv[2]
    if os.path.exists(SOCK):
        os.unlink(SOCK)
    Server(SOCK, Handler).serve_forever()
