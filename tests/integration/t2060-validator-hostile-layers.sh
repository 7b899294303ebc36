#!/usr/bin/env bash
test_description='caas-validator: crafted layers (.. and absolute paths, hard links and symlinks to host files, device files) do not escape the image, from a docker save archive and from the engine'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-hostile
escape=/tmp/cs-escape-$$
host_status=/tmp/cs-host-status-$$
# the host files go with the file, also when it stops early (-i)
remove_host_files() {
	local code=$?
	rm -f "$host_status" "$escape"
	(exit "$code")
	test_at_exit_
}
trap remove_host_files EXIT

# mksave OUT TAG [engine]: a docker save archive of one image of one crafted layer:
#   usr/bin/nmap (absolute name /usr/bin/nmap)    a forbidden file, found where it is
#   var/lib/dpkg/status -> $host_status            an absolute symlink to a host file
#                                                  holding a dpkg status with tcpdump
#   var/lib/dpkg/status.d/zero, dev/mem-copy       character devices 1,5 and 1,1
#   var/lib/apk/db/installed                       a hard link to ../../../..$host_status
#   ../../..$escape                                a file outside the image
# "engine": only what `docker load` accepts (no "..", no hard link leaving the layer).
mksave() {
	python3 - "$1" "$2" "$host_status" "$escape" "${3:-}" <<-'EOF'
	import hashlib, io, json, sys, tarfile
	out, tag, host_status, escape, engine = sys.argv[1:6]
	def entry(t, name, kind=tarfile.REGTYPE, data=b"", link="", dev=(0, 0)):
	    i = tarfile.TarInfo(name)
	    i.type, i.mode, i.linkname = kind, 0o755, link
	    i.devmajor, i.devminor = dev
	    i.size = len(data) if kind == tarfile.REGTYPE else 0
	    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
	lb = io.BytesIO()
	with tarfile.open(fileobj=lb, mode="w", format=tarfile.PAX_FORMAT) as t:
	    for d in ("usr", "usr/bin", "var", "var/lib", "var/lib/dpkg", "var/lib/dpkg/status.d",
	              "var/lib/apk", "var/lib/apk/db", "dev", "bin"):
	        entry(t, d, tarfile.DIRTYPE)
	    entry(t, "/usr/bin/nmap", data=b"#!/bin/sh\n")
	    entry(t, "bin/sh", data=b"")
	    entry(t, "var/lib/dpkg/status", tarfile.SYMTYPE, link=host_status)
	    entry(t, "var/lib/dpkg/status.d/zero", tarfile.CHRTYPE, dev=(1, 5))
	    entry(t, "dev/mem-copy", tarfile.CHRTYPE, dev=(1, 1))
	    if not engine:
	        entry(t, "var/lib/apk/db/installed", tarfile.LNKTYPE, link="../../../.." + host_status)
	        entry(t, "../../.." + escape, data=b"escaped\n")
	        entry(t, "usr/../../.." + escape, data=b"escaped\n")
	layer = lb.getvalue()
	diff = "sha256:" + hashlib.sha256(layer).hexdigest()
	cfg = json.dumps({"architecture": "amd64", "os": "linux",
	                  "config": {"Cmd": ["/usr/bin/nmap"]},
	                  "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
	cid = hashlib.sha256(cfg).hexdigest()
	man = json.dumps([{"Config": cid + ".json", "RepoTags": [tag],
	                   "Layers": [diff[7:] + "/layer.tar"]}]).encode()
	with tarfile.open(out, "w") as t:
	    for name, data in ((diff[7:] + "/layer.tar", layer), (cid + ".json", cfg),
	                       ("manifest.json", man)):
	        i = tarfile.TarInfo(name)
	        i.size = len(data)
	        t.addfile(i, io.BytesIO(data))
	EOF
}

test_expect_success 'setup: a host file the layers point at, a policy, the archives' '
	printf "Package: tcpdump\nStatus: install ok installed\nVersion: 1\n\n" >$host_status &&
	printf "{\"files\": {\"forbidden\": [\"nmap\", \"mem-copy\", \"cs-escape\"]}, \"packages\": {\"forbidden\": [\"tcpdump\"]}}\n" >pol.json &&
	mksave hostile.tar $img:1 &&
	mksave engine.tar $img:2 engine &&
	tar -xOf hostile.tar "$(tar -tf hostile.tar | grep layer.tar)" | tar -tvP >entries &&
	grep -F "../../..$escape" entries && grep -F "status -> $host_status" entries &&
	grep -F "link to ../../../..$host_status" entries
'

# check_report CMD...: exit 3; the report (stdout, or stderr with -v while the report moves
# to the options layer's streams) names the two forbidden files and nothing of the host.
check_report() {
	test_expect_code 3 "$@" -v >out 2>err &&
	cat out err >all &&
	cat all &&
	grep "^file /usr/bin/nmap is forbidden" all &&
	grep "^file /dev/mem-copy is forbidden" all &&
	! grep -i "tcpdump" all &&
	! grep "cs-escape" all &&
	test ! -e "$escape"
}

test_expect_success '--archive: .. entries ignored and counted, links and devices not followed' '
	check_report caas-validator --no-processes --no-cache --policy pol.json --json a.json \
		--archive hostile.tar $img:1 &&
	grep "note: 2 layer entries with a path escaping the image were ignored" all &&
	jq -e "[.violations[].item] | sort == [\"/dev/mem-copy\", \"/usr/bin/nmap\"]" a.json
'

test_expect_success 'the same image loaded in the engine: overlay2 directories, then the export stream' '
	test_when_finished "docker rmi -f $img:2 >/dev/null 2>&1" &&
	docker load -i engine.tar >/dev/null &&
	test "$(docker image inspect -f "{{len .RootFS.Layers}}" $img:2)" = 1 &&
	SECONDS=0 &&
	check_report caas-validator --no-processes --no-cache --policy pol.json $img:2 &&
	check_report caas-validator --no-processes --no-cache --export --policy pol.json $img:2 &&
	check_report caas-validator --no-processes --policy pol.json $img:2 &&
	test "$SECONDS" -lt 60
'

test_expect_success 'cleanup' '
	rm -f $host_status $escape
'

test_done
