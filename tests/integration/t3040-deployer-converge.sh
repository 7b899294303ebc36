#!/usr/bin/env bash
test_description='caas-deployer waits for stable services on both docker backends: crash loops, late exits, unhealthy tasks, one-shot jobs, a failed update rolled back'
. "$(dirname "$0")/test-lib.sh"

bay=unix:///var/run/docker.sock
p=$CS_TEST_PREFIX
port_swarm=18340
port_compose=18341

# remove_app COE APP: remove what a deployment of APP left, and wait until it is gone.
remove_app() {
	local ids
	if [ "$1" = swarm ]; then
		docker stack rm "$2" >/dev/null 2>&1
	else
		mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$2")
		[ "${#ids[@]}" -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null 2>&1
		mapfile -t ids < <(docker network ls -q --filter "label=com.docker.compose.project=$2")
		[ "${#ids[@]}" -eq 0 ] || docker network rm "${ids[@]}" >/dev/null 2>&1
	fi
	for _ in $(seq 60); do
		nothing_of "$2" && return 0
		sleep 1
	done
	echo "remove_app: $2 still has objects" >&2
	return 1
}

# nothing_of APP: no service, container, network, secret or config of APP exists.
nothing_of() {
	test -z "$(docker service ls -q --filter "name=$1_")" &&
		test -z "$(docker ps -aq --filter "name=$1_")" &&
		test -z "$(docker network ls -q --filter "name=$1_")" &&
		test -z "$(docker config ls -q --filter "name=$1")" &&
		test -z "$(docker secret ls -q --filter "name=$1")"
}

# deploy COE APP FILE [OPTIONS...]: stdout to out, stderr to err, --json to res.json.
deploy() {
	local coe=$1 app=$2 file=$3
	shift 3
	caas-deployer --coe "$coe" --bay "$bay" --app "$app" -f "$file" --timeout 90 \
		--json res.json "$@" >out 2>err
}

# get_until PORT WANT: the page at 127.0.0.1:PORT contains WANT (a few tries).
get_until() {
	for _ in $(seq 20); do
		curl -sf "http://127.0.0.1:$1/" >page 2>/dev/null && grep -q "$2" page && return 0
		sleep 0.5
	done
	echo "get_until: 127.0.0.1:$1 does not serve '$2'" >&2
	return 1
}

# service FILE COMMAND: a one-service compose file running busybox COMMAND (a shell
# line), restarted whatever its exit (both backends then restart it).
service() {
	cat >"$1" <<-EOF
	services:
	  web:
	    image: busybox:latest
	    command: ["sh", "-c", "$2"]
	    stop_grace_period: 1s
	    deploy:
	      restart_policy:
	        condition: any
	EOF
}

test_expect_success 'setup: compose files' '
	service crash.yml "sleep 1; exit 1" &&
	service late.yml "sleep 8; exit 1" &&
	service mid.yml "sleep 3; exit 1" &&
	service unhealthy.yml "touch /tmp/ok; sleep 3; rm /tmp/ok; exec sleep 3600" &&
	cat >>unhealthy.yml <<-EOF &&
	    healthcheck:
	      test: ["CMD", "test", "-f", "/tmp/ok"]
	      interval: 1s
	      timeout: 1s
	      retries: 1
	EOF
	cat >oneshot.yml <<-EOF &&
	services:
	  job:
	    image: busybox:latest
	    command: ["sh", "-c", "sleep 1; echo done; exit 0"]
	    deploy:
	      restart_policy:
	        condition: none
	EOF
	sed "s/exit 0/exit 3/" oneshot.yml >oneshot-fail.yml &&
	cat >monitor.yml <<-EOF
	services:
	  web:
	    image: busybox:latest
	    command: ["sh", "-c", "sleep 3; exit 1"]
	    stop_grace_period: 1s
	    deploy:
	      restart_policy:
	        condition: any
	      update_config:
	        monitor: 1s
	EOF
'

for coe in swarm compose; do
	case $coe in
	swarm) unit=service what=task port=$port_swarm ;;
	compose) unit=container what=container port=$port_compose ;;
	esac

	test_expect_success "$coe: a task that exits 1 after 1 s fails the deployment (exit 8), nothing is left" '
		app=$p-$coe-crash &&
		test_when_finished "remove_app $coe $app" &&
		SECONDS=0 &&
		test_expect_code 8 deploy $coe $app crash.yml &&
		test "$SECONDS" -lt 30 &&
		grep "error: $unit .web. failed: " err &&
		grep -E "non-zero exit \\(1\\)|exit code 1" err &&
		grep -E "state history" err &&
		jq -e ".status == \"rolled_back\" and .exit_code == 8 and .changed == false and
			(.message | test(\"web\"))" res.json &&
		grep "^rolling back $unit ${app}_web" err &&
		nothing_of $app
	'

	test_expect_success "$coe: the wait prints each $what state change and the window counting on stderr" '
		grep -E "^caas-deployer: web: $what ${app}_web[._0-9]* [0-9a-z]{12} .*running" err &&
		grep "^caas-deployer: $unit ${app}_web[_0-9]*: .*verifying it stays so for 5 s" err &&
		! grep "verifying" out
	'

	test_expect_success "$coe: a task that exits after 8 s converges (outside the 5 s window)" '
		app=$p-$coe-late &&
		test_when_finished "remove_app $coe $app" &&
		SECONDS=0 &&
		deploy $coe $app late.yml &&
		test "$SECONDS" -ge 5 &&
		grep "stable 4/5 s" err &&
		grep "stable for 5 s" err &&
		jq -e ".status == \"converged\" and .exit_code == 0" res.json
	'

	test_expect_success "$coe: --stable-for 1 converges where the 5 s window fails (exit after 3 s)" '
		app=$p-$coe-mid &&
		test_when_finished "remove_app $coe $app" &&
		deploy $coe $app mid.yml --stable-for 1 &&
		grep "stable for 1 s" err &&
		remove_app $coe $app &&
		test_expect_code 8 deploy $coe $app mid.yml &&
		nothing_of $app
	'

	test_expect_success "$coe: update_config.monitor is the window of its service" '
		app=$p-$coe-mon &&
		test_when_finished "remove_app $coe $app" &&
		deploy $coe $app monitor.yml &&
		grep "verifying it stays so for 1 s" err
	'

	test_expect_success "$coe: a task that turns unhealthy after 3 s fails (exit 8), nothing is left" '
		app=$p-$coe-sick &&
		test_when_finished "remove_app $coe $app" &&
		test_expect_code 8 deploy $coe $app unhealthy.yml &&
		grep "error: $unit .web. failed: .*unhealthy" err &&
		jq -e ".status == \"rolled_back\" and .exit_code == 8" res.json &&
		nothing_of $app
	'

	test_expect_success "$coe: a one-shot job (restart_policy none) that exits 0 converges as completed" '
		app=$p-$coe-job &&
		test_when_finished "remove_app $coe $app" &&
		deploy $coe $app oneshot.yml &&
		jq -e ".status == \"converged\" and .exit_code == 0" res.json &&
		if [ $coe = swarm ]; then
			docker service ps ${app}_job --format "{{.CurrentState}}" | grep "^Complete"
		else
			grep "^completed ${app}_job_1" err &&
			docker inspect -f "{{.State.Status}} {{.State.ExitCode}}" ${app}_job_1 >st &&
			echo "exited 0" | test_cmp - st
		fi
	'

	test_expect_success "$coe: a one-shot job that exits 3 fails (exit 8)" '
		app=$p-$coe-jobfail &&
		test_when_finished "remove_app $coe $app" &&
		test_expect_code 8 deploy $coe $app oneshot-fail.yml &&
		grep -E "non-zero exit \\(3\\)|exit code 3" err &&
		nothing_of $app
	'

	test_expect_success "$coe: an update of a healthy service to a crash loop: exit 8, the previous spec serves again" '
		app=$p-$coe-upd &&
		test_when_finished "remove_app $coe $app" &&
		cat >good.yml <<-EOF &&
		services:
		  web:
		    image: busybox:latest
		    command: ["sh", "-c", "mkdir -p /www && echo version-good >/www/index.html && exec httpd -f -p 8080 -h /www"]
		    stop_grace_period: 1s
		    ports:
		      - target: 8080
		        published: $port
		        mode: host
		    deploy:
		      update_config:
		        order: stop-first
		EOF
		sed "s|mkdir -p /www.*/www\"|sleep 1; exit 1\"|" good.yml >bad.yml &&
		grep "sleep 1; exit 1" bad.yml &&
		deploy $coe $app good.yml &&
		get_until $port version-good &&
		SECONDS=0 &&
		test_expect_code 8 deploy $coe $app bad.yml &&
		test "$SECONDS" -lt 90 &&
		grep -E "non-zero exit \\(1\\)|exit code 1" err &&
		grep "^rolled back ${app}_web" err &&
		jq -e ".status == \"rolled_back\" and .exit_code == 8" res.json &&
		get_until $port version-good &&
		if [ $coe = swarm ]; then
			docker service inspect -f "{{json .Spec.TaskTemplate.ContainerSpec.Args}}" ${app}_web |
				grep version-good
		else
			docker inspect -f "{{json .Config.Cmd}}" ${app}_web_1 | grep version-good &&
			test -z "$(docker ps -aq --filter name=${app}_web_1_old)"
		fi
	'
done

test_expect_success 'compose: a --timeout shorter than the window: exit 10, the report says how far it got' '
	app=$p-compose-short &&
	test_when_finished "remove_app compose $app" &&
	service ok.yml "exec sleep 3600" &&
	test_expect_code 10 caas-deployer --coe compose --bay $bay --app $app -f ok.yml --timeout 2 \
		--json res.json >out 2>err &&
	grep "error: container .web. did not converge in time: running, stable for [0-9.]* of 5 s" err &&
	jq -e ".status == \"rolled_back\" and .exit_code == 10" res.json &&
	nothing_of $app
'

test_expect_success '--stable-for and --lock-timeout reject bad values (exit 2)' '
	for v in -1 nan inf x 1e9 ""; do
		test_expect_code 2 caas-deployer --coe swarm --bay $bay --app $p-x -f crash.yml \
			--stable-for "$v" 2>err &&
		grep "stable-for .*: want a number from 0 to 86400 (see --help)" err || return 1
	done &&
	test_expect_code 2 caas-deployer --coe swarm --bay $bay --app $p-x -f crash.yml \
		--lock-timeout -3 2>err &&
	grep "lock-timeout .-3.: want a whole number from 0 to 86400" err &&
	caas-deployer --help >help &&
	grep -- "--stable-for SECONDS" help &&
	grep "^  11 " help
'

test_done
