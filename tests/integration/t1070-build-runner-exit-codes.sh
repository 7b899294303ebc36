#!/usr/bin/env bash
test_description='exit codes and messages of bad input (build runner, validator, deployer)'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-exit

test_expect_success 'setup' '
	mkdir app && printf "FROM busybox:latest AS base\nRUN true\n" >app/Dockerfile &&
	mkdir badignore && printf "FROM busybox:latest\n" >badignore/Dockerfile &&
	printf "ok\n[a-\n" >badignore/.dockerignore &&
	mkdir badfile && printf "FROM busybox:latest\nFOO bar\n" >badfile/Dockerfile &&
	: >empty-token
'

test_expect_success 'a malformed .dockerignore is bad input: exit 2, file and line named' '
	test_expect_code 2 caas-build-runner --context badignore --image $img >out 2>&1 &&
	grep "badignore/.dockerignore. line 2: bad pattern" out
'

test_expect_success 'a Dockerfile the engine cannot parse: exit 1 with the engine'"'"'s message' '
	test_expect_code 1 caas-build-runner --context badfile --image $img >out 2>&1 &&
	grep "error: build failed: dockerfile parse error line 2: unknown instruction: FOO" out &&
	! grep "POST /build" out
'

test_expect_success '--target nosuch: exit 1 with the engine'"'"'s message' '
	test_expect_code 1 caas-build-runner --context app --image $img --target nosuch >out 2>&1 &&
	grep "error: build failed: failed to reach build target nosuch in Dockerfile" out
'

test_expect_success 'path errors keep their errno' '
	test_expect_code 2 caas-build-runner --context /etc/passwd --image $img >out 2>&1 &&
	grep "context ./etc/passwd.: not a directory" out &&
	test_expect_code 2 caas-build-runner --context app --context-dir nope --image $img >out 2>&1 &&
	grep "context-dir .nope.: No such file or directory" out &&
	test_expect_code 2 caas-build-runner --context app --dockerfile nope/Dockerfile --image $img >out 2>&1 &&
	grep "dockerfile .nope/Dockerfile.: No such file or directory" out
'

test_expect_success 'git: an empty --repo and token-file problems are bad input (2)' '
	test_expect_code 2 caas-build-runner --repo "" --image $img >out 2>&1 &&
	test_expect_code 2 caas-build-runner --repo https://127.0.0.1:1/r.git --git-token-file nope \
		--image $img >out 2>&1 &&
	grep "cannot open token file .nope." out &&
	test_expect_code 2 caas-build-runner --repo https://127.0.0.1:1/r.git --git-token-file empty-token \
		--image $img >out 2>&1 &&
	grep "token file .empty-token. is empty" out
'

test_expect_success 'numbers: --validate-observe nan and --timeout 4294967297 are refused' '
	test_expect_code 2 caas-build-runner --context app --image $img --validate-level production \
		--validate-observe nan >out 2>&1 &&
	grep "validate-observe .nan." out && ! grep "sending build context" out &&
	test_expect_code 2 caas-validator --observe nan busybox:latest >out 2>&1 &&
	printf "services:\n  s:\n    image: busybox:latest\n" >stack.yml &&
	test_expect_code 2 caas-deployer --coe swarm --bay unix:///var/run/docker.sock --app $img \
		-f stack.yml --timeout 4294967297 --dry-run >out 2>&1 &&
	grep -- "--timeout .4294967297.: want a whole number from 1 to 86400" out
'

test_expect_success 'the validator: an empty image name is bad input (2)' '
	test_expect_code 2 caas-validator "" >out 2>&1 &&
	grep "IMAGE needs a non-empty value" out
'

test_expect_success 'DOCKER_TLS_VERIFY without readable certificates: a clear message, exit 2' '
	test_expect_code 2 env DOCKER_HOST=tcp://127.0.0.1:1 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$PWD/nocerts \
		caas-build-runner --context app --image $img >out 2>&1 &&
	grep "DOCKER_TLS_VERIFY is set but .*/nocerts/ca.pem. cannot be read: No such file or directory" out
'

test_done
