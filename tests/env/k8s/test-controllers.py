#!/usr/bin/env python3
"""Test stand-ins for what a cloud provider adds to a Kubernetes cluster.

The test control plane (tests/env/k8s.sh) has no cloud provider and no storage
driver. These controllers play them through the real API (bearer token, the
cluster CA), as list + watch loops:

    test-controllers.py lb API_URL TOKEN_FILE CA_FILE INGRESS_IP
        writes status.loadBalancer.ingress (INGRESS_IP, ipMode VIP, the ports)
        on every Service of type LoadBalancer that has none yet and names no
        spec.loadBalancerClass (a class means another controller's job).
    test-controllers.py pv API_URL TOKEN_FILE CA_FILE PROVISIONER
        provisions a PersistentVolume for every PersistentVolumeClaim that
        kube-controller-manager hands to PROVISIONER (annotation
        volume.kubernetes.io/storage-provisioner), pre-bound to the claim
        (hostPath under /tmp/caas-k8s-pv, never used: no kubelet runs), and
        deletes the Released volumes it provisioned when their reclaim policy is
        Delete. kube-controller-manager does the binding, as with a real driver.

Neither opens a port nor touches a disk. Runs until killed; one log line per
action or error on stderr.
"""

import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PROVISIONER_ANN = "volume.kubernetes.io/storage-provisioner"
PROVISIONED_BY_ANN = "pv.kubernetes.io/provisioned-by"


def log(msg):
    print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg,
          file=sys.stderr, flush=True)


def q(s):
    return urllib.parse.quote(s, safe="")


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

    def call(self, method, path, obj=None, ctype="application/json"):
        """Sends obj as JSON; returns the HTTP status (errors included)."""
        body = json.dumps(obj).encode() if obj is not None else None
        try:
            with self.open(method, path, body, ctype if body else None) as r:
                r.read()
                return r.status
        except urllib.error.HTTPError as e:
            return e.code


def watch_forever(api, path, handle):
    """List, then watch from the list's resourceVersion; list again on any end."""
    while True:
        try:
            with api.open("GET", path) as r:
                lst = json.load(r)
            for obj in lst.get("items") or []:
                handle(obj)
            query = urllib.parse.urlencode({
                "watch": "1", "resourceVersion": lst["metadata"]["resourceVersion"],
                "timeoutSeconds": "300"})
            with api.open("GET", path + "?" + query, timeout=330) as w:
                for line in w:
                    ev = json.loads(line)
                    if ev.get("type") == "ERROR":
                        break  # e.g. 410 Gone: list again
                    if ev.get("type") in ("ADDED", "MODIFIED"):
                        handle(ev["object"])
        except (OSError, ValueError, KeyError) as e:
            log("%s: %s; listing again in 1 s" % (path, e))
            time.sleep(1)


def run_lb(api, ip):
    def handle(svc):
        spec = svc.get("spec") or {}
        if spec.get("type") != "LoadBalancer" or spec.get("loadBalancerClass"):
            return
        if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        meta = svc["metadata"]
        ingress = {"ip": ip, "ipMode": "VIP"}
        ports = [{"port": p["port"], "protocol": p.get("protocol", "TCP")}
                 for p in spec.get("ports") or []]
        if ports:
            ingress["ports"] = ports
        code = api.call("PATCH", "/api/v1/namespaces/%s/services/%s/status" % (
            q(meta["namespace"]), q(meta["name"])),
            {"status": {"loadBalancer": {"ingress": [ingress]}}},
            "application/merge-patch+json")
        if code == 200:
            log("service %s/%s: ingress %s" % (meta["namespace"], meta["name"], ip))
        elif code != 404:  # 404: deleted meanwhile
            log("service %s/%s: PATCH status gave HTTP %d" % (
                meta["namespace"], meta["name"], code))

    log("lb: watching LoadBalancer Services on %s, ingress %s" % (api.url, ip))
    watch_forever(api, "/api/v1/services", handle)


def run_pv(api, provisioner):
    def handle_claim(pvc):
        meta = pvc["metadata"]
        spec = pvc.get("spec") or {}
        if ((meta.get("annotations") or {}).get(PROVISIONER_ANN) != provisioner
                or spec.get("volumeName") or meta.get("deletionTimestamp")
                or (pvc.get("status") or {}).get("phase") != "Pending"):
            return
        name = "pvc-" + meta["uid"]
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        pv = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name,
                         "annotations": {PROVISIONED_BY_ANN: provisioner}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": spec.get("storageClassName") or "",
                "hostPath": {"path": "/tmp/caas-k8s-pv/" + name},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                             "namespace": meta["namespace"], "name": meta["name"],
                             "uid": meta["uid"]},
            },
        }
        code = api.call("POST", "/api/v1/persistentvolumes", pv)
        if code == 201:
            log("claim %s/%s: volume %s (%s)" % (meta["namespace"], meta["name"], name, size))
        elif code != 409:  # 409: made already
            log("claim %s/%s: POST volume gave HTTP %d" % (
                meta["namespace"], meta["name"], code))

    def handle_volume(pv):
        meta = pv["metadata"]
        if ((meta.get("annotations") or {}).get(PROVISIONED_BY_ANN) != provisioner
                or (pv.get("status") or {}).get("phase") != "Released"
                or (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") != "Delete"
                or meta.get("deletionTimestamp")):
            return
        code = api.call("DELETE", "/api/v1/persistentvolumes/" + q(meta["name"]))
        if code in (200, 202):
            log("volume %s: released, deleted" % meta["name"])
        elif code != 404:
            log("volume %s: DELETE gave HTTP %d" % (meta["name"], code))

    log("pv: provisioning for %s on %s" % (provisioner, api.url))
    threading.Thread(target=watch_forever, daemon=True,
                     args=(api, "/api/v1/persistentvolumes", handle_volume)).start()
    watch_forever(api, "/api/v1/persistentvolumeclaims", handle_claim)


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in ("lb", "pv"):
        print("usage: test-controllers.py lb|pv API_URL TOKEN_FILE CA_FILE INGRESS_IP|PROVISIONER",
              file=sys.stderr)
        return 2
    api = Api(sys.argv[2], sys.argv[3], sys.argv[4])
    if sys.argv[1] == "lb":
        run_lb(api, sys.argv[5])
    else:
        run_pv(api, sys.argv[5])
    return 0


if __name__ == "__main__":
    sys.exit(main())
