#!/usr/bin/env bash
test_description='samples/petclinic: the pipeline (make demo) end to end on the local swarm, then a rolling update under load with no failed request'
. "$(dirname "$0")/test-lib.sh"

# The demo script is the pipeline under test, with this file's names: its stack, its image
# namespace, its own git repository and port. The caches are shared with `make demo` on
# purpose (base images, the Maven repository, the engine's build cache).
app=$CS_TEST_PREFIX-pc
port=18510
url=http://127.0.0.1:$port/petclinic
export CAAS_DEMO_APP=$app CAAS_DEMO_NS=$CS_TEST_PREFIX CAAS_DEMO_PORT=$port
export CAAS_DEMO_WORK=$TEST_SCRATCH/work

# remove_stack APP: the stack's services, then (once their containers are gone) its networks,
# secrets and volume.
remove_stack() {
	docker stack rm "$1" >/dev/null 2>&1
	for _ in $(seq 90); do
		if [ -z "$(docker service ls -q --filter "label=com.docker.stack.namespace=$1")" ] &&
			[ -z "$(docker ps -aq --filter "name=$1_")" ] &&
			[ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$1")" ]; then
			break
		fi
		sleep 1
	done
	docker volume rm -f "$1_db-data" >/dev/null 2>&1
	test -z "$(docker volume ls -q --filter "name=$1_")"
}

# db_query SQL: runs SQL in the stack's database container (as root, through the socket).
db_query() {
	local c
	c=$(docker ps -q --filter "name=${app}_db" | head -n 1) &&
		docker exec -i "$c" mariadb -N petclinic <<<"$1"
}

test_expect_success 'the pipeline builds the WAR, the image from a git commit, validates, pushes and deploys' '
	test_when_finished "cp \"$TEST_SCRATCH/demo1.log\" \"$TEST_OUT/\" 2>/dev/null || :" &&
	BUILD_NUMBER=1 CAAS_DEMO_TIMINGS=$TEST_SCRATCH/timings1 "$TOP/samples/demo.sh" petclinic \
		>demo1.log 2>&1 || { tail -n 60 demo1.log; false; } &&
	tail -n 12 demo1.log &&
	grep -q "^mvn package" demo1.log &&
	grep -q "is valid" demo1.log &&
	grep -q "verified in the registry" demo1.log &&
	for p in source bases app image deploy check total; do
		grep -q "^$p [0-9]" timings1 || return 1
	done &&
	# the image is the git commit that holds the WAR Maven built
	commit=$(git -C work/petclinic rev-parse HEAD) &&
	git -C work/petclinic cat-file -e HEAD:target/petclinic.war &&
	img=$CAAS_REGISTRY/$CS_TEST_PREFIX/petclinic:1 &&
	test "$(docker image inspect -f "{{index .Config.Labels \"org.opencontainers.image.revision\"}}" $img)" = "$commit" &&
	test "$(docker service inspect -f "{{.Spec.TaskTemplate.ContainerSpec.Image}}" ${app}_app | sed "s/@.*//")" = "$img"
'

test_expect_success 'GET /petclinic/ answers 200; /petclinic/owners lists the owners from the database' '
	test "$(curl -s -o /dev/null -w "%{http_code}" $url/)" = 200 &&
	curl -fsS $url/owners >owners.html &&
	grep -q "George Franklin" owners.html &&
	grep -q "Eduardo Rodriquez" owners.html &&
	# a row written straight into MariaDB shows on the page: the list is read from the database
	db_query "INSERT INTO owners (first_name, last_name, city) VALUES (\"Grace\", \"Hopper-$$\", \"Arlington\");" &&
	curl -fsS $url/owners >owners.html &&
	grep -q "Grace Hopper-$$" owners.html &&
	# and an owner added through the web form is stored there
	test "$(curl -s -o /dev/null -w "%{http_code}" -d firstName=Ada -d lastName=Lovelace-$$ \
		-d city=London -d telephone=0123 $url/owners/new)" = 302 &&
	test "$(db_query "SELECT city FROM owners WHERE last_name = \"Lovelace-$$\";")" = London &&
	curl -fsS "$url/owners?lastName=Lovelace-$$" >search.html &&
	grep -q "Ada Lovelace-$$" search.html &&
	! grep -q "George Franklin" search.html &&
	curl -fsS $url/actuator/health | grep -q "\"status\":\"UP\""
'

test_expect_success 'the password reaches the containers as a secret file, never as a variable' '
	pw=$(cat "$TEST_SCRATCH/work/petclinic-db-password") &&
	test -n "$pw" &&
	for s in app db; do
		docker service inspect ${app}_$s >spec.json &&
		! grep -qF "$pw" spec.json &&
		jq -r ".[0].Spec.TaskTemplate.ContainerSpec.Secrets[].File.Name" spec.json >names &&
		grep -qx db_password names &&
		jq -r ".[0].Spec.TaskTemplate.ContainerSpec.Env[]" spec.json >env &&
		grep -qx DB_PASSWORD_FILE=/run/secrets/db_password env || return 1
	done
'

test_expect_success 'build 2: a rolling update while a client keeps asking for /petclinic/owners; no request fails' '
	test_when_finished "cp \"$TEST_SCRATCH/demo2.log\" \"$TEST_OUT/\" 2>/dev/null || :" &&
	(
		while [ ! -e stop-client ]; do
			curl -s -o /dev/null --max-time 10 -w "%{http_code}\n" $url/owners || :
			sleep 0.05
		done >codes
	) &
	client=$! &&
	sleep 2 &&
	BUILD_NUMBER=2 "$TOP/samples/demo.sh" petclinic >demo2.log 2>&1 ||
		{ touch stop-client; wait $client; tail -n 60 demo2.log; false; } &&
	touch stop-client && wait $client &&
	grep -q "update service ${app}_app" demo2.log &&
	grep -q "unchanged service ${app}_db" demo2.log &&
	total=$(wc -l <codes) && failed=$(grep -vc "^200$" codes || :) &&
	echo "rolling update: $total requests, $failed failed" &&
	echo "# rolling update: $total requests, $failed failed" >&5 &&
	test "$total" -gt 50 &&
	test "$failed" -eq 0 &&
	test "$(curl -fsS $url/api/version | jq -r .version)" = 2 &&
	# both replicas run build 2, the data survived
	test "$(docker service ps --filter desired-state=running -q ${app}_app | wc -l)" = 2 &&
	test "$(docker service inspect -f "{{.Spec.TaskTemplate.ContainerSpec.Image}}" ${app}_app | sed "s/@.*//")" = \
		"$CAAS_REGISTRY/$CS_TEST_PREFIX/petclinic:2" &&
	curl -fsS "$url/owners?lastName=Lovelace-$$" | grep -q "Ada Lovelace-$$"
'

test_expect_success 'every process stops promptly on SIGTERM (app, database, front)' '
	for s in app db front; do
		c=$(running_container "${app}_$s") &&
		t0=$(date +%s%N) &&
		docker stop -t 30 $c >/dev/null &&
		ms=$((($(date +%s%N) - t0) / 1000000)) &&
		echo "$s stopped in $ms ms" &&
		test "$ms" -lt 10000 || return 1
	done
'

test_expect_success 'cleanup: remove the stack and its volume' '
	remove_stack $app
'

test_done
