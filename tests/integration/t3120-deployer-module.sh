#!/usr/bin/env bash
test_description='caas-deployer: the options layer (streams, -q, --bay from DOCKER_HOST, state lines, --json on failure) and the caas_deploy Ansible module (changed honest, check mode, registry_password), on the real swarm and the Kubernetes control plane'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/k8s-lib.sh"

bay=unix:///var/run/docker.sock
app=$CS_TEST_PREFIX-mod
img=$CS_TEST_PREFIX-modweb
priv=$CAAS_REGISTRY/$CS_TEST_PREFIX-modpriv/web:1
port=18350
pw=$(cat "$CAAS_REGISTRY_PASSWORD_FILE")
ns=$CS_TEST_PREFIX-mod

# A JSON arguments file as Ansible writes it: jq builds it, so quoting is jq's.
args() {
	jq -n "$@"
}

# remove_stack APP: the stack's services gone, then its networks (they linger a moment).
remove_stack() {
	docker stack rm "$1" >/dev/null 2>&1
	for _ in $(seq 60); do
		if [ -z "$(docker service ls -q --filter "label=com.docker.stack.namespace=$1")" ] &&
			[ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$1")" ]; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# remove_project APP: the containers and networks of a compose-backend deployment.
remove_project() {
	local ids
	mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$1")
	[ "${#ids[@]}" -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null 2>&1
	mapfile -t ids < <(docker network ls -q --filter "label=com.docker.compose.project=$1")
	[ "${#ids[@]}" -eq 0 ] || docker network rm "${ids[@]}" >/dev/null 2>&1
	:
}

version_of() {
	docker service inspect -f '{{.Version.Index}}' "$1"
}

get_until() { # PORT WANT
	for _ in $(seq 20); do
		curl -sf "http://127.0.0.1:$1/" >page 2>/dev/null && grep -q "$2" page && return 0
		sleep 0.5
	done
	return 1
}

test_expect_success 'setup: images one and two, a compose file, a private image in the registry only' '
	docker build -q -t $img:1 --build-arg GREETING=greeting-one "$TOP/samples/hello-web" >/dev/null &&
	docker build -q -t $img:2 --build-arg GREETING=greeting-two "$TOP/samples/hello-web" >/dev/null &&
	cat >app.yml <<-EOF &&
	services:
	  web:
	    image: \${IMG:?set IMG}
	    ports:
	      - target: 8080
	        published: \${PORT:-$port}
	        mode: host
	    deploy:
	      update_config:
	        order: stop-first
	EOF
	mkdir dcfg empty &&
	DOCKER_CONFIG=$PWD/dcfg docker login -u "$CAAS_REGISTRY_USER" --password-stdin "$CAAS_REGISTRY" \
		<"$CAAS_REGISTRY_PASSWORD_FILE" >/dev/null 2>&1 &&
	docker tag $img:1 $priv &&
	DOCKER_CONFIG=$PWD/dcfg docker push -q $priv >/dev/null &&
	docker rmi $priv >/dev/null &&
	test_must_fail docker image inspect $priv >/dev/null 2>&1
'

test_expect_success 'first deployment: the endpoint alone on stdout; each task state change on stderr' '
	test_when_finished "remove_stack $app" &&
	caas-deployer --coe swarm --bay $bay --app $app -f app.yml --set IMG=$img:1 --stable-for 1 \
		--resolve-image never >out 2>err &&
	echo "endpoint http://127.0.0.1:$port" >expect &&
	test_cmp expect out &&
	grep -E "^caas-deployer: web: task ${app}_web\.1 [0-9a-z]{12} [a-z]+ -> running$" err &&
	grep "^create service ${app}_web$" err &&
	get_until $port greeting-one &&

	: "-q: errors only; the result stays on stdout" &&
	caas-deployer -q --coe swarm --bay $bay --app $app -f app.yml --set IMG=$img:2 --stable-for 1 \
		--resolve-image never >out 2>err &&
	test_cmp expect out &&
	test_must_be_empty err &&
	get_until $port greeting-two &&

	: "--json -: pure JSON on stdout, the progress on stderr" &&
	caas-deployer --coe swarm --bay $bay --app $app -f app.yml --set IMG=$img:1 --stable-for 1 \
		--resolve-image never --json - >out 2>err &&
	jq -e --arg s ${app}_web ".status == \"converged\" and .changed == true and .exit_code == 0 and
		(.objects[] | select(.name == \$s) | .action) == \"updated\" and
		.endpoints == [\"http://127.0.0.1:$port\"]" out &&
	grep -E "web: task ${app}_web\.1 [0-9a-z]{12} .*-> running" err &&
	grep "^caas-deployer: endpoint http://127.0.0.1:$port$" err
'

test_expect_success 'no --bay: DOCKER_HOST is the bay (swarm and compose); --bay wins over it' '
	test_expect_code 6 env DOCKER_HOST=unix:///nonexistent-$CS_TEST_PREFIX.sock \
		caas-deployer --coe swarm --app $app-dh -f app.yml --set IMG=$img:1 >out 2>err &&
	grep "nonexistent-$CS_TEST_PREFIX.sock" err &&
	test_expect_code 6 env DOCKER_HOST=unix:///nonexistent-$CS_TEST_PREFIX.sock \
		caas-deployer --coe compose --app $app-dh -f app.yml --set IMG=$img:1 >out 2>err &&
	grep "nonexistent-$CS_TEST_PREFIX.sock" err &&
	DOCKER_HOST=unix:///nonexistent-$CS_TEST_PREFIX.sock caas-deployer --coe swarm --bay $bay \
		--app $app-dh -f app.yml --set IMG=$img:1 --resolve-image never --dry-run >out 2>err &&
	grep "^plan: create service $app-dh_web$" err &&
	DOCKER_HOST=$bay caas-deployer --coe swarm --app $app-dh -f app.yml --set IMG=$img:1 \
		--resolve-image never --dry-run >out 2>err &&
	grep "^plan: create service $app-dh_web$" err &&
	test_must_fail docker service inspect $app-dh_web >/dev/null 2>&1
'

test_expect_success 'usage: unknown option, missing value, -q, --version, --help; --json written on bad input' '
	test_expect_code 2 caas-deployer --bogus >out 2>err &&
	test_line_count = 1 err &&
	grep "unknown option .--bogus. (see --help)" err &&
	test_must_be_empty out &&
	test_expect_code 2 caas-deployer --coe swarm --app x -f app.yml --timeout 0 2>err &&
	grep -- "--timeout .0.: want a whole number from 1 to 86400 (see --help)" err &&
	test_expect_code 2 caas-deployer --coe swarm --app x -f app.yml --registry-password x 2>err &&
	grep "accepted in a module arguments file only: a secret never goes in argv" err &&
	caas-deployer --version | grep "^caas-deployer [0-9.]* (caas-devops)$" &&
	caas-deployer --help >help &&
	grep -- "--stable-for SECONDS" help && grep "^  11 " help && grep "caas_deploy" help &&
	! grep -- "--registry-password " help &&
	test_expect_code 2 caas-deployer --coe swarm --bay $bay --app $app-bad -f app.yml --json bad.json \
		>out 2>err &&
	test_must_be_empty out &&
	grep "required variable IMG is missing" err &&
	jq -e --arg a $app-bad ".status == \"failed\" and .exit_code == 2 and .changed == false and
		.app == \$a and .coe == \"swarm\" and .objects == [] and
		(.error | test(\"required variable IMG is missing\"))" bad.json
'

test_expect_success 'compose (plain engine): container state lines on stderr, not with -q; module changed honest' '
	test_when_finished "remove_project $app-c" &&
	caas-deployer --coe compose --bay $bay --app $app-c -f app.yml --set IMG=$img:1 \
		--set PORT=$((port + 4)) --stable-for 1 >out 2>err &&
	echo "endpoint http://127.0.0.1:$((port + 4))" >expect &&
	test_cmp expect out &&
	grep -E "^caas-deployer: web: container $app-c_web_1 [0-9a-f]{12} (running \(starting\) -> )?running \(healthy\)$" err &&
	get_until $((port + 4)) greeting-one &&
	caas-deployer -q --coe compose --bay $bay --app $app-c -f app.yml --set IMG=$img:2 \
		--set PORT=$((port + 4)) --stable-for 1 >out 2>err &&
	test_cmp expect out &&
	test_must_be_empty err &&
	get_until $((port + 4)) greeting-two &&
	args --arg f "$PWD/app.yml" --arg app $app-c --arg img $img:2 \
		"{coe: \"compose\", bay: \"$bay\", app: \$app, file: [\$f],
		  set: {IMG: \$img, PORT: $((port + 4))}, stable_for: 1}" >cm.json &&
	caas-deployer cm.json >out 2>err &&
	jq -e ".changed == false and .status == \"converged\" and all(.objects[]; .action == \"unchanged\")" out
'

test_expect_success 'module: a first deploy changes, the same input again does not (changed honest)' '
	test_when_finished "remove_stack $app-m" &&
	args --arg f "$PWD/app.yml" --arg app $app-m --arg img $img:1 \
		"{coe: \"swarm\", bay: \"$bay\", app: \$app, file: [\$f], set: {IMG: \$img, PORT: $((port + 1))},
		  stable_for: 1, resolve_image: \"never\", _ansible_check_mode: false}" >a1.json &&
	caas-deployer a1.json >out 2>err &&
	test_line_count = 1 out &&
	jq -e --arg s $app-m_web ".changed == true and .failed == false and .rc == 0 and
		.status == \"converged\" and .endpoints == [\"http://127.0.0.1:$((port + 1))\"] and
		(.objects[] | select(.name == \$s) | .action) == \"created\" and
		(.msg | test(\"converged: 2 created\"))" out &&
	grep -E "web: task $app-m_web\.1 [0-9a-z]{12} .*-> running" err &&
	get_until $((port + 1)) greeting-one &&
	v=$(version_of $app-m_web) &&
	caas-deployer a1.json >out 2>err &&
	jq -e ".changed == false and .failed == false and .status == \"converged\" and
		all(.objects[]; .action == \"unchanged\")" out &&
	test "$(version_of $app-m_web)" = "$v" &&

	: "check mode: the plan only; changed says whether it would change" &&
	jq "._ansible_check_mode = true" a1.json >c1.json &&
	caas-deployer c1.json >out 2>err &&
	jq -e ".changed == false and .status == \"planned\" and .check_mode == true" out &&
	jq ".set.IMG = \"$img:2\" | ._ansible_check_mode = true" a1.json >c2.json &&
	caas-deployer c2.json >out 2>err &&
	jq -e --arg s $app-m_web ".changed == true and .status == \"planned\" and .failed == false and
		(.objects[] | select(.name == \$s) | .action) == \"updated\"" out &&
	grep "^plan: update service $app-m_web$" err &&
	test "$(version_of $app-m_web)" = "$v" &&
	get_until $((port + 1)) greeting-one &&

	: "json FILE beside the module result" &&
	jq ".json = \"$PWD/m.json\"" a1.json >a3.json &&
	caas-deployer a3.json >out 2>err &&
	jq -e ".changed == false and .status == \"converged\"" m.json
'

test_expect_success 'module: registry_password pulls a private image; it is never printed' '
	test_when_finished "remove_stack $app-p" &&
	args --arg f "$PWD/app.yml" --arg app $app-p --arg img $priv --arg u "$CAAS_REGISTRY_USER" \
		--arg pw "$pw" --arg j "$PWD/p.json" \
		"{coe: \"swarm\", bay: \"$bay\", app: \$app, file: [\$f], set: {IMG: \$img, PORT: $((port + 2))},
		  stable_for: 1, registry_user: \$u, registry_password: \$pw, json: \$j, verbose: 2}" >p.json.args &&
	DOCKER_CONFIG=$PWD/empty CS_TRACE_HTTP=1 caas-deployer p.json.args >out 2>err &&
	jq -e ".changed == true and .status == \"converged\" and .failed == false" out &&
	pinned=$(docker service inspect -f "{{.Spec.TaskTemplate.ContainerSpec.Image}}" $app-p_web) &&
	case $pinned in "$priv@sha256:"*) ;; *) false ;; esac &&
	grep -i "x-registry-auth" err &&
	! grep -F "$pw" out err p.json &&
	! grep -F "$(printf "%s" "$pw" | base64 -w0)" out err p.json &&
	! jq -e "has(\"registry_password\")" out
'

test_expect_success 'module: bad input fails with a clear msg and the documented rc' '
	echo "{\"coe\": \"swarm\", \"app\": \"x\", \"file\": \"app.yml\", \"bogus\": 1}" >b1.json &&
	caas-deployer b1.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .changed == false and .rc == 2 and
		(.msg | test(\"unsupported parameter .bogus. for module caas_deploy\"))" out &&
	echo "{\"app\": \"x\", \"file\": \"app.yml\"}" >b2.json &&
	caas-deployer b2.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 2 and (.msg | test(\"coe is required\"))" out &&
	echo "{\"coe\": \"swarm\", \"app\": \"x\", \"file\": \"$PWD/app.yml\", \"bay\": \"$bay\"}" >b3.json &&
	caas-deployer b3.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 2 and .status == \"failed\" and
		(.msg | test(\"required variable IMG is missing\"))" out &&
	echo "{\"coe\": \"swarm\", \"app\": \"x\", \"file\": \"$PWD/app.yml\", \"set\": {\"IMG\": \"$img:1\"},
		\"bay\": \"unix:///nonexistent-$CS_TEST_PREFIX.sock\"}" >b4.json &&
	caas-deployer b4.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 6 and (.msg | test(\"nonexistent\"))" out &&
	echo "{\"coe\": \"swarm\", \"app\": \"x\", \"file\": \"app.yml\", \"registry_user\": \"u\",
		\"registry_password\": \"canary-secret-4711\", \"timeout\": \"soon\"}" >b5.json &&
	caas-deployer b5.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 2 and (.msg | test(\"timeout\"))" out &&
	! grep canary-secret-4711 out err &&
	printf "{\"coe\": " >b6.json &&
	caas-deployer b6.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 2 and (.msg | test(\"arguments file .b6.json.: line\"))" out
'

test_expect_success 'kubernetes: pod state lines on stderr (not with -q); module twice: changed, then not' '
	kubectl create namespace "$ns" >/dev/null &&
	test_when_finished "kubectl delete namespace $ns --wait=false >/dev/null 2>&1" &&
	cat >k.yaml <<-EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: web
	spec:
	  replicas: 2
	  selector:
	    matchLabels: {app: web}
	  template:
	    metadata:
	      labels: {app: web}
	    spec:
	      containers:
	      - name: web
	        image: registry.example/web:\${TAG}
	EOF
	caas-deployer --coe kubernetes --namespace "$ns" --app kmod -f k.yaml --set TAG=1 >out 2>err &&
	grep -E "^caas-deployer: web: pod web-[a-z0-9]+-[a-z0-9]+ (Pending|Running, ready)" err &&
	test "$(grep -c "^caas-deployer: web: pod " err)" -ge 2 &&
	caas-deployer -q --coe kubernetes --namespace "$ns" --app kmod -f k.yaml --set TAG=2 >out 2>err &&
	test_must_be_empty err &&
	test "$(kubectl -n "$ns" get deploy web -o jsonpath="{.spec.template.spec.containers[0].image}")" = registry.example/web:2 &&
	args --arg f "$PWD/k.yaml" --arg ns "$ns" --arg kc "$KUBECONFIG" \
		"{coe: \"kubernetes\", kubeconfig: \$kc, namespace: \$ns, app: \"kmod\", file: [\$f],
		  set: {TAG: 3}}" >k1.json &&
	caas-deployer k1.json >out 2>err &&
	jq -e ".changed == true and .status == \"converged\" and .failed == false" out &&
	grep -E "web: pod web-[a-z0-9]+-[a-z0-9]+ " err &&
	rv=$(kubectl -n "$ns" get deploy web -o jsonpath="{.metadata.resourceVersion}") &&
	caas-deployer k1.json >out 2>err &&
	jq -e ".changed == false and .status == \"converged\" and all(.objects[]; .action == \"unchanged\")" out &&
	jq "._ansible_check_mode = true | .set.TAG = 4" k1.json >k2.json &&
	caas-deployer k2.json >out 2>err &&
	jq -e ".changed == true and .status == \"planned\"" out &&
	test "$(kubectl -n "$ns" get deploy web -o jsonpath="{.metadata.resourceVersion}")" = "$rv" &&
	test "$(kubectl -n "$ns" get deploy web -o jsonpath="{.spec.template.spec.containers[0].image}")" = registry.example/web:3
'

# Ansible wants a UTF-8 locale (test-lib sets LC_ALL=C)
ansible_run() {
	env LC_ALL=C.UTF-8 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
		ANSIBLE_NOCOLOR=1 ansible localhost -c local -M library -m caas_deploy -o "$@"
}

test_expect_success 'ansible itself runs caas_deploy: changed, then ok; check mode' '
	test_when_finished "remove_stack $app-a" &&
	mkdir library &&
	cp "$(command -v caas-deployer)" library/caas_deploy &&
	sed "s/PORT:-$port/PORT:-$((port + 3))/" app.yml >app3.yml &&
	a="coe=swarm bay=$bay app=$app-a file=$PWD/app3.yml set=IMG=$img:2 stable_for=1 resolve_image=never" &&
	ansible_run -a "$a" >out 2>err &&
	grep "^localhost | CHANGED => " out &&
	sed "s/^localhost | CHANGED => //" out | jq -e ".status == \"converged\" and .changed == true" &&
	get_until $((port + 3)) greeting-two &&
	ansible_run -a "$a" >out 2>err &&
	grep "^localhost | SUCCESS => " out &&
	sed "s/^localhost | SUCCESS => //" out | jq -e ".changed == false" &&
	ansible_run --check -a "coe=swarm bay=$bay app=$app-a file=$PWD/app3.yml set=IMG=$img:1 resolve_image=never" >out 2>err &&
	grep "^localhost | CHANGED => " out &&
	sed "s/^localhost | CHANGED => //" out | jq -e ".status == \"planned\"" &&
	get_until $((port + 3)) greeting-two
'

test_expect_success 'cleanup: images and the registry manifest' '
	d=$(registry_curl -sI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"$CAAS_REGISTRY_URL/v2/$CS_TEST_PREFIX-modpriv/web/manifests/1" | tr -d "\r" |
		sed -n "s/^docker-content-digest: //Ip") &&
	registry_curl -s -X DELETE "$CAAS_REGISTRY_URL/v2/$CS_TEST_PREFIX-modpriv/web/manifests/$d" &&
	docker rmi -f $img:1 $img:2 >/dev/null
'

test_done
