#!/usr/bin/env bash
test_description='registry faults during a push (fault-injecting proxy in front of the real registry)'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/fault-lib.sh"

name=$CS_TEST_PREFIX-faults
reg= # 127.0.0.1:<the proxy's port>, set by the setup

# push TAG [ARGS...]: build app and push it through the proxy as $reg/$name:TAG. The version
# label is fixed, so every tag is the same image (the same manifest digest).
push() {
	local tag=$1
	shift
	caas-build-runner --context app --image "$name" --tag "$tag" \
		--label org.opencontainers.image.version=fixed --registry "$reg" --push \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--json "$tag.json" "$@"
}

digest_of() {
	jq -r '.tags[0].digest' "$1.json"
}

test_expect_success 'setup: a proxy the engine trusts, a clean push through it' '
	start_fault_proxy p &&
	reg=127.0.0.1:$p_port &&
	mkdir app && printf "FROM busybox:latest\nRUN echo %s >/id && head -c 2000000 /dev/urandom >/blob\n" \
		"$CS_TEST_PREFIX" >app/Dockerfile &&
	push clean >out 2>&1 &&
	clean=$(digest_of clean) && test -n "$clean" &&
	test "$(fault_stat "$p_ctl" faults)" = 0 &&
	fault_wait_log "$p_ctl" "^PUT /v2/$name/manifests/clean" 1
'

test_expect_success '500 on the manifest PUT twice: retried, the same digest pushed' '
	n=$(fault_stat "$p_ctl" faults) &&
	fault "$p_ctl" "mode=status&code=500&count=2&match=^PUT%20.*/manifests/" &&
	push r500 >out 2>&1 &&
	test "$(grep -c "received unexpected HTTP status: 500 Internal Server Error; retrying" out)" = 2 &&
	test "$(digest_of r500)" = "$clean" &&
	test "$(fault_stat "$p_ctl" faults)" = $((n + 2))
'

test_expect_success '429 for 2 seconds: retried within bounds, the same digest' '
	fault "$p_ctl" "mode=status&code=429&seconds=2&match=^PUT%20.*/manifests/" &&
	push r429 >out 2>&1 &&
	grep "toomanyrequests: injected fault; retrying in 1 s (1/3)" out &&
	test "$(digest_of r429)" = "$clean"
'

test_expect_success 'failing longer than the bound: exit 4 after 4 attempts, one error line' '
	fault "$p_ctl" "mode=status&code=503&count=100&match=^PUT%20.*/manifests/" &&
	n=$(fault_stat "$p_ctl" faults) && start=$(date +%s) &&
	test_expect_code 4 push long >out 2>long.err &&
	test $(($(date +%s) - start)) -lt 30 &&
	test "$(grep -c "retrying" long.err)" = 3 &&
	test "$(grep -c "error:" long.err)" = 1 &&
	grep "error: push $reg/$name:long: received unexpected HTTP status: 503 Service Unavailable (gave up after 4 attempts)" long.err &&
	test "$(fault_stat "$p_ctl" faults)" = $((n + 4)) &&
	jq -e ".status == \"failed\" and .exit_code == 4 and (.error | test(\"gave up after 4 attempts\"))" long.json
'

test_expect_success 'a permanent registry error (400) is not retried' '
	fault "$p_ctl" "mode=status&code=400&count=100&match=^PUT%20.*/manifests/" &&
	test_expect_code 4 push bad >out 2>bad.err &&
	! grep "retrying" bad.err &&
	test "$(grep -c "error:" bad.err)" = 1 &&
	grep "error: push $reg/$name:bad: manifest invalid: injected fault$" bad.err
'

test_expect_success 'the engine retries a failed blob upload itself (500 on a new layer)' '
	fault "$p_ctl" "mode=none" &&
	printf "RUN echo second >/second\n" >>app/Dockerfile &&
	fault "$p_ctl" "mode=status&code=500&count=1&match=^PATCH%20" &&
	push engine >out 2>&1 &&
	grep "Retrying in" out &&
	grep "pushed $reg/$name:engine@sha256:" out
'

test_expect_success 'the connection cut in the middle of a blob: retried, pushed, verified' '
	fault "$p_ctl" "mode=none" &&
	printf "RUN head -c 1000000 /dev/urandom >/third\n" >>app/Dockerfile &&
	fault "$p_ctl" "mode=cut&after=200000&count=1" &&
	push cut >out 2>&1 &&
	test "$(fault_stat "$p_ctl" cuts)" = 1 &&
	grep "pushed $reg/$name:cut@sha256:" out
'

test_expect_success 'the registry stopped during a push: exit 4, its address named' '
	printf "RUN echo fourth >/fourth\n" >>app/Dockerfile &&
	fault "$p_ctl" "mode=refuse&match=^PUT%20.*/manifests/" &&
	test_expect_code 4 push stopped >out 2>stopped.err &&
	test "$(grep -c "error:" stopped.err)" = 1 &&
	grep "error: push $reg/$name:stopped: .*$reg.*connection refused" stopped.err &&
	fault "$p_ctl" "mode=none"
'

# A second proxy shows a certificate of a CA nobody trusts.
test_expect_success 'setup: an unknown CA and a proxy with its certificate' '
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.crt -days 2 \
		-subj "/CN=unknown test CA" 2>/dev/null &&
	printf "subjectAltName = IP:127.0.0.1\n" >san.cnf &&
	openssl req -new -newkey rsa:2048 -nodes -keyout other.key -out other.csr \
		-subj "/CN=127.0.0.1" 2>/dev/null &&
	openssl x509 -req -in other.csr -CA other-ca.crt -CAkey other-ca.key -CAcreateserial \
		-days 2 -extfile san.cnf -out other.crt 2>/dev/null &&
	start_fault_proxy bad "$PWD/other.crt" "$PWD/other.key"
'

test_expect_success 'certificate from an unknown CA (the runner'"'"'s client): exit 4 at once, no retry' '
	start=$(date +%s) &&
	test_expect_code 4 caas-build-runner --context app --image $name --tag x --registry 127.0.0.1:$bad_port \
		--push --registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		>out 2>cert.err &&
	test $(($(date +%s) - start)) -lt 5 &&
	grep -i "certificate" cert.err && ! grep -i "retrying" cert.err &&
	test "$(grep -c "error:" cert.err)" = 1 &&
	test "$(fault_stat "$bad_ctl" connections)" = 1
'

# The engine's own push cannot meet a certificate error here: dockerd counts 127.0.0.0/8 as an
# insecure registry by default and skips verification there (docs/reliability.md). The runner's
# check above is what refuses such a registry, before any build.

test_expect_success 'certificate from an unknown CA (the validator reading from the registry): exit 7, no retry' '
	n=$(fault_stat "$bad_ctl" connections) &&
	test_expect_code 7 caas-validator --no-processes --registry-user "$CAAS_REGISTRY_USER" \
		--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		127.0.0.1:$bad_port/$name:clean >out 2>vcert.err &&
	grep -i "certificate" vcert.err && ! grep -i "retrying" vcert.err &&
	test "$(fault_stat "$bad_ctl" connections)" = $((n + 1))
'

test_expect_success 'cleanup: the pushed tags leave the registry' '
	for t in clean r500 r429 engine cut; do
		d=$(jq -r ".tags[0].digest" $t.json) &&
		registry_curl -s -o /dev/null -X DELETE "$CAAS_REGISTRY_URL/v2/$name/manifests/$d" || return 1
	done
'

test_done
