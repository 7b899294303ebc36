#!/usr/bin/env python3
"""git's own smart-HTTP server (git http-backend, as CGI) behind HTTP Basic
auth that accepts any user with the token of TOKEN_FILE as password: the way
GitLab/GitHub take a token over HTTPS. Plain HTTP on 127.0.0.1, a free port
printed on stdout. Repositories are served from $GIT_PROJECT_ROOT at
http://127.0.0.1:PORT/git/http/NAME.git.

  git-http.py TOKEN_FILE WWW_DIR      (WWW_DIR/git/http -> git-http-backend)
"""
import base64
import http.server
import os
import sys

TOKEN = open(sys.argv[1]).read().strip()


class Handler(http.server.CGIHTTPRequestHandler):
    cgi_directories = ["/git"]

    def log_message(self, *args):
        pass

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            _, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if password == TOKEN:
                return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self):
        if self.authorized():
            super().do_GET()

    def do_POST(self):
        if self.authorized():
            super().do_POST()


def main():
    os.chdir(sys.argv[2])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
