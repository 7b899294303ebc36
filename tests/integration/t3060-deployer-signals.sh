#!/usr/bin/env bash
test_description='caas-deployer stops cleanly on SIGTERM/SIGINT and survives a closed stdout (swarm and plain engine)'
. "$(dirname "$0")/test-lib.sh"

bay=unix:///var/run/docker.sock
app=$CS_TEST_PREFIX-sig

# A service that never becomes healthy while we wait: its check runs every 60 s
# and fails, and the start period keeps it "starting" meanwhile.
cat >slow.yml <<EOF
services:
  web:
    image: busybox:latest
    command: ["sleep", "3600"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 60s
      start_period: 120s
EOF

# run_until_waiting COE APP LOG JSON: start the deployer in the background, wait until it
# has applied everything and is waiting (its "created ... web" line), set $pid.
run_until_waiting() {
	caas-deployer --coe "$1" --bay "$bay" --app "$2" -f slow.yml --timeout 120 \
		--json "$4" >"$3" 2>&1 &
	pid=$!
	for _ in $(seq 120); do
		grep -q "^created \(service\|container\) $2_web" "$3" && sleep 1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	echo "run_until_waiting: the deployer never reached the wait; its output:" >&2
	cat "$3" >&2
	return 1
}

# nothing_of APP: no service, container or network of APP exists.
nothing_of() {
	test -z "$(docker service ls -q --filter "name=$1_")" &&
		test -z "$(docker ps -aq --filter "name=$1_")" &&
		test -z "$(docker network ls -q --filter "name=$1_")"
}

# settled APP: nothing_of APP within 30 s (swarm removes a network's tasks a moment later).
settled() {
	for _ in $(seq 60); do
		nothing_of "$1" && return 0
		sleep 0.5
	done
	docker service ls --filter "name=$1_" >&2
	docker ps -a --filter "name=$1_" >&2
	docker network ls --filter "name=$1_" >&2
	return 1
}

test_expect_success 'swarm: SIGTERM during the wait: exit 143, first deployment removed, JSON written' '
	test_when_finished "docker service rm ${app}s_web >/dev/null 2>&1; docker network rm ${app}s_default >/dev/null 2>&1; :" &&
	run_until_waiting swarm ${app}s out.log report.json &&
	docker service inspect ${app}s_web >/dev/null &&
	kill -TERM $pid &&
	rc=0 && wait $pid || rc=$? &&
	cat out.log &&
	test $rc -eq 143 &&
	grep "interrupted by SIGTERM" out.log &&
	grep "rolling back service ${app}s_web" out.log &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\" and .changed == false and
		(.message | test(\"SIGTERM\"))" report.json &&
	settled ${app}s
'

test_expect_success 'compose (plain engine API): SIGINT during the wait: exit 130, containers and network removed' '
	test_when_finished "docker rm -f ${app}c_web_1 >/dev/null 2>&1; docker network rm ${app}c_default >/dev/null 2>&1; :" &&
	run_until_waiting compose ${app}c out2.log report2.json &&
	docker container inspect ${app}c_web_1 >/dev/null &&
	kill -INT $pid &&
	rc=0 && wait $pid || rc=$? &&
	cat out2.log &&
	test $rc -eq 130 &&
	grep "interrupted by SIGINT" out2.log &&
	jq -e ".exit_code == 130 and .status == \"rolled_back\" and .changed == false" report2.json &&
	settled ${app}c
'

run_until_waiting_update() {
	caas-deployer --coe swarm --bay "$bay" --app "${app}u" -f slow.yml --timeout 120 \
		--json report3.json >out3.log 2>&1 &
	pid=$!
	for _ in $(seq 120); do
		grep -q "^updated service ${app}u_web" out3.log && sleep 1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	cat out3.log >&2
	return 1
}

test_expect_success 'swarm: SIGTERM during an update restores the previous spec' '
	test_when_finished "docker service rm ${app}u_web >/dev/null 2>&1; sleep 2; docker network rm ${app}u_default >/dev/null 2>&1; :" &&
	cat >ok.yml <<-EOF &&
	services:
	  web:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	EOF
	caas-deployer --coe swarm --bay "$bay" --app ${app}u -f ok.yml --timeout 90 >first.log 2>&1 &&
	before=$(docker service inspect -f "{{json .Spec.TaskTemplate.ContainerSpec}}" ${app}u_web) &&
	run_until_waiting_update &&
	kill -TERM $pid &&
	rc=0 && wait $pid || rc=$? &&
	cat out3.log &&
	test $rc -eq 143 &&
	grep "rolling back service ${app}u_web" out3.log &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\" and
		(.objects[] | select(.name == \"${app}u_web\") | .action) == \"updated\"" report3.json &&
	after=$(docker service inspect -f "{{json .Spec.TaskTemplate.ContainerSpec}}" ${app}u_web) &&
	test "$before" = "$after"
'


test_expect_success 'a closed stdout does not kill the deployer (SIGPIPE ignored)' '
	test_when_finished "docker service rm ${app}p_web >/dev/null 2>&1; sleep 2; docker network rm ${app}p_default >/dev/null 2>&1; :" &&
	cat >ok2.yml <<-EOF &&
	services:
	  web:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	EOF
	rc=0 &&
	{ caas-deployer --coe swarm --bay "$bay" --app ${app}p -f ok2.yml --timeout 90 \
		--json pipe.json 2>err.log; echo $? >rc.txt; } | true &&
	cat err.log &&
	test "$(cat rc.txt)" -eq 0 &&
	jq -e ".status == \"converged\"" pipe.json &&
	docker service inspect ${app}p_web >/dev/null
'

test_done
