#!/usr/bin/env bash
test_description='SIGTERM (and SIGINT) in each phase of caas-build-runner and caas-validator: exit 143, nothing left'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/fault-lib.sh"

# Each test starts a tool, waits until it is verifiably in one phase (its -v line,
# the engine's state, or a request the fault proxy holds or slows), signals it, and
# checks: the exit code within 3 s, no container of the run, no temporary image
# name of the run, nothing in TMPDIR (a directory of the test), and the --json
# result (status failed, exit_code 143). The build runner reads a git repository
# (--repo), so that its work directory in TMPDIR exists during each phase.
# The engine is reached through a TCP relay (DOCKER_HOST=tcp://) where a phase
# must be slowed or held on the engine's side, and the registry through the
# fault proxy where it must be on the registry's side.

name=$CS_TEST_PREFIX-sig
auth=(--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE")
accept="Accept: application/vnd.docker.distribution.manifest.v2+json"

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_until() {
	local n=$(($1 * 10)) i
	shift
	for i in $(seq "$n"); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "wait_until: '$*' still fails after $((n / 10)) s" >&2
	return 1
}

has_line() { # FILE REGEX
	grep -q "$2" "$1"
}

stat_above() { # CTLPORT KEY N
	test "$(fault_stat "$1" "$2")" -gt "$3"
}

# start TOOL ARGS...: run TOOL in the background with TMPDIR=$PWD/tmp (fresh), stdout
# in out, stderr in err; sets pid.
start() {
	rm -rf tmp out err r.json && mkdir tmp || return 1
	TMPDIR=$PWD/tmp "$@" >out 2>err &
	pid=$!
}

# signal_and_wait SIG: send SIG to $pid; rc gets the exit code, secs the seconds it took.
signal_and_wait() {
	local t0 t1
	t0=$(date +%s.%N)
	kill -"$1" "$pid" || return 1
	wait "$pid"
	rc=$?
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	echo "exit $rc after SIG$1 in $secs s"
	cat err
}

# stopped_as CODE: the exit code, within 3 s, the --json result, nothing left in TMPDIR.
stopped_as() {
	test "$rc" = "$1" &&
		test "$(echo "$secs < 3" | bc)" = 1 &&
		jq -e --argjson c "$1" '.status == "failed" and .exit_code == $c' r.json &&
		grep -q "interrupted" err &&
		if [ -n "$(ls -A tmp)" ]; then
			echo "left in TMPDIR: $(ls -A tmp)" >&2
			return 1
		fi
}

container_gone() { # ID
	test -z "$(docker ps -aq --filter "id=$1")"
}

# val_container IMAGE_ID: a validation container of the image exists.
val_container() {
	test -n "$(docker ps -aq --filter label=org.caas-devops.validator --filter "ancestor=$1")"
}

no_val_container() { # IMAGE_ID
	! val_container "$1"
}

# no_run_leftovers: no build container of the run ("Running in" lines), no
# temporary image name of the build runner, no validation container of the image.
no_run_leftovers() {
	local id
	while read -r id; do
		wait_until 10 container_gone "$id" || return 1
	done < <(sed -n "s/^ ---> Running in \([0-9a-f]*\)$/\1/p" err)
	test -z "$(docker images -q --filter "reference=*/$name*:caas-build-*")" &&
		test -z "$(docker images -q --filter "reference=$name*:caas-build-*")" &&
		if [ -n "${built:-}" ]; then
			wait_until 10 no_val_container "$built"
		fi
}

# The image ID the build runner printed.
built_id() {
	sed -n "s/^built \(sha256:[0-9a-f]*\)$/\1/p" err
}

# The engine's build-context directories that exist now.
builder_dirs() {
	find /var/lib/docker/tmp -maxdepth 1 -name "docker-builder*" 2>/dev/null | sort
}

test_expect_success 'setup: a repository with three contexts, the relay to the engine, the fault proxy' '
	git init -q src &&
	mkdir src/big src/app src/slow &&
	head -c 20000000 /dev/urandom >src/big/blob &&
	printf "FROM scratch\nCOPY blob /blob\n" >src/big/Dockerfile &&
	cp "$(command -v busybox)" src/app/app &&
	printf "FROM scratch\nCOPY app /app\nCMD [\"/app\", \"sleep\", \"60\"]\n" >src/app/Dockerfile &&
	printf "FROM busybox:latest\nRUN echo started && sleep 60\n" >src/slow/Dockerfile &&
	git -C src add . && git -C src commit -q -m contexts &&
	printf "{ \"files\": { \"forbidden\": [\"nmap\"] }, \"processes\": { \"forbidden\": [\"nmap\"] } }\n" >policy.json &&
	caas-validator --policy policy.json --no-processes busybox:latest >/dev/null &&
	start_relay eng /var/run/docker.sock &&
	start_fault_proxy reg
'

test_expect_success 'build runner, context phase (the context at 2 MB/s to the engine): SIGTERM exits 143, the engine drops the context' '
	fault "$eng_ctl" "mode=slow&rate=2000000" &&
	test_when_finished "fault $eng_ctl mode=none" &&
	builder_dirs >dirs.before &&
	start env DOCKER_HOST=tcp://127.0.0.1:$eng_port caas-build-runner -v --repo src \
		--context-dir big --image $name --tag ctx --json r.json &&
	wait_until 30 has_line err "^sending build context" &&
	wait_until 20 stat_above "$eng_ctl" up_bytes 2000000 &&
	! grep "^Step 1/" err &&
	ls tmp | grep "^caas-build-" &&
	builder_dirs >dirs.during &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	no_run_leftovers &&
	! docker image inspect $name:ctx &&
	comm -13 dirs.before dirs.during >dirs.ours &&
	cat dirs.ours &&
	for d in $(cat dirs.ours); do wait_until 10 test ! -e "$d" || return 1; done
'

test_expect_success 'build runner, build phase (a RUN step running): SIGTERM exits 143, its container removed' '
	start caas-build-runner -v --repo src --context-dir slow --image $name --tag build \
		--no-cache --json r.json &&
	wait_until 60 has_line err "^started" &&
	cid=$(sed -n "s/^ ---> Running in \([0-9a-f]*\)$/\1/p" err) &&
	docker container inspect "$cid" >/dev/null &&
	ls tmp | grep "^caas-build-" &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	no_run_leftovers &&
	! docker image inspect $name:build
'

test_expect_success 'build runner, validate phase (the validation container running): SIGTERM exits 143, no tag made' '
	start caas-build-runner -v --repo src --context-dir app --image $name --tag val \
		--validate policy.json --validate-observe 60 --json r.json &&
	wait_until 60 has_line err "^validating " &&
	built=$(built_id) && test -n "$built" &&
	wait_until 30 val_container "$built" &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	no_run_leftovers &&
	! docker image inspect $name:val &&
	! docker image inspect "$built"
'
built=

test_expect_success 'build runner, tag phase (POST /images/ID/tag held): SIGINT exits 130, the request never reaches the engine' '
	fault "$eng_ctl" "mode=stall&match=^POST%20/v1%5C.%5B0-9%5D*/images/.*/tag%5C%3Frepo=" &&
	test_when_finished "fault $eng_ctl mode=none" &&
	start env DOCKER_HOST=tcp://127.0.0.1:$eng_port caas-build-runner -v --repo src \
		--context-dir app --image $name --tag tagged --json r.json &&
	wait_until 60 stat_above "$eng_ctl" held 0 &&
	built=$(built_id) && test -n "$built" &&
	signal_and_wait INT &&
	stopped_as 130 &&
	wait_until 5 stat_above "$eng_ctl" gone 0 &&
	no_run_leftovers &&
	! docker image inspect $name:tagged &&
	! docker image inspect "$built"
'
built=

# The blob upload: the engine pushes through the proxy at 2 MB/s.
test_expect_success 'build runner, push phase (a 20 MB layer uploading): SIGTERM exits 143, the upload stops, no tag in the registry' '
	fault "$reg_ctl" "mode=slow&rate=2000000&match=^(PATCH%7CPUT)%20.*/blobs/uploads/" &&
	test_when_finished "fault $reg_ctl mode=none" &&
	start caas-build-runner -v --repo src --context-dir big --image $name --tag up \
		--registry 127.0.0.1:$reg_port --push "${auth[@]}" --json r.json &&
	wait_until 60 has_line err "^pushing " &&
	wait_until 30 stat_above "$reg_ctl" slowed 2000000 &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	no_run_leftovers &&
	sent=$(fault_stat "$reg_ctl" slowed) && echo "layer bytes through the proxy at the exit: $sent" &&
	for i in $(seq 10); do
		sleep 2 && now=$(fault_stat "$reg_ctl" slowed) && echo "$((i * 2)) s later: $now" &&
		if [ "$now" = "$sent" ]; then break; fi
		sent=$now
	done &&
	test "$now" = "$sent" && test "$now" -lt 20000000 &&
	test "$(fault_stat "$reg_ctl" aborted)" -gt 0 &&
	curl -sS "http://127.0.0.1:$reg_ctl/stats" | jq -r ".log[]" | grep "closed the connection in the body" &&
	code=$(registry_curl -o /dev/null -w "%{http_code}" -H "$accept" "$CAAS_REGISTRY_URL/v2/$name/manifests/up") &&
	echo "manifest $name:up: HTTP $code" && test "$code" = 404
'

# The manifest PUT held: the engine has uploaded every blob and sent the manifest.
test_expect_success 'build runner, push phase (the manifest PUT held): SIGTERM exits 143; the registry never gets a partial image' '
	fault "$reg_ctl" "mode=stall&match=^PUT%20.*/manifests/" &&
	test_when_finished "fault $reg_ctl mode=none" &&
	start caas-build-runner -v --repo src --context-dir app --image $name --tag man \
		--registry 127.0.0.1:$reg_port --push "${auth[@]}" --json r.json &&
	wait_until 60 stat_above "$reg_ctl" held 0 &&
	built=$(built_id) && test -n "$built" &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	grep "the engine may still complete" err &&
	sleep 3 &&
	echo "3 s after the exit: held $(fault_stat "$reg_ctl" held), gone $(fault_stat "$reg_ctl" gone)" &&
	fault "$reg_ctl" mode=none && sleep 2 &&
	manifest=$(registry_curl -H "$accept" "$CAAS_REGISTRY_URL/v2/$name/manifests/man") &&
	if echo "$manifest" | jq -e .config.digest >/dev/null; then
		echo "the engine completed the push after the runner exited: $(echo "$manifest" | jq -c .config)" &&
		test "$(echo "$manifest" | jq -r .config.digest)" = "$built" &&
		for b in $(echo "$manifest" | jq -r ".config.digest, .layers[].digest"); do
			test "$(registry_curl -o /dev/null -w "%{http_code}" -I "$CAAS_REGISTRY_URL/v2/$name/blobs/$b")" = 200 || return 1
		done
	else
		echo "no tag: $manifest" && echo "$manifest" | grep MANIFEST_UNKNOWN
	fi &&
	no_run_leftovers
'
built=

test_expect_success 'setup: the 20 MB image in the engine and in the registry' '
	caas-build-runner --repo src --context-dir big --image $name --tag v --registry "$CAAS_REGISTRY" \
		--push "${auth[@]}" >push.out 2>&1 &&
	docker image inspect $CAAS_REGISTRY/$name:v >/dev/null
'

test_expect_success 'validator, export stream (the engine at 2 MB/s): SIGTERM exits 143, nothing cached half' '
	fault "$eng_ctl" "mode=slow&rate=2000000" &&
	test_when_finished "fault $eng_ctl mode=none" &&
	start env DOCKER_HOST=tcp://127.0.0.1:$eng_port caas-validator -v --policy policy.json \
		--no-processes --cache-dir "$PWD/cache" --json r.json $CAAS_REGISTRY/$name:v &&
	wait_until 30 has_line err "from the export stream" &&
	wait_until 20 stat_above "$eng_ctl" down_bytes 2000000 &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	test -z "$(find cache -name ".tmp-*")" &&
	test -z "$(find cache -name "*.layer")"
'

test_expect_success 'validator, layers from the registry (blob at 2 MB/s): SIGTERM exits 143, no temporary layer file' '
	fault "$reg_ctl" "mode=slow&rate=2000000&match=^GET%20.*/blobs/" &&
	test_when_finished "fault $reg_ctl mode=none" &&
	start caas-validator -v --policy policy.json --no-processes --cache-dir "$PWD/cache" \
		"${auth[@]}" --json r.json 127.0.0.1:$reg_port/$name:v &&
	wait_until 30 has_line err "reading it from its registry" &&
	wait_until 20 stat_above "$reg_ctl" slowed 2000000 &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	test -z "$(find cache -name ".tmp-*")" &&
	test -z "$(find cache -name "*.layer")"
'

# A named pipe as the archive: the writer sends half of a docker save stream, then waits.
test_expect_success 'validator, --archive (a pipe that stops half way): SIGTERM exits 143' '
	docker save -o bb.tar busybox:latest && mkfifo pipe.tar || return 1
	python3 -c "import sys, time
d = open(\"bb.tar\", \"rb\").read()
with open(\"pipe.tar\", \"wb\") as o:
	o.write(d[:len(d) // 2])
	o.flush()
	print(\"half\", flush=True)
	time.sleep(60)" >writer.out 2>&1 &
	writer=$!
	test_when_finished "kill $writer 2>/dev/null; rm -f pipe.tar bb.tar" &&
	start caas-validator -v --policy policy.json --no-processes --archive pipe.tar \
		--json r.json busybox:latest &&
	wait_until 30 has_line writer.out "^half" &&
	sleep 0.5 && kill -0 "$pid" &&
	signal_and_wait TERM &&
	stopped_as 143
'

test_expect_success 'validator, process observation: SIGTERM exits 143 with the --json result, the container removed' '
	caas-build-runner --repo src --context-dir app --image $name --tag obs >b.out 2>&1 &&
	built=$(docker image inspect -f "{{.Id}}" $name:obs) &&
	start caas-validator -v --policy policy.json --observe 60 --json r.json $name:obs &&
	wait_until 30 val_container "$built" &&
	signal_and_wait TERM &&
	stopped_as 143 &&
	no_run_leftovers
'
built=

test_done
