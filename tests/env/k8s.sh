#!/bin/bash
# A real Kubernetes control plane for the tests of caas-devops, built from the Go
# module proxy and run on 127.0.0.1:
#
#   tests/env/k8s.sh build    build the pinned release once (cached), nothing started
#   tests/env/k8s.sh start    build if needed, then start it (a no-op when it runs)
#   tests/env/k8s.sh stop     stop every process it started
#   tests/env/k8s.sh restart  stop, then start (a fresh, empty etcd)
#   tests/env/k8s.sh status   one line per component; exit 0 when all run
#   tests/env/k8s.sh env      print the env file the tests source
#
# What runs (ports on 127.0.0.1 only):
#   etcd                      12379 (client, plain HTTP), 12380 (peer)
#   kube-apiserver            16443 (TLS, CA below; token and client-certificate auth,
#                             authorization Node,RBAC)
#   kube-controller-manager   10257 (its secure health port)
#   kube-scheduler            10259 (its secure health port)
#   kwok                      no port: simulates the two nodes and their pods
#   lb-controller             no port: writes status.loadBalancer.ingress (k8s/test-controllers.py)
#   pv-provisioner            no port: provisions PersistentVolumes for the default
#                             StorageClass "standard" (k8s/test-controllers.py)
#   kubectl proxy             16080 (plain HTTP, no auth: the seed's "bay" URLs were
#                             like that; it forwards as the cluster-admin test user)
# Built binaries: $CAAS_TEST_STATE/k8s/VERSION/bin; Go caches: $CAAS_TEST_STATE/go.
# Run state (certificates, kubeconfigs, logs, pid files, etcd data):
# $CAAS_TEST_STATE/k8s/run, and the env file $CAAS_TEST_STATE/k8s/env.
# A cold start wipes etcd's data: every start from stopped is an empty cluster with
# the two nodes and the RBAC bindings below. Certificates and tokens are kept.
# All subcommands take one lock ($CAAS_TEST_STATE/k8s/lock): concurrent calls wait.
# Secrets (tokens, keys) are written to mode-600 files and never printed.
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0

STATE=${CAAS_TEST_STATE:-/var/lib/caas-devops-test}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/k8s
BASE=$STATE/k8s
CACHE=$BASE/$K8S_VERSION
BIN=$CACHE/bin
RUN=$BASE/run
PKI=$RUN/pki
LOGS=$RUN/logs
PIDS=$RUN/pids
ENV_OUT=$BASE/env
GO_STATE=$STATE/go

HOST=127.0.0.1
ETCD_PORT=12379
ETCD_PEER_PORT=12380
API_PORT=16443
KCM_PORT=10257
SCHED_PORT=10259
PROXY_PORT=16080
API_URL=https://$HOST:$API_PORT
SERVICE_CIDR=10.96.0.0/16
SERVICE_API_IP=10.96.0.1
POD_CIDR=10.244.0.1/16
LB_INGRESS_IP=$HOST
STORAGE_CLASS=standard
PROVISIONER=caas-devops.test/hostpath
NODES=(caas-node-1 caas-node-2)
NODE_IPS=(127.0.10.1 127.0.10.2)
TOKEN_USER=caas-test
CERT_USER=caas-cert-user
VIEW_USER=caas-viewer
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok lb-controller
	pv-provisioner kubectl-proxy)
STOP_ORDER=(kubectl-proxy pv-provisioner lb-controller kwok kube-scheduler kube-controller-manager
	kube-apiserver etcd)

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin
export LC_ALL=C

say() { printf 'k8s env: %s\n' "$*"; }
die() {
	printf 'k8s env: error: %s\n' "$*" >&2
	exit 1
}
show_log() {
	[ -s "$1" ] || return 0
	printf -- '--- last lines of %s ---\n' "$1" >&2
	tail -n "${2:-30}" "$1" >&2
}

# ---- build -------------------------------------------------------------------------

# The Go command: the machine's when it is Go 1.26 or newer (as the modules' go lines
# ask). Otherwise Debian's golang-go (installed when there is no go at all; 1.19 on
# bookworm) downloads the Go 1.26 toolchain, which is itself a module of the Go module
# proxy (golang.org/toolchain), and that one builds.
GO_TOOLCHAIN=go1.26.8

go_minor() {
	GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p'
}

find_go() {
	local go minor dir arch
	for go in /usr/local/go/bin/go "$(command -v go 2>/dev/null || true)"; do
		[ -x "$go" ] || continue
		minor=$(go_minor "$go")
		if [ "${minor:-0}" -ge 26 ]; then
			echo "$go"
			return 0
		fi
	done
	go=$(command -v go 2>/dev/null || true)
	if [ -z "$go" ]; then
		say "no Go found: installing Debian's golang-go" >&2
		{
			apt-get update -q && apt-get install -y -q --no-install-recommends golang-go
		} >"$BASE/apt-go.log" 2>&1 </dev/null || {
			show_log "$BASE/apt-go.log"
			die "cannot install golang-go (log in $BASE/apt-go.log)"
		}
		go=$(command -v go) || die "golang-go installed no go command"
	fi
	arch=$(dpkg --print-architecture)
	say "$("$go" version) is older than Go 1.26: fetching golang.org/toolchain $GO_TOOLCHAIN" >&2
	dir=$(GOMODCACHE=$GO_STATE/mod GOFLAGS=-modcacherw GOTOOLCHAIN=local \
		"$go" mod download -json "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-$arch" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$dir" ] || [ ! -f "$dir/bin/go" ]; then
		die "cannot download the Go toolchain $GO_TOOLCHAIN"
	fi
	# Module files carry no mode bits.
	chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*
	echo "$dir/bin/go"
}

ldflags_kube() {
	local minor=${K8S_VERSION#v1.} p f=
	minor=${minor%%.*}
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		f="$f -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
		f="$f -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
	done
	echo "-s -w$f"
}

# What the cached binaries depend on: the three modules' go.mod/go.sum, the recipe.
build_stamp() {
	{
		echo "$K8S_VERSION $ETCD_VERSION $KWOK_VERSION"
		ldflags_kube
		cat "$SRC"/kube/go.mod "$SRC"/kube/go.sum "$SRC"/etcd/go.mod "$SRC"/etcd/go.sum \
			"$SRC"/kwok/go.mod "$SRC"/kwok/go.sum
		echo "recipe 1: CGO_ENABLED=0 -trimpath"
	} | sha256sum | cut -d' ' -f1
}

built() {
	local b
	for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
		[ -x "$BIN/$b" ] || return 1
	done
	[ -s "$CACHE/stages/pod-ready.yaml" ] && [ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$(build_stamp)" ]
}

do_build() {
	if built; then
		return 0
	fi
	local go log=$CACHE/build.log t0=$SECONDS tmp
	grep -qE "^(require)?[[:space:]]*k8s.io/kubernetes $K8S_VERSION( |\$)" "$SRC/kube/go.mod" ||
		die "$SRC/kube/go.mod does not require k8s.io/kubernetes $K8S_VERSION"
	go=$(find_go)
	mkdir -p "$CACHE" "$GO_STATE"
	tmp=$(mktemp -d "$CACHE/bin.XXXXXX")
	say "building Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION from the Go module proxy (once; log $log)"
	export GOMODCACHE=$GO_STATE/mod GOCACHE=$GO_STATE/cache GOPATH=$GO_STATE/path
	export GOFLAGS=-modcacherw CGO_ENABLED=0
	export GOTOOLCHAIN=local
	if ! {
		(cd "$SRC/kube" && "$go" build -trimpath -ldflags "$(ldflags_kube)" -o "$tmp/" \
			k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
			k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl) &&
			(cd "$SRC/etcd" && "$go" build -trimpath -ldflags "-s -w" -o "$tmp/etcd" \
				go.etcd.io/etcd/server/v3) &&
			(cd "$SRC/kwok" && "$go" build -trimpath -ldflags "-s -w" -o "$tmp/kwok" \
				sigs.k8s.io/kwok/cmd/kwok)
	} >"$log" 2>&1 </dev/null; then
		rm -rf "$tmp"
		show_log "$log"
		die "the build failed (log in $log)"
	fi
	# KWOK's own node and pod stages, from the pinned module (read by start).
	local kdir
	kdir=$(cd "$SRC/kwok" && "$go" list -m -f '{{.Dir}}' sigs.k8s.io/kwok) ||
		die "cannot find the sigs.k8s.io/kwok module"
	rm -rf "$CACHE/stages"
	mkdir -p "$CACHE/stages"
	cp "$kdir"/kustomize/stage/node/fast/node-initialize.yaml \
		"$kdir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
		"$kdir"/kustomize/stage/pod/fast/pod-ready.yaml \
		"$kdir"/kustomize/stage/pod/fast/pod-complete.yaml \
		"$kdir"/kustomize/stage/pod/fast/pod-delete.yaml "$CACHE/stages/"
	chmod 644 "$CACHE"/stages/*
	rm -rf "$BIN"
	mv "$tmp" "$BIN"
	chmod 755 "$BIN" "$BIN"/*
	build_stamp >"$CACHE/stamp"
	say "built in $((SECONDS - t0)) s: $(du -sh "$BIN" | cut -f1) of binaries," \
		"$(du -sh "$GO_STATE" | cut -f1) of Go caches in $GO_STATE"
}

# ---- certificates, tokens, kubeconfigs -----------------------------------------------

write_openssl_config() {
	cat >"$PKI/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = caas-devops k8s test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:$HOST,IP:$SERVICE_API_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

cert_ok() {
	[ -s "$PKI/$1.crt" ] && [ -s "$PKI/$1.key" ] &&
		openssl verify -CAfile "$PKI/ca.crt" "$PKI/$1.crt" >/dev/null 2>&1 &&
		openssl x509 -in "$PKI/$1.crt" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 &&
		[ "$(openssl x509 -in "$PKI/$1.crt" -noout -pubkey)" = "$(openssl pkey -in "$PKI/$1.key" -pubout)" ]
}

# make_cert NAME EXTENSIONS SUBJECT
make_cert() {
	cert_ok "$1" && return 0
	(umask 077 && openssl req -new -config "$PKI/openssl.cnf" -newkey rsa:2048 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$3" &&
		openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
			-set_serial "0x$(openssl rand -hex 16)" -days 825 \
			-extfile "$PKI/openssl.cnf" -extensions "$2" -out "$PKI/$1.crt") \
		>"$PKI/openssl.log" 2>&1 || die "openssl failed making $1: $(cat "$PKI/openssl.log")"
	rm -f "$PKI/$1.csr"
	cert_ok "$1" || die "the new certificate $1 does not verify"
}

# A token: 32 random bytes, hex, in a mode-600 file.
make_token() {
	[ -s "$PKI/$1.token" ] && grep -qxE '[0-9a-f]{64}' "$PKI/$1.token" && return 0
	(umask 077 && openssl rand -hex 32 >"$PKI/$1.token")
}

ensure_pki() {
	mkdir -p "$PKI"
	chmod 700 "$PKI"
	write_openssl_config
	if [ ! -s "$PKI/ca.key" ] || [ ! -s "$PKI/ca.crt" ]; then
		say "making the control plane's CA"
		(umask 077 && openssl req -x509 -config "$PKI/openssl.cnf" -extensions v3_ca \
			-newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
			-subj '/CN=caas-devops k8s test CA' 2>"$PKI/openssl.log") ||
			die "openssl failed making the CA: $(cat "$PKI/openssl.log")"
		rm -f "$PKI"/*.crt.old
		local c
		for c in "$PKI"/*.crt; do
			[ "$c" = "$PKI/ca.crt" ] || rm -f "$c"
		done
	fi
	chmod 644 "$PKI/ca.crt"
	make_cert apiserver v3_server "/CN=kube-apiserver"
	make_cert admin v3_client "/O=system:masters/CN=caas-admin"
	make_cert controller-manager v3_client "/CN=system:kube-controller-manager"
	make_cert scheduler v3_client "/CN=system:kube-scheduler"
	make_cert kwok v3_client "/O=system:masters/CN=kwok"
	make_cert "$CERT_USER" v3_client "/O=caas-cert-testers/CN=$CERT_USER"
	if [ ! -s "$PKI/sa.key" ] || [ ! -s "$PKI/sa.pub" ]; then
		(umask 077 && openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null &&
			openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null) ||
			die "openssl failed making the service-account key pair"
	fi
	make_token "$TOKEN_USER"
	make_token "$VIEW_USER"
	# token,user,uid,"group"
	(
		umask 077
		{
			printf '%s,%s,%s,"%s"\n' "$(cat "$PKI/$TOKEN_USER.token")" "$TOKEN_USER" \
				"uid-$TOKEN_USER" caas-testers
			printf '%s,%s,%s,"%s"\n' "$(cat "$PKI/$VIEW_USER.token")" "$VIEW_USER" \
				"uid-$VIEW_USER" caas-viewers
		} >"$PKI/tokens.csv.tmp"
	)
	mv "$PKI/tokens.csv.tmp" "$PKI/tokens.csv"
}

# kubeconfig FILE USER-LINES...: a kubeconfig for $API_URL verified with the CA file.
kubeconfig() {
	local file=$1 user
	shift
	user=$(printf '    %s\n' "$@")
	(umask 077 && cat >"$file.tmp" <<EOF
# Written by tests/env/k8s.sh.
apiVersion: v1
kind: Config
clusters:
- name: caas-test
  cluster:
    server: $API_URL
    certificate-authority: $PKI/ca.crt
users:
- name: user
  user:
$user
contexts:
- name: caas-test
  context:
    cluster: caas-test
    user: user
    namespace: default
current-context: caas-test
EOF
	)
	mv "$file.tmp" "$file"
}

b64() { base64 -w0 <"$1"; }

write_kubeconfigs() {
	local b64
	kubeconfig "$RUN/admin.kubeconfig" "client-certificate: $PKI/admin.crt" "client-key: $PKI/admin.key"
	kubeconfig "$RUN/controller-manager.kubeconfig" "client-certificate: $PKI/controller-manager.crt" \
		"client-key: $PKI/controller-manager.key"
	kubeconfig "$RUN/scheduler.kubeconfig" "client-certificate: $PKI/scheduler.crt" \
		"client-key: $PKI/scheduler.key"
	kubeconfig "$RUN/kwok.kubeconfig" "client-certificate: $PKI/kwok.crt" "client-key: $PKI/kwok.key"
	kubeconfig "$BASE/kubeconfig" "token: $(cat "$PKI/$TOKEN_USER.token")"
	kubeconfig "$BASE/token-file.kubeconfig" "tokenFile: $PKI/$TOKEN_USER.token"
	kubeconfig "$BASE/viewer.kubeconfig" "tokenFile: $PKI/$VIEW_USER.token"
	kubeconfig "$BASE/cert.kubeconfig" "client-certificate: $PKI/$CERT_USER.crt" \
		"client-key: $PKI/$CERT_USER.key"
	# The same user with the certificate, key and CA inline (the *-data forms).
	kubeconfig "$BASE/cert-data.kubeconfig" "client-certificate-data: $(b64 "$PKI/$CERT_USER.crt")" \
		"client-key-data: $(b64 "$PKI/$CERT_USER.key")"
	b64=$(b64 "$PKI/ca.crt")
	sed -i "s|^    certificate-authority: .*|    certificate-authority-data: $b64|" \
		"$BASE/cert-data.kubeconfig"
}

write_env() {
	local tmp=$ENV_OUT.tmp
	cat >"$tmp" <<EOF
# Written by tests/env/k8s.sh: the Kubernetes test control plane. Source it.
CAAS_K8S_VERSION=$K8S_VERSION
CAAS_K8S_API=$API_URL
CAAS_K8S_CA=$PKI/ca.crt
CAAS_K8S_HTTP_URL=http://$HOST:$PROXY_PORT
CAAS_K8S_KUBECONFIG=$BASE/kubeconfig
CAAS_K8S_TOKEN_KUBECONFIG=$BASE/token-file.kubeconfig
CAAS_K8S_TOKEN_FILE=$PKI/$TOKEN_USER.token
CAAS_K8S_TOKEN_USER=$TOKEN_USER
CAAS_K8S_CERT_KUBECONFIG=$BASE/cert.kubeconfig
CAAS_K8S_CERT_DATA_KUBECONFIG=$BASE/cert-data.kubeconfig
CAAS_K8S_CLIENT_CERT=$PKI/$CERT_USER.crt
CAAS_K8S_CLIENT_KEY=$PKI/$CERT_USER.key
CAAS_K8S_CERT_USER=$CERT_USER
CAAS_K8S_VIEWER_KUBECONFIG=$BASE/viewer.kubeconfig
CAAS_K8S_ADMIN_KUBECONFIG=$RUN/admin.kubeconfig
CAAS_K8S_NODES="${NODES[*]}"
CAAS_K8S_NODE_IPS="${NODE_IPS[*]}"
CAAS_K8S_LB_IP=$LB_INGRESS_IP
CAAS_K8S_STORAGE_CLASS=$STORAGE_CLASS
CAAS_K8S_BIN=$BIN
CAAS_K8S_LOGS=$LOGS
CAAS_KUBECTL=$BIN/kubectl
export CAAS_K8S_VERSION CAAS_K8S_API CAAS_K8S_CA CAAS_K8S_HTTP_URL CAAS_K8S_KUBECONFIG CAAS_K8S_TOKEN_KUBECONFIG
export CAAS_K8S_TOKEN_FILE CAAS_K8S_TOKEN_USER CAAS_K8S_CERT_KUBECONFIG CAAS_K8S_CERT_DATA_KUBECONFIG
export CAAS_K8S_CLIENT_CERT CAAS_K8S_CLIENT_KEY CAAS_K8S_CERT_USER CAAS_K8S_VIEWER_KUBECONFIG
export CAAS_K8S_ADMIN_KUBECONFIG CAAS_K8S_NODES CAAS_K8S_NODE_IPS CAAS_K8S_LB_IP CAAS_K8S_BIN
export CAAS_K8S_STORAGE_CLASS
export CAAS_K8S_LOGS CAAS_KUBECTL
EOF
	chmod 644 "$tmp"
	mv "$tmp" "$ENV_OUT"
}

# ---- processes -----------------------------------------------------------------------

# The pid of a component when it runs (pid file, and the process is that program).
component_pid() {
	local name=$1 pid exe
	pid=$(cat "$PIDS/$name.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	case $name in
	lb-controller | pv-provisioner)
		case $exe in */python3*) ;; *) return 1 ;; esac
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -qF "$RUN/test-controllers.py ${name%%-*} " || return 1
		;;
	kubectl-proxy) [ "$exe" = "$BIN/kubectl" ] || return 1 ;;
	*) [ "$exe" = "$BIN/$name" ] || return 1 ;;
	esac
	echo "$pid"
}

# start_component NAME PROGRAM ARGS...
start_component() {
	local name=$1 log=$LOGS/$1.log
	shift
	if [ "$(stat -c %s "$log" 2>/dev/null || echo 0)" -gt $((50 * 1024 * 1024)) ]; then
		mv "$log" "$log.old"
	fi
	printf -- '--- %s start ---\n' "$(date -u +%FT%TZ)" >>"$log"
	start-stop-daemon --start --background --make-pidfile --pidfile "$PIDS/$name.pid" \
		--output "$log" --exec "$1" -- "${@:2}" 8>&-
}

# wait_for NAME SECONDS CMD...: until CMD succeeds; fails when NAME's process ended.
wait_for() {
	local name=$1 deadline=$((SECONDS + $2))
	shift 2
	while ((SECONDS < deadline)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if ! component_pid "$name" >/dev/null; then
			show_log "$LOGS/$name.log"
			die "$name exited (log in $LOGS/$name.log)"
		fi
		sleep 0.3
	done
	show_log "$LOGS/$name.log"
	die "$name is not ready after $2 s (log in $LOGS/$name.log)"
}

port_free() {
	! ss -Hltn "sport = :$1" | grep -q .
}

stop_component() {
	local name=$1 pid i
	if pid=$(component_pid "$name"); then
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			readlink "/proc/$pid/exe" >/dev/null 2>&1 || break
			sleep 0.1
		done
		if readlink "/proc/$pid/exe" >/dev/null 2>&1; then
			kill -9 "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	rm -f "$PIDS/$name.pid"
}

kubectl_admin() {
	"$BIN/kubectl" --kubeconfig "$RUN/admin.kubeconfig" "$@"
}

api_ready() {
	[ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/ca.crt" \
		--cert "$PKI/admin.crt" --key "$PKI/admin.key" "$API_URL/readyz" 2>/dev/null)" = 200 ]
}

# shellcheck disable=SC2317 # called through wait_for
health_ok() { # PORT
	[ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -k "https://$HOST:$1/healthz" \
		2>/dev/null)" = 200 ]
}

# shellcheck disable=SC2317 # called through wait_for
proxy_ready() {
	[ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://$HOST:$PROXY_PORT/readyz" \
		2>/dev/null)" = 200 ]
}

# shellcheck disable=SC2317 # called through wait_for
etcd_ready() {
	curl -sS --max-time 5 "http://$HOST:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'
}

all_running() {
	local c
	for c in "${COMPONENTS[@]}"; do
		component_pid "$c" >/dev/null || return 1
	done
	api_ready
}

# The run files every start writes: KWOK's stages, the test controllers (run from the
# state directory, so a start from another checkout finds the same processes).
kwok_config() {
	local f out=$RUN/kwok-stages.yaml
	install -m 644 "$SRC/test-controllers.py" "$RUN/test-controllers.py"
	# KWOK's pod-ready and pod-complete stages leave the simulated failures to ours.
	{
		for f in node-initialize node-heartbeat-with-lease pod-ready pod-complete pod-delete; do
			echo "---"
			case $f in
			pod-ready | pod-complete)
				awk '{ print }
					/^    matchExpressions:$/ && !done {
						print "    - key: '\''[.spec.containers[].image | test(\":broken|:crashloop\")] | any'\''"
						print "      operator: '\''NotIn'\''"
						print "      values: ['\''true'\'']"
						done = 1
					}' "$CACHE/stages/$f.yaml"
				;;
			*) cat "$CACHE/stages/$f.yaml" ;;
			esac
		done
		cat "$SRC/stages.yaml"
	} >"$out"
	grep -c "test(\":broken|:crashloop\")" "$out" | grep -qx 2 ||
		die "cannot patch KWOK's pod-ready/pod-complete stages in $out"
}

bootstrap_objects() {
	local i
	kubectl_admin apply --server-side --field-manager=caas-test-env -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: caas-test-cluster-admin
  labels: {caas-devops.test/env: "true"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: $TOKEN_USER}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: $CERT_USER}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: caas-test-view
  labels: {caas-devops.test/env: "true"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: $VIEW_USER}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  labels: {caas-devops.test/env: "true"}
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: $PROVISIONER
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
EOF
	# Nodes are created with their addresses, as a kubelet registers them;
	# KWOK fills in the rest of their status and keeps them Ready.
	for i in "${!NODES[@]}"; do
		! kubectl_admin get node "${NODES[$i]}" >/dev/null 2>&1 || continue
		kubectl_admin create -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: ${NODES[$i]}
  labels:
    kubernetes.io/hostname: ${NODES[$i]}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
status:
  addresses:
  - {type: InternalIP, address: ${NODE_IPS[$i]}}
  - {type: Hostname, address: ${NODES[$i]}}
EOF
	done
}

# launch NAME: starts one component (the control plane behind it must be up).
launch() {
	case $1 in
	etcd)
		start_component etcd "$BIN/etcd" --name caas-test --data-dir "$RUN/etcd" \
			--listen-client-urls "http://$HOST:$ETCD_PORT" \
			--advertise-client-urls "http://$HOST:$ETCD_PORT" \
			--listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
			--initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
			--initial-cluster "caas-test=http://$HOST:$ETCD_PEER_PORT" \
			--unsafe-no-fsync --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) --log-level=warn
		;;
	kube-apiserver)
		# The endpoint reconciler refuses a loopback advertise address: no endpoints
		# for the "kubernetes" Service (no pod runs that could use them).
		start_component kube-apiserver "$BIN/kube-apiserver" \
			--etcd-servers="http://$HOST:$ETCD_PORT" \
			--bind-address="$HOST" --advertise-address="$HOST" --secure-port="$API_PORT" \
			--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
			--client-ca-file="$PKI/ca.crt" --token-auth-file="$PKI/tokens.csv" \
			--authorization-mode=Node,RBAC \
			--service-account-key-file="$PKI/sa.pub" \
			--service-account-signing-key-file="$PKI/sa.key" \
			--service-account-issuer=https://kubernetes.default.svc.cluster.local \
			--service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
			--endpoint-reconciler-type=none --profiling=false --v=1
		;;
	kube-controller-manager)
		start_component kube-controller-manager "$BIN/kube-controller-manager" \
			--kubeconfig="$RUN/controller-manager.kubeconfig" \
			--authentication-kubeconfig="$RUN/controller-manager.kubeconfig" \
			--authorization-kubeconfig="$RUN/controller-manager.kubeconfig" \
			--bind-address="$HOST" --secure-port="$KCM_PORT" --leader-elect=false \
			--service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
			--use-service-account-credentials=true \
			--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
			--service-cluster-ip-range="$SERVICE_CIDR" \
			--kube-api-qps=200 --kube-api-burst=400 --profiling=false --v=1
		;;
	kube-scheduler)
		start_component kube-scheduler "$BIN/kube-scheduler" \
			--kubeconfig="$RUN/scheduler.kubeconfig" \
			--authentication-kubeconfig="$RUN/scheduler.kubeconfig" \
			--authorization-kubeconfig="$RUN/scheduler.kubeconfig" \
			--bind-address="$HOST" --secure-port="$SCHED_PORT" --leader-elect=false \
			--profiling=false --v=1
		;;
	kwok)
		start_component kwok "$BIN/kwok" --kubeconfig="$RUN/kwok.kubeconfig" \
			--config="$RUN/kwok-stages.yaml" --manage-all-nodes=true \
			--cidr="$POD_CIDR" --node-ip="${NODE_IPS[0]}" --node-lease-duration-seconds=40
		;;
	lb-controller)
		start_component lb-controller /usr/bin/python3 "$RUN/test-controllers.py" lb "$API_URL" \
			"$PKI/$TOKEN_USER.token" "$PKI/ca.crt" "$LB_INGRESS_IP"
		;;
	pv-provisioner)
		start_component pv-provisioner /usr/bin/python3 "$RUN/test-controllers.py" pv "$API_URL" \
			"$PKI/$TOKEN_USER.token" "$PKI/ca.crt" "$PROVISIONER"
		;;
	kubectl-proxy)
		start_component kubectl-proxy "$BIN/kubectl" --kubeconfig="$BASE/kubeconfig" proxy \
			--address="$HOST" --port="$PROXY_PORT"
		;;
	esac
}

# Waits until the components started after the API server answer.
wait_components() {
	wait_for kube-controller-manager 60 health_ok "$KCM_PORT"
	wait_for kube-scheduler 60 health_ok "$SCHED_PORT"
	wait_for kwok 60 kubectl_admin wait --for=condition=Ready node --all --timeout=1s
	# Pods can be created once the default ServiceAccount exists.
	wait_for kube-controller-manager 60 kubectl_admin get serviceaccount default -n default
	wait_for kubectl-proxy 30 proxy_ready
	local c
	for c in lb-controller pv-provisioner; do
		component_pid "$c" >/dev/null || {
			show_log "$LOGS/$c.log"
			die "$c exited (log in $LOGS/$c.log)"
		}
	done
}

do_start() {
	local t0=$SECONDS c missing=()
	if all_running; then
		write_env
		say "already running: $API_URL (env file $ENV_OUT)"
		return 0
	fi
	do_build
	mkdir -p "$RUN" "$LOGS" "$PIDS"
	# etcd and the API server up, some other component gone: start that one only,
	# the cluster's objects are kept.
	if component_pid etcd >/dev/null && component_pid kube-apiserver >/dev/null && api_ready; then
		for c in "${COMPONENTS[@]}"; do
			component_pid "$c" >/dev/null || missing+=("$c")
		done
		say "running, but for ${missing[*]}: starting them"
		ensure_pki
		write_kubeconfigs
		kwok_config
		bootstrap_objects
		for c in "${missing[@]}"; do
			launch "$c"
		done
		wait_components
		write_env
		say "Kubernetes $K8S_VERSION up: $API_URL (env file $ENV_OUT)"
		return 0
	fi
	# Anything half-up from an earlier start goes first; a failed start stops what it began.
	stop_all >/dev/null
	trap 'stop_all >/dev/null' EXIT
	for c in $ETCD_PORT $ETCD_PEER_PORT $API_PORT $KCM_PORT $SCHED_PORT $PROXY_PORT; do
		port_free "$c" || die "port $c is taken: $(ss -Hltnp "sport = :$c" | tr -s ' ')"
	done
	ensure_pki
	write_kubeconfigs
	kwok_config
	rm -rf "$RUN/etcd"
	mkdir -p "$RUN/etcd"
	chmod 700 "$RUN/etcd"
	launch etcd
	wait_for etcd 30 etcd_ready
	launch kube-apiserver
	wait_for kube-apiserver 90 api_ready
	bootstrap_objects
	for c in kube-controller-manager kube-scheduler kwok lb-controller pv-provisioner kubectl-proxy; do
		launch "$c"
	done
	wait_components
	trap - EXIT
	write_env
	say "Kubernetes $K8S_VERSION up in $((SECONDS - t0)) s: $API_URL, nodes ${NODES[*]} (env file $ENV_OUT)"
}

# Stops every component, last started first; prints the names of those that ran.
stop_all() {
	local c
	for c in "${STOP_ORDER[@]}"; do
		if component_pid "$c" >/dev/null; then
			printf ' %s' "$c"
		fi
		stop_component "$c"
	done
}

do_stop() {
	local stopped
	stopped=$(stop_all)
	say "stopped:${stopped:- nothing was running}"
}

do_status() {
	local c pid rc=0
	for c in "${COMPONENTS[@]}"; do
		if pid=$(component_pid "$c"); then
			printf '%-24s running (pid %s)\n' "$c" "$pid"
		else
			printf '%-24s stopped\n' "$c"
			rc=1
		fi
	done
	if api_ready; then
		echo "api $API_URL ready"
	else
		echo "api $API_URL not ready"
		rc=1
	fi
	return "$rc"
}

usage() {
	echo "usage: $0 build|start|stop|restart|status|env" >&2
	exit 2
}

main() {
	[ $# -eq 1 ] || usage
	case $1 in
	build | start | stop | restart | status | env) ;;
	*) usage ;;
	esac
	if [ "$1" = env ]; then
		[ -r "$ENV_OUT" ] || die "no $ENV_OUT: run $0 start"
		cat "$ENV_OUT"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	mkdir -p "$BASE"
	exec 8>"$BASE/lock"
	flock -w 1800 8 || die "another k8s.sh holds $BASE/lock"
	case $1 in
	build) do_build ;;
	start) do_start ;;
	stop) do_stop ;;
	restart)
		do_stop
		do_start
		;;
	status) do_status ;;
	esac
}

# One compound command, read whole before it runs: an edit of this file meanwhile
# cannot be read as more commands after main returns.
{
	main "$@"
	exit $?
}
