#!/usr/bin/env bash
test_description='caas-deployer --coe swarm builds the same service specs as docker stack deploy from the same Compose files, and takes over a stack docker deployed without a change'
. "$(dirname "$0")/test-lib.sh"

bay=unix:///var/run/docker.sock
dstack=$CS_TEST_PREFIX-d # deployed by docker stack deploy
cstack=$CS_TEST_PREFIX-c # deployed by caas-deployer

# The images of the corpus cannot be pulled here: both tools deploy with
# --resolve-image never, and the tasks may never run. The test compares what each
# tool asked the swarm for (the stored service specs), not convergence.

api() {
	curl -sf --unix-socket /var/run/docker.sock "http://localhost/v1.41$1"
}

# specs STACK: the stored specs of STACK's services (GET /services, no defaults
# inserted), keyed by service name, with the stack name replaced by STACK, network
# IDs by names, secret and config IDs dropped, and empty values pruned.
specs() {
	local nets filter
	nets=$(api /networks | jq 'map({(.Id): .Name}) | add') &&
		filter=$(jq -rn --arg l "com.docker.stack.namespace=$1" '{label: [$l]} | tojson | @uri') &&
		api "/services?filters=$filter" | jq -S --arg st "$1" --argjson nets "$nets" '
		def unst: if type == "string" then sub("^" + $st + "(?<s>[_-]|$)"; "STACK\(.s)") else . end;
		def prune: if type == "object" then with_entries(.value |= prune)
			| with_entries(select(.value != null and .value != {} and .value != [] and .value != false and .value != 0 and .value != ""))
			elif type == "array" then map(prune) else . end;
		def each(f): if . then map(f) else . end;
		map(.Spec | .Name |= unst
		  | .Labels["com.docker.stack.namespace"] |= unst
		  | .TaskTemplate.ContainerSpec.Labels["com.docker.stack.namespace"]? |= unst
		  | .TaskTemplate.Networks |= each(.Target |= ($nets[.] // .) | .Target |= unst)
		  | .TaskTemplate.ContainerSpec.Secrets |= (each(del(.SecretID) | .SecretName |= unst)
			| if . then sort_by(.SecretName, .File.Name) else . end)
		  | .TaskTemplate.ContainerSpec.Configs |= (each(del(.ConfigID) | .ConfigName |= unst)
			| if . then sort_by(.ConfigName, .File.Name) else . end)
		  | .TaskTemplate.ContainerSpec.Mounts |= each(.Source |= unst
			| .VolumeOptions.Labels["com.docker.stack.namespace"]? |= unst)
		  | del(.TaskTemplate.ForceUpdate) | prune
		  | {key: .Name, value: .}) | from_entries'
}

# netspecs STACK: what matters of STACK's networks (driver, options, internal,
# attachable, labels, IPAM), keyed by name with the stack name replaced. Subnets the
# swarm picked itself differ from run to run: only the fixed ones the test files ask
# for (10.231.x.y) are kept.
netspecs() {
	local filter
	filter=$(jq -rn --arg l "com.docker.stack.namespace=$1" '{label: [$l]} | tojson | @uri') &&
		api "/networks?filters=$filter" | jq -S --arg st "$1" '
		def unst: if type == "string" then sub("^" + $st + "(?<s>[_-]|$)"; "STACK\(.s)") else . end;
		map({key: (.Name | unst), value: {Driver, Internal, Attachable,
			Options: (.Options // {} | del(.["com.docker.network.driver.overlay.vxlanid_list"])),
			Labels: (.Labels | .["com.docker.stack.namespace"] |= unst),
			IPAM: {Driver: .IPAM.Driver, Options: .IPAM.Options,
				Config: [(.IPAM.Config // [])[] | select(.Subnet | test("^10[.]231[.]"))]}}})
		| from_entries'
}

# The allow-list: differences that are choices, each documented in the README.
allow() {
	jq -S '
		# versioned secret and config names: caas-deployer names each content
		# version STACK_NAME-<12 hex of sha256>, docker STACK_NAME
		def unversion: sub("-[0-9a-f]{12}$"; "");
		map_values(
		  .TaskTemplate.ContainerSpec.Secrets |= (if . then map(.SecretName |= unversion) else . end)
		  | .TaskTemplate.ContainerSpec.Configs |= (if . then map(.ConfigName |= unversion) else . end))'
}

# paths A B: every leaf path where the JSON files A and B differ, one per line.
paths() {
	jq -rn --slurpfile a "$1" --slurpfile b "$2" '
		def leaves: [paths(scalars, (arrays | select(length == 0)), (objects | select(length == 0)))];
		($a[0] | leaves) + ($b[0] | leaves) | unique[] as $p
		| select(($a[0] | getpath($p)) != ($b[0] | getpath($p)))
		| "\($p | map(tostring) | join(".")): docker \($a[0] | getpath($p) | tojson) caas \($b[0] | getpath($p) | tojson)"'
}

# takeover_changes NAME: the services the takeover plan of NAME would update for another
# reason than the versioned names of their secrets and configs (allowed: docker's
# STACK_NAME objects are replaced by STACK_NAME-<hash> ones, see the README). The
# plan's normalized specs come from its debug output (-vv: "service X: desired/current").
takeover_changes() {
	local s
	for s in $(jq -r '.objects[] | select(.kind == "service" and .action != "unchanged") | .name' \
		"$1.takeover.json"); do
		for w in desired current; do
			sed -n "s/^caas-deployer: debug: service $s: $w //p" "$1.takeover.out" |
				jq -S 'def unversion: sub("-[0-9a-f]{12}$"; "");
					.TaskTemplate.ContainerSpec.Secrets |= (if . then map(.SecretName |= unversion) else . end)
					| .TaskTemplate.ContainerSpec.Configs |= (if . then map(.ConfigName |= unversion) else . end)' \
				>"$1.$s.$w" || return 1
		done
		test -s "$1.$s.desired" && cmp -s "$1.$s.desired" "$1.$s.current" ||
			echo "takeover: $s would be updated: $(diff "$1.$s.current" "$1.$s.desired" | tr '\n' ' ')"
	done
}

# remove_stack APP: docker stack rm, then wait until its services and networks are gone.
remove_stack() {
	docker stack rm "$1" >/dev/null 2>&1
	for _ in $(seq 90); do
		if [ -z "$(docker service ls -q --filter "label=com.docker.stack.namespace=$1")" ] &&
			[ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$1")" ] &&
			[ -z "$(docker secret ls -q --filter "label=com.docker.stack.namespace=$1")" ] &&
			[ -z "$(docker config ls -q --filter "label=com.docker.stack.namespace=$1")" ]; then
			return 0
		fi
		sleep 1
	done
	echo "remove_stack: $1 still has objects" >&2
	return 1
}

# compare NAME FILE...: deploy FILEs with docker stack deploy, check that
# caas-deployer plans no change on that stack (takeover), remove it, deploy them with
# caas-deployer, and list every difference between the two sets of specs that the
# allow-list does not explain; fails on any.
# retry_ports OUT CMD...: run CMD (output to OUT); when it fails because a published
# port is held for a moment by another test on this machine, try again (4 tries).
retry_ports() {
	local out=$1 try
	shift
	for try in 1 2 3 4; do
		"$@" >"$out" 2>&1 && return 0
		if ! grep -q "is already in use" "$out" || [ "$try" = 4 ]; then
			return 1
		fi
		sleep 5
	done
}

# shellcheck disable=SC2086
compare() {
	local name=$1 cargs="" dargs="" f
	shift
	for f in "$@"; do
		cargs="$cargs -f $f" && dargs="$dargs -c $f"
	done
	if ! retry_ports "$name.docker.out" docker stack deploy --resolve-image never $dargs "$dstack"; then
		cat "$name.docker.out"
		return 1
	fi
	specs "$dstack" | allow >"$name.docker.json" || return 1
	netspecs "$dstack" >"$name.docker.net.json" || return 1
	if ! caas-deployer --coe swarm --bay $bay --app "$dstack" $cargs --resolve-image never \
		--dry-run --json "$name.takeover.json" -vv >"$name.takeover.out" 2>&1; then
		cat "$name.takeover.out"
		return 1
	fi
	remove_stack "$dstack" &&
		{ retry_ports "$name.caas.out" caas-deployer --coe swarm --bay $bay --app "$cstack" \
			$cargs --resolve-image never --keep-on-failure --timeout 1 || :; } &&
		specs "$cstack" | allow >"$name.caas.json" &&
		netspecs "$cstack" >"$name.caas.net.json" &&
		remove_stack "$cstack" &&
		paths "$name.docker.json" "$name.caas.json" >"$name.diff" &&
		paths "$name.docker.net.json" "$name.caas.net.json" >>"$name.diff" &&
		takeover_changes "$name" >>"$name.diff" &&
		test "$(jq 'length' "$name.docker.json")" -gt 0 &&
		if [ -s "$name.diff" ]; then
			echo "differences for $name:" && cat "$name.diff" && return 1
		fi
}

test_expect_success 'the corpus and a file with every mapped key are there' '
	cp -r "$TEST_DATA/corpus/compose" corpus &&
	cp "$TEST_DATA/deployer/every-key.yml" "$TEST_DATA/deployer/every-key.txt" corpus/ &&
	ls corpus/*.yml >files &&
	test "$(wc -l <files)" -ge 15
'

# Every corpus file docker stack deploy can deploy here, with what it needs:
#   rejected-*: build: without image: (docker refuses them too);
#   docker-cli-full-example.yml: an ipam driver and an external network this machine lacks;
#   atsea-stack.yml: external secrets;
#   swarmprom*.yml: config files beside them (made empty here) and, for traefik, variables.
deployable() {
	for f in corpus/*.yml; do
		# shellcheck disable=SC2254 # a pattern on purpose (T3030_ONLY='swarm*')
		case ${f##*/} in
		${T3030_ONLY:-*}) ;;
		*) continue ;;
		esac
		case ${f##*/} in
		rejected-* | docker-cli-full-example.yml | atsea-stack.yml) continue ;;
		esac
		echo "$f"
	done
}

test_expect_success 'every deployable corpus file: same specs as docker stack deploy, and no change on takeover' '
	for d in caddy dockerd-exporter grafana prometheus alertmanager traefik; do
		mkdir -p corpus/$d || return 1
	done &&
	for c in $(cat corpus/swarmprom*.yml | sed -n "s|^ *file: \./\(.*\)$|\1|p" | sort -u); do
		mkdir -p "corpus/$(dirname "$c")" && echo "# $c" >"corpus/$c" || return 1
	done &&
	# swarmprom-traefik.yml joins an external network traefik-public: ours, by name:
	net=$CS_TEST_PREFIX-traefik &&
	docker network create -d overlay --attachable "$net" >/dev/null &&
	test_when_finished "docker network rm $net >/dev/null" &&
	printf "version: \"3.3\"\nnetworks:\n  traefik-public:\n    external:\n      name: %s\n" "$net" \
		>corpus/traefik-net.override &&
	export DOMAIN=example.org ADMIN_USER=admin ADMIN_PASSWORD=x HASHED_PASSWORD=x &&
	failed= &&
	for f in $(deployable); do
		n=$(basename "$f" .yml) &&
		extra= &&
		if [ "$n" = swarmprom-traefik ]; then extra=traefik-net.override; fi &&
		# shellcheck disable=SC2086
		(cd corpus && compare "$n" "${f#corpus/}" $extra) || failed="$failed $n"
	done &&
	test -z "$failed" || { echo "differences in:$failed"; return 1; }
'

reg=$CAAS_REGISTRY
repo=$CS_TEST_PREFIX/tweet
vstack=$CS_TEST_PREFIX-v

test_expect_success 'an image in the private registry (login, push)' '
	docker login "$reg" -u "$CAAS_REGISTRY_USER" --password-stdin \
		<"$CAAS_REGISTRY_PASSWORD_FILE" >/dev/null 2>&1 &&
	docker tag busybox:latest "$reg/$repo:1" &&
	docker push "$reg/$repo:1" >/dev/null
'

deploy_v() {
	caas-deployer --coe swarm --bay "$bay" --app "$vstack" -f "$TEST_DATA/deployer/tweet-like-v2.yml" \
		--set PRIVATE_REGISTRY=127.0.0.1 --set IMAGE="$repo" --set TAG=1 \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--timeout 120 --json "$1" "${@:2}"
}

# in_task SERVICE CMD...: run CMD in the running container of SERVICE of the v2 stack.
in_task() {
	local s=$1 c
	shift
	c=$(docker ps -q --filter "label=com.docker.swarm.service.name=${vstack}_$s" | head -1) &&
		test -n "$c" && docker exec "$c" "$@"
}

test_expect_success 'version 2: the web service finds the store by its container_name, the admin by its link alias; a re-pushed tag rolls, an unchanged one does not' '
	test_when_finished "remove_stack $vstack" &&
	deploy_v v1.json 2>err &&
	grep "container_name .tweetstore. becomes a network alias" err &&
	grep "links .store:tweetdb. becomes the network alias .tweetdb. of service .store." err &&
	# the names resolve to the store service virtual IP on feed-net (this test machine
	# has no IPVS, so a connection to a VIP gets no route, with docker stack deploy too)
	vip=$(docker service inspect -f "{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}" \
		"${vstack}_store" | cut -d/ -f1) &&
	test -n "$vip" &&
	in_task web nslookup tweetstore >ns1 && grep "Address.*$vip" ns1 &&
	in_task store_admin nslookup tweetdb >ns2 && grep "Address.*$vip" ns2 &&
	img=$(docker service inspect -f "{{.Spec.TaskTemplate.ContainerSpec.Image}}" "${vstack}_web") &&
	d1=$(docker buildx imagetools inspect --format "{{.Manifest.Digest}}" "$reg/$repo:1" 2>/dev/null ||
		docker inspect -f "{{index .RepoDigests 0}}" "$reg/$repo:1" | sed "s/.*@//") &&
	test "$img" = "$reg/$repo:1@$d1" &&

	# the same tag, unchanged: nothing changes
	deploy_v v2.json &&
	test "$(jq -r .changed v2.json)" = false &&

	# the same tag pushed again with other content: every service rolls to the new digest
	printf "FROM busybox:latest\nLABEL cs.t3030=2\n" | docker build -q -t "$reg/$repo:1" - >/dev/null &&
	docker push "$reg/$repo:1" >/dev/null &&
	deploy_v v3.json &&
	test "$(jq -r .changed v3.json)" = true &&
	jq -r ".objects[] | select(.kind == \"service\") | .action" v3.json | sort -u >actions &&
	echo updated >expect && test_cmp expect actions &&
	img2=$(docker service inspect -f "{{.Spec.TaskTemplate.ContainerSpec.Image}}" "${vstack}_web") &&
	test "$img2" != "$img" &&
	case $img2 in "$reg/$repo:1@sha256:"*) ;; *) false ;; esac
'

test_expect_success 'an image the registry does not have: exit 2 before anything changes' '
	test_expect_code 2 caas-deployer --coe swarm --bay "$bay" --app "$vstack" \
		-f "$TEST_DATA/deployer/tweet-like-v2.yml" \
		--set PRIVATE_REGISTRY=127.0.0.1 --set IMAGE="$repo" --set TAG=nope \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		2>err &&
	grep "image .127.0.0.1:5000/$repo:nope. not found in its registry" err &&
	test -z "$(docker service ls -q --filter "label=com.docker.stack.namespace=$vstack")" &&
	test -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$vstack")"
'

test_expect_success '--resolve-image always with a local-only image: a warning, the tag is kept (as docker)' '
	printf "services:\n  s:\n    image: busybox:latest\n    command: sleep 60\n" >local.yml &&
	caas-deployer --coe swarm --bay "$bay" --app "$vstack" -f local.yml --dry-run -vv 2>err &&
	grep "image busybox:latest could not be accessed on a registry to record its digest" err &&
	grep "\"Image\":\"busybox:latest\"" err
'

test_done
