#!/usr/bin/env bash
# Benchmark of caas-deployer --coe swarm (issue 4): the same stack of busybox httpd
# services (no published ports), 3 and 30 services, deployed until converged by
#   caas-deployer --coe swarm --bay unix:///var/run/docker.sock --app APP -f FILE
#   docker stack deploy --detach=false --resolve-image never -c FILE APP
# alternated ROUNDS times (default 3). Each run deploys a fresh stack; between runs the
# stack is removed with `docker stack rm` and the script waits until its services,
# containers and networks are gone (not timed). Prints each wall time, the medians,
# the ratios deployer/docker for 3 and 30 services and the growth per service
# ((t30 - t3) / 27). Target: <= 0.25x docker stack deploy for 3 services, growing no
# faster than linearly. Both wait for the same thing: every task running, then stable for
# 5 s (docker's progress monitor; caas-deployer's default --stable-for), but docker waits
# for one service after the other and caas-deployer for all of them at once.
#
#   bench/deployer.sh [-n ROUNDS] [-s SIZES]     e.g. -s "3 30"
#
# --resolve-image never: the image is local and this machine has no Docker Hub; with the
# default (always) the CLI first asks the registry for busybox's digest and waits for
# that to fail, which is not what we compare. caas-deployer does not query registries.
# Needs: a swarm manager on the local socket, busybox:latest, docker CLI >= 26 (it waits).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deployer=$top/deployer/caas-deployer
bay=unix:///var/run/docker.sock
rounds=3 sizes="3 30"
while [ $# -gt 0 ]; do
	case $1 in
	-n) rounds=$2; shift ;;
	-s) sizes=$2; shift ;;
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [-n ROUNDS] [-s SIZES]" >&2; exit 2 ;;
	esac
	shift
done
[ -x "$deployer" ] || { echo "bench: build first (make)" >&2; exit 2; }
[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] ||
	{ echo "bench: the local engine is not a swarm manager" >&2; exit 2; }
docker image inspect busybox:latest >/dev/null ||
	{ echo "bench: busybox:latest is missing (tests/env/setup.sh)" >&2; exit 2; }

prefix=cs-test-bench-$$
tmp=$(mktemp -d)
current=''

# gone APP: no service, container or network of APP is left.
gone() {
	[ -z "$(docker service ls -q --filter "label=com.docker.stack.namespace=$1")" ] &&
		[ -z "$(docker ps -aq --filter "name=$1_")" ] &&
		[ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$1")" ]
}

remove_stack() {
	docker stack rm "$1" >/dev/null 2>&1 || true
	for _ in $(seq 180); do
		gone "$1" && return 0
		sleep 0.5
	done
	echo "bench: stack $1 is still there after 90 s" >&2
	return 1
}

cleanup() {
	[ -z "$current" ] || remove_stack "$current" || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# stack_file N: a compose file of N busybox httpd services
stack_file() {
	local i
	echo 'version: "3.8"'
	echo 'services:'
	for i in $(seq "$1"); do
		printf '  s%02d:\n    image: busybox:latest\n' "$i"
		printf '    command: ["httpd", "-f", "-p", "8080"]\n'
	done
}

# timed NAME CMD...: runs CMD, appends its wall time (s) to $tmp/NAME, prints it.
timed() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$(date +%s.%N)
	"$@" >"$tmp/out" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	if [ "$rc" -ne 0 ]; then
		echo "bench: $name failed (exit $rc):" >&2
		cat "$tmp/out" >&2
		exit 1
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f\n", b - a}' | tee -a "$tmp/$name"
}

median() {
	sort -g "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# run TOOL N ROUND: deploy the N-service stack with TOOL until converged, timed; removes it.
run() {
	local tool=$1 n=$2 r=$3 app t
	app=$prefix-$tool-$n-$r
	current=$app
	case $tool in
	deployer) t=$(timed "deployer-$n" "$deployer" --coe swarm --bay "$bay" --app "$app" -f "$tmp/stack-$n.yml") ;;
	docker) t=$(timed "docker-$n" docker stack deploy --detach=false --resolve-image never -c "$tmp/stack-$n.yml" "$app") ;;
	esac
	[ "$(docker service ls -q --filter "label=com.docker.stack.namespace=$app" | wc -l)" -eq "$n" ] ||
		{ echo "bench: $app does not have $n services" >&2; exit 1; }
	remove_stack "$app"
	current=''
	echo "$t"
}

echo "# engine $(docker version --format '{{.Server.Version}}'), docker CLI $(docker version --format '{{.Client.Version}}'), $(nproc) CPUs"
echo "# stacks of $sizes busybox httpd services; $rounds rounds, alternated; wall seconds to converged (stable 5 s)"
for n in $sizes; do
	stack_file "$n" >"$tmp/stack-$n.yml"
done
for r in $(seq "$rounds"); do
	for n in $sizes; do
		# alternate which tool goes first, so neither always meets a just-cleaned engine
		if [ $((r % 2)) -eq 1 ]; then
			d=$(run deployer "$n" "$r")
			s=$(run docker "$n" "$r")
		else
			s=$(run docker "$n" "$r")
			d=$(run deployer "$n" "$r")
		fi
		printf 'round %d, %2d services: caas-deployer %6.2f s | docker stack deploy %6.2f s\n' "$r" "$n" "$d" "$s"
	done
done

echo "# medians"
for n in $sizes; do
	d=$(median "$tmp/deployer-$n") s=$(median "$tmp/docker-$n")
	awk -v n="$n" -v d="$d" -v s="$s" 'BEGIN {
		printf "%2d services: caas-deployer %.2f s, docker stack deploy %.2f s, ratio %.2fx\n", n, d, s, d / s
	}'
done
read -ra sz <<<"$sizes"
if [ "${#sz[@]}" -ge 2 ]; then
	lo=${sz[0]} hi=${sz[-1]}
	awk -v lo="$lo" -v hi="$hi" -v dl="$(median "$tmp/deployer-$lo")" -v dh="$(median "$tmp/deployer-$hi")" \
		-v sl="$(median "$tmp/docker-$lo")" -v sh="$(median "$tmp/docker-$hi")" 'BEGIN {
		printf "growth per service (%d -> %d): caas-deployer %.3f s, docker stack deploy %.3f s\n",
			lo, hi, (dh - dl) / (hi - lo), (sh - sl) / (hi - lo)
		printf "scaling x%d services: caas-deployer x%.2f time, docker stack deploy x%.2f time\n",
			hi / lo, dh / dl, sh / sl
	}'
fi
