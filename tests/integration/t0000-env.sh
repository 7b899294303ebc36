#!/bin/bash
test_description='the test environment: engine in swarm mode, TLS registry with auth, base images'
. ./test-lib.sh

test_expect_success 'the engine answers and is a swarm manager' '
	docker version --format "{{.Server.APIVersion}}" >api &&
	grep -E "^1\.[0-9]+$" api &&
	docker info --format "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}" >swarm &&
	echo "active true" >expect &&
	test_cmp expect swarm
'

test_expect_success 'the registry refuses anonymous access (401, Basic challenge)' '
	curl -sS --cacert "$CAAS_REGISTRY_CA" -D headers -o /dev/null -w "%{http_code}\n" \
		"$CAAS_REGISTRY_URL/v2/" >code &&
	echo 401 >expect &&
	test_cmp expect code &&
	grep -i "^www-authenticate: basic" headers
'

test_expect_success 'the registry accepts the account over TLS verified with the CA' '
	registry_curl -o /dev/null -w "%{http_code}\n" "$CAAS_REGISTRY_URL/v2/" >code &&
	echo 200 >expect &&
	test_cmp expect code
'

test_expect_success 'the registry certificate is not trusted without the CA' '
	test_expect_code 60 curl -sS -o /dev/null "$CAAS_REGISTRY_URL/v2/"
'

test_expect_success 'a wrong password is refused' '
	printf "user = \"%s:wrong\"\n" "$CAAS_REGISTRY_USER" |
		curl -sS --cacert "$CAAS_REGISTRY_CA" -K - -o /dev/null -w "%{http_code}\n" \
			"$CAAS_REGISTRY_URL/v2/" >code &&
	echo 401 >expect &&
	test_cmp expect code
'

test_expect_success 'the engine trusts the CA through certs.d' '
	test_cmp "$CAAS_REGISTRY_CA" "/etc/docker/certs.d/$CAAS_REGISTRY/ca.crt"
'

test_expect_success 'docker login + push to the registry, then delete the manifest' '
	repo=$CS_TEST_PREFIX-env &&
	ref=$CAAS_REGISTRY/$repo:1 &&
	DOCKER_CONFIG=$TEST_SCRATCH/login-config &&
	mkdir "$DOCKER_CONFIG" &&
	export DOCKER_CONFIG &&
	test_when_finished "docker logout $CAAS_REGISTRY; rm -rf \"$DOCKER_CONFIG\"; DOCKER_CONFIG=$TEST_SCRATCH/.docker" &&
	test_when_finished "docker rmi $ref" &&
	docker login -u "$CAAS_REGISTRY_USER" --password-stdin "$CAAS_REGISTRY" \
		<"$CAAS_REGISTRY_PASSWORD_FILE" &&
	docker tag busybox:latest "$ref" &&
	docker push "$ref" >push.out &&
	sed -n "s/^1: digest: \(sha256:[0-9a-f]*\) size: .*/\1/p" push.out >digest &&
	test -s digest &&
	registry_curl -I -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"$CAAS_REGISTRY_URL/v2/$repo/manifests/1" >head &&
	tr -d "\r" <head | sed -n "s/^docker-content-digest: //Ip" >registry-digest &&
	test_cmp digest registry-digest &&
	registry_curl -X DELETE -o /dev/null -w "%{http_code}\n" \
		"$CAAS_REGISTRY_URL/v2/$repo/manifests/$(cat digest)" >code &&
	echo 202 >expect &&
	test_cmp expect code &&
	! grep -F "$(cat "$CAAS_REGISTRY_PASSWORD_FILE")" push.out
'

test_expect_success 'the login used its own DOCKER_CONFIG and was logged out' '
	! grep -s "$CAAS_REGISTRY" "$TEST_SCRATCH/.docker/config.json" &&
	test "$DOCKER_CONFIG" = "$TEST_SCRATCH/.docker" &&
	test ! -e "$TEST_SCRATCH/login-config"
'

test_expect_success 'busybox:latest runs a shell' '
	docker run --rm --name "$CS_TEST_PREFIX-busybox" busybox:latest sh -c "echo ok" >out &&
	echo ok >expect &&
	test_cmp expect out
'

test_expect_success 'busybox:latest supports RUN steps in a build' '
	mkdir ctx &&
	printf "FROM busybox:latest\nRUN echo built >/built\n" >ctx/Dockerfile &&
	test_when_finished "docker rmi -f $CS_TEST_PREFIX-build" &&
	DOCKER_BUILDKIT=0 docker build -q -t "$CS_TEST_PREFIX-build" ctx &&
	docker run --rm "$CS_TEST_PREFIX-build" cat /built >out &&
	echo built >expect &&
	test_cmp expect out
'

test_expect_success 'debian:bookworm is a Debian 12 with dpkg' '
	docker run --rm debian:bookworm sh -c \
		"test -s /var/lib/dpkg/status && cut -d. -f1 /etc/debian_version" >out &&
	echo 12 >expect &&
	test_cmp expect out
'

test_done
