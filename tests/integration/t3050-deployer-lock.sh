#!/usr/bin/env bash
test_description='caas-deployer takes a lock on the bay per app: two runs of the same app at once never interleave (swarm config, plain-engine container), stale locks are broken'
. "$(dirname "$0")/test-lib.sh"

bay=unix:///var/run/docker.sock
p=$CS_TEST_PREFIX
L=io.caas.deployer.lock

# remove_app COE APP: remove what a deployment of APP left (and its lock), wait until gone.
remove_app() {
	local ids
	docker config rm "$2.caas-deployer-lock" >/dev/null 2>&1
	docker rm -f "$2.caas-deployer-lock" >/dev/null 2>&1
	if [ "$1" = swarm ]; then
		docker stack rm "$2" >/dev/null 2>&1
	else
		mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$2")
		[ "${#ids[@]}" -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null 2>&1
		mapfile -t ids < <(docker network ls -q --filter "label=com.docker.compose.project=$2")
		[ "${#ids[@]}" -eq 0 ] || docker network rm "${ids[@]}" >/dev/null 2>&1
	fi
	for _ in $(seq 60); do
		if [ -z "$(docker service ls -q --filter "name=$2_")" ] &&
			[ -z "$(docker ps -aq --filter "name=$2")" ] &&
			[ -z "$(docker network ls -q --filter "name=$2_")" ]; then
			return 0
		fi
		sleep 1
	done
	echo "remove_app: $2 still has objects" >&2
	return 1
}

# no_lock COE APP: the lock object of APP does not exist.
no_lock() {
	if [ "$1" = swarm ]; then
		test -z "$(docker config ls -q --filter "name=$2.caas-deployer-lock")"
	else
		! docker inspect --type container "$2.caas-deployer-lock" >/dev/null 2>&1
	fi
}

# make_lock COE APP LABEL=VALUE...: a lock object made by hand, as another run would hold it.
make_lock() {
	local coe=$1 app=$2 args=() l
	shift 2
	for l in "$L=$app" "$@"; do
		args+=(--label "$l")
	done
	if [ "$coe" = swarm ]; then
		echo lock | docker config create "${args[@]}" "$app.caas-deployer-lock" - >/dev/null
	else
		docker create --name "$app.caas-deployer-lock" "${args[@]}" \
			caas-deployer-lock:1 lock >/dev/null
	fi
}

# deploy COE APP FILE NAME [OPTIONS...]: run the deployer; NAME.out, NAME.err, NAME.json, NAME.rc.
deploy() {
	local coe=$1 app=$2 file=$3 name=$4
	shift 4
	caas-deployer --coe "$coe" --bay "$bay" --app "$app" -f "$file" --timeout 90 \
		--json "$name.json" "$@" >"$name.out" 2>"$name.err"
	echo $? >"$name.rc"
}

test_expect_success 'setup: compose files; a dead PID; this machine identity' '
	cat >app.yml <<-EOF &&
	services:
	  web:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	    stop_grace_period: 1s
	  side:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	    stop_grace_period: 1s
	EOF
	cat >crash.yml <<-EOF &&
	services:
	  web:
	    image: busybox:latest
	    command: ["sh", "-c", "sleep 1; exit 1"]
	    stop_grace_period: 1s
	EOF
	sh -c "exit 0" &
	dead=$! &&
	wait $dead &&
	! kill -0 $dead 2>/dev/null &&
	boot=$(cat /proc/sys/kernel/random/boot_id) &&
	pidns=$(readlink /proc/self/ns/pid) &&
	host=$(hostname) &&
	test -n "$boot" && test -n "$pidns"
'

for coe in swarm compose; do
	test_expect_success "$coe: two runs of the same app at once: the second waits, then plans from the first one's result" '
		app=$p-$coe-two &&
		test_when_finished "remove_app $coe $app" &&
		{ deploy $coe $app app.yml a & } &&
		for _ in $(seq 50); do
			no_lock $coe $app || break
			sleep 0.1
		done &&
		! no_lock $coe $app &&
		deploy $coe $app app.yml b &&
		wait &&
		echo 0 | test_cmp - a.rc &&
		echo 0 | test_cmp - b.rc &&
		grep "waiting for the lock of app .$app.: held by caas-deployer pid [0-9]* on " b.err &&
		jq -e "[.objects[] | select(.kind != \"network\") | .action] | length == 2 and all(. == \"created\")" a.json &&
		jq -e ".changed == false and ([.objects[].action] | all(. == \"unchanged\"))" b.json &&
		no_lock $coe $app
	'

	test_expect_success "$coe: --lock-timeout 1 while another run holds the lock: exit 11, nothing changed" '
		app=$p-$coe-busy &&
		test_when_finished "remove_app $coe $app" &&
		{ deploy $coe $app app.yml a & } &&
		for _ in $(seq 50); do
			no_lock $coe $app || break
			sleep 0.1
		done &&
		SECONDS=0 &&
		deploy $coe $app crash.yml b --lock-timeout 1 &&
		test "$SECONDS" -lt 10 &&
		wait &&
		echo 11 | test_cmp - b.rc &&
		grep "error: app .$app. is locked by another deployment (caas-deployer pid [0-9]* on .*): gave up after 1 s (--lock-timeout)" b.err &&
		jq -e ".status == \"failed\" and .exit_code == 11 and .changed == false and (.objects | length) == 0" b.json &&
		! grep -E "^(create|update|remove)" b.out &&
		echo 0 | test_cmp - a.rc &&
		if [ $coe = swarm ]; then
			docker service inspect -f "{{json .Spec.TaskTemplate.ContainerSpec.Args}}" ${app}_web
		else
			docker inspect -f "{{json .Config.Cmd}}" ${app}_web_1
		fi >cmd &&
		grep 3600 cmd
	'

	test_expect_success "$coe: the lock is released after a failed, rolled-back deployment" '
		app=$p-$coe-fail &&
		test_when_finished "remove_app $coe $app" &&
		deploy $coe $app crash.yml a &&
		echo 8 | test_cmp - a.rc &&
		no_lock $coe $app &&
		deploy $coe $app app.yml b --lock-timeout 0 &&
		echo 0 | test_cmp - b.rc &&
		! grep "waiting for the lock" b.err
	'

	test_expect_success "$coe: a stale lock whose process is gone (this machine) is broken at once" '
		app=$p-$coe-stale &&
		test_when_finished "remove_app $coe $app" &&
		make_lock $coe $app "$L.holder=caas-deployer pid $dead on $host" "$L.host=$host" \
			"$L.boot-id=$boot" "$L.pid-ns=$pidns" "$L.pid=$dead" \
			"$L.expires=$(($(date +%s) + 3600))" &&
		! no_lock $coe $app &&
		deploy $coe $app app.yml a --lock-timeout 0 &&
		echo 0 | test_cmp - a.rc &&
		grep "warning: breaking the stale lock $app.caas-deployer-lock of app .$app. (caas-deployer pid $dead on $host, since ?): its process $dead is gone" a.err &&
		no_lock $coe $app
	'

	test_expect_success "$coe: a lock from another machine: held until it expires, then broken" '
		app=$p-$coe-foreign &&
		test_when_finished "remove_app $coe $app" &&
		make_lock $coe $app "$L.holder=caas-deployer pid 1 on elsewhere" "$L.host=elsewhere" \
			"$L.boot-id=x" "$L.pid-ns=pid:[1]" "$L.pid=1" "$L.since=2026-01-01T00:00:00Z" \
			"$L.expires=$(($(date +%s) + 3600))" &&
		deploy $coe $app app.yml a --lock-timeout 0 &&
		echo 11 | test_cmp - a.rc &&
		grep "locked by another deployment (caas-deployer pid 1 on elsewhere, since 2026-01-01T00:00:00Z" a.err &&
		! no_lock $coe $app &&
		remove_app $coe $app &&
		make_lock $coe $app "$L.holder=caas-deployer pid 1 on elsewhere" "$L.host=elsewhere" \
			"$L.pid=1" "$L.expires=$(($(date +%s) - 1))" &&
		deploy $coe $app app.yml b --lock-timeout 0 &&
		echo 0 | test_cmp - b.rc &&
		grep "breaking the stale lock .*: it expired" b.err &&
		no_lock $coe $app
	'

	test_expect_success "$coe: two different apps at once do not wait for each other" '
		a1=$p-$coe-one && a2=$p-$coe-other &&
		test_when_finished "remove_app $coe $a1; remove_app $coe $a2" &&
		{ deploy $coe $a1 app.yml a & } &&
		deploy $coe $a2 app.yml b --lock-timeout 0 &&
		wait &&
		echo 0 | test_cmp - a.rc &&
		echo 0 | test_cmp - b.rc &&
		! grep "waiting for the lock" a.err b.err &&
		jq -e ".status == \"converged\"" a.json b.json &&
		# each run made its own app, nothing of the other one (compose: NAME_1 containers)
		if [ $coe = swarm ]; then sfx=; else sfx=_1; fi &&
		for x in "a $a1" "b $a2"; do
			set -- $x &&
			jq -r ".objects[] | select(.kind != \"network\") | .name" $1.json | sort >$1.names &&
			printf "%s\n" "$2_side$sfx" "$2_web$sfx" | test_cmp - $1.names || return 1
		done
	'
done

test_expect_success '--dry-run takes no lock (it changes nothing)' '
	app=$p-swarm-dry &&
	test_when_finished "remove_app swarm $app" &&
	make_lock swarm $app "$L.holder=caas-deployer pid 1 on elsewhere" "$L.host=elsewhere" \
		"$L.pid=1" "$L.expires=$(($(date +%s) + 3600))" &&
	caas-deployer --coe swarm --bay $bay --app $app -f app.yml --dry-run --lock-timeout 0 >out 2>err &&
	grep "^plan: create service ${app}_web" err
'

test_done
