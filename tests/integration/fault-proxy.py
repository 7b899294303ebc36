#!/usr/bin/env python3
"""A fault-injecting HTTPS proxy in front of the real TLS registry (or a TCP relay to a unix socket), for tests.

It terminates TLS with a certificate the engine trusts for 127.0.0.1
(certs.d/127.0.0.1:PORT/ca.crt), opens a verified TLS connection to the
registry per client connection, and relays HTTP/1.1 requests and responses
one at a time (docker's client does not pipeline), so faults can be placed on
request boundaries or inside a body. Python 3 standard library only.

    fault-proxy.py --cert C --key K --upstream 127.0.0.1:5000 --upstream-ca CA \
        --state-file FILE [--port N]

Without --cert, with --upstream-unix PATH, it is a plain TCP relay to that
unix socket (the engine's API as a tcp:// bay); refuse, drop, slow and stall apply
(stall matches what the client sends, e.g. a request line).
With --http as well (and --upstream-unix PATH or --upstream HOST:PORT), it is a
plain-HTTP relay that reads each request, so the faults above and hold apply
to single requests of the engine's API or of a Kubernetes API server's HTTP port.

FILE receives {"port": P, "control": C, "pid": PID} once both sockets listen.
The control endpoint (plain HTTP on 127.0.0.1:C) takes GET requests:

    /fault?mode=status&code=500&count=N   answer the next N matching requests with 500
    /fault?mode=status&code=429&seconds=T ... every matching request for T seconds
    /fault?mode=cut&after=K&count=N       cut the connection after K bytes of a matching
                                          request's body (N times)
    /fault?mode=refuse                    stop listening and drop every connection
                                          (the registry "stopped"); connects get ECONNREFUSED
    /fault?mode=refuse&match=REGEX        the same when a matching request arrives (dropped)
    /fault?mode=refuse&seconds=T          refuse for T seconds, then listen again
    /fault?mode=drop                      cut every open connection now (the fault in force
                                          stays; refuse drops them too)
    /fault?mode=refuse&match=REGEX&forward=1  the same, but the matching request reaches
                                          the upstream first (it takes effect) and its
                                          answer is lost
    /fault?mode=hold&match=REGEX&delay=T  relay a matching request, then hold its answer
                                          T seconds (count=N: the next N; default 1)
    /fault?mode=stall&match=REGEX         hold every matching request (its head and body are
                                          read, nothing is sent upstream) until the mode
                                          changes; then it is relayed, unless its client
                                          closed the connection meanwhile ("held", "gone")
    /fault?mode=slow&rate=B               relay matching requests and their responses at B
                                          bytes a second (the TCP relay: both directions)
    /fault?mode=none                      no fault (listening again if it was refused;
                                          stalled requests go on)
    &skip=N        let the first N matching requests through
    &match=REGEX   which requests ("METHOD PATH") a fault applies to; default: all for
                   status, stall and slow, blob uploads (PATCH/PUT/POST .../blobs/uploads/)
                   for cut
    /stats        JSON: requests relayed, faults injected, cuts, held (held now), gone
                  (held requests whose client went away), aborted (requests whose client
                  closed the connection in the middle of the body), slowed (bytes relayed slowly),
                  up_bytes, down_bytes (TCP relay: bytes from the clients, to them), log
                  of the last requests
"""

import argparse
import json
import os
import re
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 65536


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.mode = "none"
        self.code = 500
        self.count = 0
        self.until = 0.0
        self.after = 0
        self.match = None
        self.forward = False
        self.delay = 0.0
        self.skip = 0
        self.drop_now = False
        self.rate = 0
        self.stats = {"requests": 0, "faults": 0, "cuts": 0, "connections": 0, "held": 0,
                      "gone": 0, "slowed": 0, "up_bytes": 0, "down_bytes": 0, "aborted": 0,
                      "log": []}

    def set(self, q):
        with self.lock:
            if q.get("mode") == "drop":
                self.drop_now = True  # the fault in force stays
                return
            self.mode = q.get("mode", "none")
            self.code = int(q.get("code", 500))
            self.count = int(q.get("count", 0))
            secs = float(q.get("seconds", 0))
            self.until = time.monotonic() + secs if secs > 0 else 0.0
            if self.count == 0 and secs == 0 and self.mode in ("status", "cut"):
                self.count = 1
            self.after = int(q.get("after", 0))
            self.rate = int(q.get("rate", 0))
            self.forward = q.get("forward", "0") == "1"
            self.delay = float(q.get("delay", 0))
            self.skip = int(q.get("skip", 0))
            if self.count == 0 and secs == 0 and self.mode == "hold":
                self.count = 1
            m = q.get("match")
            if self.mode == "refuse" and m:
                self.mode = "refuse-on"  # stop when a matching request arrives
                self.count = 1
            if m is None and self.mode == "cut":
                m = r"^(PATCH|PUT|POST) .*/blobs/uploads/"
            self.match = re.compile(m) if m else None

    def active(self):
        if self.until:
            return time.monotonic() < self.until
        return self.count > 0

    def take(self, mode, line):
        """Whether a fault of this mode applies to the request line (and use it up)."""
        with self.lock:
            if self.mode != mode or not self.active():
                return False
            if self.match and not self.match.search(line):
                return False
            if self.skip > 0:
                self.skip -= 1
                return False
            if not self.until:
                self.count -= 1
            return True

    def applies(self, mode, line):
        """Whether the standing fault of this mode (stall, slow) applies to the request line."""
        with self.lock:
            return self.mode == mode and (self.match is None or self.match.search(line) is not None)

    def add(self, key, n):
        with self.lock:
            self.stats[key] += n

    def record(self, key, line=None):
        with self.lock:
            self.stats[key] += 1
            if line:
                self.stats["log"] = (self.stats["log"] + [line])[-200:]


class Reader:
    """Buffered reads from a socket (plain or TLS)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(CHUNK)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("header line too long")
            self.fill()
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def some(self, n):
        if not self.buf:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def read_head(r):
    lines = [r.line()]
    while lines[-1] != b"\r\n":
        lines.append(r.line())
    headers = {}
    for ln in lines[1:-1]:
        k, _, v = ln.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return b"".join(lines), lines[0].decode("latin-1").strip(), headers


def relay_body(r, headers, send, budget=None):
    """Copy a message body (chunked or Content-Length) from r to send().

    budget: a one-element list of bytes left before a cut (None: no cut);
    returns False when the cut was reached."""

    def out(data):
        if budget is not None:
            if len(data) >= budget[0]:
                send(data[: budget[0]])
                budget[0] = 0
                return False
            budget[0] -= len(data)
        send(data)
        return True

    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = r.line()
            if not out(size_line):
                return False
            size = int(size_line.split(b";")[0].strip(), 16)
            left = size + 2
            while left > 0:
                data = r.some(left)
                left -= len(data)
                if not out(data):
                    return False
            if size == 0:
                # the 0 chunk's CRLF above was the end of the (empty) trailer
                return True
    n = int(headers.get("content-length", "0") or 0)
    while n > 0:
        data = r.some(min(n, CHUNK))
        n -= len(data)
        if not out(data):
            return False
    return True


def relay_response(r, method, send):
    head, status_line, headers = read_head(r)
    send(head)
    code = int(status_line.split()[1])
    if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
        return headers
    if "chunked" in headers.get("transfer-encoding", "").lower() or "content-length" in headers:
        relay_body(r, headers, send)
    else:
        try:
            while True:
                send(r.some(CHUNK))
        except EOFError:
            pass
        headers["connection"] = "close"
    return headers


def slow_sender(faults, send, line):
    """send() at the rate of a slow fault while it stands for line (the TCP relay: line None)."""

    def out(data):
        while data:
            if not (faults.applies("slow", line) if line else faults.mode == "slow") or faults.rate <= 0:
                send(data)
                return
            piece = data[: max(1, faults.rate // 10)]
            send(piece)
            faults.add("slowed", len(piece))
            data = data[len(piece):]
            time.sleep(len(piece) / faults.rate)

    return out


def fault_response(code):
    # the registry's error codes (distribution's errcode descriptors) for these statuses
    err = {400: "MANIFEST_INVALID", 401: "UNAUTHORIZED", 403: "DENIED", 404: "NAME_UNKNOWN",
           429: "TOOMANYREQUESTS", 503: "UNAVAILABLE"}.get(code, "UNKNOWN")
    body = json.dumps({"errors": [{"code": err, "message": "injected fault", "detail": None}]})
    reason = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
              503: "Service Unavailable"}.get(code, "Error")
    return (
        f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    ).encode()


class Proxy:
    def __init__(self, args, faults):
        self.args = args
        self.faults = faults
        self.raw = args.cert is None and not args.http
        if args.cert is not None:
            self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.server_ctx.load_cert_chain(args.cert, args.key)
            self.client_ctx = ssl.create_default_context(cafile=args.upstream_ca)
            host, _, port = args.upstream.rpartition(":")
            self.upstream = (host, int(port))
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.listener = None
        self.port = args.port

    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        s.settimeout(0.1)
        self.port = s.getsockname()[1]
        self.listener = s

    def drop_all(self):
        with self.conns_lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve(self):
        while True:
            with self.faults.lock:
                f = self.faults
                if f.mode == "refuse" and f.until and time.monotonic() >= f.until:
                    f.mode, f.until = "none", 0.0
                drop, f.drop_now = f.drop_now, False
            if drop:
                self.drop_all()
                self.faults.record("faults", "dropped every connection")
            refusing = self.faults.mode == "refuse"
            if refusing and self.listener is not None:
                self.listener.close()
                self.listener = None
                self.drop_all()
            elif not refusing and self.listener is None:
                self.listen()
            if self.listener is None:
                time.sleep(0.05)
                continue
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                continue
            conn.settimeout(None)
            target = self.relay if self.raw else self.handle
            threading.Thread(target=target, args=(conn,), daemon=True).start()

    def track(self, sock, add):
        with self.conns_lock:
            (self.conns.add if add else self.conns.discard)(sock)

    def relay(self, conn):
        """Plain TCP relay to the unix socket, one thread per direction."""
        self.faults.record("connections")
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            up.connect(self.args.upstream_unix)
        except OSError:
            conn.close()
            return
        self.track(conn, True)
        self.track(up, True)

        def pump(src, dst, send):
            try:
                while True:
                    data = src.recv(CHUNK)
                    if not data:
                        break
                    send(data)
            except OSError:
                pass
            for x in (src, dst):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def upward(data):
            if self.faults.applies("stall", data.decode("latin-1")) and not self.hold_raw(conn, data):
                raise OSError("the client went away while held")
            slow_sender(self.faults, up.sendall, None)(data)
            self.faults.add("up_bytes", len(data))

        def downward(data):
            slow_sender(self.faults, conn.sendall, None)(data)
            self.faults.add("down_bytes", len(data))

        t = threading.Thread(target=pump, args=(up, conn, downward), daemon=True)
        t.start()
        pump(conn, up, upward)
        t.join()
        for x in (conn, up):
            self.track(x, False)
            x.close()

    def handle(self, raw):
        self.faults.record("connections")
        self.track(raw, True)
        up_raw = None
        try:
            client = raw if self.args.cert is None else \
                self.server_ctx.wrap_socket(raw, server_side=True)
            cr = Reader(client)
            if self.args.cert is None:
                client = raw
                if self.args.upstream_unix:
                    up_raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    up_raw.connect(self.args.upstream_unix)
                else:
                    host, _, port = self.args.upstream.rpartition(":")
                    up_raw = socket.create_connection((host, int(port)), timeout=30)
                self.track(up_raw, True)
                up = up_raw
            else:
                up_raw = socket.create_connection(self.upstream, timeout=30)
                self.track(up_raw, True)
                up = self.client_ctx.wrap_socket(up_raw, server_hostname=self.upstream[0])
            up.settimeout(None)
            ur = Reader(up)
            while True:
                head, line, headers = read_head(cr)
                method, path = line.split()[0], line.split()[1]
                req = f"{method} {path}"
                if self.faults.mode == "refuse":
                    return  # stopped: a request on a connection accepted just before is lost too
                if self.faults.take("refuse-on", req):
                    if self.faults.forward:
                        up.sendall(head)
                        relay_body(cr, headers, up.sendall)
                        relay_response(ur, method, lambda d: None)
                        self.faults.record("requests", req)
                    with self.faults.lock:
                        self.faults.mode = "refuse"
                    self.faults.record("faults", f"{req} -> registry stopped")
                    return
                if self.faults.take("status", req):
                    relay_body(cr, headers, lambda d: None)  # drain: the client sees the answer
                    client.sendall(fault_response(self.faults.code))
                    self.faults.record("faults", f"{req} -> {self.faults.code} (injected)")
                    return
                if self.faults.applies("stall", req):
                    if not self.hold(client, cr, head, headers, req, up):
                        return
                    rh = relay_response(ur, method, client.sendall)
                    self.faults.record("requests", req)
                    if rh.get("connection", "").lower() == "close":
                        return
                    continue
                budget = None
                has_body = "chunked" in headers.get("transfer-encoding", "").lower() or \
                    int(headers.get("content-length", "0") or 0) > self.faults.after
                if has_body and self.faults.take("cut", req):
                    budget = [self.faults.after]
                up.sendall(head)
                send = up.sendall
                if self.faults.applies("slow", req):
                    send = slow_sender(self.faults, up.sendall, req)
                try:
                    if not relay_body(cr, headers, send, budget):
                        self.faults.record("cuts", f"{req} -> cut after {self.faults.after} bytes")
                        return
                except EOFError:
                    self.faults.record("aborted", f"{req} -> its client closed the connection in the body")
                    return
                if self.faults.take("hold", req):
                    held = []
                    rh = relay_response(ur, method, held.append)
                    self.faults.record("faults", f"{req} -> answer held {self.faults.delay} s")
                    time.sleep(self.faults.delay)
                    client.sendall(b"".join(held))
                else:
                    send = client.sendall
                    if self.faults.applies("slow", req):
                        send = slow_sender(self.faults, client.sendall, req)
                    rh = relay_response(ur, method, send)
                self.faults.record("requests", req)
                if rh.get("connection", "").lower() == "close" or \
                        headers.get("connection", "").lower() == "close":
                    return
        except (EOFError, OSError, ValueError, IndexError, ssl.SSLError):
            return
        finally:
            for s in (raw, up_raw):
                if s is None:
                    continue
                self.track(s, False)
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


    def hold_raw(self, conn, data):
        """TCP relay: hold what the client sent (it matched) until the hold ends. False: the
        client closed its connection meanwhile (the data is dropped)."""
        line = data[:200].decode("latin-1").split("\r\n")[0]
        self.faults.add("held", 1)
        self.faults.record("faults", f"{line} -> held")
        gone = False
        try:
            while self.faults.applies("stall", data.decode("latin-1")):
                r, _, _ = select.select([conn], [], [], 0.1)
                if not r:
                    continue
                try:
                    if conn.recv(1, socket.MSG_PEEK) == b"":
                        gone = True
                        break
                except OSError:
                    gone = True
                    break
                time.sleep(0.1)
        finally:
            self.faults.add("held", -1)
        if gone:
            self.faults.add("gone", 1)
            self.faults.record("faults", f"{line} -> its client went away while held")
            return False
        self.faults.record("faults", f"{line} -> released")
        return True

    def hold(self, client, cr, head, headers, req, up):
        """Hold a request until the hold ends; relay it then. False: its client went away."""
        body = bytearray()
        relay_body(cr, headers, body.extend)
        self.faults.add("held", 1)
        self.faults.record("faults", f"{req} -> held")
        gone = False
        client.settimeout(0.1)
        try:
            while self.faults.applies("stall", req):
                try:
                    data = client.recv(1)  # an HTTP/1.1 client sends nothing while it waits
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                except (OSError, ssl.SSLError):
                    gone = True
                    break
                if not data:
                    gone = True
                    break
                cr.buf += data
        finally:
            self.faults.add("held", -1)
        if gone:
            self.faults.add("gone", 1)
            self.faults.record("faults", f"{req} -> its client went away while held")
            return False
        client.settimeout(None)
        self.faults.record("faults", f"{req} -> released")
        up.sendall(head)
        up.sendall(bytes(body))
        return True


def control_handler(faults):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == "/fault":
                try:
                    faults.set(q)
                except (ValueError, re.error) as e:
                    self.reply(400, {"error": str(e)})
                    return
                self.reply(200, {"mode": faults.mode})
            elif u.path == "/stats":
                with faults.lock:
                    self.reply(200, faults.stats)
            else:
                self.reply(404, {"error": "no such path"})

        def reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--upstream", default="127.0.0.1:5000")
    ap.add_argument("--upstream-ca")
    ap.add_argument("--upstream-unix")
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state-file", required=True)
    args = ap.parse_args()
    if args.cert is None and args.upstream_unix is None and not args.http:
        ap.error("--cert/--key/--upstream-ca (TLS registry) or --upstream-unix (TCP relay)")

    faults = Faults()
    proxy = Proxy(args, faults)
    proxy.listen()
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), control_handler(faults))
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    tmp = args.state_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": proxy.port, "control": ctl.server_address[1], "pid": os.getpid()}, f)
    os.rename(tmp, args.state_file)
    try:
        proxy.serve()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
