#!/usr/bin/env bash
test_description='caas-deployer --coe swarm against a bay (a TCP relay to the engine) that drops the connection during the wait'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/fault-lib.sh"

app=$CS_TEST_PREFIX-bay
relay_port='' relay_ctl='' # set by the setup

# deploy_bg APP FILE ARGS...: start the deployer (swarm unless ARGS say --coe) through the relay; out, err, and the
# pid in $dep_pid. Returns once the wait has seen a task (stderr is not buffered).
deploy_bg() {
	local a=$1 f=$2 i
	shift 2
	start=$(date +%s)
	caas-deployer --bay "tcp://127.0.0.1:$relay_port" --app "$a" -f "$f" \
		--resolve-image never -v "$@" >out 2>err &
	dep_pid=$!
	for i in $(seq 300); do
		grep -q "^caas-deployer: .*\(task\|container\) " err && return 0
		sleep 0.1
	done
	echo "the deployer did not start waiting" >&2
	return 1
}

# finish: wait for the deployer; its exit status in $rc, its duration in $took.
finish() {
	rc=0
	wait "$dep_pid" || rc=$?
	took=$(($(date +%s) - start))
}

# remove_app APP: its stack and a lock left behind (the network goes a little later; the
# end of the file removes what is left with the prefix)
remove_app() {
	docker stack rm "$1" >/dev/null 2>&1
	docker config rm "$1.caas-deployer-lock" >/dev/null 2>&1
	return 0
}

test_expect_success 'setup: the relay, a service that runs and one that fails' '
	start_relay relay /var/run/docker.sock &&
	printf "services:\n  s:\n    image: busybox:latest\n    command: [\"sleep\", \"3600\"]\n" >ok.yml &&
	printf "services:\n  s:\n    image: busybox:latest\n    command: [\"sh\", \"-c\", \"sleep 4; exit 3\"]\n" >bad.yml
'

test_expect_success 'the bay drops the connection and refuses for 3 s during the wait: converged' '
	test_when_finished "remove_app $app-flap" &&
	deploy_bg $app-flap ok.yml --coe swarm --timeout 60 --stable-for 4 &&
	fault "$relay_ctl" "mode=refuse&seconds=3" &&
	finish && test "$rc" = 0 &&
	grep "warning: lost the bay while waiting: .*127.0.0.1:$relay_port.*; trying again for [0-9]* s" err &&
	grep "warning: the bay answers again" err &&
	cat out err | grep "converged $app-flap_s" &&
	test "$(docker service inspect -f "{{.Spec.Name}}" $app-flap_s)" = $app-flap_s
'

test_expect_success 'the bay comes back while a task fails: the failure is seen, rolled back (8)' '
	test_when_finished "remove_app $app-fail" &&
	deploy_bg $app-fail bad.yml --coe swarm --timeout 60 --stable-for 4 &&
	fault "$relay_ctl" "mode=refuse&seconds=3" &&
	finish && test "$rc" = 8 &&
	grep "warning: lost the bay while waiting" err &&
	grep "warning: the bay answers again" err &&
	cat out err | grep "removed service $app-fail_s" &&
	test -z "$(docker service ls -q --filter name=$app-fail_s)"
'

test_expect_success 'the bay stays away past --timeout: bounded, reason named, exit 9 (no rollback possible)' '
	test_when_finished "fault $relay_ctl mode=none; remove_app $app-gone" &&
	deploy_bg $app-gone ok.yml --coe swarm --timeout 6 --stable-for 30 &&
	fault "$relay_ctl" "mode=refuse" &&
	finish && test "$rc" = 9 &&
	test "$took" -lt 20 &&
	grep "error: cannot wait for the deployment: the bay stayed unreachable until the deadline: .*127.0.0.1:$relay_port" err &&
	grep "error: cannot roll back service .$app-gone_s." err
'

test_expect_success 'compose (a plain engine): a 3 s outage during the wait, then running' '
	test_when_finished "docker rm -f $app-plain_s_1 >/dev/null 2>&1; docker network rm $app-plain_default >/dev/null 2>&1; true" &&
	deploy_bg $app-plain ok.yml --coe compose --timeout 60 --stable-for 4 &&
	fault "$relay_ctl" "mode=refuse&seconds=3" &&
	finish && test "$rc" = 0 &&
	grep "warning: lost the bay while waiting" err &&
	grep "warning: the bay answers again" err
'

test_done
