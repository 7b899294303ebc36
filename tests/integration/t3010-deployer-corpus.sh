#!/usr/bin/env bash
test_description='caas-deployer parses the real-world Compose corpus (tests/data/corpus) and seed-era files (tests/data/seed-style): warnings only, or exit 2 for what cannot be deployed'
. "$(dirname "$0")/test-lib.sh"

corpus=$TEST_DATA/corpus
compose=$corpus/compose
seeds=$TEST_DATA/seed-style

# model FILE... [--set ...]: the normalized model for swarm (never contacts a bay).
model() {
	caas-deployer --print-model --coe swarm "$@"
}

# A file's exit code and message, from what it needs:
#   rejected-*: services with build: and no image: (the files docker stack deploy refuses)
#   swarmprom-traefik.yml: required variables ${DOMAIN?}, ${ADMIN_USER:?}, ${HASHED_PASSWORD:?}
test_expect_success 'the corpus is there' '
	test -d "$compose" &&
	ls "$compose"/*.yml >files &&
	test "$(wc -l <files)" -ge 20 &&
	ls "$seeds"/*-v2.yml >seeds &&
	test "$(wc -l <seeds)" -ge 2
'

test_expect_success 'every deployable corpus file parses with warnings only (exit 0)' '
	n=0 &&
	for f in "$compose"/*.yml; do
		case ${f##*/} in
		rejected-* | swarmprom-traefik.yml) continue ;;
		esac
		model -f "$f" >m.json 2>err || { echo "FAIL: $f"; cat err; return 1; }
		! grep -v "^caas-deployer: warning: " err || { echo "not only warnings: $f"; return 1; }
		jq -e ".services | length > 0" m.json >/dev/null || { echo "no services: $f"; return 1; }
		n=$((n + 1))
	done &&
	test "$n" -ge 15
'

test_expect_success 'a file needing variables: exit 2 naming all of them at once; with --set it parses' '
	f=$compose/swarmprom-traefik.yml &&
	test_expect_code 2 model -f "$f" >m.json 2>err &&
	grep "required variable DOMAIN is missing" err &&
	grep "required variable ADMIN_USER is missing" err &&
	grep "required variable HASHED_PASSWORD is missing" err &&
	grep "swarmprom-traefik.yml:[0-9][0-9]*: required variable" err &&
	model -f "$f" --set DOMAIN=example.org --set ADMIN_USER=admin --set HASHED_PASSWORD=x >m.json 2>err &&
	! grep -v "^caas-deployer: warning: " err &&
	jq -e ".services | length > 0" m.json
'

test_expect_success 'rejected-*: each build-only service is named, exit 2, also with --dry-run (nothing contacted)' '
	check_rejected() {
		f=$compose/$1 && shift &&
		test_expect_code 2 model -f "$f" >m.json 2>err &&
		for s in "$@"; do
			grep "^caas-deployer: error: $f:[0-9]*: service .$s. has build: but no image: it cannot be deployed" err || return 1
		done &&
		test "$(grep -c "has build: but no image" err)" = $# &&
		test_expect_code 2 caas-deployer --dry-run --coe swarm --bay unix:///nonexistent.sock --app cs-x \
			-f "$f" >out 2>err2 &&
		grep "has build: but no image" err2 &&
		! grep "plan:" out err2
	} &&
	check_rejected rejected-ac-react-rust-postgres.yml frontend backend &&
	check_rejected rejected-docker-elk-v2-2019.yml elasticsearch logstash kibana &&
	check_rejected rejected-voting-app-compose-v2-2016.yml vote result worker &&
	check_rejected rejected-voting-app-compose.yml vote result worker
'

test_expect_success 'rejected-*: with image: given by a second -f file they parse with warnings only' '
	with_images() {
		f=$compose/$1 && shift &&
		{
			echo "services:" &&
			for s in "$@"; do
				printf "  %s:\n    image: registry.example/%s:1\n" "$s" "$s" || return 1
			done
		} >override.yml &&
		model -f "$f" -f override.yml >m.json 2>err &&
		! grep -v "^caas-deployer: warning: " err &&
		grep "key .build. is ignored by swarm" err &&
		for s in "$@"; do
			jq -e --arg s "$s" ".services[\$s].image == \"registry.example/\(\$s):1\"" m.json || return 1
		done
	} &&
	with_images rejected-ac-react-rust-postgres.yml frontend backend &&
	with_images rejected-docker-elk-v2-2019.yml elasticsearch logstash kibana &&
	with_images rejected-voting-app-compose-v2-2016.yml vote result worker &&
	with_images rejected-voting-app-compose.yml vote result worker &&
	grep "key .depends_on.redis.condition. (service_healthy) is ignored by swarm" err
'

test_expect_success 'warnings name the key and its line' '
	f=$compose/ac-gitea-postgres.yml &&
	model -f "$f" >m.json 2>err &&
	grep "^caas-deployer: warning: $f:24: service .db.: key .expose. is ignored by swarm$" err &&
	sed -n 24p "$f" | grep "^ *expose:" &&
	f=$seeds/tweet-v2.yml &&
	model -f "$f" --set PRIVATE_REGISTRY=r --set TAG=1 >m.json 2>err &&
	line=$(sed -n "s/^caas-deployer: warning: .*tweet-v2.yml:\([0-9]*\): service .store_admin.: key .links. is ignored by swarm$/\1/p" err) &&
	sed -n "${line}p" "$f" | grep "^ *links:"
'

test_expect_success 'the seed samples (version 2, overlay, container_name, links, $PRIVATE_REGISTRY:5000/...:$TAG) parse with --set' '
	n=0 &&
	for f in "$seeds"/*-v2.yml; do
		model -f "$f" --set PRIVATE_REGISTRY=registry.example --set TAG=42 >m.json 2>err &&
		! grep -v "^caas-deployer: warning: " err &&
		grep "container_name .*. becomes a network alias of the service" err &&
		jq -e "[.services[].image] | any(test(\"^registry\\\\.example:5000/[a-z-]+:42$\"))" m.json &&
		jq -e "[.networks[] | .driver] | any(. == \"overlay\")" m.json || return 1
		n=$((n + 1))
	done &&
	test "$n" -eq 2
'

test_expect_success 'the seed samples without --set: the empty image reference is exit 2, before the bay' '
	f=$seeds/petclinic-v2.yml &&
	test_expect_code 2 caas-deployer --dry-run --coe swarm --bay unix:///nonexistent.sock --app cs-x \
		-f "$f" >out 2>err &&
	grep "variable .PRIVATE_REGISTRY. is not set" err &&
	grep "petclinic-v2.yml:14: service .web. cannot be deployed: invalid image reference .:5000/petclinic:." err &&
	! grep "error: .*service .db." err &&
	! grep "plan:" out err
'

test_expect_success 'the seed samples: --dry-run --coe swarm plans them and changes nothing' '
	f=$seeds/petclinic-v2.yml &&
	app=$CS_TEST_PREFIX-seed &&
	caas-deployer --dry-run --coe swarm --bay unix:///var/run/docker.sock --app $app -f "$f" \
		--set PRIVATE_REGISTRY=registry.example --set TAG=42 --json plan.json >out 2>err &&
	grep "^plan: create network ${app}_backend$" err &&
	grep "^plan: create service ${app}_web$" err &&
	grep "^plan: create service ${app}_db$" err &&
	test_must_be_empty out &&
	jq -e ".status == \"planned\" and (.objects | length) == 3" plan.json &&
	test -z "$(docker service ls -q --filter name=${app}_)" &&
	test -z "$(docker network ls -q --filter name=${app}_)"
'

test_done
