#!/usr/bin/env bash
test_description='caas-build-runner shows no credential of a --repo URL and no build-arg value'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-sec

# A password holding '/', '#' or '?' ends the URL's authority early: libgit2
# calls the URL malformed and used to quote it whole. '+' and '%2B' too.
test_expect_success 'a --repo password with / # ? + is masked in every message' '
	for pw in "pa/ss-$$-cn1" "pa#ss-$$-cn2" "pa?ss-$$-cn3" "pa+ss-$$-cn4" "pa%2Bss-$$-cn5"; do
		test_expect_code 5 caas-build-runner --repo "https://user:$pw@127.0.0.1:1/r.git" \
			--image $img -v >out 2>&1 &&
		grep "cannot clone" out &&
		! grep -F -- "ss-$$-cn" out || { cat out; return 1; }
	done
'

test_expect_success 'a failed build does not show --build-arg values, nor does CS_TRACE_HTTP' '
	mkdir bad && printf "FROM busybox:latest\nFOO bar\n" >bad/Dockerfile &&
	test_must_fail env CS_TRACE_HTTP=1 caas-build-runner --context bad --image $img \
		--build-arg NPM_TOKEN=npm-$$-canary >out 2>&1 &&
	grep "dockerfile parse error" out &&
	grep "buildargs=<redacted>" out &&
	! grep -F "npm-$$-canary" out
'

test_done
