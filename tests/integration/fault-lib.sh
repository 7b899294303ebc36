# shellcheck shell=bash
# Helpers for the fault tests: the fault-injecting proxy (fault-proxy.py) in front of the
# real TLS registry, on a port of its own that the engine trusts through
# /etc/docker/certs.d/127.0.0.1:PORT/ca.crt (the registry's certificate has SAN IP:127.0.0.1,
# so it is valid on any port). Source after test-lib.sh. Everything started here is
# stopped, and every certs.d entry made here removed, when the test file exits.

fault_pids=()
fault_certs_dirs=()

fault_cleanup_() {
	local p d
	for p in "${fault_pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	for d in "${fault_certs_dirs[@]}"; do
		rm -rf "$d"
	done
	return 0
}
fault_at_exit_() {
	local ret=$?
	fault_cleanup_
	(exit "$ret")
	test_at_exit_
}
trap fault_at_exit_ EXIT

# fault_proxy_started_ NAME STATE: waits for the proxy's state file, then sets NAME_port,
# NAME_ctl and NAME_pid from it
fault_proxy_started_() {
	local name=$1 state=$2 i
	for i in $(seq 50); do
		[ -s "$state" ] && break
		sleep 0.1
	done
	[ -s "$state" ] || { echo "fault proxy $name did not start: $(cat "$TEST_SCRATCH/$name.log")" >&2; return 1; }
	printf -v "${name}_port" '%s' "$(jq -r .port "$state")"
	printf -v "${name}_ctl" '%s' "$(jq -r .control "$state")"
	printf -v "${name}_pid" '%s' "$(jq -r .pid "$state")"
}

# fault_arm CTLPORT QUERY: set a fault, remembering how many were injected so far;
# fault_injected CTLPORT: then wait (up to 60 s) until the proxy injected it (it holds the
# answer of the request, or stopped listening)
fault_arm() {
	fault_armed_at_=$(fault_stat "$1" faults) &&
		fault "$1" "$2"
}
fault_injected() {
	local i
	for i in $(seq 600); do
		[ "$(fault_stat "$1" faults)" -gt "$fault_armed_at_" ] && return 0
		sleep 0.1
	done
	echo "the proxy never injected its fault" >&2
	return 1
}

# start_fault_proxy NAME [CERT KEY [ENGINE_CA]]: start a proxy (the registry's certificate
# unless CERT and KEY are given); the engine trusts ENGINE_CA (default the test CA) for
# it. Sets NAME_port, NAME_ctl (the control port) and NAME_pid.
start_fault_proxy() {
	local name=$1 cert=${2:-$CAAS_TEST_STATE/certs/server.crt} key=${3:-$CAAS_TEST_STATE/certs/server.key}
	local ca=${4:-$CAAS_REGISTRY_CA} state=$TEST_SCRATCH/$1.state
	rm -f "$state"
	python3 "$TOP/tests/integration/fault-proxy.py" --cert "$cert" --key "$key" \
		--upstream "$CAAS_REGISTRY" --upstream-ca "$CAAS_REGISTRY_CA" \
		--state-file "$state" >"$TEST_SCRATCH/$name.log" 2>&1 &
	fault_pids+=("$!")
	fault_proxy_started_ "$name" "$state" || return 1
	local port_var=${name}_port
	fault_certs_dirs+=("/etc/docker/certs.d/127.0.0.1:${!port_var}")
	mkdir -p "/etc/docker/certs.d/127.0.0.1:${!port_var}" &&
		cp "$ca" "/etc/docker/certs.d/127.0.0.1:${!port_var}/ca.crt"
}

# fault CTLPORT QUERY: set the proxy's fault, e.g. fault "$p_ctl" "mode=status&code=500&count=2"
fault() {
	curl -gsSf "http://127.0.0.1:$1/fault?$2" >/dev/null
}

# fault_stat CTLPORT KEY: a counter of the proxy (requests, faults, cuts, connections)
fault_stat() {
	curl -sSf "http://127.0.0.1:$1/stats" | jq -r ".$2"
}

# fault_wait_log CTLPORT REGEX [SECONDS]: wait until a relayed request matches REGEX
fault_wait_log() {
	local i
	for i in $(seq $((${3:-30} * 10))); do
		curl -sSf "http://127.0.0.1:$1/stats" | jq -r '.log[]' | grep -Eq "$2" && return 0
		sleep 0.1
	done
	echo "no request matching '$2' reached the proxy" >&2
	return 1
}

# start_relay NAME SOCKET: a plain TCP relay on 127.0.0.1 to the unix socket SOCKET (the
# engine's API as a tcp:// bay) that can drop its connections or refuse new ones. Sets
# NAME_port, NAME_ctl and NAME_pid.
start_relay() {
	local name=$1 state=$TEST_SCRATCH/$1.state
	rm -f "$state"
	python3 "$TOP/tests/integration/fault-proxy.py" --upstream-unix "$2" \
		--state-file "$state" >"$TEST_SCRATCH/$name.log" 2>&1 &
	fault_pids+=("$!")
	fault_proxy_started_ "$name" "$state"
}

# start_http_relay NAME UPSTREAM: a plain-HTTP relay on 127.0.0.1 that reads each request
# (fault-proxy.py --http), to a unix socket (UPSTREAM a path: the engine's API as a tcp://
# bay) or to HOST:PORT (a Kubernetes API server's plain-HTTP port). Besides refuse and
# drop, it can hold the answer of one request (mode=hold&match=...&delay=T) or stop
# listening when one arrives, after relaying it or not (mode=refuse&match=...[&forward=1]).
# Sets NAME_port, NAME_ctl and NAME_pid.
start_http_relay() {
	local name=$1 state=$TEST_SCRATCH/$1.state up
	case $2 in
	/*) up=(--upstream-unix "$2") ;;
	*) up=(--upstream "$2") ;;
	esac
	rm -f "$state"
	python3 "$TOP/tests/integration/fault-proxy.py" --http "${up[@]}" \
		--state-file "$state" >"$TEST_SCRATCH/$name.log" 2>&1 &
	fault_pids+=("$!")
	fault_proxy_started_ "$name" "$state"
}
