#!/usr/bin/env bash
test_description='caas-build-runner pushes to the TLS + htpasswd registry and verifies the digest'
. "$(dirname "$0")/test-lib.sh"

name=$CS_TEST_PREFIX-push
reg=$CAAS_REGISTRY

test_expect_success 'setup' '
	mkdir app && printf "FROM busybox:latest\nRUN echo %s >/id\n" "$CS_TEST_PREFIX" >app/Dockerfile
'

test_expect_success 'push every tag; the reported digest is the registry'"'"'s' '
	test_when_finished "docker rmi -f $reg/$name:1 $reg/$name:stable >/dev/null 2>&1" &&
	caas-build-runner --context app --image $name --tag 1 --tag stable --registry $reg --push \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--json r.json >out 2>&1 &&
	for t in 1 stable; do
		remote=$(registry_curl -I -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
			"$CAAS_REGISTRY_URL/v2/$name/manifests/$t" | tr -d "\r" | sed -n "s/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p") &&
		test -n "$remote" &&
		test "$(jq -r ".tags[] | select(.name == \"$reg/$name:$t\") | .digest" r.json)" = "$remote" || return 1
	done &&
	grep "verified in the registry" out
'

test_expect_success 'credentials from DOCKER_CONFIG config.json (auths)' '
	test_when_finished "docker rmi -f $reg/$name:cfg >/dev/null 2>&1" &&
	mkdir cfg &&
	printf "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}" "$reg" \
		"$(printf "%s:%s" "$CAAS_REGISTRY_USER" "$(cat "$CAAS_REGISTRY_PASSWORD_FILE")" | base64 -w0)" >cfg/config.json &&
	DOCKER_CONFIG=$PWD/cfg caas-build-runner --context app --image $name --tag cfg --registry $reg --push >out 2>&1 &&
	registry_curl -sf -o /dev/null "$CAAS_REGISTRY_URL/v2/$name/manifests/cfg"
'

test_expect_success '--password-stdin' '
	test_when_finished "docker rmi -f $reg/$name:stdin >/dev/null 2>&1" &&
	caas-build-runner --context app --image $name --tag stdin --registry $reg --push \
		--registry-user "$CAAS_REGISTRY_USER" --password-stdin <"$CAAS_REGISTRY_PASSWORD_FILE" >out 2>&1
'

test_expect_success 'a wrong password: exit 4, clearly, and the password appears nowhere' '
	canary=canary-Pw-$$-x9 && echo "$canary" >bad-pw &&
	test_expect_code 4 env CS_TRACE_HTTP=1 caas-build-runner --context app --image $name --tag bad \
		--registry $reg --push --registry-user "$CAAS_REGISTRY_USER" --registry-password-file bad-pw \
		--json bad.json >out 2>&1 &&
	grep "authentication failed for user" out &&
	! grep -r "$canary" out . --exclude=bad-pw &&
	! grep -q "$(printf "%s" "$CAAS_REGISTRY_USER:$canary" | base64 -w0)" out &&
	! registry_curl -sf -o /dev/null "$CAAS_REGISTRY_URL/v2/$name/manifests/bad"
'

test_expect_success 'the real password never appears in output, even traced' '
	test_when_finished "docker rmi -f $reg/$name:trace >/dev/null 2>&1" &&
	CS_TRACE_HTTP=1 caas-build-runner --context app --image $name --tag trace --registry $reg --push \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--json t.json >out 2>&1 &&
	grep -q "<redacted>" out &&
	! grep -F "$(cat "$CAAS_REGISTRY_PASSWORD_FILE")" out t.json
'

test_expect_success 'a registry that does not answer: exit 4' '
	test_expect_code 4 caas-build-runner --context app --image $name --tag x --registry 127.0.0.1:1 --push \
		--registry-user u --registry-password-file bad-pw >out 2>&1 &&
	grep "127.0.0.1:1" out
'

test_done
