#!/usr/bin/env bash
test_description='caas-deployer (swarm): a task the scheduler cannot place is reported as soon as the scheduler says so, not at the timeout; rolled back'
. "$(dirname "$0")/test-lib.sh"

p=$CS_TEST_PREFIX
port=$((20000 + RANDOM % 20000))

# deploy APP FILE: a 120 s timeout, so that a result within seconds is the scheduler's answer.
deploy() {
	caas-deployer --coe swarm --app "$1" -f "$2" --timeout 120 --resolve-image never \
		--json res.json >out 2>err
}

# gone APP: no service of APP is left (the rollback removed it), waiting a little.
gone() {
	for _ in $(seq 30); do
		test -z "$(docker service ls -q --filter "name=$1_")" && return 0
		sleep 0.5
	done
	return 1
}

test_expect_success 'setup: compose files' '
	cat >constraint.yml <<-EOF &&
	services:
	  web:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	    deploy:
	      placement:
	        constraints: ["node.labels.$p-nosuch == 1"]
	EOF
	cat >port.yml <<-EOF
	services:
	  web:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	    stop_grace_period: 1s
	    ports:
	      - target: 8080
	        published: $port
	        mode: host
	EOF
'

test_expect_success 'a placement constraint no node satisfies: exit 8 within seconds, named, nothing left' '
	test_when_finished "docker stack rm $p-cons >/dev/null 2>&1 || :" &&
	start=$(date +%s) &&
	test_expect_code 8 deploy $p-cons constraint.yml &&
	test "$(($(date +%s) - start))" -lt 30 &&
	grep "no suitable node (scheduling constraints not satisfied" err &&
	grep "the scheduler cannot place it" err &&
	jq -e ".exit_code == 8" res.json &&
	gone $p-cons
'

test_expect_success 'a host-mode port another app holds: exit 8 within seconds, the first app untouched' '
	test_when_finished "docker stack rm $p-first $p-second >/dev/null 2>&1 || :" &&
	deploy $p-first port.yml &&
	start=$(date +%s) &&
	test_expect_code 8 deploy $p-second port.yml &&
	test "$(($(date +%s) - start))" -lt 30 &&
	grep "host-mode port already in use" err &&
	gone $p-second &&
	test "$(docker service ls -q --filter "name=$p-first_web" | wc -l)" = 1
'

test_done
