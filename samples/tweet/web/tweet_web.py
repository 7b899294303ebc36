#!/usr/bin/python3
"""tweet-web: the Tweet sample's web UI, or (--admin) its store's admin UI.

    tweet-web [--admin] [--port 8080] [--store HOST:PORT]

The web UI lists the latest items the producer wrote to the store (a Redis list "tweets",
newest first): GET / (HTML, refreshed every 2 s), GET /api/items?n=20 (JSON), GET /health.
The admin UI shows the store: GET / (server info, keys, the list's length), POST /trim
(keep the latest N items), GET /api/info (JSON), GET /health.
The store is STORE (default store:6379). The Redis protocol is spoken directly (standard
library only). SIGTERM and SIGINT stop the server at once.
"""
import argparse
import html
import json
import os
import signal
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIST = "tweets"


class StoreError(Exception):
    pass


class Store:
    """A small Redis client: one connection per call, RESP arrays in, replies parsed."""

    def __init__(self, hostport):
        host, _, port = hostport.rpartition(":")
        self.addr = (host or hostport, int(port) if host else 6379)

    def call(self, *args):
        try:
            with socket.create_connection(self.addr, timeout=3) as s:
                req = b"*%d\r\n" % len(args)
                for a in args:
                    a = a if isinstance(a, bytes) else str(a).encode()
                    req += b"$%d\r\n%s\r\n" % (len(a), a)
                s.sendall(req)
                return self._reply(s.makefile("rb"))
        except OSError as e:
            raise StoreError("store %s:%d: %s" % (self.addr[0], self.addr[1], e)) from e

    def _reply(self, f):
        line = f.readline()
        if not line.endswith(b"\r\n"):
            raise StoreError("store: connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise StoreError("store: " + rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply(f) for _ in range(n)]
        raise StoreError("store: unexpected reply %r" % line[:40])


def latest(store, n):
    items = []
    for raw in store.call("LRANGE", LIST, 0, n - 1) or []:
        try:
            items.append(json.loads(raw))
        except ValueError:
            items.append({"id": None, "user": "?", "text": raw, "time": ""})
    return items


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>%(title)s</title>%(refresh)s
<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;color:#222}
li{margin:.5em 0}.u{font-weight:bold}.t{color:#888;font-size:small}
table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}
.error{color:#b00}</style></head>
<body><h1>%(title)s</h1>
%(body)s
</body></html>
"""


def page(title, body, refresh=False):
    return PAGE % {
        "title": html.escape(title),
        "refresh": '<meta http-equiv="refresh" content="2">' if refresh else "",
        "body": body,
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "tweet-web"
    store = None
    admin = False

    def log_message(self, fmt, *args):  # quiet: no line per request
        pass

    def send(self, code, body, ctype="text/html; charset=utf-8"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, code, obj):
        self.send(code, json.dumps(obj) + "\n", "application/json")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        try:
            if url.path == "/health":
                self.store.call("PING")
                return self.send(200, "ok\n", "text/plain")
            if self.admin:
                return self.admin_get(url.path)
            if url.path == "/api/items":
                n = max(1, min(1000, int(query.get("n", ["20"])[0])))
                return self.send_json(200, latest(self.store, n))
            if url.path == "/":
                return self.send(200, self.items_page())
            return self.send(404, page("Not found", "<p>Not found.</p>"))
        except StoreError as e:
            return self.send(503, page("Store unavailable", '<p class="error">%s</p>' % html.escape(str(e))))
        except ValueError:
            return self.send(400, page("Bad request", "<p>Bad request.</p>"))

    def items_page(self):
        items = latest(self.store, 20)
        total = self.store.call("GET", "tweets:seq") or 0
        lis = "".join(
            '<li class="item"><span class="u">@%s</span> %s <span class="t">#%s %s</span></li>'
            % (html.escape(str(i.get("user"))), html.escape(str(i.get("text"))),
               html.escape(str(i.get("id"))), html.escape(str(i.get("time"))))
            for i in items)
        body = "<p>The latest %d of %s items written by the producer.</p><ul>%s</ul>" % (
            len(items), html.escape(str(total)), lis or "<li>No item yet.</li>")
        return page("Tweet", body, refresh=True)

    # ---- admin ----

    def info(self):
        text = self.store.call("INFO") or ""
        info = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                info[k] = v
        keys = []
        for k in sorted(self.store.call("KEYS", "*") or []):
            t = self.store.call("TYPE", k)
            size = self.store.call("LLEN", k) if t == "list" else self.store.call("STRLEN", k) if t == "string" else None
            keys.append({"key": k, "type": t, "size": size})
        return {"info": info, "keys": keys, "dbsize": self.store.call("DBSIZE")}

    def admin_get(self, path):
        if path == "/api/info":
            return self.send_json(200, self.info())
        if path != "/":
            return self.send(404, page("Not found", "<p>Not found.</p>"))
        d = self.info()
        shown = ["redis_version", "uptime_in_seconds", "connected_clients", "used_memory_human",
                 "aof_enabled", "total_commands_processed", "role"]
        rows = "".join("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(k), html.escape(d["info"].get(k, "")))
                       for k in shown)
        keys = "".join("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            html.escape(k["key"]), html.escape(str(k["type"])), html.escape(str(k["size"])))
            for k in d["keys"])
        body = ("<h2>Server</h2><table>%s</table>"
                "<h2>Keys (%s)</h2><table><tr><th>key</th><th>type</th><th>size</th></tr>%s</table>"
                '<h2>Trim</h2><form method="post" action="/trim">Keep the latest '
                '<input name="keep" value="100" size="5"> items <button>Trim</button></form>') % (
            rows, html.escape(str(d["dbsize"])), keys)
        return self.send(200, page("Tweet store admin", body))

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if not self.admin or url.path != "/trim":
            return self.send(404, page("Not found", "<p>Not found.</p>"))
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(min(n, 4096)).decode(errors="replace"))
        try:
            keep = int(form.get("keep", [""])[0])
            if keep < 0:
                raise ValueError
            self.store.call("LTRIM", LIST, 0, keep - 1)
        except ValueError:
            return self.send(400, page("Bad request", "<p>keep: a number &gt;= 0</p>"))
        except StoreError as e:
            return self.send(503, page("Store unavailable", '<p class="error">%s</p>' % html.escape(str(e))))
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    p = argparse.ArgumentParser(description="Tweet web UI / store admin UI")
    p.add_argument("--admin", action="store_true", help="the store's admin UI")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    p.add_argument("--store", default=os.environ.get("STORE", "store:6379"))
    a = p.parse_args()
    Handler.store = Store(a.store)
    Handler.admin = a.admin
    server = ThreadingHTTPServer(("", a.port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        # shutdown() waits for serve_forever, which runs in this thread: do it from another
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("tweet-web: %s on port %d, store %s" % ("admin UI" if a.admin else "web UI", a.port, a.store),
          flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    print("tweet-web: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
