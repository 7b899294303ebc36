#!/usr/bin/python3
"""Validates Kubernetes manifests against OpenAPI v2 definitions, offline.

    k8s-manifest-check.py DEFINITIONS.json FILE...

Every YAML document must have an apiVersion and kind that the definitions know (so an old
apiVersion such as extensions/v1beta1 or autoscaling/v2beta2 is refused), no unknown field,
every required field, and values of the declared types (int-or-string and quantities
accepted as either). Prints one line per problem, "FILE: doc N (Kind name): path: problem",
and exits 1 when there is one; prints "FILE: N documents valid" otherwise.
"""
import json
import sys

import yaml


def load_defs(path):
    defs = json.load(open(path))["definitions"]
    kinds = {}
    for name, d in defs.items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            api = gvk["version"] if not gvk["group"] else gvk["group"] + "/" + gvk["version"]
            kinds[(api, gvk["kind"])] = name
    return defs, kinds


def check(defs, schema, value, path, errors):
    ref = schema.get("$ref")
    if ref:
        name = ref.split("/")[-1]
        schema = defs[name]
        # types that accept more than one JSON type (int-or-string, quantities, raw JSON)
        if name.endswith(("util.intstr.IntOrString", "api.resource.Quantity")):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                errors.append("%s: %r is neither a string nor an integer" % (path, value))
            return
        if name.endswith(("apis.meta.v1.Time", "apis.meta.v1.MicroTime")):
            return
    t = schema.get("type")
    fmt = schema.get("format")
    if t == "object" or "properties" in schema:
        if not isinstance(value, dict):
            errors.append("%s: expected an object, got %r" % (path, value))
            return
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k in schema.get("required", []):
            if k not in value:
                errors.append("%s: required field '%s' is missing" % (path, k))
        for k, v in value.items():
            if k in props:
                check(defs, props[k], v, "%s.%s" % (path, k), errors)
            elif extra is not None:
                if isinstance(extra, dict):
                    check(defs, extra, v, "%s.%s" % (path, k), errors)
            else:
                errors.append("%s: unknown field '%s'" % (path, k))
    elif t == "array":
        if not isinstance(value, list):
            errors.append("%s: expected a list, got %r" % (path, value))
            return
        for i, v in enumerate(value):
            check(defs, schema.get("items", {}), v, "%s[%d]" % (path, i), errors)
    elif t == "string":
        if fmt == "int-or-string":
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                errors.append("%s: %r is neither a string nor an integer" % (path, value))
        elif fmt == "byte":
            if not isinstance(value, str):
                errors.append("%s: expected base64 text, got %r" % (path, value))
        elif not isinstance(value, str):
            errors.append("%s: expected a string, got %r" % (path, value))
        elif "enum" in schema and value not in schema["enum"]:
            errors.append("%s: '%s' is not one of %s" % (path, value, ", ".join(schema["enum"])))
    elif t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append("%s: expected an integer, got %r" % (path, value))
    elif t == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append("%s: expected a number, got %r" % (path, value))
    elif t == "boolean":
        if not isinstance(value, bool):
            errors.append("%s: expected true or false, got %r" % (path, value))


def main():
    if len(sys.argv) < 3:
        print("usage: k8s-manifest-check.py DEFINITIONS.json FILE...", file=sys.stderr)
        return 2
    defs, kinds = load_defs(sys.argv[1])
    bad = False
    for f in sys.argv[2:]:
        try:
            docs = [d for d in yaml.safe_load_all(open(f)) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            print("%s: %s" % (f, e))
            bad = True
            continue
        errors = []
        for i, d in enumerate(docs, 1):
            if not isinstance(d, dict):
                errors.append("doc %d: not a mapping" % i)
                continue
            key = (d.get("apiVersion"), d.get("kind"))
            name = (d.get("metadata") or {}).get("name", "?")
            where = "doc %d (%s %s)" % (i, key[1], name)
            if key not in kinds:
                errors.append("%s: apiVersion %s kind %s is not a current Kubernetes type" % (where, key[0], key[1]))
                continue
            errs = []
            check(defs, {"$ref": "#/definitions/" + kinds[key]}, d, "", errs)
            errors += ["%s: %s" % (where, e.lstrip(".") or "(root)") for e in errs]
        for e in errors:
            print("%s: %s" % (f, e))
        if errors:
            bad = True
        else:
            print("%s: %d documents valid" % (f, len(docs)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
