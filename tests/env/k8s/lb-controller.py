#!/usr/bin/env python3
"""Test stand-in for a cloud provider's load balancer controller.

Without a cloud provider nothing assigns an address to a Service of type
LoadBalancer. This controller watches the Services of the test control plane
(through the real API, with a bearer token and the cluster CA) and writes
status.loadBalancer.ingress on every LoadBalancer Service that has none yet
and names no spec.loadBalancerClass (a class means another controller's
job), as a cloud controller would. It opens no port and balances nothing.

    lb-controller.py API_URL TOKEN_FILE CA_FILE INGRESS_IP

Runs until killed; logs one line per assignment or error on stderr.
"""

import json
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def log(msg):
    print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg,
          file=sys.stderr, flush=True)


class Api:
    def __init__(self, url, token_file, ca_file):
        self.url = url.rstrip("/")
        with open(token_file, encoding="ascii") as f:
            self.token = f.read().strip()
        self.ctx = ssl.create_default_context(cafile=ca_file)

    def open(self, method, path, body=None, ctype=None, timeout=30):
        req = urllib.request.Request(self.url + path, method=method, data=body)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/json")
        if ctype:
            req.add_header("Content-Type", ctype)
        return urllib.request.urlopen(req, context=self.ctx, timeout=timeout)


def wants_ingress(svc):
    spec = svc.get("spec") or {}
    if spec.get("type") != "LoadBalancer" or spec.get("loadBalancerClass"):
        return False
    lb = (svc.get("status") or {}).get("loadBalancer") or {}
    return not lb.get("ingress")


def assign(api, svc, ip):
    meta = svc["metadata"]
    ns, name = meta["namespace"], meta["name"]
    ports = [{"port": p["port"], "protocol": p.get("protocol", "TCP")}
             for p in (svc.get("spec") or {}).get("ports") or []]
    ingress = {"ip": ip, "ipMode": "VIP"}
    if ports:
        ingress["ports"] = ports
    patch = json.dumps({"status": {"loadBalancer": {"ingress": [ingress]}}})
    path = "/api/v1/namespaces/%s/services/%s/status" % (
        urllib.parse.quote(ns, safe=""), urllib.parse.quote(name, safe=""))
    try:
        with api.open("PATCH", path, patch.encode(),
                      "application/merge-patch+json") as r:
            r.read()
        log("service %s/%s: ingress %s" % (ns, name, ip))
    except urllib.error.HTTPError as e:
        # 404: deleted meanwhile; 409 cannot happen with a merge patch.
        if e.code != 404:
            log("service %s/%s: PATCH status gave HTTP %d" % (ns, name, e.code))


def run(api, ip):
    with api.open("GET", "/api/v1/services") as r:
        lst = json.load(r)
    for svc in lst.get("items") or []:
        if wants_ingress(svc):
            assign(api, svc, ip)
    rv = lst["metadata"]["resourceVersion"]
    query = urllib.parse.urlencode(
        {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "300"})
    with api.open("GET", "/api/v1/services?" + query, timeout=330) as w:
        for line in w:
            ev = json.loads(line)
            if ev.get("type") == "ERROR":
                return  # e.g. 410 Gone: list again
            if ev.get("type") in ("ADDED", "MODIFIED") and wants_ingress(ev["object"]):
                assign(api, ev["object"], ip)


def main():
    if len(sys.argv) != 5:
        print("usage: lb-controller.py API_URL TOKEN_FILE CA_FILE INGRESS_IP", file=sys.stderr)
        return 2
    api = Api(sys.argv[1], sys.argv[2], sys.argv[3])
    ip = sys.argv[4]
    log("watching LoadBalancer Services on %s, ingress %s" % (api.url, ip))
    while True:
        try:
            run(api, ip)
        except (OSError, ValueError, KeyError) as e:
            log("error: %s; retrying in 1 s" % e)
            time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
