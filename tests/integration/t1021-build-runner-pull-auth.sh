#!/usr/bin/env bash
test_description='caas-build-runner --pull of a base image from the private registry sends its credentials'
. "$(dirname "$0")/test-lib.sh"

reg=$CAAS_REGISTRY
base=$reg/$CS_TEST_PREFIX-base:1

test_expect_success 'setup: a base image only in the private registry' '
	pw=$(cat "$CAAS_REGISTRY_PASSWORD_FILE") &&
	mkdir cfg &&
	printf "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}" "$reg" \
		"$(printf "%s:%s" "$CAAS_REGISTRY_USER" "$pw" | base64 -w0)" >cfg/config.json &&
	mkdir base && printf "FROM busybox:latest\nRUN echo %s >/base-id\n" "$CS_TEST_PREFIX" >base/Dockerfile &&
	docker build -q -t "$base" base >/dev/null &&
	docker --config cfg push -q "$base" >/dev/null &&
	docker rmi "$base" >/dev/null &&
	test_must_fail docker image inspect "$base" >/dev/null 2>&1 &&
	mkdir app && printf "ARG BASE=%s\nFROM \${BASE}\nRUN cat /base-id\n" "$base" >app/Dockerfile
'

# The engine's anonymous pull from this registry ends in "connection reset by peer" after
# the 401 (the docker CLI's own `docker pull` without credentials says the same).
test_expect_success 'without credentials the pull fails at FROM: exit 1 (the docker CLI fails too)' '
	test_expect_code 1 caas-build-runner --context app --image $CS_TEST_PREFIX-app --pull >out 2>&1 &&
	grep "error: build failed at Step 2/[0-9]* : FROM \${BASE}: " out &&
	test_must_fail docker pull "$base" >/dev/null 2>&1
'

test_expect_success '--pull with the credentials of DOCKER_CONFIG: the base image is pulled' '
	test_when_finished "docker rmi -f $base >/dev/null 2>&1" &&
	DOCKER_CONFIG=$PWD/cfg caas-build-runner --context app --image $CS_TEST_PREFIX-app --pull \
		--tag 1 >out 2>&1 &&
	grep "^$CS_TEST_PREFIX$" out &&
	docker image inspect "$base" >/dev/null &&
	! grep -F "$pw" out
'

test_expect_success 'the image missing locally is pulled with credentials also without --pull' '
	test_when_finished "docker rmi -f $base >/dev/null 2>&1" &&
	DOCKER_CONFIG=$PWD/cfg CS_TRACE_HTTP=1 caas-build-runner --context app --image $CS_TEST_PREFIX-app \
		--tag 2 --no-cache >out 2>&1 &&
	grep "^$CS_TEST_PREFIX$" out &&
	grep -i "X-Registry-Config: <redacted>" out &&
	! grep -F "$pw" out
'

test_expect_success 'cleanup: the base image leaves the registry' '
	d=$(registry_curl -I -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"$CAAS_REGISTRY_URL/v2/$CS_TEST_PREFIX-base/manifests/1" | tr -d "\r" |
		sed -n "s/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p") &&
	test -n "$d" &&
	registry_curl -sf -o /dev/null -X DELETE "$CAAS_REGISTRY_URL/v2/$CS_TEST_PREFIX-base/manifests/$d"
'

test_done
