#!/usr/bin/python3
"""Writes definitions.json: the OpenAPI v2 definitions of the Kubernetes kinds the samples'
descriptors use, with every definition they refer to, descriptions removed.

    python3 extract.py PATH/TO/openapi-v2-swagger.json >definitions.json
"""
import json
import sys

KINDS = {("apps", "v1", "Deployment"), ("apps", "v1", "StatefulSet"), ("", "v1", "Service"),
         ("autoscaling", "v2", "HorizontalPodAutoscaler"), ("", "v1", "Secret"),
         ("", "v1", "ConfigMap"), ("", "v1", "PersistentVolumeClaim")}

swagger = json.load(open(sys.argv[1]))
defs = swagger["definitions"]
keep = {}


def walk(o):
    if isinstance(o, dict):
        ref = o.get("$ref")
        if ref:
            name = ref.split("/")[-1]
            if name not in keep:
                keep[name] = defs[name]
                walk(defs[name])
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)


for name, d in defs.items():
    for gvk in d.get("x-kubernetes-group-version-kind", []):
        if (gvk["group"], gvk["version"], gvk["kind"]) in KINDS and name.startswith("io.k8s.api."):
            keep[name] = d
            walk(d)


def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "description"}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


json.dump({"info": swagger.get("info"), "definitions": strip(keep)}, sys.stdout,
          sort_keys=True, separators=(",", ":"))
