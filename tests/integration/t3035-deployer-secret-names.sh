#!/usr/bin/env bash
test_description='caas-deployer --coe swarm: versioned secret names do not reveal the content'
. "$(dirname "$0")/test-lib.sh"

bay=unix:///var/run/docker.sock
app=$CS_TEST_PREFIX-sec

deploy() {
	caas-deployer --coe swarm --bay "$bay" --app "$app" --timeout 90 -f stack.yml "$@"
}

test_expect_success 'setup: a stack whose secret is a 4-digit PIN' '
	echo -n 4711 >pin &&
	cat >stack.yml <<-EOF
	services:
	  s:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	    secrets: [pin]
	secrets:
	  pin:
	    file: ./pin
	EOF
'

test_expect_success 'the name is not sha256 of the content; it is the HMAC under the key label' '
	test_when_finished "docker stack rm $app >/dev/null 2>&1; true" &&
	deploy --json r1.json >out 2>&1 &&
	name=$(docker secret ls --filter "label=com.docker.stack.namespace=$app" --format "{{.Name}}") &&
	test "$(echo "$name" | wc -l)" = 1 &&
	suffix=${name##*-} && test ${#suffix} = 12 &&
	test "$suffix" != "$(printf 4711 | sha256sum | cut -c1-12)" &&
	key=$(docker secret inspect -f "{{index .Spec.Labels \"com.caas-devops.version-key\"}}" "$name") &&
	test ${#key} = 64 &&
	test "$suffix" = "$(printf 4711 | openssl dgst -sha256 -hmac "$key" | sed "s/.*= //" | cut -c1-12)" &&
	! grep -r "$key" out r1.json &&

	deploy --json r2.json >out2 2>&1 &&
	test "$(docker secret ls --filter "label=com.docker.stack.namespace=$app" --format "{{.Name}}")" = "$name" &&
	test "$(jq -r .changed r2.json)" = false &&

	echo -n 4712 >pin &&
	deploy --prune --json r3.json >out3 2>&1 &&
	name3=$(docker secret ls --filter "label=com.docker.stack.namespace=$app" --format "{{.Name}}") &&
	test "$name3" != "$name" &&
	test "$(docker secret inspect -f "{{index .Spec.Labels \"com.caas-devops.version-key\"}}" "$name3")" = "$key" &&
	test "${name3##*-}" = "$(printf 4712 | openssl dgst -sha256 -hmac "$key" | sed "s/.*= //" | cut -c1-12)"
'

test_done
