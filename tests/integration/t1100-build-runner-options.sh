#!/usr/bin/env bash
test_description='build runner: the options layer (streams, -q, --json on failure, help, man) and its Ansible module mode'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-opts
reg=$CAAS_REGISTRY
pw=$(cat "$CAAS_REGISTRY_PASSWORD_FILE")

# A JSON arguments file as Ansible writes it: jq builds it, so quoting is jq's.
args() {
	jq -n "$@"
}

test_expect_success 'setup' '
	mkdir app &&
	printf "FROM busybox:latest\nRUN echo %s >/stamp\n" "$CS_TEST_PREFIX" >app/Dockerfile &&
	mkdir bad && printf "FROM busybox:latest\nFOO bar\n" >bad/Dockerfile
'

test_expect_success '--json - gives pure JSON on stdout; progress is on stderr' '
	caas-build-runner --context app --image $img --tag a --json - >out 2>err &&
	jq -e ".image_id | startswith(\"sha256:\")" out &&
	jq -e ".status == \"ok\" and .exit_code == 0" out &&
	grep -q "^Step 1/" err &&
	! grep -q "^Step" out
'

test_expect_success 'without --json, stdout holds the final names only' '
	caas-build-runner --context app --image $img --tag a --tag b >out 2>err &&
	printf "%s\n" "$img:a" "$img:b" >expect &&
	test_cmp expect out
'

test_expect_success 'a --context build without --push has no source or push timing (a phase that did not run is absent)' '
	caas-build-runner --context app --image $img --tag a --json res.json 2>/dev/null &&
	jq -e ".timings | has(\"source\") | not" res.json &&
	jq -e ".timings | has(\"push\") | not" res.json &&
	jq -e ".timings.build > 0" res.json
'

test_expect_success '-q: nothing on stderr for a successful build' '
	caas-build-runner -q --context app --image $img --tag a >out 2>err &&
	test_must_be_empty err &&
	grep -qx "$img:a" out
'

test_expect_success '--json FILE is written on failure: status, exit_code, error' '
	test_expect_code 1 caas-build-runner --context bad --image $img --json res.json 2>err &&
	jq -e ".status == \"failed\" and .exit_code == 1" res.json &&
	jq -e ".error | test(\"unknown instruction: FOO\")" res.json &&
	jq -e "has(\"image_id\") | not" res.json &&
	test_expect_code 2 caas-build-runner --context nope --image $img --json res.json 2>err &&
	jq -e ".exit_code == 2 and (.error | test(\"nope\"))" res.json
'

test_expect_success 'usage errors are exit 2 with one line and "see --help"' '
	test_expect_code 2 caas-build-runner --bogus >out 2>err &&
	test_line_count = 1 err &&
	grep "unknown option .--bogus. (see --help)" err &&
	test_expect_code 2 caas-build-runner --context app --image $img --registry https://$reg 2>err &&
	grep "want HOST\[:PORT\]" err &&
	test_expect_code 2 caas-build-runner --context app --image $img --push=yes 2>err &&
	grep "takes no value" err &&
	test_expect_code 2 caas-build-runner --context app 2>err &&
	grep -- "--image is required" err &&
	test_expect_code 2 caas-build-runner --context app --image $img --registry-password x 2>err &&
	grep "module arguments file only: a secret never goes in argv" err
'

test_expect_success '--version, --help, man page and completion come from the option table' '
	caas-build-runner --version | grep -E "^caas-build-runner [0-9]+\.[0-9]+" &&
	caas-build-runner --help >help &&
	grep -- "--validate-observe SECONDS" help && grep "^Exit codes:" help &&
	! grep -- "--registry-password " help &&
	caas-build-runner --help-man >man.1 &&
	grep "^\.TH caas\\\\-build\\\\-runner 1" man.1 &&
	grep -- "\\\\-\\\\-validate\\\\-observe" man.1 &&
	man -l man.1 >/dev/null 2>&1 &&
	caas-build-runner --help-completion >comp.bash &&
	bash -n comp.bash &&
	bash -c ". ./comp.bash; COMP_WORDS=(caas-build-runner --validate-le); COMP_CWORD=1; _caas_build_runner; printf \"%s\n\" \"\${COMPREPLY[@]}\"" >words &&
	grep -x -- "--validate-level" words &&
	bash -c ". ./comp.bash; COMP_WORDS=(caas-build-runner --validate-level \"\"); COMP_CWORD=2; _caas_build_runner; printf \"%s\n\" \"\${COMPREPLY[@]}\"" >words &&
	grep -x production words && grep -x non-production words
'

test_expect_success 'module: a push with registry_password returns one JSON object, never the secret' '
	args --arg reg "$reg" --arg img "$img" --arg user "$CAAS_REGISTRY_USER" --arg pw "$pw" \
		"{context: \"app\", image: \$img, tag: [\"m1\"], registry: \$reg, push: true,
		  registry_user: \$user, registry_password: \$pw, _ansible_no_log: false}" >args.json &&
	caas-build-runner args.json >out 2>err &&
	test_line_count = 1 out &&
	jq -e ".failed == false and .rc == 0 and .changed == true" out &&
	jq -e ".tags[0].name == \"$reg/$img:m1\" and (.tags[0].digest | startswith(\"sha256:\"))" out &&
	! grep -F "$pw" out err &&
	digest=$(jq -r ".tags[0].digest" out) &&
	registry_curl -sI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"$CAAS_REGISTRY_URL/v2/$img/manifests/m1" | tr -d "\r" |
		grep -ix "docker-content-digest: $digest"
'

test_expect_success 'module: the same build and push again is not a change' '
	caas-build-runner args.json >out 2>err &&
	jq -e ".failed == false and .changed == false" out
'

test_expect_success 'module: check mode builds nothing and reports the plan' '
	args --arg img "$img-check" "{context: \"app\", image: \$img, tag: [\"c\"], _ansible_check_mode: true}" >check.json &&
	caas-build-runner check.json >out 2>err &&
	jq -e ".check_mode == true and .plan.image == \"$img-check\" and .plan.push == false" out &&
	test_must_fail docker image inspect "$img-check:c" >/dev/null 2>&1
'

test_expect_success 'module: bad input gives failed JSON, a clear msg and rc' '
	args "{image: \"x\", context: \"app\", no_such_option: 1}" >bad1.json &&
	caas-build-runner bad1.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 2 and (.msg | test(\"unsupported parameter .no_such_option.\"))" out &&
	args "{image: \"x\", context: \"bad\"}" >bad2.json &&
	caas-build-runner bad2.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 1 and (.msg | test(\"unknown instruction\"))" out &&
	args "{image: \"x\", context: \"app\", push: \"maybe\"}" >bad3.json &&
	caas-build-runner bad3.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 2 and (.msg | test(\"push: want a boolean\"))" out &&
	printf "{\"image\": " >bad4.json &&
	caas-build-runner bad4.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 2 and (.msg | test(\"arguments file .bad4.json.: line\"))" out
'

test_expect_success 'module: a wrong registry_password fails with rc 4 and is not echoed' '
	args --arg reg "$reg" --arg img "$img" --arg user "$CAAS_REGISTRY_USER" \
		"{context: \"app\", image: \$img, tag: [\"m2\"], registry: \$reg, push: true,
		  registry_user: \$user, registry_password: \"wrong-Secret-123\"}" >wrong.json &&
	caas-build-runner wrong.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 4" out &&
	! grep -F "wrong-Secret-123" out err
'

test_expect_success 'cleanup' '
	docker rmi -f $img:a $img:b $reg/$img:m1 >/dev/null 2>&1 || :
'

test_done
