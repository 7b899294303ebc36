# shellcheck shell=bash
# A second Docker engine for the fault tests that must stop or restart an engine (the shared one
# on /var/run/docker.sock is never touched). Source after test-lib.sh (and after fault-lib.sh
# when both are used).
#
# The engine runs in a network namespace of its own: a second dockerd in the host's namespace
# would take over (and on exit delete) the first one's docker0. Only the network namespace is
# new (nsenter --net, not `ip netns exec`, which also remounts /sys and hides the cgroup
# mounts dockerd needs). A veth pair links it to the host:
#
#   host  E2_HOST_IF  10.213.N.1/30  <-->  10.213.N.2/30  E2_NS_IF  in netns E2_NS
#
# Its data root, exec root, pidfile, log and socket are in E2_DIR ($CAAS_TEST_STATE/engine2.PID:
# short enough for unix socket paths on any checkout). It has its own docker0 inside its
# namespace, and carries the engine label caas-e2=PID.
#
#   engine2_require          at the top of a file: skips the file (# SKIP, reason) when the
#                            kernel refuses a network namespace or a veth pair
#   engine2_start            start (or start again) the engine; loads busybox:latest from the
#                            shared engine (docker save | docker load: it cannot pull)
#   engine2_stop [SIGNAL]    TERM (default: the engine stops its containers, up to 30 s) or
#                            KILL (at once: containers, shims and mounts stay until a start)
#   engine2_running          whether its dockerd process lives
#   engine2_docker ARGS...   the docker CLI against it
#   engine2_join_swarm       join the shared swarm as a worker (availability pause: no task
#                            lands on it until engine2_availability active); sets E2_NODE_ID
#   engine2_availability A   active, pause or drain, from the manager
#   engine2_registry_route   the test registry reachable from the engine as $CAAS_REGISTRY
#
# Everything is removed when the test file exits (and, at the next use of this file, what a
# killed earlier run left): the worker node from the manager (docker node rm --force), the
# engine and its containers' processes, its mounts, the namespace and veth pair, E2_DIR.

E2_TAG=${CS_TEST_PREFIX#cs-test-}
E2_NS=cs-e2-$E2_TAG
E2_HOST_IF=cse2h$E2_TAG
E2_NS_IF=cse2n$E2_TAG
E2_DIR=$CAAS_TEST_STATE/engine2.$E2_TAG
E2_SOCK=$E2_DIR/docker.sock
E2_HOST=unix://$E2_SOCK
E2_LOG=$E2_DIR/dockerd.log
E2_HOST_ADDR='' # 10.213.N.1: the host's side, where the manager's 2377 is reached
E2_ADDR=''      # 10.213.N.2: the engine's side, its swarm advertise address
E2_NODE_ID=''
e2_images_loaded=''

engine2_docker() {
	docker -H "$E2_HOST" "$@"
}

# e2_alive_ PID: the process lives (a zombie does not: the engine is a child of this shell).
e2_alive_() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# The pid in the engine's pidfile, if that process lives.
e2_pid_() {
	local pid
	pid=$(cat "${1:-$E2_DIR}/dockerd.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && e2_alive_ "$pid" && printf '%s\n' "$pid"
}

engine2_running() {
	e2_pid_ >/dev/null
}

# e2_kill_dir_procs_ DIR: SIGKILL what still runs from DIR: the processes of the engine's
# containers (found by the container IDs under DIR, in their cgroups), then any process whose
# command line names DIR (dockerd, its containerd, shims, the swarm forwarder).
e2_kill_dir_procs_() {
	local dir=$1 id f pid cmd
	for id in "$dir"/data/containers/*; do
		[ -d "$id" ] || continue
		id=${id##*/}
		for f in /sys/fs/cgroup/*/docker/"$id"/cgroup.procs /sys/fs/cgroup/docker/"$id"/cgroup.procs \
			/sys/fs/cgroup/system.slice/docker-"$id".scope/cgroup.procs; do
			[ -r "$f" ] || continue
			while read -r pid; do
				kill -KILL "$pid" 2>/dev/null
			done <"$f"
		done
	done
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ "$pid" != $$ ] || continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$f")
		if [[ $cmd == *"$dir/"* ]]; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	return 0
}

# e2_umount_dir_ DIR: unmount everything mounted under DIR (deepest first).
e2_umount_dir_() {
	local dir=$1 m
	awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do
			umount -l "$m" 2>/dev/null
		done
	return 0
}

# e2_remove_ TAG: remove the instance TAG (this file's, or one a killed run left).
e2_remove_() {
	local tag=$1 dir=$CAAS_TEST_STATE/engine2.$1 pid i node
	node=$(cat "$dir/node-id" 2>/dev/null)
	if pid=$(e2_pid_ "$dir"); then
		# a worker that leaves first is gone from the manager at once
		[ -z "$node" ] || timeout 20 docker -H "unix://$dir/docker.sock" swarm leave --force >/dev/null 2>&1
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 150); do
			e2_alive_ "$pid" || break
			sleep 0.2
		done
	fi
	e2_kill_dir_procs_ "$dir"
	if [ -n "$node" ]; then
		timeout 30 docker node rm --force "$node" >/dev/null 2>&1
	fi
	e2_umount_dir_ "$dir"
	ip netns del "cs-e2-$tag" 2>/dev/null
	ip link del "cse2h$tag" 2>/dev/null
	rm -rf "$dir"
	return 0
}

# What killed runs left: instances whose test process is gone.
e2_sweep_() {
	local d tag
	for d in "$CAAS_TEST_STATE"/engine2.*; do
		[ -d "$d" ] || continue
		tag=${d##*/engine2.}
		[ "$tag" != "$E2_TAG" ] || continue
		kill -0 "$tag" 2>/dev/null && continue
		e2_remove_ "$tag"
	done
	return 0
}

e2_at_exit_chain_=$(trap -p EXIT | sed -e "s/^trap -- '\(.*\)' EXIT\$/\1/")
e2_at_exit_() {
	local ret=$?
	e2_remove_ "$E2_TAG"
	(exit "$ret")
	eval "$e2_at_exit_chain_"
}
trap e2_at_exit_ EXIT

# A free 10.213.N.0/30 on the host (N from this file's PID on).
e2_pick_subnet_() {
	local n i
	for i in $(seq 0 255); do
		n=$(((E2_TAG + i) % 256))
		if ! ip -4 -o addr show | grep -q " 10\.213\.$n\."; then
			E2_HOST_ADDR=10.213.$n.1
			E2_ADDR=10.213.$n.2
			return 0
		fi
	done
	echo "no free 10.213.N.0/30 on this host" >&2
	return 1
}

# The namespace and the veth pair; returns non-zero with the kernel's message on stderr.
e2_network_() {
	ip netns list | grep -q "^$E2_NS\b" && return 0
	e2_pick_subnet_ &&
		ip netns add "$E2_NS" &&
		ip link add "$E2_HOST_IF" type veth peer name "$E2_NS_IF" &&
		ip link set "$E2_NS_IF" netns "$E2_NS" &&
		ip addr add "$E2_HOST_ADDR/30" dev "$E2_HOST_IF" &&
		ip link set "$E2_HOST_IF" up &&
		ip -n "$E2_NS" addr add "$E2_ADDR/30" dev "$E2_NS_IF" &&
		ip -n "$E2_NS" link set "$E2_NS_IF" up &&
		ip -n "$E2_NS" link set lo up
}

# Skip the file (reason given) when this machine cannot make a namespace and a veth pair.
engine2_require() {
	local why
	e2_sweep_
	if [ "$(id -u)" -ne 0 ]; then
		why="not root (a network namespace and a second dockerd need root)"
	elif ! command -v dockerd >/dev/null || ! command -v nsenter >/dev/null; then
		why="no dockerd or nsenter in PATH"
	elif ! e2_network_ 2>"$TEST_SCRATCH/engine2-network.err"; then
		why="the kernel refuses a network namespace or a veth pair: $(tr '\n' ' ' <"$TEST_SCRATCH/engine2-network.err")"
	else
		return 0
	fi
	e2_remove_ "$E2_TAG"
	echo "# SKIP $TEST_NAME: $why" >&5
	test_done
}

engine2_start() {
	local i
	if engine2_running; then
		return 0
	fi
	e2_network_ || return 1
	mkdir -p "$E2_DIR" &&
		echo '{}' >"$E2_DIR/daemon.json" || return 1
	# only the network namespace is new; setsid: the test's signals are not the engine's
	setsid nsenter --net="/run/netns/$E2_NS" -- dockerd --config-file "$E2_DIR/daemon.json" \
		--data-root "$E2_DIR/data" --exec-root "$E2_DIR/exec" --pidfile "$E2_DIR/dockerd.pid" \
		-H "$E2_HOST" --label "caas-e2=$E2_TAG" >>"$E2_LOG" 2>&1 </dev/null &
	disown $! # no "Killed" job report from this shell when a test kills it
	for i in $(seq 300); do
		timeout 5 docker -H "$E2_HOST" version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
		sleep 0.2
	done
	if ! timeout 5 docker -H "$E2_HOST" version >/dev/null 2>&1; then
		echo "the second engine did not answer at $E2_HOST within 60 s; its log:" >&2
		tail -n 20 "$E2_LOG" >&2
		return 1
	fi
	if [ -z "$e2_images_loaded" ]; then
		docker save busybox:latest | engine2_docker load >/dev/null || return 1
		e2_images_loaded=1
	fi
}

engine2_stop() {
	local sig=${1:-TERM} pid i cpid cpidfile=$E2_DIR/exec/containerd/containerd.pid
	pid=$(e2_pid_) || return 0
	cpid=$(cat "$cpidfile" 2>/dev/null)
	kill -"$sig" "$pid" || return 1
	for i in $(seq 150); do
		e2_alive_ "$pid" || break
		sleep 0.2
	done
	if e2_alive_ "$pid"; then
		echo "the second engine (pid $pid) did not stop within 30 s of SIG$sig" >&2
		return 1
	fi
	# Its containerd dies with it; a dockerd started while the old one is still a zombie
	# (kill -0 succeeds) would wait for it to answer and give up ("timeout waiting for
	# containerd to start"): wait for it, and forget a zombie's pidfile.
	[ -n "$cpid" ] || return 0
	for i in $(seq 150); do
		e2_alive_ "$cpid" || break
		sleep 0.2
	done
	if e2_alive_ "$cpid"; then
		echo "the second engine's containerd (pid $cpid) did not stop within 30 s" >&2
		return 1
	fi
	[ ! -e "/proc/$cpid" ] || rm -f "$cpidfile"
}

# engine2_join_swarm: a worker of the shared swarm, paused. The manager advertises
# 127.0.0.1:2377 (tests/env/setup.sh), which the worker dials once it has joined: inside the
# namespace a forwarder (socat) takes 127.0.0.1:2377 and 7946 to the manager on the host side
# (its log option puts E2_DIR in its command line, for the cleanup).
engine2_join_swarm() {
	local token p
	if [ -n "$E2_NODE_ID" ] && [ "$(engine2_docker info --format '{{.Swarm.LocalNodeState}}')" = active ]; then
		return 0
	fi
	for p in 2377 7946; do
		setsid nsenter --net="/run/netns/$E2_NS" -- socat -lf "$E2_DIR/forward.log" \
			"TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr" "TCP:$E2_HOST_ADDR:$p" \
			>/dev/null 2>&1 </dev/null &
		disown $!
	done
	token=$(docker swarm join-token worker -q) || return 1
	timeout 60 docker -H "$E2_HOST" swarm join --token "$token" --advertise-addr "$E2_ADDR" \
		--availability pause "$E2_HOST_ADDR:2377" >/dev/null || return 1
	E2_NODE_ID=$(engine2_docker info --format '{{.Swarm.NodeID}}') &&
		[ -n "$E2_NODE_ID" ] &&
		echo "$E2_NODE_ID" >"$E2_DIR/node-id"
}

# engine2_registry_route: the engine reaches the test registry at its own 127.0.0.1:5000 (the
# registry listens on the host's loopback only): a forwarder in the namespace to the host side,
# and one on the host side to 127.0.0.1:5000. The registry's CA in /etc/docker/certs.d serves
# both engines (one file system).
engine2_registry_route() {
	local port=${CAAS_REGISTRY##*:}
	[ ! -s "$E2_DIR/registry-route" ] || return 0
	setsid socat -lf "$E2_DIR/forward-registry-host.log" \
		"TCP-LISTEN:$port,bind=$E2_HOST_ADDR,fork,reuseaddr" "TCP:$CAAS_REGISTRY" \
		>/dev/null 2>&1 </dev/null &
	disown $!
	setsid nsenter --net="/run/netns/$E2_NS" -- socat -lf "$E2_DIR/forward-registry-ns.log" \
		"TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "TCP:$E2_HOST_ADDR:$port" \
		>/dev/null 2>&1 </dev/null &
	disown $!
	for _ in $(seq 50); do
		if nsenter --net="/run/netns/$E2_NS" -- curl -s -o /dev/null --cacert "$CAAS_REGISTRY_CA" \
			"https://127.0.0.1:$port/v2/"; then
			echo "$port" >"$E2_DIR/registry-route"
			return 0
		fi
		sleep 0.1
	done
	echo "the registry does not answer inside the second engine's namespace" >&2
	return 1
}

engine2_availability() {
	docker node update --availability "$1" "$E2_NODE_ID" >/dev/null
}

# engine2_node_status: the worker's status as the manager sees it (ready, down, unknown).
engine2_node_status() {
	docker node inspect --format '{{.Status.State}}' "$E2_NODE_ID"
}
