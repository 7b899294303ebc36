#!/bin/bash
# Test environment of caas-devops: on a Debian 12 machine, as root, idempotently
#   - installs the packages the build and the tests need,
#   - makes sure a Docker engine answers (starts dockerd only when none runs) in swarm mode,
#   - runs a private registry (docker-registry, TLS from a self-signed CA + htpasswd auth)
#     on 127.0.0.1:5000,
#   - makes the local base images busybox:latest and debian:bookworm (no Docker Hub),
#   - writes $CAAS_TEST_STATE/env, the shell file the tests source,
#   - builds the Kubernetes test control plane from the Go module proxy (tests/env/k8s.sh
#     build: once, cached; the test runner starts and stops it).
# Everything it makes lives in $CAAS_TEST_STATE (default /var/lib/caas-devops-test).
# A second run reuses all of it and takes seconds. The password is never printed.
set -euo pipefail

STATE=${CAAS_TEST_STATE:-/var/lib/caas-devops-test}
REG_HOST=127.0.0.1
REG_PORT=5000
REG_ADDR=$REG_HOST:$REG_PORT
REG_USER=caas
CERTS=$STATE/certs
CA_CRT=$CERTS/ca.crt
CA_KEY=$CERTS/ca.key
SRV_CRT=$CERTS/server.crt
SRV_KEY=$CERTS/server.key
PW_FILE=$STATE/registry-password
HTPASSWD=$STATE/htpasswd
REG_CONFIG=$STATE/registry.yml
REG_PID=$STATE/registry.pid
REG_LOG=$STATE/registry.log
REG_STAMP=$STATE/registry.stamp
DOCKERD_LOG=$STATE/dockerd.log
DOCKERD_PID=$STATE/dockerd.pid
DEBIAN_TAR=$STATE/debian-bookworm-minbase.tar
ENV_FILE=$STATE/env

PACKAGES=(docker.io docker-registry debootstrap busybox-static openssl apache2-utils pkg-config
	libcurl4-openssl-dev libgit2-dev libyaml-dev libjansson-dev libarchive-dev libssl-dev
	uuid-dev libsqlite3-dev git bats shellcheck ca-certificates iproute2 curl python3 libxml2-utils
	cgroupfs-mount debian-archive-keyring xz-utils procps jq time bc gcc make valgrind
	clang clang-format libclang-rt-14-dev openssh-server openssh-client
	openjdk-17-jdk-headless maven python3-yaml
	ansible-core ansible-lint jenkins-job-builder groovy default-jre-headless man-db
	socat)

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

say() { printf 'test env: %s\n' "$*"; }
die() {
	printf 'test env: error: %s\n' "$*" >&2
	exit 1
}
# Shows the end of a log file on stderr (after a failure).
show_log() {
	[ -s "$1" ] || return 0
	printf -- '--- last lines of %s ---\n' "$1" >&2
	tail -n "${2:-30}" "$1" >&2
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts services)"

install_packages() {
	local missing=() p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[ "${status:0:2}" = ii ] || missing+=("$p")
	done
	[ "${#missing[@]}" -gt 0 ] || return 0
	say "installing ${missing[*]}"
	mkdir -p "$STATE"
	# Keep package scripts from starting services (the Debian docker-registry
	# service would take port 5000): this script starts what it needs itself.
	local policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	local rc=0
	{
		apt-get update -q &&
			apt-get install -y -q --no-install-recommends "${missing[@]}"
	} >"$STATE/apt.log" 2>&1 </dev/null || rc=$?
	[ -z "$made_policy" ] || rm -f "$policy"
	if [ "$rc" -ne 0 ]; then
		show_log "$STATE/apt.log"
		die "apt-get failed (exit $rc), log in $STATE/apt.log"
	fi
}

engine_answers() {
	timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

mount_cgroups() {
	# As the Debian init script does: only when nothing is mounted yet.
	if [ -e /proc/cgroups ] && [ -d /sys/fs/cgroup ] && ! mountpoint -q /sys/fs/cgroup &&
		command -v cgroupfs-mount >/dev/null; then
		cgroupfs-mount
	fi
}

# A live dockerd process (a dead one nobody reaped has no /proc/PID/exe).
dockerd_running() {
	local pid
	for pid in $(pgrep -x dockerd); do
		readlink "/proc/$pid/exe" >/dev/null 2>&1 && return 0
	done
	return 1
}

# Never start a second dockerd: a second one in this network namespace would
# delete the first one's docker0. Start one only when no dockerd process exists.
ensure_engine() {
	if engine_answers; then
		return 0
	fi
	case ${DOCKER_HOST:-} in
	"" | unix:///var/run/docker.sock | unix:///run/docker.sock) ;;
	*) die "no engine answers at DOCKER_HOST=$DOCKER_HOST (this script only starts the default local one)" ;;
	esac
	if dockerd_running; then
		say "a dockerd runs but does not answer yet, waiting"
	else
		say "starting dockerd (log $DOCKERD_LOG)"
		mount_cgroups
		ulimit -n 1048576 2>/dev/null || true
		start-stop-daemon --start --background --make-pidfile --pidfile "$DOCKERD_PID" \
			--output "$DOCKERD_LOG" --exec /usr/sbin/dockerd
	fi
	local deadline=$((SECONDS + 60))
	while ((SECONDS < deadline)); do
		if engine_answers; then
			return 0
		fi
		sleep 1
	done
	show_log "$DOCKERD_LOG"
	die "the Docker engine does not answer after 60 s (log in $DOCKERD_LOG)"
}

ensure_swarm() {
	local st
	st=$(docker info --format '{{.Swarm.LocalNodeState}}')
	case $st in
	active) ;;
	inactive)
		say "docker swarm init"
		docker swarm init --advertise-addr 127.0.0.1 >/dev/null
		;;
	*) die "the engine's swarm state is '$st' (expected active or inactive)" ;;
	esac
}

write_openssl_config() {
	cat >"$CERTS/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = caas-devops test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

server_cert_ok() {
	[ -s "$SRV_CRT" ] && [ -s "$SRV_KEY" ] &&
		openssl verify -CAfile "$CA_CRT" "$SRV_CRT" >/dev/null 2>&1 &&
		openssl x509 -in "$SRV_CRT" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 &&
		openssl x509 -in "$SRV_CRT" -noout -ext subjectAltName 2>/dev/null |
		grep -q 'IP Address:127.0.0.1' &&
		[ "$(openssl x509 -in "$SRV_CRT" -noout -pubkey)" = "$(openssl pkey -in "$SRV_KEY" -pubout)" ]
}

ensure_certs() {
	mkdir -p "$CERTS"
	chmod 700 "$CERTS"
	write_openssl_config
	if [ ! -s "$CA_KEY" ] || [ ! -s "$CA_CRT" ]; then
		say "making the test CA"
		(umask 077 && openssl req -x509 -config "$CERTS/openssl.cnf" -extensions v3_ca \
			-newkey rsa:2048 -nodes -keyout "$CA_KEY" -out "$CA_CRT" -days 3650 \
			-subj '/CN=caas-devops test CA' 2>"$CERTS/openssl.log") ||
			die "openssl failed making the CA: $(cat "$CERTS/openssl.log")"
		rm -f "$SRV_CRT"
	fi
	chmod 644 "$CA_CRT"
	if ! server_cert_ok; then
		say "making the registry's certificate"
		(umask 077 && openssl req -new -config "$CERTS/openssl.cnf" -newkey rsa:2048 -nodes \
			-keyout "$SRV_KEY" -out "$CERTS/server.csr" -subj '/CN=127.0.0.1' &&
			openssl x509 -req -in "$CERTS/server.csr" -CA "$CA_CRT" -CAkey "$CA_KEY" \
				-set_serial "0x$(openssl rand -hex 16)" -days 825 \
				-extfile "$CERTS/openssl.cnf" -extensions v3_server -out "$SRV_CRT") \
			>"$CERTS/openssl.log" 2>&1 ||
			die "openssl failed making the server certificate: $(cat "$CERTS/openssl.log")"
		server_cert_ok || die "the new server certificate does not verify"
	fi
	# The engine reads certs.d on every push/pull: no restart needed.
	local d
	for d in "/etc/docker/certs.d/$REG_ADDR" "/etc/docker/certs.d/localhost:$REG_PORT"; do
		mkdir -p "$d"
		if ! cmp -s "$CA_CRT" "$d/ca.crt"; then
			install -m 644 "$CA_CRT" "$d/ca.crt"
		fi
	done
}

# one_line_of ERE FILE: FILE holds exactly one line, matching ERE.
one_line_of() {
	[ -f "$2" ] && [ "$(wc -l <"$2")" -eq 1 ] && grep -qxE "$1" "$2"
}

ensure_account() {
	if [ ! -s "$PW_FILE" ]; then
		say "making the registry account '$REG_USER'"
		(umask 077 && openssl rand -hex 24 >"$PW_FILE.tmp") && mv "$PW_FILE.tmp" "$PW_FILE"
	fi
	chmod 600 "$PW_FILE"
	# htpasswd -i reads the password on stdin: it never appears in argv.
	one_line_of '[0-9A-Za-z._~+/=-]+' "$PW_FILE" ||
		die "$PW_FILE must hold one line of [0-9A-Za-z._~+/=-] (remove it to make a new one)"
	if ! htpasswd -v -i "$HTPASSWD" "$REG_USER" <"$PW_FILE" >/dev/null 2>&1; then
		(umask 077 && htpasswd -B -i -c "$HTPASSWD.tmp" "$REG_USER" <"$PW_FILE" >/dev/null 2>&1) ||
			die "htpasswd failed"
		mv "$HTPASSWD.tmp" "$HTPASSWD"
	fi
	chmod 600 "$HTPASSWD"
	if ! one_line_of '[0-9a-f]{64}' "$STATE/http-secret"; then
		(umask 077 && openssl rand -hex 32 >"$STATE/http-secret")
	fi
}

write_registry_config() {
	local tmp=$REG_CONFIG.tmp
	(umask 077 && cat >"$tmp" <<EOF
# Written by tests/env/setup.sh; rewritten on every run.
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $REG_ADDR
  secret: $(cat "$STATE/http-secret")
  tls:
    certificate: $SRV_CRT
    key: $SRV_KEY
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: caas-devops-test
    path: $HTPASSWD
EOF
	)
	mv "$tmp" "$REG_CONFIG"
	mkdir -p "$STATE/registry"
}

# HTTP status of GET /v2/ (000 when nothing answers); with "auth", sends the account.
# The password goes through a curl config on stdin, never through argv.
registry_status() {
	local args=(-s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$CA_CRT"
		"https://$REG_ADDR/v2/")
	if [ "${1:-}" = auth ]; then
		printf 'user = "%s:%s"\n' "$REG_USER" "$(cat "$PW_FILE")" |
			curl -K - "${args[@]}" || true
	else
		curl "${args[@]}" </dev/null || true
	fi
}

registry_stamp() {
	cat "$REG_CONFIG" "$HTPASSWD" "$SRV_CRT" "$SRV_KEY" | sha256sum | cut -d' ' -f1
}

our_registry_pid() {
	local pid
	pid=$(cat "$REG_PID" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/docker-registry ] &&
		echo "$pid"
}

ensure_registry() {
	local pid i
	write_registry_config
	if our_registry_pid >/dev/null && [ "$(cat "$REG_STAMP" 2>/dev/null)" = "$(registry_stamp)" ] &&
		[ "$(registry_status)" = 401 ] && [ "$(registry_status auth)" = 200 ]; then
		return 0
	fi
	if pid=$(our_registry_pid); then
		say "restarting the registry (pid $pid)"
		kill "$pid"
		# /proc/PID/exe goes away when the process ends, even if nobody reaps it.
		for ((i = 0; i < 50; i++)); do
			readlink "/proc/$pid/exe" >/dev/null 2>&1 || break
			sleep 0.1
		done
		! readlink "/proc/$pid/exe" >/dev/null 2>&1 || kill -9 "$pid"
	fi
	if ss -Hltn "sport = :$REG_PORT" | grep -q .; then
		die "port $REG_PORT is taken by another process: $(ss -Hltnp "sport = :$REG_PORT" | tr -s ' ')"
	fi
	say "starting the registry on https://$REG_ADDR (log $REG_LOG)"
	if [ "$(stat -c %s "$REG_LOG" 2>/dev/null || echo 0)" -gt $((20 * 1024 * 1024)) ]; then
		mv "$REG_LOG" "$REG_LOG.old"
	fi
	registry_stamp >"$REG_STAMP"
	start-stop-daemon --start --background --make-pidfile --pidfile "$REG_PID" \
		--output "$REG_LOG" --exec /usr/bin/docker-registry -- serve "$REG_CONFIG"
	for ((i = 0; i < 100; i++)); do
		[ "$(registry_status)" = 401 ] && break
		our_registry_pid >/dev/null || break
		sleep 0.2
	done
	local anon authd
	anon=$(registry_status)
	authd=$(registry_status auth)
	if [ "$anon" != 401 ] || [ "$authd" != 200 ]; then
		show_log "$REG_LOG"
		die "registry check failed: GET /v2/ gave $anon anonymously (want 401), $authd with the account (want 200)"
	fi
}

# The Debian mirror this machine uses (deb822 .sources or one-line .list files).
debian_mirror() {
	local f m=
	if [ -n "${CAAS_DEBIAN_MIRROR:-}" ]; then
		echo "$CAAS_DEBIAN_MIRROR"
		return
	fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		m=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{
				uris = ""; suites = ""; types = ""; enabled = "yes"
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
					if ($i ~ /^Suites:/) suites = " " $i " "
					if ($i ~ /^Types:/) types = " " $i " "
					if ($i ~ /^Enabled:[ \t]*no/) enabled = "no"
				}
				if (enabled == "yes" && types ~ /[ \t]deb[ \t]/ && suites ~ /[ \t]bookworm[ \t]/ && uris != "") {
					split(uris, u, /[ \t]+/); print u[1]; exit
				}
			}' "$f")
		[ -z "$m" ] || break
	done
	if [ -z "$m" ]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			m=$(sed -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
			[ -z "$m" ] || break
		done
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

image_exists() {
	docker image inspect "$1" >/dev/null 2>&1
}

make_busybox_image() {
	image_exists busybox:latest && return 0
	say "making busybox:latest from busybox-static"
	local root applet
	root=$(mktemp -d "$STATE/busybox-root.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,home,dev,proc,sys}
	chmod 1777 "$root/tmp" "$root/var/tmp"
	chmod 700 "$root/root"
	install -m 755 /bin/busybox "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
	done
	ln -s ../../bin/busybox "$root/usr/bin/env"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
		docker import -m 'caas-devops test base: static busybox' \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["sh"]' - busybox:latest >/dev/null
	rm -rf "$root"
}

make_debian_image() {
	image_exists debian:bookworm && return 0
	if [ ! -s "$DEBIAN_TAR" ]; then
		local mirror root log=$STATE/debootstrap.log
		mirror=$(debian_mirror)
		say "debootstrap --variant=minbase bookworm from $mirror (once, ~30 s)"
		root=$(mktemp -d "$STATE/debian-root.XXXXXX")
		# shellcheck disable=SC2064 # expand $root now
		trap "umount -R '$root/proc' '$root/sys' '$root/dev/pts' 2>/dev/null; rm -rf --one-file-system '$root'" EXIT
		if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1 </dev/null; then
			show_log "$log"
			[ ! -f "$root/debootstrap/debootstrap.log" ] || show_log "$root/debootstrap/debootstrap.log"
			die "debootstrap failed (log in $log)"
		fi
		# The engine provides /dev, /etc/hostname and /etc/resolv.conf at run time.
		find "$root/dev" -xdev -mindepth 1 -delete
		rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root/etc/hostname"
		tar -C "$root" --numeric-owner -c . >"$DEBIAN_TAR.tmp"
		mv "$DEBIAN_TAR.tmp" "$DEBIAN_TAR"
		rm -rf --one-file-system "$root"
		trap - EXIT
	fi
	say "importing debian:bookworm from $DEBIAN_TAR"
	docker import -m 'caas-devops test base: debootstrap --variant=minbase bookworm' \
		--change 'CMD ["bash"]' "$DEBIAN_TAR" debian:bookworm >/dev/null
}

write_env_file() {
	local tmp=$ENV_FILE.tmp
	{
		echo "# Written by tests/env/setup.sh: the test environment. Source it."
		echo "CAAS_TEST_STATE=$STATE"
		echo "CAAS_REGISTRY=$REG_ADDR"
		echo "CAAS_REGISTRY_URL=https://$REG_ADDR"
		echo "CAAS_REGISTRY_USER=$REG_USER"
		echo "CAAS_REGISTRY_PASSWORD_FILE=$PW_FILE"
		echo "CAAS_REGISTRY_CA=$CA_CRT"
		echo "CAAS_REGISTRY_LOG=$REG_LOG"
		echo "CAAS_K8S_ENV=$STATE/k8s/env"
		echo "export CAAS_TEST_STATE CAAS_REGISTRY CAAS_REGISTRY_URL CAAS_REGISTRY_USER"
		echo "export CAAS_REGISTRY_PASSWORD_FILE CAAS_REGISTRY_CA CAAS_REGISTRY_LOG CAAS_K8S_ENV"
		if [ -n "${DOCKER_HOST:-}" ]; then
			printf 'DOCKER_HOST=%q\nexport DOCKER_HOST\n' "$DOCKER_HOST"
		fi
	} >"$tmp"
	chmod 644 "$tmp"
	mv "$tmp" "$ENV_FILE"
}

main() {
	mkdir -p "$STATE"
	chmod 755 "$STATE"
	exec 9>"$STATE/setup.lock"
	flock -w 900 9 || die "another setup.sh holds $STATE/setup.lock"
	install_packages
	ensure_engine
	ensure_swarm
	ensure_certs
	ensure_account
	ensure_registry
	make_busybox_image
	make_debian_image
	write_env_file
	# The Kubernetes control plane: built once and cached (started by the test runner).
	# make demo needs none of it: it sets CAAS_SETUP_K8S=0.
	if [ "${CAAS_SETUP_K8S:-1}" != 0 ]; then
		CAAS_TEST_STATE=$STATE "$(dirname "${BASH_SOURCE[0]}")/k8s.sh" build
	fi
	say "engine $(docker version --format '{{.Server.Version}}' | sed 's/+dfsg.*//')" \
		"(swarm $(docker info --format '{{.Swarm.LocalNodeState}}')), registry https://$REG_ADDR" \
		"(TLS+auth), bases busybox:latest debian:bookworm"
}

main "$@"
