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
		  | .TaskTemplate.ContainerSpec.Secrets |= each(del(.SecretID) | .SecretName |= unst)
		  | .TaskTemplate.ContainerSpec.Configs |= each(del(.ConfigID) | .ConfigName |= unst)
		  | .TaskTemplate.ContainerSpec.Mounts |= each(.Source |= unst
			| .VolumeOptions.Labels["com.docker.stack.namespace"]? |= unst)
		  | del(.TaskTemplate.ForceUpdate) | prune
		  | {key: .Name, value: .}) | from_entries'
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
compare() {
	local name=$1 cargs="" dargs="" f
	shift
	for f in "$@"; do
		cargs="$cargs -f $f" && dargs="$dargs -c $f"
	done
	# shellcheck disable=SC2086
	docker stack deploy --resolve-image never $dargs "$dstack" >"$name.docker.out" 2>&1 ||
		{ cat "$name.docker.out"; return 1; }
	specs "$dstack" | allow >"$name.docker.json" &&
		# shellcheck disable=SC2086
		caas-deployer --coe swarm --bay $bay --app "$dstack" $cargs --resolve-image never \
			--dry-run --json "$name.takeover.json" -vv >"$name.takeover.out" 2>&1 ||
		{ cat "$name.takeover.out"; return 1; }
	remove_stack "$dstack" &&
		# shellcheck disable=SC2086
		{ caas-deployer --coe swarm --bay $bay --app "$cstack" $cargs --resolve-image never \
			--keep-on-failure --timeout 1 >"$name.caas.out" 2>&1 || :; } &&
		specs "$cstack" | allow >"$name.caas.json" &&
		remove_stack "$cstack" &&
		paths "$name.docker.json" "$name.caas.json" >"$name.diff" &&
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

test_done
