#!/usr/bin/env bash
test_description='caas-build-runner: two runs of one --image --tag at once push only a validated image'
. "$(dirname "$0")/test-lib.sh"

name=$CS_TEST_PREFIX-race
reg=$CAAS_REGISTRY
auth=(--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE")
accept="Accept: application/vnd.docker.distribution.manifest.v2+json"

# The config digest of the manifest the registry serves for $name:$1.
registry_config() {
	registry_curl -sf -H "$accept" "$CAAS_REGISTRY_URL/v2/$name/manifests/$1" | jq -r .config.digest
}

# Wait (up to 120 s) until file $1 has a line matching $2.
wait_for_line() {
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le 1200 ] || return 1
		sleep 0.1
	done
}

test_expect_success 'setup: a valid image and one that ships nmap' '
	mkdir good bad &&
	cp "$(command -v busybox)" good/app && cp "$(command -v busybox)" bad/busybox &&
	printf "FROM scratch\nCOPY app /app\nLABEL run=%s\nCMD [\"/app\", \"sleep\", \"30\"]\n" "$CS_TEST_PREFIX" >good/Dockerfile &&
	printf "FROM scratch\nCOPY busybox /usr/bin/nmap\nLABEL run=%s\n" "$CS_TEST_PREFIX" >bad/Dockerfile
'

# A is built first and watched running for 6 s; B, built and tagged during
# that time, fails its validation. Before the fix B's build moved the shared
# tag and A pushed B's image (and reported A's ID with B's digest).
test_expect_success 'run A (valid) and run B (nmap) at once: the registry gets A' '
	test_when_finished "docker rmi -f $reg/$name:t >/dev/null 2>&1" &&
	{ caas-build-runner --context good --image $name --tag t --registry $reg --push "${auth[@]}" \
		--validate "$TEST_DATA/validator/policies/no-nmap.json" --validate-observe 6 \
		--json a.json >a.out 2>&1; echo $? >a.rc; } &
	wait_for_line a.out "^built sha256:" &&
	test_expect_code 3 caas-build-runner --context bad --image $name --tag t --registry $reg --push \
		"${auth[@]}" --validate "$TEST_DATA/validator/policies/no-nmap.json" \
		--validate-no-processes --json b.json >b.out 2>&1 &&
	wait &&
	cat a.out && test "$(cat a.rc)" = 0 &&
	grep "file /usr/bin/nmap is forbidden" b.out &&
	a_id=$(jq -r .image_id a.json) && b_id=$(jq -r .image_id b.json) &&
	test "$a_id" != "$b_id" &&
	test "$(registry_config t)" = "$a_id" &&
	remote=$(registry_curl -sfI -H "$accept" "$CAAS_REGISTRY_URL/v2/$name/manifests/t" |
		tr -d "\r" | sed -n "s/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p") &&
	test "$(jq -r ".tags[0].digest" a.json)" = "$remote" &&
	test "$(docker image inspect -f "{{.Id}}" $reg/$name:t)" = "$a_id" &&
	! docker image inspect "$b_id" >/dev/null 2>&1
'

test_expect_success 'the run-unique build names are gone afterwards' '
	test -z "$(docker images -q --filter "reference=$reg/$name:caas-build-*")"
'

# The lock file of $reg/$name under CAAS_LOCK_DIR is held by another process.
test_expect_success 'a run waits for the lock of its repository; SIGTERM ends the wait with 143' '
	mkdir locks && key=$(printf "%s" "$reg/$name" | sha256sum | cut -c1-32) &&
	lockfile=$PWD/locks/caas-build-runner.$key.lock || return 1
	python3 -c "import fcntl, sys, time
f = open(sys.argv[1], \"w\")
fcntl.flock(f, fcntl.LOCK_EX)
print(\"locked\", flush=True)
time.sleep(600)" "$lockfile" >holder.out &
	holder=$!
	test_when_finished "kill $holder 2>/dev/null; true" &&
	wait_for_line holder.out locked || return 1
	CAAS_LOCK_DIR=$PWD/locks caas-build-runner --context good --image $name --tag w --registry $reg \
		--push "${auth[@]}" >w.out 2>&1 &
	runner=$!
	wait_for_line w.out "waiting for another caas-build-runner" &&
	sleep 1 && ! grep "^pushing" w.out &&
	! docker image inspect $reg/$name:w >/dev/null 2>&1 &&
	kill -TERM $runner || return 1
	wait $runner
	test $? = 143 && grep "interrupted" w.out &&
	test -z "$(docker images -q --filter "reference=$reg/$name:caas-build-*")"
'

test_expect_success 'once the lock is free the run goes through' '
	test_when_finished "docker rmi -f $reg/$name:w >/dev/null 2>&1" &&
	kill $holder && wait $holder;
	CAAS_LOCK_DIR=$PWD/locks caas-build-runner --context good --image $name --tag w --registry $reg \
		--push "${auth[@]}" >w2.out 2>&1 &&
	! grep "waiting for another" w2.out &&
	grep "verified in the registry" w2.out
'

test_done
