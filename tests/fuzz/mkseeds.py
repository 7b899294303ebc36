#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets (tests/fuzz/corpus/<name>/).

The seeds are committed; this script only documents and regenerates them:
  python3 tests/fuzz/mkseeds.py
Text seeds come from tests/data and the unit tests; binary ones (layer tars,
docker save streams, rpm headers and an rpm sqlite database) are built here.
Regression inputs (crash-*, slow-*) found by fuzzing are kept as they are:
this script never removes a file.
"""
import gzip
import io
import os
import sqlite3
import struct
import sys
import tarfile
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy(target, path, name=None):
    with open(os.path.join(TOP, path), "rb") as f:
        put(target, name or os.path.basename(path), f.read())


# ---- dockerignore: file, then NUL, then paths
def dockerignore():
    d = os.path.join(TOP, "tests", "data", "dockerignore")
    for n in sorted(os.listdir(d)):
        if n.endswith(".dockerignore"):
            copy("dockerignore", os.path.join("tests/data/dockerignore", n))
    copy("dockerignore", "tests/data/build/ignore-app/.dockerignore", "ignore-app.dockerignore")
    put("dockerignore", "paths", "*.tmp\n!keep/*.tmp\nsrc/**/*.bak\n\0a.tmp\nkeep/x.tmp\nsrc/a/b/c.bak\n")
    put("dockerignore", "classes", "[a-c]?\n[^x]*.go\n\\*lit\n**\n!**/keep\n\0b1\nx.go\n*lit\nd/keep\n")
    put("dockerignore", "clean", "/a//b/./c/../d/\n./foo\n!  /bar/  \n\ufeff# bom\n# c\n  #x\r\n")


# ---- imageref: one reference per file
def imageref():
    refs = ["ubuntu", "ubuntu:22.04", "docker.io/library/ubuntu", "index.docker.io/ubuntu",
            "localhost:5000/ns/x:v2", "[::1]:5000/app:T_1", "Registry.Example.com/app",
            "a.b/x__y.z--w_v", "127.0.0.1:5443/ns/name:tag@sha256:" + "0123456789abcdef" * 4,
            "nginx@sha512:" + "ab" * 64, "name:-tag", "a:b:c", "myorg/App", "name@md5:0123",
            "host:5000", "a" * 250 + "/b"]
    for i, r in enumerate(refs):
        put("imageref", "ref%02d" % i, r)


# ---- jsonstream: first byte seeds the chunking
def jsonstream():
    msgs = [
        b'{"stream":"Step 1/2 : FROM alpine\\n"}\r\n{"stream":" ---> abc\\n"}\n'
        b'{"aux":{"ID":"sha256:0123"}}\n{"stream":"Successfully built 0123\\n"}\n',
        b'{"status":"Pulling from library/alpine","id":"3.19"}\n'
        b'{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"x"}\n',
        b'{"errorDetail":{"message":"no space left"},"error":"no space left"}\n',
        b'{"a":1}{"b":2} {"c":[1,2,{"d":null}]}\n"str"\n3.5\ntrue\n',
        b'{"status":"The push refers to repository [r/x]"}\n{"abort":1}\n{"never":1}\n',
        b'{"unterminated":',
        b'{"x":"\\u00e9\\ud83d\\ude00"}\n\n\n',
    ]
    for i, m in enumerate(msgs):
        put("jsonstream", "msg%d" % i, bytes([i * 37 % 256]) + m)


# ---- dockerauth: host line, config.json, NUL, helper answer
def dockerauth():
    import base64
    auth = base64.b64encode(b"user:secret-pass").decode()
    put("dockerauth", "auths", "127.0.0.1:5000\n{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"%s\"}}}" % auth)
    put("dockerauth", "hub", "docker.io\n{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"%s\"}}}" % auth)
    put("dockerauth", "userpass", "https://reg.example.com/v2/\n{\"auths\":{\"http://reg.example.com\":"
        "{\"username\":\"u\",\"password\":\"p4ssword\",\"identitytoken\":\"tok-123\"}}}")
    put("dockerauth", "token", "reg:443\n{\"auths\":{\"reg:443\":{\"identitytoken\":\"tok-1234\"}}}")
    put("dockerauth", "helper", "reg.example.com\n{\"credHelpers\":{\"reg.example.com\":\"fuzz\"}}\0"
        "{\"ServerURL\":\"reg.example.com\",\"Username\":\"u\",\"Secret\":\"s3cret\"}")
    put("dockerauth", "helper-token", "reg\n{\"credsStore\":\"fuzz\"}\0"
        "{\"Username\":\"<token>\",\"Secret\":\"tok-abcd\"}")
    put("dockerauth", "helper-fail", "reg\n{\"credsStore\":\"fuzz\"}\0!credentials not found in native keychain\n")
    put("dockerauth", "badauth", "r\n{\"auths\":{\"r\":{\"auth\":\"bm9jb2xvbg==\"}}}")
    put("dockerauth", "notjson", "r\n[1,2")


# ---- filch: policy, NUL, items
def filch():
    copy("filch", "validator/policies/filch.json")
    copy("filch", "validator/policies/filch-insecure.json")
    d = os.path.join(TOP, "tests", "data", "validator", "policies")
    for n in sorted(os.listdir(d)):
        copy("filch", os.path.join("tests/data/validator/policies", n), "test-" + n)
    put("filch", "items", '{"files":{"forbidden":["^n.$","[[:digit:]]+"],"authorized":["nc"]}}'
        "\0/bin/nc\n/usr/bin/ncat\nx9\n")


# ---- imagefs: tars
def tar(entries, fmt=tarfile.PAX_FORMAT, mode="w"):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode=mode, format=fmt) as t:
        for e in entries:
            name, kind = e[0], e[1]
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            data = b""
            if kind == "d":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
            elif kind == "l":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e[2]
            elif kind == "h":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e[2]
            elif kind == "c":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
            elif kind == "p":
                ti.type = tarfile.FIFOTYPE
            else:
                data = e[2] if len(e) > 2 else b""
                if isinstance(data, str):
                    data = data.encode()
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data else None)
    out = bio.getvalue()
    if mode == "w":
        # drop the record padding: the archive ends with two zero blocks
        body = out.rstrip(b"\0")
        out = body + b"\0" * (-len(body) % 512) + b"\0" * 1024
    return out


def imagefs():
    layers = {
        "whiteouts": [("bin/.wh.nc", "f"), ("etc/.wh..wh..opq", "f"), ("etc/hosts", "f", "x"),
                      ("var/lib/dpkg/.wh.status", "f"), ("usr/.wh..wh.plnk", "f")],
        "opaque-root": [(".wh..wh..opq", "f"), ("only", "f", "x")],
        "odd-paths": [("/abs/file", "f"), ("./dot/./x", "f"), ("../escape", "f"),
                      ("a/../../b", "f"), ("a//b///c", "f"), ("", "d"), ("./", "d"),
                      ("x/.wh.", "f"), (".wh.", "f")],
        "links": [("bin/sh2", "h", "bin/sh"), ("evil", "h", "../../etc/shadow"),
                  ("abs", "l", "/etc/passwd"), ("dev/null", "c"), ("fifo", "p"),
                  ("bin", "l", "usr/bin")],
        "dpkg": [("var/lib/dpkg/status", "f", "Package: curl\nStatus: install ok installed\n\n"
                  "Package: gone\nStatus: deinstall ok config-files\n"),
                 ("var/lib/dpkg/status.d/base", "f", "Package: base-files\n"),
                 ("lib/apk/db/installed", "f", "P:musl\nV:1\n")],
        "rpm": [("var/lib/rpm/Packages", "f", "x"), ("var/lib/rpm/rpmdb.sqlite-wal", "f", "x")],
        "longnames": [("d/" + "n" * 200 + "/" + "m" * 120, "f", "x"),
                      ("l" * 150, "l", "t" * 300)],
    }
    for name, ents in layers.items():
        put("imagefs", "layer-" + name, b"\0" + tar(ents))
    put("imagefs", "layer-gnu-longnames", b"\2" + tar(layers["longnames"], tarfile.GNU_FORMAT))
    put("imagefs", "layer-ustar", b"\4" + tar(layers["whiteouts"], tarfile.USTAR_FORMAT))
    put("imagefs", "layer-gzip", b"\6" + gzip.compress(tar(layers["dpkg"]), mtime=0))
    put("imagefs", "layer-empty", b"\0")
    # a header claiming a huge size, and one with a broken checksum
    h = bytearray(tar([("big", "f", "x")], tarfile.USTAR_FORMAT)[:512])
    h[124:136] = b"77777777777\0"
    chk = sum(h[:148]) + 8 * 32 + sum(h[156:])
    h[148:156] = b"%06o\0 " % chk
    put("imagefs", "layer-huge-size", b"\0" + bytes(h) + b"\0" * 1024)
    put("imagefs", "layer-bad-checksum", b"\0" + bytes(h[:148]) + b"000000\0 " + bytes(h[156:]))
    # whole docker save streams (mode byte odd)
    layer = tar(layers["dpkg"] + [("bin/sh", "f", "x")])
    manifest = b'[{"Config":"abc.json","RepoTags":["fuzz:latest"],"Layers":["l1/layer.tar","l2/layer.tar"]}]'
    outer = [("l1/layer.tar", "f", layer), ("l2/layer.tar", "l", "../l1/layer.tar"),
             ("abc.json", "f", "{}"), ("manifest.json", "f", manifest), ("repositories", "f", "{}")]
    put("imagefs", "save-legacy", b"\1" + tar(outer))
    oci = [("blobs/sha256/aaaa", "f", layer), ("blobs/sha256/cfg", "f", '{"config":{}}'),
           ("index.json", "f", "{}"), ("oci-layout", "f", "{}"),
           ("manifest.json", "f", '[{"Config":"blobs/sha256/cfg","RepoTags":["a:1","b:2"],'
            '"Layers":["blobs/sha256/aaaa"]},{"Config":"x","Layers":[]}]')]
    put("imagefs", "save-oci-two-images", b"\3" + tar(oci))
    # imagefs_layer: the same layer tars alone (first byte even). Its encoded-*
    # seeds (first byte odd) are cs_imagefs_layer_encode's output for some of
    # them, written once with the library and kept as they are.
    d = os.path.join(OUT, "imagefs")
    for n in sorted(os.listdir(d)):
        if n.startswith("layer-"):
            with open(os.path.join(d, n), "rb") as f:
                data = f.read()
            put("imagefs_layer", n, bytes([data[0] & ~1]) + data[1:])


# ---- pkgdb: first byte picks the parser
def rpm_header(name):
    data = name.encode() + b"\0" + b"1.0\0"
    entries = struct.pack(">IIII", 1000, 6, 0, 1) + struct.pack(">IIII", 1001, 6, len(name) + 1, 1)
    return struct.pack(">II", 2, len(data)) + entries + data


def pkgdb():
    put("pkgdb", "dpkg", b"\0Package: bash\nStatus: install ok installed\nDescription: x\n"
        b" continued\n .\n\nPackage: old\nStatus: deinstall ok config-files\n")
    put("pkgdb", "dpkg-bad-status", b"\0Package: a\nStatus: install ok\n")
    put("pkgdb", "statusd", b"\1Package: base-files\nVersion: 12\n\nPackage: netbase\r\n")
    put("pkgdb", "apk", b"\2C:Q1abc=\nP:musl\nV:1.2\n\nP:busybox\nV:1.36\n\n")
    put("pkgdb", "rpm-header", b"\3" + rpm_header("openssl"))
    put("pkgdb", "kind", b"\5var/lib/dpkg/status.d/x")
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "rpmdb.sqlite")
        db = sqlite3.connect(p)
        db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
        for n in ("bash", "rpm", "glibc"):
            db.execute("INSERT INTO Packages (blob) VALUES (?)", (rpm_header(n),))
        db.commit()
        db.close()
        with open(p, "rb") as f:
            put("pkgdb", "rpm-sqlite", b"\4" + f.read())
    # hostile schemas (regressions: the validator looped forever on the views)
    hdr = rpm_header("evil").hex()
    hostile = {
        "regress-rpm-endless-view": "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 "
        "UNION ALL SELECT x+1 FROM c) SELECT X'%s' AS blob FROM c" % hdr,
        "regress-rpm-empty-endless-view": "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS "
        "(SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 1 AS blob FROM c WHERE x < 0",
        "regress-rpm-computed-blob": "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob "
        "BLOB AS (zeroblob(1000000000))); INSERT INTO Packages (hnum) VALUES (1)",
    }
    for name, sql in hostile.items():
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "rpmdb.sqlite")
            db = sqlite3.connect(p)
            db.executescript(sql)
            db.commit()
            db.close()
            with open(p, "rb") as f:
                put("pkgdb", name, b"\4" + f.read())


# ---- yamldoc
def yamldoc():
    put("yamldoc", "anchors", "base: &b {a: 1, b: [x, y]}\nuse: *b\nmerged:\n  <<: [*b, {c: 3}]\n  a: 2\n")
    put("yamldoc", "scalars", "n: ~\ni: 0x1F\no: 0o17\nf: .inf\nb: TRUE\ns: 'on'\nq: \"a\\tb\"\n"
        "l: |\n  text\n  more\nt: !reset null\nu: !!str 12\n")
    put("yamldoc", "multi", "---\na: 1\n---\n- b\n- c\n...\n---\n")
    put("yamldoc", "dup", "a: 1\na: 2\n")
    put("yamldoc", "flow", "{a: [1, {b: c}], 'd': !override [e]}\n")
    copy("yamldoc", "tests/data/seed-style/petclinic-v2.yml")
    copy("yamldoc", "tests/data/corpus/k8s/guestbook-all-in-one.yaml")


# ---- compose
def compose():
    d = os.path.join(TOP, "tests", "data", "corpus", "compose")
    for n in sorted(os.listdir(d)):
        if n.endswith(".yml") and os.path.getsize(os.path.join(d, n)) < 6000:
            copy("compose", os.path.join("tests/data/corpus/compose", n))
    copy("compose", "tests/data/seed-style/petclinic-v2.yml")
    copy("compose", "tests/data/seed-style/tweet-v2.yml")
    put("compose", "interp-env", "services:\n  web:\n    image: \"nginx:${TAG:-latest}\"\n"
        "    ports: [\"${PORT}:80\", \"127.0.0.1::81/udp\", \"8000-8002:90-92\"]\n"
        "    environment: [A=$$x, B=${FROMENV}, C]\n    deploy: {replicas: \"${N:-2}\"}\n"
        "#--- .env\nFROMENV=yes\nexport N=3\nQ='lit $x'\nD=\"a\\n${FROMENV}\" # c\n")
    put("compose", "full-keys", """name: app
services:
  db:
    image: postgres
    healthcheck: {test: ["CMD-SHELL", "pg_isready"], interval: 1m30s, retries: 3}
    volumes: [data:/var/lib/postgresql/data, ./init:/docker-entrypoint-initdb.d:ro, {type: tmpfs, target: /t, tmpfs: {size: 1g}}]
    secrets: [pw, {source: cfg, target: /x, mode: 0400}]
    deploy:
      resources: {limits: {cpus: '0.5', memory: 512M, pids: 100}}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}
      update_config: {parallelism: 2, order: start-first, failure_action: rollback}
      placement: {constraints: [node.role==worker], preferences: [{spread: node.labels.az}]}
  web:
    image: web
    depends_on: {db: {condition: service_healthy}}
    links: [db:database]
    command: sh -c 'echo "hi there" && sleep 1'
    networks: {front: {aliases: [w]}}
    ulimits: {nofile: {soft: 1, hard: 2}, nproc: 3}
    stop_grace_period: 1m
    restart: on-failure:3
    mem_limit: 1g
    logging: {driver: json-file, options: {max-size: 10m}}
networks:
  front: {driver: overlay, ipam: {config: [{subnet: 10.0.0.0/24}]}}
volumes:
  data: {external: true}
secrets:
  pw: {file: ./pw.txt}
  cfg: {environment: USER}
x-anchor: &a {k: v}
""")
    put("compose", "override", """services:
  web:
    image: web:1
    command: [echo, base]
    environment: [A=1, B=2]
    ports: ['8080:80', '9000:9000']
    volumes: ['data:/data', './conf:/etc/conf:ro']
    dns: [1.1.1.1]
    cap_add: [A, B]
    labels: {keep: 'yes', change: old}
    deploy: {replicas: 2, resources: {limits: {memory: 64M}}}
    healthcheck: {test: [CMD, true], interval: 5s}
  db:
    image: db:1
    ports: ['5432:5432']
volumes:
  data:
networks:
  front: {driver: overlay}
#--- override.yml
services:
  web:
    image: web:2
    command: echo override
    environment: {B: 20, C: "${FROMENV}"}
    ports: ['8080:80', '8443:443']
    volumes: ['other:/data']
    cap_add: !override [C]
    labels: [change=new]
    deploy: {replicas: 3}
    networks: [front]
  db:
    ports: !reset []
  extra:
    image: extra
volumes:
  other:
networks:
  front: {attachable: true}
#--- .env
FROMENV=x
""")
    put("compose", "cycle", "services:\n  a: {image: a, depends_on: [b]}\n  b: {image: b, links: [a]}\n")
    put("compose", "v2", "version: '2.4'\nservices:\n  s:\n    build: .\n    scale: 2\n    cpus: 1.5\n"
        "    profiles: [dev]\n  t: {image: t, extends: {service: s}}\n")


# ---- compose_fields: first byte picks the parser
def compose_fields():
    strs = ["${A:-${B:-x}}", "$$A ${NUM:?need} $A_1", "${U:?x} and ${V?y}", "${A:+<${NESTED}>}",
            "${", "${A", "${A:", "${:-x}", "$A.x$1$ x a$"]
    for i, s in enumerate(strs):
        put("compose_fields", "interp%d" % i, b"\0" + s.encode())
    with open(os.path.join(TOP, "tests/data/corpus/compose/example1.env"), "rb") as f:
        put("compose_fields", "envfile-example1", b"\1" + f.read())
    put("compose_fields", "envfile", b"\1export A=1\nB='single $A'\nC=\"dq\\n\\t${A}\" # c\nD=x #c\nBARE\n=bad\n")
    for i, s in enumerate(["1m30s", "1h5m30s20ms", "1.5s", "0", "10", "-1s", "1.5.5s", "9999999999h"]):
        put("compose_fields", "duration%d" % i, b"\2" + s.encode())
    for i, s in enumerate(["512M", "1g", "100k", "2b", "1024kb", "1.5G", "99999999999999g", "-1"]):
        put("compose_fields", "size%d" % i, b"\3" + s.encode())
    for i, s in enumerate(["sh -c 'echo \"hi\"' x\\ y", "a \"b\\\"c\" 'd", "\\"]):
        put("compose_fields", "shlex%d" % i, b"\4" + s.encode())
    for i, s in enumerate(["80", "8080:80", "127.0.0.1:8080:80/udp", "8000-8002:80-82",
                           "127.0.0.1::80", "[::1]:80:80", "1-65535", "0:0/sctp", "65536"]):
        put("compose_fields", "port%d" % i, b"\5" + s.encode())


# ---- kube: a manifests file (or a Compose file), then "#--- .env" and an --env-file
def kube():
    d = os.path.join(TOP, "tests", "data", "corpus", "k8s")
    for n in sorted(os.listdir(d)):
        if os.path.getsize(os.path.join(d, n)) <= 16384:
            copy("kube", os.path.join("tests/data/corpus/k8s", n))
    for n in ("app.yaml", "crd.yaml", "seed-v1beta1.yml", "two-ns.yaml", "compose-app.yml"):
        copy("kube", os.path.join("tests/data/kube", n))
    put("kube", "list-env", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n"
        "  metadata: {name: \"${NAME:-c}\"}\n  data: {a: \"$SET ${TAG} $$HOME ${REQ:?need it}\"}\n"
        "- {apiVersion: extensions/v1beta1, kind: Deployment, metadata: {name: d}}\n---\n"
        "kind: Secret\nmetadata: {generateName: x-}\n---\n"
        "\n#--- .env\nNAME=from-env\nREQ=1\nexport Q='x'\n")
    put("kube", "compose-ports", "services:\n  web:\n    image: nginx:${TAG}\n    ports: ['8080:80', '443']\n"
        "    volumes: [data:/d]\n    healthcheck: {test: [CMD, true], interval: 5s}\n"
        "    deploy: {replicas: 2, resources: {limits: {cpus: '0.5', memory: 64M}}}\n"
        "    secrets: [s]\n    configs: [c]\nvolumes: {data: {}}\nsecrets: {s: {environment: USER}}\n"
        "configs: {c: {content: hello}}\n")


# ---- kubeconfig: mode byte (bit 0-1: --kubeconfig, HOME, KUBECONFIG list; bit 2: --context
# caas-test), the first file, then "#--- second" and a second file
def kubeconfig():
    one = ("apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c1\n  cluster:\n"
           "    server: https://127.0.0.1:6443/\n    certificate-authority: certs/ca.crt\n"
           "contexts:\n- name: a\n  context: {cluster: c1, user: u1, namespace: team-a}\n"
           "- name: caas-test\n  context: {cluster: c1, user: u2}\nusers:\n- name: u1\n"
           "  user: {token: s3cr3t-token-one}\n- name: u2\n  user:\n"
           "    client-certificate-data: aGVsbG8=\n    client-key-data: a2V5LWRhdGE=\n")
    two = ("current-context: d\nclusters:\n- name: c1\n  cluster: {server: https://10.9.9.9:1}\n"
           "- name: c2\n  cluster: {server: http://127.0.0.1:8080, insecure-skip-tls-verify: true,"
           " tls-server-name: x}\ncontexts:\n- name: d\n  context: {cluster: c2, user: u3}\n"
           "users:\n- name: u1\n  user: {token: other}\n- name: u3\n  user: {tokenFile: tok}\n")
    basic = ("current-context: caas-test\nclusters: [{name: c, cluster: {server: https://h:1,"
             " certificate-authority-data: LS0tLS1CRUdJTg==}}]\ncontexts: [{name: caas-test,"
             " context: {cluster: c, user: b}}]\nusers: [{name: b, user: {username: u, password: p}}]\n")
    exe = ("current-context: x\nclusters: [{name: c, cluster: {server: https://h:1}}]\n"
           "contexts: [{name: x, context: {cluster: c, user: e}}]\n"
           "users: [{name: e, user: {exec: {command: aws}}}, {name: f, user: {auth-provider: {name: gcp}}}]\n")
    for mode in range(8):
        put("kubeconfig", "one-%d" % mode, bytes([mode]) + one.encode())
    put("kubeconfig", "two-files", b"\2" + one.encode() + b"\n#--- second\n" + two.encode())
    put("kubeconfig", "two-files-second-wins", b"\3" + two.encode() + b"\n#--- second\n" + one.encode())
    put("kubeconfig", "basic", b"\4" + basic.encode())
    put("kubeconfig", "exec", b"\0" + exe.encode())
    put("kubeconfig", "bad64", b"\0current-context: x\nclusters: [{name: c, cluster: {server: https://h:1,"
        b" certificate-authority-data: '%%%'}}]\ncontexts: [{name: x, context: {cluster: c}}]\n")
    put("kubeconfig", "not-lists", b"\0clusters: {a: 1}\nusers: 3\ncontexts: [{}]\n")


def main():
    for f in (dockerignore, imageref, jsonstream, dockerauth, filch, imagefs, pkgdb, yamldoc,
              compose, compose_fields, kube, kubeconfig):
        f()
    return 0


if __name__ == "__main__":
    sys.exit(main())
