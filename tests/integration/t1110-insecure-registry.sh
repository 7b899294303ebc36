#!/usr/bin/env bash
test_description='build runner and validator: a plain-HTTP registry works only when named (--insecure-registry), with a warning; TLS stays verified otherwise'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-insecure
# A second, plain-HTTP registry (no TLS, no auth) for this file only: the usual
# registry:2 on a private network. The engine already treats 127.0.0.0/8 as
# insecure (its default CIDR list), so the engine's push goes through; the
# build runner's own client must still be told.
port=$((20000 + RANDOM % 20000))
plain=127.0.0.1:$port

test_expect_success 'setup: a plain-HTTP registry' '
	mkdir app store &&
	printf "FROM busybox:latest\nRUN echo %s >/stamp\n" "$CS_TEST_PREFIX" >app/Dockerfile &&
	cat >registry.yml <<-EOF &&
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $PWD/store
	http:
	  addr: $plain
	EOF
	{ docker-registry serve registry.yml >registry.log 2>&1 & echo $! >registry.pid; } &&
	for _ in $(seq 50); do
		curl -fsS "http://$plain/v2/" >/dev/null 2>&1 && break
		sleep 0.1
	done &&
	curl -fsS "http://$plain/v2/" >/dev/null
'

test_expect_success 'not named: the push is refused before any build, exit 4, not retried' '
	start=$(date +%s) &&
	test_expect_code 4 caas-build-runner --context app --image $img --tag t --registry $plain \
		--push >out 2>err &&
	grep -i "registry" err &&
	! grep -q "^Step" err &&
	test "$(($(date +%s) - start))" -lt 30 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "http://$plain/v2/$img/manifests/t")" = 404
'

test_expect_success 'named with --insecure-registry: pushed over plain HTTP, with warnings' '
	caas-build-runner --context app --image $img --tag t --registry $plain --push \
		--insecure-registry $plain --json res.json >out 2>err &&
	grep "warning: registry $plain is insecure (--insecure-registry)" err &&
	grep "warning: registry $plain speaks plain HTTP" err &&
	digest=$(jq -r ".tags[0].digest" res.json) &&
	curl -fsSI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"http://$plain/v2/$img/manifests/t" | tr -d "\r" | grep -ix "docker-content-digest: $digest"
'

test_expect_success 'the validator reads from it only when named too (exit 7 otherwise)' '
	docker rmi "$plain/$img:t" >/dev/null &&
	test_expect_code 7 caas-validator --no-processes --level non-production "$plain/$img:t" \
		>out 2>err &&
	grep "wrong version number" err &&
	caas-validator --no-processes --level non-production --insecure-registry $plain \
		--json val.json "$plain/$img:t" >out 2>err &&
	grep "warning: registry $plain speaks plain HTTP" err &&
	jq -e ".status == \"valid\" and .Source.path == \"registry\"" val.json
'

test_expect_success 'the TLS registry stays verified: a wrong CA is a certificate error, exit 4, fast' '
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 1 \
		-subj "/CN=other-ca" >/dev/null 2>&1 &&
	start=$(date +%s) &&
	test_expect_code 4 caas-build-runner --context app --image $img --tag t --registry $CAAS_REGISTRY \
		--push --registry-ca other.crt --registry-user "$CAAS_REGISTRY_USER" \
		--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" >out 2>err &&
	grep -i "certificate" err &&
	test "$(($(date +%s) - start))" -lt 10
'

test_expect_success 'cleanup' '
	kill "$(cat registry.pid)" &&
	docker rmi -f "$plain/$img:t" >/dev/null 2>&1 || :
'

test_done
