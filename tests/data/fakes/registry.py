#!/usr/bin/env python3
"""A canned registry for what the real one will not do on demand: 503 and 429
bursts and a bearer-token challenge. Plain HTTP on 127.0.0.1, a free port,
printed on stdout once listening. Used by tests/unit/test_registry.c.

  /v2/                         401 Basic until "u:p" is sent
  HEAD /v2/flaky/manifests/t   503, 503, then 200 with a digest
  HEAD /v2/busy/manifests/t    always 429
  HEAD /v2/bearer/manifests/t  401 Bearer (realm /token); 200 with "Bearer tok-123"
  GET /token                   {"token": "tok-123"} for Basic u:p, else 401
  GET /token-count             how many /token requests this server had
  GET /v2/img/manifests/t      an image manifest, its true Docker-Content-Digest
  GET /v2/liar/manifests/t     the same manifest under another digest
  GET /v2/list/manifests/t     a manifest list (no config)
  /v2/hang/manifests/t         accepted, never answered

  registry.py --tls CERT KEY HTTP_PORT   the same over TLS, and also
  HEAD /v2/bearer-http/manifests/t  401 Bearer with an http:// realm: the
                               /token of the plain server on HTTP_PORT
The realm of /v2/bearer is this server's own /token (https:// under --tls).
"""
import base64
import hashlib
import http.server
import json
import ssl
import sys
import time

COUNTS = {}
TOKEN_REQUESTS = []
BASIC = "Basic " + base64.b64encode(b"u:p").decode()
DIGEST = "sha256:" + "ab" * 32
CONFIG = "sha256:" + "cd" * 32
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
               "size": 100, "digest": CONFIG},
    "layers": []}).encode()
MANIFEST_LIST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests": []}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, headers=(), body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        auth = self.headers.get("Authorization", "")
        COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
        n = COUNTS[self.path]
        port = self.server.server_address[1]
        if self.path == "/v2/":
            if auth != BASIC:
                return self.reply(401, [("WWW-Authenticate", 'Basic realm="fake"')])
            return self.reply(200, body=b"{}")
        if self.path == "/v2/flaky/manifests/t":
            if n <= 2:
                return self.reply(503)
            return self.reply(200, [("Docker-Content-Digest", DIGEST)])
        if self.path == "/v2/busy/manifests/t":
            return self.reply(429)
        if self.path in ("/v2/bearer/manifests/t", "/v2/bearer-http/manifests/t"):
            if auth != "Bearer tok-123":
                realm = "%s://127.0.0.1:%d/token" % ("https" if TLS else "http", port)
                if "bearer-http" in self.path:
                    realm = "http://127.0.0.1:%d/token" % TOKEN_HTTP_PORT
                ch = ('Bearer realm="%s",service="fake",'
                      'scope="repository:bearer:pull"' % realm)
                return self.reply(401, [("WWW-Authenticate", ch)])
            return self.reply(200, [("Docker-Content-Digest", DIGEST)])
        if self.path == "/v2/hang/manifests/t":
            time.sleep(600)
            return None
        if self.path in ("/v2/img/manifests/t", "/v2/liar/manifests/t", "/v2/list/manifests/t"):
            body = MANIFEST_LIST if "/list/" in self.path else MANIFEST
            dg = "sha256:" + hashlib.sha256(body).hexdigest()
            if "/liar/" in self.path:
                dg = DIGEST
            return self.reply(200, [("Docker-Content-Digest", dg),
                                    ("Content-Type", json.loads(body)["mediaType"])], body)
        if self.path == "/token-count":
            return self.reply(200, body=str(len(TOKEN_REQUESTS)).encode())
        if self.path.startswith("/token?"):
            TOKEN_REQUESTS.append(self.path)
            if auth != BASIC or "scope=repository%3Abearer%3Apull" not in self.path:
                return self.reply(401)
            return self.reply(200, [("Content-Type", "application/json")],
                              b'{"token": "tok-123"}')
        return self.reply(404)

    do_GET = route
    do_HEAD = route


TLS = False
TOKEN_HTTP_PORT = 0


def main():
    global TLS, TOKEN_HTTP_PORT
    # threads: the client keeps connections alive while it asks the token realm
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if len(sys.argv) == 5 and sys.argv[1] == "--tls":
        TLS = True
        TOKEN_HTTP_PORT = int(sys.argv[4])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
