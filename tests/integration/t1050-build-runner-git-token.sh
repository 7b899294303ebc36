#!/usr/bin/env bash
test_description='caas-build-runner clones over smart HTTP with --git-token-file (git http-backend behind Basic auth)'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-tok

# The CGI runs as nobody (Python drops root): the repository lives under /tmp,
# readable by it whatever the permissions of the checkout, and declared safe for git.
srv=$(mktemp -d /tmp/cs-git-http.XXXXXX)

test_expect_success 'setup: a bare repository served by git http-backend, a token' '
	mkdir -p "$srv/www/git" "$srv/repos" && ln -s /usr/lib/git-core/git-http-backend "$srv/www/git/http" &&
	git init -q --bare -b main "$srv/repos/app.git" &&
	git clone -q "$srv/repos/app.git" work 2>/dev/null &&
	printf "FROM busybox:latest\nCOPY v /v\nCMD [\"cat\", \"/v\"]\n" >work/Dockerfile &&
	echo via-token >work/v && git -C work add -A && git -C work commit -qm token &&
	git -C work push -q origin HEAD:main &&
	chmod -R a+rX "$srv" &&
	token=tok-$$-s3cret && echo "$token" >token && echo wrong-$$-token >wrong &&
	{ GIT_PROJECT_ROOT=$srv/repos GIT_HTTP_EXPORT_ALL=1 GIT_CONFIG_COUNT=1 \
		GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0="*" \
		python3 "$TEST_DATA/fakes/git-http.py" token "$srv/www" >port 2>server.log & server=$!; } &&
	for i in $(seq 50); do test -s port && break; sleep 0.1; done &&
	url=http://127.0.0.1:$(cat port)/git/http/app.git
'

test_expect_success 'the token opens the repository; it appears nowhere' '
	test_when_finished "docker rmi -f $img:1 >/dev/null 2>&1" &&
	caas-build-runner --repo "$url" --git-token-file token --image $img --tag 1 -v >out 2>&1 &&
	test "$(docker run --rm $img:1)" = via-token &&
	! grep -F "$token" out &&
	! docker image inspect $img:1 | grep -F "$token"
'

test_expect_success 'without a token, or with a wrong one: exit 5, the URL named, no secret shown' '
	test_expect_code 5 caas-build-runner --repo "$url" --image $img --tag 2 >out 2>&1 &&
	grep -F "$url" out &&
	test_expect_code 5 caas-build-runner --repo "$url" --git-token-file wrong --image $img --tag 2 >out 2>&1 &&
	grep "token was refused" out &&
	! grep -F "wrong-$$-token" out
'

test_expect_success 'stop the server' '
	kill "$server" && rm -rf "$srv"
'

test_done
