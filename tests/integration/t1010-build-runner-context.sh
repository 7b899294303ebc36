#!/usr/bin/env bash
test_description='caas-build-runner builds a local directory: Dockerfile placement, symlinks, failures, signals'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-ctx

test_expect_success 'a Dockerfile outside the context is sent like docker build -f' '
	test_when_finished "docker rmi -f $img:out >/dev/null 2>&1" &&
	cp -a "$TEST_DATA/build/outside" src &&
	caas-build-runner --context src --context-dir app --dockerfile docker/Dockerfile \
		--image $img --tag out >out 2>&1 &&
	test "$(docker run --rm $img:out)" = in-context
'

test_expect_success 'a --context-dir that escapes the source: exit 2' '
	test_expect_code 2 caas-build-runner --context src --context-dir ../.. --image $img >out 2>&1 &&
	grep "outside the source" out
'

test_expect_success 'a --dockerfile or --context-dir reaching outside by .. or a symlink: exit 2' '
	mkdir -p esc/app/sub && echo "FROM busybox:latest" >esc/app/Dockerfile &&
	ln -s /etc esc/app/sub/etc && ln -s "$PWD" esc/up && ln -s ../../outside-df esc/app/Dockerfile.ln &&
	echo "FROM busybox:latest" >outside-df &&
	for args in "--dockerfile ../outside-df" "--dockerfile ../../../../../../../../etc/passwd" \
		"--context-dir app --dockerfile app/sub/etc/passwd" "--context-dir up" \
		"--context-dir app --dockerfile app/Dockerfile.ln" "--context-dir app/sub/etc"; do
		# shellcheck disable=SC2086 # args holds several words
		test_expect_code 2 caas-build-runner --context esc $args --image $img >out 2>&1 &&
		grep "lies outside the source" out || return 1
	done &&
	ln -s "$PWD/outside-df" esc/app/.dockerignore &&
	test_expect_code 2 caas-build-runner --context esc --context-dir app --image $img >out 2>&1 &&
	grep "refusing .*/.dockerignore.: it is a symbolic link" out
'

test_expect_success 'symlinks are sent as symlinks; nothing outside the context is read' '
	test_when_finished "docker rmi -f $img:ln >/dev/null 2>&1" &&
	mkdir ln && echo top-secret >outside-secret &&
	ln -s "$PWD/outside-secret" ln/abs && ln -s ../outside-secret ln/rel &&
	mkdir secret-dir && echo top-secret >secret-dir/f && ln -s "$PWD/secret-dir" ln/dir &&
	printf "FROM busybox:latest\nCOPY . /c\n" >ln/Dockerfile &&
	caas-build-runner --context ln --image $img --tag ln >out 2>&1 &&
	test "$(docker run --rm $img:ln readlink /c/dir)" = "$PWD/secret-dir" &&
	test "$(docker run --rm $img:ln find /c -type f | sort | tr "\n" " ")" = "/c/Dockerfile " &&
	test "$(docker run --rm $img:ln readlink /c/abs)" = "$PWD/outside-secret" &&
	test "$(docker run --rm $img:ln readlink /c/rel)" = ../outside-secret &&
	! docker run --rm $img:ln grep -r top-secret /c
'

test_expect_success '--build-arg (K=V and K from the environment) and --target' '
	test_when_finished "docker rmi -f $img:args >/dev/null 2>&1" &&
	mkdir args &&
	printf "FROM busybox:latest AS base\nARG A\nARG B\nRUN echo \"\$A-\$B\" >/ab\nFROM base AS other\nRUN echo other >/ab\n" >args/Dockerfile &&
	B=from-env caas-build-runner --context args --image $img --tag args --build-arg A=one --build-arg B \
		--target base >out 2>&1 &&
	test "$(docker run --rm $img:args cat /ab)" = one-from-env
'

test_expect_success 'a failing step: exit 1, the step and the engine message printed' '
	mkdir bad && printf "FROM busybox:latest\nRUN echo about to fail\nRUN exit 3\n" >bad/Dockerfile &&
	test_expect_code 1 caas-build-runner --context bad --image $img --tag bad >out 2>&1 &&
	grep "about to fail" out &&
	grep "build failed at Step 3/4 : RUN exit 3" out &&
	grep "returned a non-zero code: 3" out
'

test_expect_success 'build output has no ANSI sequences when stdout is not a terminal' '
	test_when_finished "docker rmi -f $img:ansi >/dev/null 2>&1" &&
	mkdir ansi && printf "FROM busybox:latest\nRUN printf \"\\\\033[31mred\\\\033[0m\\\\n\"\n" >ansi/Dockerfile &&
	caas-build-runner --context ansi --image $img --tag ansi >out 2>&1 &&
	grep "red" out && ! grep -q "$(printf "\\033")" out
'

test_expect_success 'usage errors: exit 2 with a one-line message' '
	test_expect_code 2 caas-build-runner --image x >out 2>&1 &&
	grep "exactly one of --repo and --context" out &&
	test_expect_code 2 caas-build-runner --context src >out 2>&1 &&
	grep "image is required" out &&
	test_expect_code 2 caas-build-runner --context src --image x --push >out 2>&1 &&
	test_expect_code 2 caas-build-runner --context src --image "UPPER" >out 2>&1 &&
	test_expect_code 2 caas-build-runner --context no-such-dir --image x >out 2>&1 &&
	grep "no-such-dir" out &&
	caas-build-runner --help >help && grep "Exit codes" help && grep "143" help
'

test_expect_success 'an unreachable engine: exit 6 and a clear message' '
	DOCKER_HOST=unix://$PWD/no.sock test_expect_code 6 caas-build-runner --context src --context-dir app \
		--dockerfile docker/Dockerfile --image $img >out 2>&1 &&
	grep "cannot connect to the Docker engine at unix://$PWD/no.sock" out &&
	DOCKER_HOST=tcp://127.0.0.1:1 test_expect_code 6 caas-build-runner --context src --context-dir app \
		--dockerfile docker/Dockerfile --image $img >out 2>&1 &&
	grep "cannot connect to the Docker engine at tcp://127.0.0.1:1" out
'

test_expect_success 'SIGTERM during a build: exit 143 and no container left behind' '
	mkdir slow && printf "FROM busybox:latest\nRUN echo started && sleep 60\n" >slow/Dockerfile &&
	{ caas-build-runner --context slow --image $img --tag slow --no-cache >out 2>&1 & pid=$!; } &&
	for i in $(seq 100); do grep -q "started" out && break; sleep 0.1; done &&
	grep -q started out &&
	cid=$(sed -n "s/^ ---> Running in \([0-9a-f]*\)$/\1/p" out) && test -n "$cid" &&
	docker container inspect "$cid" >/dev/null &&
	kill -TERM $pid && { wait $pid; rc=$?; } ; test "$rc" = 143 &&
	for i in $(seq 50); do docker container inspect "$cid" >/dev/null 2>&1 || break; sleep 0.2; done &&
	! docker container inspect "$cid" >/dev/null 2>&1 &&
	! docker image inspect $img:slow >/dev/null 2>&1
'

test_expect_success 'two runs at the same time do not interfere' '
	test_when_finished "docker rmi -f $img:c1 $img:c2 >/dev/null 2>&1" &&
	mkdir c1 c2 && echo one >c1/f && echo two >c2/f &&
	printf "FROM busybox:latest\nCOPY f /f\nRUN sleep 1\nCMD [\"cat\", \"/f\"]\n" | tee c1/Dockerfile >c2/Dockerfile &&
	{ caas-build-runner --context c1 --image $img --tag c1 >o1 2>&1 & p1=$!; } &&
	{ caas-build-runner --context c2 --image $img --tag c2 >o2 2>&1 & p2=$!; } &&
	wait $p1 && wait $p2 &&
	test "$(docker run --rm $img:c1)" = one && test "$(docker run --rm $img:c2)" = two
'

test_expect_success '--json: image_id, tags, context counts, timings' '
	test_when_finished "docker rmi -f $img:j1 $img:j2 >/dev/null 2>&1" &&
	caas-build-runner --context src --context-dir app --dockerfile docker/Dockerfile \
		--image $img --tag j1 --tag j2 --json r.json >out 2>&1 &&
	test "$(jq -r .image_id r.json)" = "$(docker image inspect -f {{.Id}} $img:j1)" &&
	test "$(jq -r ".tags[1].name" r.json)" = "$img:j2" &&
	test "$(jq -r .context.files r.json)" -ge 2 &&
	jq -e ".timings.build >= 0" r.json >/dev/null &&
	test "$(jq -r .commit r.json)" = null
'

test_done
