#!/usr/bin/env bash
test_description='caas-deployer --coe swarm against the real engine: deploy, update, unchanged, prune, roll back, reject'
. "$(dirname "$0")/test-lib.sh"

bay=unix:///var/run/docker.sock
app=$CS_TEST_PREFIX-app
img=$CS_TEST_PREFIX-web
reg=$CAAS_REGISTRY
port=18310
port2=18311

# remove_stack APP: `docker stack rm APP`, then wait until its services, containers
# and networks are gone (a network lingers a few seconds after its service).
remove_stack() {
	docker stack rm "$1" >/dev/null 2>&1
	for _ in $(seq 90); do
		if [ -z "$(docker service ls -q --filter "label=com.docker.stack.namespace=$1")" ] &&
			[ -z "$(docker ps -aq --filter "name=$1_")" ] &&
			[ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$1")" ]; then
			return 0
		fi
		sleep 1
	done
	echo "remove_stack: $1 still has objects" >&2
	return 1
}

# nothing_of APP: no service, container or network of APP exists.
nothing_of() {
	test -z "$(docker service ls -q --filter "name=$1_")" &&
		test -z "$(docker ps -aq --filter "name=$1_")" &&
		test -z "$(docker network ls -q --filter "name=$1_")"
}

# get_until PORT WANT: the page at 127.0.0.1:PORT contains WANT (a few tries).
get_until() {
	for _ in $(seq 20); do
		curl -sf "http://127.0.0.1:$1/" >page 2>/dev/null && grep -q "$2" page && return 0
		sleep 0.5
	done
	echo "get_until: 127.0.0.1:$1 does not serve '$2'; last page:" >&2
	cat page >&2 2>/dev/null
	return 1
}

version_of() {
	docker service inspect -f '{{.Version.Index}}' "$1"
}

image_of() {
	docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$1"
}

deploy() {
	caas-deployer --coe swarm --bay "$bay" --timeout 90 "$@"
}

test_expect_success 'setup: images one, two and a broken one; compose files' '
	docker build -q -t $img:1 --build-arg GREETING=greeting-one "$TOP/samples/hello-web" &&
	docker build -q -t $img:2 --build-arg GREETING=greeting-two "$TOP/samples/hello-web" &&
	printf "FROM %s\nCMD [\"sh\", \"-c\", \"echo about to fail; exit 1\"]\n" $img:2 >Dockerfile.bad &&
	docker build -q -t $img:bad -f Dockerfile.bad . &&
	cat >app.yml <<-EOF &&
	version: "3.8"
	services:
	  web:
	    image: \${IMG:?set IMG to the image}
	    ports:
	      - target: 8080
	        published: $port
	        mode: host
	    deploy:
	      update_config:
	        order: stop-first
	EOF
	cat >extra.yml <<-EOF &&
	services:
	  extra:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	EOF
	cat >required.yml <<-EOF &&
	services:
	  web:
	    image: \${IMG:?set IMG to the image}:\${TAG:?set TAG}
	    environment:
	      MODE: \${MODE:?MODE is required}
	EOF
	cat >build.yml <<-EOF
	services:
	  ok:
	    image: busybox:latest
	  builtonly:
	    build: .
	EOF
'

test_expect_success 'first deployment converges; the endpoint answers; --json tells it' '
	deploy --app $app -f app.yml --set IMG=$img:1 --json first.json >out 2>&1 &&
	grep "endpoint http://127.0.0.1:$port" out &&
	get_until $port greeting-one &&
	jq -e --arg app $app "
		.app == \$app and .coe == \"swarm\" and .changed == true and .status == \"converged\" and
		(.objects | any(.kind == \"service\" and .name == \"\(\$app)_web\" and .action == \"created\")) and
		(.objects | any(.kind == \"network\" and .name == \"\(\$app)_default\" and .action == \"created\")) and
		.endpoints == [\"http://127.0.0.1:$port\"]" first.json
'

test_expect_success 'docker stack ps and docker stack services list the app' '
	docker stack ls --format "{{.Name}}" | grep -x $app &&
	docker stack ps $app --format "{{.Name}} {{.DesiredState}} {{.CurrentState}}" >ps &&
	grep "^${app}_web\.1 Running Running" ps &&
	docker stack services $app --format "{{.Name}} {{.Replicas}} {{.Image}}" >services &&
	grep -x "${app}_web 1/1 $img:1" services
'

test_expect_success 'update to a new tag: the version index grows, the new content is served' '
	v1=$(version_of ${app}_web) &&
	deploy --app $app -f app.yml --set IMG=$img:2 --json update.json >out 2>&1 &&
	v2=$(version_of ${app}_web) &&
	test "$v2" -gt "$v1" &&
	image_of ${app}_web | grep "^$img:2" &&
	get_until $port greeting-two &&
	jq -e --arg s ${app}_web ".changed == true and .status == \"converged\" and
		(.objects[] | select(.name == \$s) | .action) == \"updated\"" update.json
'

test_expect_success 'the same deployment again: exit 0, changed=false, nothing touched' '
	v2=$(version_of ${app}_web) &&
	deploy --app $app -f app.yml --set IMG=$img:2 --json same.json >out 2>&1 &&
	jq -e ".changed == false and .status == \"converged\" and (.objects | length) >= 2 and
		all(.objects[]; .action == \"unchanged\")" same.json &&
	test "$(version_of ${app}_web)" = "$v2" &&
	get_until $port greeting-two
'

test_expect_success '--dry-run prints the plan and changes nothing' '
	v2=$(version_of ${app}_web) &&
	deploy --app $app -f app.yml -f extra.yml --set IMG=$img:1 --dry-run --json dry.json >out 2>&1 &&
	grep "^plan: update service ${app}_web$" out &&
	grep "^plan: create service ${app}_extra$" out &&
	grep "^plan: unchanged network ${app}_default$" out &&
	jq -e ".status == \"planned\"" dry.json &&
	test "$(version_of ${app}_web)" = "$v2" &&
	image_of ${app}_web | grep "^$img:2" &&
	test_must_fail docker service inspect ${app}_extra >/dev/null 2>&1 &&
	get_until $port greeting-two
'

test_expect_success 'a second -f file adds a service; without --prune it stays, --prune removes it' '
	deploy --app $app -f app.yml -f extra.yml --set IMG=$img:2 --json add.json >out 2>&1 &&
	jq -e --arg s ${app}_extra "(.objects[] | select(.name == \$s) | .action) == \"created\"" add.json &&
	docker stack services $app --format "{{.Name}} {{.Replicas}}" | grep -x "${app}_extra 1/1" &&
	deploy --app $app -f app.yml --set IMG=$img:2 --json noprune.json >out 2>&1 &&
	docker service inspect ${app}_extra >/dev/null &&
	deploy --app $app -f app.yml --set IMG=$img:2 --prune --json prune.json >out 2>&1 &&
	jq -e --arg s ${app}_extra "(.objects[] | select(.name == \$s) | .action) == \"removed\"" prune.json &&
	test_must_fail docker service inspect ${app}_extra >/dev/null 2>&1 &&
	docker stack services $app --format "{{.Name}}" >services &&
	echo ${app}_web >expect &&
	test_cmp expect services &&
	get_until $port greeting-two
'

test_expect_success 'a new image whose command exits 1: exit 8, back on the previous image, still serving' '
	v=$(version_of ${app}_web) &&
	test_expect_code 8 deploy --app $app -f app.yml --set IMG=$img:bad --json bad.json >out 2>&1 &&
	grep "${app}_web" out &&
	grep "service .web. failed: .*exit code 1; state history of slot 1" out &&
	grep "|.*task [0-9a-z]* failed (desired shutdown) at .*: task: non-zero exit (1)" out &&
	grep "|.*last log lines:" out &&
	grep "|.*about to fail" out &&
	jq -e ".status == \"rolled_back\" and .changed == false" bad.json &&
	image_of ${app}_web | grep "^$img:2" &&
	test "$(version_of ${app}_web)" -gt "$v" &&
	get_until $port greeting-two
'

test_expect_success 'a missing ${VAR:?}: exit 2, every variable named, nothing created' '
	test_expect_code 2 deploy --app $app-req -f required.yml --set IMG=busybox >out 2>&1 &&
	grep "required variable TAG is missing: set TAG" out &&
	grep "required variable MODE is missing: MODE is required" out &&
	! grep "required variable IMG" out &&
	nothing_of $app-req
'

test_expect_success 'a service with build: and no image: exit 2 naming it, nothing created' '
	test_expect_code 2 deploy --app $app-build -f build.yml >out 2>&1 &&
	grep "service .builtonly. has build: but no image:" out &&
	! grep "service .ok." out &&
	nothing_of $app-build
'

test_expect_success 'an unreachable bay: exit 6' '
	test_expect_code 6 caas-deployer --coe swarm --bay unix:///nonexistent.sock --app $app-x \
		-f app.yml --set IMG=$img:1 >out 2>&1 &&
	grep "nonexistent.sock" out &&
	test_expect_code 6 caas-deployer --coe swarm --bay tcp://127.0.0.1:1 --app $app-x \
		-f app.yml --set IMG=$img:1 >out 2>&1 &&
	grep "127.0.0.1:1" out &&
	nothing_of $app-x
'

test_expect_success 'docker stack rm removes what we deployed' '
	remove_stack $app &&
	nothing_of $app &&
	! docker stack ls --format "{{.Name}}" | grep -x $app
'

test_expect_success 'a private registry image with --registry-user/--registry-password-file; the password never shows' '
	priv=$CS_TEST_PREFIX-priv &&
	test_when_finished "remove_stack $app-priv; docker rmi -f $reg/$priv:1 >/dev/null 2>&1" &&
	caas-build-runner --context "$TOP/samples/hello-web" --image $priv --tag 1 --registry $reg --push \
		--build-arg GREETING=greeting-private \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" >build.out 2>&1 &&
	docker rmi $reg/$priv:1 >/dev/null &&
	test_must_fail docker image inspect $reg/$priv:1 >/dev/null 2>&1 &&
	CS_TRACE_HTTP=1 deploy --app $app-priv -f app.yml --set IMG=$reg/$priv:1 \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--json priv.json -vv >out 2>&1 &&
	jq -e ".status == \"converged\"" priv.json &&
	get_until $port greeting-private &&
	docker image inspect $reg/$priv:1 >/dev/null &&
	grep -i "x-registry-auth" out &&
	pw=$(cat "$CAAS_REGISTRY_PASSWORD_FILE") &&
	! grep -F "$pw" out priv.json &&
	! grep -F "$(printf "%s" "$pw" | base64 -w0)" out &&
	! grep -F "$(printf "{\"username\":\"%s\",\"password\":\"%s\"" "$CAAS_REGISTRY_USER" "$pw" | base64 -w0 | cut -c1-40)" out
'

test_done
