#!/usr/bin/env bash
test_description='caas-build-runner: the engine restarted (or killed) during a build: exit 6, one line naming the engine, nothing left'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/engine2-lib.sh"

engine2_require

p=$CS_TEST_PREFIX

# build_bg IMAGE: caas-build-runner against the second engine, in the background (pid in
# $br_pid); returns once the RUN step's container runs.
build_bg() {
	rm -rf tmp out err res.json && mkdir tmp || return 1
	DOCKER_HOST=$E2_HOST TMPDIR=$TEST_SCRATCH/tmp caas-build-runner --context ctx \
		--image "$1" --tag t1 --no-cache --json res.json >out 2>err &
	br_pid=$!
	for _ in $(seq 300); do
		grep -q "^ ---> Running in " err && return 0
		sleep 0.1
	done
	echo "the build did not reach its RUN step:" >&2
	cat err >&2
	return 1
}

# finish: wait for the build runner; its exit status in $rc, its duration in $took.
finish() {
	local t0=$SECONDS
	rc=0
	wait "$br_pid" || rc=$?
	took=$((SECONDS - t0))
}

# nothing_left IMAGE: no work directory, no image name of IMAGE, no container in the engine.
nothing_left() {
	test -z "$(ls -A tmp)" &&
		test -z "$(engine2_docker images --format "{{.Repository}}:{{.Tag}}" | grep "^$1:")" &&
		test -z "$(engine2_docker ps -aq)"
}

test_expect_success 'setup: the second engine, a context whose RUN takes 20 s' '
	engine2_start &&
	mkdir ctx &&
	printf "FROM busybox:latest\nRUN sleep 20\n" >ctx/Dockerfile &&
	mkdir quick &&
	printf "FROM busybox:latest\nRUN echo %s >/built\n" "$p" >quick/Dockerfile
'

test_expect_success 'the engine restarted (SIGTERM, then started) during a RUN: exit 6, one line, nothing left' '
	build_bg $p-restart &&
	engine2_stop TERM &&
	finish &&
	engine2_start &&
	test "$rc" = 6 &&
	grep "error:" err >errors &&
	test_line_count = 1 errors &&
	grep "^caas-build-runner: error: lost the engine at $E2_HOST during the build, at Step 2/[0-9]* : RUN sleep 20: it ended the step with .* returned a non-zero code: 137. and no longer answers" err &&
	! grep "warning:" err &&
	jq -e ".status == \"failed\" and .exit_code == 6 and (.error | startswith(\"lost the engine at $E2_HOST\"))" res.json &&
	nothing_left $p-restart
'

test_expect_success 'the engine killed (SIGKILL) during a RUN: exit 6 at once, the cut named, the container it keeps named' '
	build_bg $p-kill &&
	cid=$(sed -n "s/^ ---> Running in \([0-9a-f]*\)$/\1/p" err) &&
	engine2_stop KILL &&
	finish &&
	test "$rc" = 6 &&
	test "$took" -lt 5 &&
	grep "error:" err >errors &&
	test_line_count = 1 errors &&
	grep "^caas-build-runner: error: lost the engine at $E2_HOST during the build, at Step 2/[0-9]* : RUN sleep 20: the connection was cut (.*); it may keep the step.s container $cid (docker rm $cid)$" err &&
	jq -e ".status == \"failed\" and .exit_code == 6" res.json &&
	test -z "$(ls -A tmp)" &&
	engine2_start &&
	engine2_docker ps -aq --no-trunc | grep "^$cid" &&
	engine2_docker rm -f "$cid" &&
	nothing_left $p-kill
'

test_expect_success 'the engine killed during the push: exit 6 (not 4), the engine named, the names it keeps named' '
	engine2_start &&
	engine2_registry_route &&
	mkdir big &&
	head -c 20000000 /dev/urandom >big/blob &&
	printf "FROM busybox:latest\nCOPY blob /blob\n" >big/Dockerfile &&
	rm -rf tmp out err res.json && mkdir tmp &&
	{
		DOCKER_HOST=$E2_HOST TMPDIR=$TEST_SCRATCH/tmp caas-build-runner --context big \
			--image $p-push --tag t1 --registry $CAAS_REGISTRY --registry-user $CAAS_REGISTRY_USER \
			--registry-password-file $CAAS_REGISTRY_PASSWORD_FILE --push --json res.json >out 2>err &
		br_pid=$!
	} &&
	for _ in $(seq 600); do grep -q ": Preparing$" err && break; sleep 0.05; done &&
	engine2_stop KILL &&
	finish &&
	test "$rc" = 6 &&
	grep "error:" err >errors &&
	test_line_count = 1 errors &&
	grep "^caas-build-runner: error: lost the engine at $E2_HOST during the push of $CAAS_REGISTRY/$p-push:t1: " err &&
	temp=$(sed -n "s/^caas-build-runner: warning: the temporary name \([^ ]*\) stays: the engine at .* does not answer (docker rmi .* once it is back)$/\1/p" err) &&
	test -n "$temp" &&
	jq -e ".status == \"failed\" and .exit_code == 6" res.json &&
	test -z "$(ls -A tmp)" &&
	engine2_start &&
	engine2_docker image inspect "$temp" >/dev/null &&
	engine2_docker rmi "$temp" $CAAS_REGISTRY/$p-push:t1 &&
	test "$(registry_curl -o /dev/null -w "%{http_code}" "$CAAS_REGISTRY_URL/v2/$p-push/manifests/t1")" = 404
'

test_expect_success 'the engine started again builds: exit 0, the image named, its temporary name gone' '
	engine2_start &&
	DOCKER_HOST=$E2_HOST TMPDIR=$TEST_SCRATCH/tmp caas-build-runner --context quick \
		--image $p-after --tag t1 >out 2>err &&
	test "$(cat out)" = "$p-after:t1" &&
	test "$(engine2_docker run --rm $p-after:t1 cat /built)" = "$p" &&
	test "$(engine2_docker images --format "{{.Tag}}" $p-after)" = t1 &&
	test -z "$(ls -A tmp)"
'

test_done
