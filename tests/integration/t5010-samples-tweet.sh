#!/usr/bin/env bash
test_description='samples/tweet: the pipeline (make demo SAMPLE=tweet) end to end on the local swarm; items flow from the producer through the store to the web UI'
. "$(dirname "$0")/test-lib.sh"

app=$CS_TEST_PREFIX-tw
port=18520
admin_port=18521
url=http://127.0.0.1:$port
admin=http://127.0.0.1:$admin_port
export CAAS_DEMO_APP=$app CAAS_DEMO_NS=$CS_TEST_PREFIX CAAS_DEMO_PORT=$port
export CAAS_DEMO_PORT2=$admin_port CAAS_DEMO_WORK=$TEST_SCRATCH/work

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
	docker volume rm -f "$1_store-data" >/dev/null 2>&1
	test -z "$(docker volume ls -q --filter "name=$1_")"
}

# newest_id: the id of the newest item the web UI lists.
newest_id() {
	curl -fsS "$url/api/items?n=1" | jq -r '.[0].id'
}

# redis CMD...: a command in the stack's store container.
redis() {
	local c
	c=$(docker ps -q --filter "name=${app}_store" | head -n 1) &&
		docker exec "$c" redis-cli "$@"
}

test_expect_success 'the pipeline builds the producer from source, validates, pushes and deploys the four services' '
	test_when_finished "cp \"$TEST_SCRATCH/demo.log\" \"$TEST_OUT/\" 2>/dev/null || :" &&
	BUILD_NUMBER=1 CAAS_DEMO_TIMINGS=$TEST_SCRATCH/timings "$TOP/samples/demo.sh" tweet \
		>demo.log 2>&1 || { tail -n 60 demo.log; false; } &&
	tail -n 12 demo.log &&
	grep -q "is valid" demo.log &&
	grep -q "verified in the registry" demo.log &&
	for p in source bases image deploy check total; do
		grep -q "^$p [0-9]" timings || return 1
	done &&
	img=$CAAS_REGISTRY/$CS_TEST_PREFIX/tweet:1 &&
	test "$(docker image inspect -f "{{index .Config.Labels \"org.opencontainers.image.revision\"}}" $img)" = \
		"$(git -C work/tweet rev-parse HEAD)" &&
	for s in store producer web admin; do
		test "$(docker service ps --filter desired-state=running -q ${app}_$s | wc -l)" = 1 || return 1
	done
'

test_expect_success 'items flow from the producer through the store to the web UI' '
	first=$(newest_id) &&
	test "$first" -gt 0 &&
	sleep 4 &&
	second=$(newest_id) &&
	echo "newest item: $first, 4 s later: $second" &&
	test "$second" -gt "$first" &&
	# what the UI lists is what the store holds, newest first
	curl -fsS "$url/api/items?n=5" | jq -r ".[].id" >ui-ids &&
	test "$(wc -l <ui-ids)" = 5 &&
	redis LRANGE tweets 0 50 | jq -r .id >store-ids &&
	grep -qx "$(head -n 1 ui-ids)" store-ids &&
	sort -rn ui-ids | test_cmp ui-ids - &&
	# and comes from the feed the producer was built with
	curl -fsS "$url/api/items?n=1" | jq -r ".[0].user + \"\t\" + .[0].text" >item &&
	grep -qxF "$(cat item)" "$TOP/samples/tweet/producer/feed.txt" &&
	curl -fsS "$url/" | grep -q "class=\"item\""
'

test_expect_success 'the admin UI shows the store and trims the list' '
	curl -fsS "$admin/" | grep -q "Tweet store admin" &&
	curl -fsS "$admin/api/info" >info.json &&
	jq -e ".keys[] | select(.key == \"tweets\" and .type == \"list\")" info.json &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -d keep=3 "$admin/trim")" = 303 &&
	n=$(redis LLEN tweets) &&
	echo "after trimming to 3: $n" &&
	test "$n" -le 5
'

test_expect_success 'the producer waits for the store and goes on when it is back' '
	c=$(docker ps -q --filter "name=${app}_store") &&
	before=$(redis GET tweets:seq) &&
	docker stop $c >/dev/null &&
	for _ in $(seq 60); do
		test "$(curl -s -o /dev/null -w "%{http_code}" "$url/health")" = 200 &&
			after=$(redis GET tweets:seq 2>/dev/null) && test "${after:-0}" -gt $((before + 2)) && break
		sleep 1
	done &&
	echo "sequence before the restart: $before, after: $after" &&
	test "$after" -gt $((before + 2))
'

test_expect_success 'every process stops promptly on SIGTERM (producer, web, admin, store)' '
	# the store stop above made the web and admin health checks fail (their /health asks the
	# store), so swarm may still be restarting them: wait for a running container of each
	for s in producer web admin store; do
		c=$(running_container "${app}_$s") &&
		t0=$(date +%s%N) &&
		docker stop -t 30 $c >/dev/null &&
		ms=$((($(date +%s%N) - t0) / 1000000)) &&
		echo "$s stopped in $ms ms, exit $(docker inspect -f "{{.State.ExitCode}}" $c)" &&
		test "$ms" -lt 5000 || return 1
	done
'

test_expect_success 'cleanup: remove the stack and its volume' '
	remove_stack $app
'

test_done
