#!/usr/bin/env bash
test_description='caas-deployer: SIGTERM/SIGINT and a lost bay in the apply phase (swarm, plain engine), --break-lock'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/fault-lib.sh"

app=$CS_TEST_PREFIX-ap
relay_port='' relay_ctl='' # set by the setup

# three services created in order a, b, c (no depends_on: by name)
three() {
	printf 'services:\n'
	for s in a b c; do
		printf '  %s:\n    image: busybox:latest\n    command: ["sleep", "3600"]\n' "$s"
		printf '    environment:\n      V: "%s"\n' "$1"
	done
}

# deploy_bg ARGS...: the deployer through the relay in the background; out, err, report.json;
# its pid in $dep_pid
deploy_bg() {
	caas-deployer --bay "tcp://127.0.0.1:$relay_port" --resolve-image never -v \
		--json report.json "$@" >out 2>err &
	dep_pid=$!
}

finish() {
	rc=0
	wait "$dep_pid" || rc=$?
	cat err
}

# foreign APP: make the swarm lock of APP look like another machine's (its labels)
foreign() {
	local id ver spec
	id=$(docker config inspect -f "{{.ID}}" "$1.caas-deployer-lock") &&
		ver=$(docker config inspect -f "{{.Version.Index}}" "$id") &&
		spec=$(curl -sSf --unix-socket /var/run/docker.sock "http://x/configs/$id" |
			jq -c ".Spec | .Labels[\"io.caas.deployer.lock.host\"] = \"another-host\" |
				.Labels[\"io.caas.deployer.lock.boot-id\"] = \"another-boot\"") &&
		curl -sSf --unix-socket /var/run/docker.sock -H "Content-Type: application/json" \
			-d "$spec" "http://x/configs/$id/update?version=$ver" &&
		docker config inspect -f "{{json .Spec.Labels}}" "$id" | grep another-host
}

# gone APP: nothing of APP within 30 s: services, containers, networks, the lock
gone() {
	local i
	for i in $(seq 60); do
		test -z "$(docker service ls -q --filter "name=$1_")" &&
			test -z "$(docker ps -aq --filter "name=$1_")" &&
			test -z "$(docker network ls -q --filter "name=$1_")" &&
			test -z "$(docker config ls -q --filter "name=$1.caas-deployer-lock")" &&
			test -z "$(docker ps -aq --filter "name=$1.caas-deployer-lock")" &&
			return 0
		sleep 0.5
	done
	docker service ls --filter "name=$1_" >&2
	docker ps -a --filter "name=$1" >&2
	docker network ls --filter "name=$1_" >&2
	docker config ls --filter "name=$1" >&2
	return 1
}

remove_app() {
	fault "$relay_ctl" mode=none
	docker stack rm "$1" >/dev/null 2>&1
	docker rm -f "$1_a_1" "$1_b_1" "$1_c_1" "$1.caas-deployer-lock" >/dev/null 2>&1
	docker config rm "$1.caas-deployer-lock" >/dev/null 2>&1
	sleep 2
	docker network rm "$1_default" >/dev/null 2>&1
	return 0
}

specs() {
	for s in a b c; do
		docker service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' "$1_$s"
	done
}

test_expect_success 'setup: the HTTP relay to the engine, the files' '
	start_http_relay relay /var/run/docker.sock &&
	three one >v1.yml && three two >v2.yml &&
	DOCKER_HOST=tcp://127.0.0.1:$relay_port docker version -f "{{.Server.Version}}"
'

test_expect_success 'swarm, first deployment: SIGTERM while the second service is created: 143, nothing left' '
	test_when_finished "remove_app $app-s1" &&
	fault_arm "$relay_ctl" "mode=hold&match=services/create&skip=1&delay=8" &&
	deploy_bg --coe swarm --app $app-s1 -f v1.yml --timeout 60 &&
	fault_injected "$relay_ctl" &&
	docker service inspect $app-s1_b >/dev/null &&
	kill -TERM $dep_pid &&
	finish && test "$rc" = 143 &&
	grep "interrupted by SIGTERM" err &&
	grep "removed service $app-s1_b" err &&
	grep "removed service $app-s1_a" err &&
	! grep "created service $app-s1_c" err &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\" and .changed == false" report.json &&
	gone $app-s1
'

test_expect_success 'swarm, update: SIGTERM while the second service is updated: previous specs back' '
	test_when_finished "remove_app $app-s2" &&
	caas-deployer --coe swarm --app $app-s2 -f v1.yml --timeout 90 --resolve-image never >first.log 2>&1 &&
	before=$(specs $app-s2) &&
	fault_arm "$relay_ctl" "mode=hold&match=services/.*/update&skip=1&delay=8" &&
	deploy_bg --coe swarm --app $app-s2 -f v2.yml --timeout 60 &&
	fault_injected "$relay_ctl" &&
	kill -TERM $dep_pid &&
	finish && test "$rc" = 143 &&
	grep "rolling back service $app-s2_b" err &&
	grep "rolling back service $app-s2_a" err &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\"" report.json &&
	after=$(specs $app-s2) &&
	echo "$after" &&
	test "$before" = "$after" &&
	test -z "$(docker config ls -q --filter name=$app-s2.caas-deployer-lock)"
'

test_expect_success 'compose (plain engine), first deployment: SIGINT while the second container is created: 130, nothing left' '
	test_when_finished "remove_app $app-c1" &&
	fault_arm "$relay_ctl" "mode=hold&match=containers/create.name=$app-c1_b_1&delay=8" &&
	deploy_bg --coe compose --app $app-c1 -f v1.yml --timeout 60 &&
	fault_injected "$relay_ctl" &&
	docker container inspect $app-c1_b_1 >/dev/null &&
	kill -INT $dep_pid &&
	finish && test "$rc" = 130 &&
	grep "interrupted by SIGINT" err &&
	grep "removed container $app-c1_b_1" err &&
	jq -e ".exit_code == 130 and .status == \"rolled_back\"" report.json &&
	gone $app-c1
'

test_expect_success 'compose, update: SIGTERM while the second container is recreated: the old ones back' '
	test_when_finished "remove_app $app-c2" &&
	caas-deployer --coe compose --app $app-c2 -f v1.yml --timeout 90 >first.log 2>&1 &&
	ids=$(docker ps -q --no-trunc --filter name=$app-c2_ | sort) &&
	fault_arm "$relay_ctl" "mode=hold&match=containers/create.name=$app-c2_b_1&delay=8" &&
	deploy_bg --coe compose --app $app-c2 -f v2.yml --timeout 60 &&
	fault_injected "$relay_ctl" &&
	kill -TERM $dep_pid &&
	finish && test "$rc" = 143 &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\"" report.json &&
	test "$(docker ps -q --no-trunc --filter name=$app-c2_ | sort)" = "$ids" &&
	test "$(docker ps -aq --filter name=$app-c2_ | wc -l)" = 3
'

test_expect_success 'swarm, first deployment: the bay goes away as service b is created (it was), back 3 s later: converged' '
	test_when_finished "remove_app $app-l1" &&
	fault_arm "$relay_ctl" "mode=refuse&match=services/create&skip=1&forward=1" &&
	deploy_bg --coe swarm --app $app-l1 -f v1.yml --timeout 60 --stable-for 2 &&
	fault_injected "$relay_ctl" &&
	sleep 3 && fault "$relay_ctl" mode=none &&
	finish && test "$rc" = 0 &&
	grep "warning: lost the bay while applying service $app-l1_b: .*; trying again for [0-9]* s" err &&
	grep "warning: the bay answers again: service $app-l1_b was changed" err &&
	jq -e ".status == \"converged\"" report.json &&
	test "$(docker service ls -q --filter name=$app-l1_ | wc -l)" = 3
'

test_expect_success 'swarm, update: the bay goes away before service b is updated, back 3 s later: b updated once, converged' '
	test_when_finished "remove_app $app-l2" &&
	caas-deployer --coe swarm --app $app-l2 -f v1.yml --timeout 90 --resolve-image never >first.log 2>&1 &&
	fault_arm "$relay_ctl" "mode=refuse&match=services/.*/update&skip=1" &&
	deploy_bg --coe swarm --app $app-l2 -f v2.yml --timeout 60 --stable-for 2 &&
	fault_injected "$relay_ctl" &&
	sleep 3 && fault "$relay_ctl" mode=none &&
	finish && test "$rc" = 0 &&
	grep "the bay answers again: service $app-l2_b was not changed: applying it again" err &&
	specs $app-l2 >after &&
	test "$(grep -c V=two after)" = 3
'

test_expect_success 'compose: the bay goes away as container b is created (it was), back 3 s later: redone, running' '
	test_when_finished "remove_app $app-l3" &&
	fault_arm "$relay_ctl" "mode=refuse&match=containers/create.name=$app-l3_b_1&forward=1" &&
	deploy_bg --coe compose --app $app-l3 -f v1.yml --timeout 60 --stable-for 2 &&
	fault_injected "$relay_ctl" &&
	sleep 3 && fault "$relay_ctl" mode=none &&
	finish && test "$rc" = 0 &&
	grep "the bay answers again: container $app-l3_b_1 was changed in part: undoing that and applying it again" err &&
	test "$(docker ps -q --filter name=$app-l3_ | wc -l)" = 3
'

test_expect_success 'swarm: the bay never comes back during the apply: bounded, exit 9, each object named, the lock ID given' '
	fault_arm "$relay_ctl" "mode=refuse&match=services/create&skip=1" &&
	deploy_bg --coe swarm --app $app-g -f v1.yml --timeout 5 &&
	start=$(date +%s) &&
	finish && test "$rc" = 9 &&
	test $(($(date +%s) - start)) -lt 30 &&
	grep "error: cannot create service .$app-g_b.: the bay stayed unreachable until the deadline (--timeout): " err &&
	grep "error: cannot tell whether service .$app-g_b. was created" err &&
	grep "error: cannot roll back service .$app-g_a." err &&
	grep "error: cannot roll back network .$app-g_default." err &&
	grep "cannot remove the lock $app-g.caas-deployer-lock of app .$app-g.: .*--break-lock [0-9a-f]\{32\}" err &&
	jq -e ".exit_code == 9 and (.message | test(\"--break-lock\"))" report.json &&
	lockid=$(sed -n "s/.*--break-lock \([0-9a-f]\{32\}\).*/\1/p" err | head -1) &&
	echo "$lockid" >lockid &&
	fault "$relay_ctl" mode=none &&
	foreign $app-g
'

test_expect_success 'the lock left behind: a later run names its ID and gives up (11); --break-lock with another ID does not break it' '
	rc=0 && caas-deployer --coe swarm --app $app-g -f v1.yml --timeout 60 --lock-timeout 1 \
		--break-lock 0123456789abcdef0123456789abcdef >out 2>err || rc=$? &&
	cat err && test "$rc" = 11 &&
	grep "lock ID $(cat lockid)" err
'

test_expect_success '--break-lock ID takes it over: the app is deployed, the lock released' '
	test_when_finished "remove_app $app-g" &&
	caas-deployer --coe swarm --app $app-g -f v1.yml --timeout 60 --lock-timeout 1 \
		--break-lock "$(cat lockid)" --resolve-image never >out 2>err &&
	cat err &&
	grep "breaking the stale lock $app-g.caas-deployer-lock .*--break-lock $(cat lockid) names it" err &&
	test "$(docker service ls -q --filter name=$app-g_ | wc -l)" = 3 &&
	test -z "$(docker config ls -q --filter name=$app-g.caas-deployer-lock)"
'

test_done
