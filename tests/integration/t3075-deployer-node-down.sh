#!/usr/bin/env bash
test_description='caas-deployer (swarm): a worker node that disappears (a second engine joined to the swarm, then stopped): bounded wait, the node named, rolled back (8)'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/engine2-lib.sh"

engine2_require

p=$CS_TEST_PREFIX
t0=0 short="" # set by the tests

# The worker takes no task but ours: it is paused except while our deployment places its task
# (other tests may be deploying to the same swarm at the same time).

# deploy_bg APP FILE ARGS...: start the deployer (-v: task lines), out, err and $dep_pid; return
# once its task runs on the worker, then pause the worker again.
deploy_bg() {
	local a=$1 f=$2
	shift 2
	engine2_availability active || return 1
	caas-deployer --coe swarm --app "$a" -f "$f" --resolve-image never -v --json res.json \
		"$@" >out 2>err &
	dep_pid=$!
	for _ in $(seq 300); do
		grep -q "^caas-deployer: s: task .* -> running" err && break
		sleep 0.1
	done
	engine2_availability pause || return 1
	grep -q "^caas-deployer: s: task .* -> running" err || {
		echo "the task did not start on the worker:" >&2
		cat err >&2
		return 1
	}
	# on the worker, not on the manager
	test "$(docker inspect -f "{{.NodeID}}" "$(docker service ps -q --filter desired-state=running "${a}_s")")" = "$E2_NODE_ID"
}

# finish: wait for the deployer; $rc, and $took: seconds since $t0 (set by the caller)
finish() {
	rc=0
	wait "$dep_pid" || rc=$?
	took=$((SECONDS - t0))
}

# node_is STATE [SECONDS]: wait until the manager sees the worker in STATE
node_is() {
	local i
	for i in $(seq $((${2:-60} * 5))); do
		[ "$(engine2_node_status)" = "$1" ] && return 0
		sleep 0.2
	done
	echo "the worker is $(engine2_node_status), not $1, after ${2:-60} s" >&2
	return 1
}

remove_app() {
	docker stack rm "$1" >/dev/null 2>&1
	docker config rm "$1.caas-deployer-lock" >/dev/null 2>&1
	return 0
}

test_expect_success 'setup: the second engine joins the swarm as a worker; a service pinned to it' '
	engine2_start &&
	engine2_join_swarm &&
	node_is ready &&
	test "$(docker node inspect -f "{{.Spec.Role}} {{.Spec.Availability}} {{.Status.Addr}}" "$E2_NODE_ID")" = "worker pause $E2_ADDR" &&
	short=$(printf %.12s "$E2_NODE_ID") &&
	cat >pinned.yml <<-EOF &&
	services:
	  s:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	    stop_grace_period: 1s
	    deploy:
	      placement:
	        constraints: ["node.id == $E2_NODE_ID"]
	EOF
	sed -e "s/\\[\"sleep\", \"3600\"\\]/[\"sleep\", \"3601\"]/" pinned.yml >pinned2.yml &&
	! cmp pinned.yml pinned2.yml
'

test_expect_success 'the worker killed during the wait: the node named, rolled back (8) long before --timeout' '
	test_when_finished "remove_app $p-gone" &&
	deploy_bg $p-gone pinned.yml --timeout 120 --stable-for 100 &&
	t0=$SECONDS &&
	engine2_stop KILL &&
	finish &&
	echo "the deployer gave up $took s after the worker was killed (--timeout 120)" &&
	test "$rc" = 8 &&
	test "$took" -lt 60 &&
	grep "^caas-deployer: error: service .s. failed: task [0-9a-z]* (slot 1) state pending, error \"no suitable node (.*)\", the scheduler cannot place it, and the node of the task it replaces ([0-9a-z]*) is gone: node $short ([^,]*, $E2_ADDR) is down" err &&
	grep "^removed service $p-gone_s" err &&
	jq -e ".status == \"rolled_back\" and .exit_code == 8" res.json &&
	test -z "$(docker service ls -q --filter name=$p-gone_s)"
'

test_expect_success 'an update while the worker is down: exit 8 at once, the node named, the old spec back' '
	test_when_finished "remove_app $p-upd" &&
	engine2_start &&
	node_is ready &&
	deploy_bg $p-upd pinned.yml --timeout 60 --stable-for 2 &&
	finish &&
	test "$rc" = 0 &&
	engine2_stop TERM &&
	node_is down 60 &&
	t0=$SECONDS &&
	test_expect_code 8 caas-deployer --coe swarm --app $p-upd -f pinned2.yml --resolve-image never \
		--timeout 120 --json res.json >out 2>err &&
	took=$((SECONDS - t0)) &&
	echo "the update ended after $took s (--timeout 120)" &&
	test "$took" -lt 30 &&
	grep "^caas-deployer: error: service .s. failed: .*the scheduler cannot place it, and the node of the task it replaces ([0-9a-z]*) is gone: node $short ([^,]*, $E2_ADDR) is down" err &&
	jq -e ".status == \"rolled_back\" and .exit_code == 8" res.json &&
	grep "^caas-deployer: warning: service $p-upd_s has its previous spec again but cannot run: task [0-9a-z]*: the scheduler cannot place it, and .* is gone: node $short" err &&
	test "$(docker service inspect -f "{{json .Spec.TaskTemplate.ContainerSpec.Args}}" $p-upd_s)" = "[\"sleep\",\"3600\"]"
'

test_expect_success 'docker stack deploy (the peer) with the worker down: exit 0 at once, the task stays pending' '
	test_when_finished "docker stack rm $p-peer >/dev/null 2>&1 || :" &&
	test "$(engine2_node_status)" = down &&
	t0=$SECONDS &&
	docker stack deploy --resolve-image never -c pinned.yml $p-peer >peer.out 2>&1 &&
	took=$((SECONDS - t0)) &&
	echo "docker stack deploy returned 0 after $took s" &&
	test "$took" -lt 10 &&
	sleep 8 &&
	docker service ps --format "{{.CurrentState}} {{.Error}}" $p-peer_s >peer.ps &&
	cat peer.ps &&
	grep "^Pending .*no suitable node" peer.ps &&
	test "$(docker service ls --filter name=$p-peer_s --format "{{.Replicas}}")" = "0/1"
'

test_done
