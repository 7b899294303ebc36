#!/usr/bin/env bash
test_description='caas-deployer --coe compose on a plain (non-swarm) engine run beside the main one in its own network namespace'
. "$(dirname "$0")/test-lib.sh"

# The second engine: its own network namespace (a second dockerd in the main one would
# delete the main engine's docker0 even with --bridge none), data root, exec root (so
# its own containerd, started by dockerd under E/containerd), pidfile and socket.
eng=/tmp/$CS_TEST_PREFIX-engine
sock=unix://$eng/docker.sock
app=$CS_TEST_PREFIX-app
img=$CS_TEST_PREFIX-web

# dk ARGS...: docker against the second engine.
dk() {
	docker -H "$sock" "$@"
}

# stop_engine: remove its containers, stop it, wait until none of its processes
# (dockerd, its containerd, shims) is left, and remove its directories.
stop_engine() {
	local pid
	[ -d "$eng" ] || return 0
	if [ -S "$eng/docker.sock" ]; then
		mapfile -t ids < <(dk ps -aq 2>/dev/null)
		[ "${#ids[@]}" -eq 0 ] || dk rm -f "${ids[@]}" >/dev/null 2>&1
	fi
	pid=$(cat "$eng/dockerd.pid" 2>/dev/null)
	[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 60); do
		pgrep -f "$eng/" >/dev/null || break
		sleep 0.5
	done
	if pgrep -f "$eng/" >/dev/null; then
		echo "stop_engine: processes left, killing them:" >&2
		pgrep -af "$eng/" >&2
		for pid in $(pgrep -f "$eng/"); do
			kill -KILL "$pid" 2>/dev/null
		done
		sleep 1
	fi
	grep -o " $eng/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m"; done
	rm -rf "$eng"
	! pgrep -f "$eng/" >/dev/null && [ ! -e "$eng" ]
}

# The engine outlives single tests: stopped by the last test, or here if the file
# ends early (then test-lib's own exit handling runs with the original status).
at_exit_() {
	local rc=$?
	stop_engine
	(exit "$rc")
	test_at_exit_
}
trap at_exit_ EXIT

# main_unaffected: the main engine and its containerd are the same processes as before,
# our sentinel container on it still runs, untouched, docker0 is as it was, and a new
# container on the default bridge still gets an address. (Other sessions share the
# main engine and start and stop containers of their own meanwhile: a before/after
# `docker ps` of everything would compare their work, not ours.)
main_unaffected() {
	main_pids >main-pids-after &&
		test_cmp main-pids-before main-pids-after &&
		docker inspect -f "{{.State.StartedAt}}" "$CS_TEST_PREFIX-sentinel" >sentinel-after &&
		test_cmp sentinel-before sentinel-after &&
		test "$(docker inspect -f "{{.State.Running}}" "$CS_TEST_PREFIX-sentinel")" = true &&
		ip -o link show docker0 | sed "s/ state [A-Z]* / /" >docker0-after &&
		sed "s/ state [A-Z]* / /" docker0-before | test_cmp - docker0-after &&
		test "$(docker info --format "{{.Swarm.LocalNodeState}}")" = active &&
		test -n "$(docker run --rm busybox:latest ip -4 -o addr show eth0)"
}

# main_pids: the main dockerd and its containerd (from their pidfiles), alive.
main_pids() {
	local f pid
	for f in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
		pid=$(cat "$f") && kill -0 "$pid" && echo "$f $pid" || return 1
	done
}

# started_ns CONTAINER: when it started, in ns since the epoch.
started_ns() {
	date -d "$(dk inspect -f '{{.State.StartedAt}}' "$1")" +%s%N
}

id_of() {
	dk inspect -f '{{.Id}}' "$1"
}

# serves CONTAINER WANT: the container's httpd on 127.0.0.1:8080 serves WANT.
serves() {
	for _ in $(seq 20); do
		dk exec "$1" wget -qO- http://127.0.0.1:8080/ >page 2>/dev/null && grep -q "$2" page && return 0
		sleep 0.5
	done
	echo "serves: $1 does not serve '$2'" >&2
	return 1
}

deploy() {
	caas-deployer --coe compose --bay "$sock" --timeout 60 --app "$app" "$@"
}

test_expect_success 'setup: a second, plain engine in its own network namespace' '
	docker run -d --name $CS_TEST_PREFIX-sentinel busybox:latest sleep 3600 >/dev/null &&
	docker inspect -f "{{.State.StartedAt}}" $CS_TEST_PREFIX-sentinel >sentinel-before &&
	main_pids >main-pids-before &&
	ip -o link show docker0 >docker0-before &&
	mkdir -p "$eng" &&
	unshare -n sh -c "ip link set lo up; exec dockerd --data-root $eng/data --exec-root $eng/exec \
		--pidfile $eng/dockerd.pid -H $sock --bridge none --iptables=false" \
		</dev/null >"$eng/dockerd.log" 2>&1 &
	for _ in $(seq 60); do
		dk version >/dev/null 2>&1 && break
		sleep 0.5
	done &&
	dk version >/dev/null &&
	test "$(dk info --format "{{.Swarm.LocalNodeState}}")" = inactive &&
	pgrep -af "containerd --config $eng/exec/containerd/containerd.toml" &&
	test "$(readlink /proc/"$(cat "$eng/dockerd.pid")"/ns/net)" != "$(readlink /proc/self/ns/net)"
'

test_expect_success 'the main engine is unaffected: same dockerd and containerd, our container still up, docker0 kept' '
	main_unaffected &&
	test "$(docker info --format "{{.Swarm.LocalNodeState}}")" = active
'

test_expect_success 'setup: images loaded into the second engine; compose file' '
	docker build -q -t $img:1 --build-arg GREETING=compose-one "$TOP/samples/hello-web" &&
	printf "FROM %s\nCMD [\"sh\", \"-c\", \"echo about to fail; exit 1\"]\n" $img:1 >Dockerfile.bad &&
	docker build -q -t $img:bad -f Dockerfile.bad . &&
	docker save busybox:latest $img:1 $img:bad | dk load &&
	dk image inspect busybox:latest $img:1 $img:bad >/dev/null &&
	cat >app.yml <<-EOF
	services:
	  web:
	    image: \${IMG:?set IMG}
	    depends_on:
	      - db
	  db:
	    image: busybox:latest
	    command: ["sh", "-c", "echo db up; exec sleep 3600"]
	    environment:
	      LEVEL: \${LEVEL:-1}
	    healthcheck:
	      test: ["CMD", "test", "-e", "/bin/sh"]
	      interval: 1s
	      retries: 3
	EOF
'

test_expect_success 'first deployment: APP_SERVICE_1 containers, labelled, started in depends_on order, healthy' '
	deploy -f app.yml --set IMG=$img:1 --json first.json >out 2>&1 &&
	jq -e --arg app $app ".app == \$app and .coe == \"compose\" and .changed == true and
		.status == \"converged\" and
		([.objects[] | select(.kind == \"container\") | .name] | sort) == [\"\(\$app)_db_1\", \"\(\$app)_web_1\"] and
		all(.objects[]; .action == \"created\")" first.json &&
	dk ps --filter label=com.docker.compose.project=$app \
		--format "{{.Names}} {{.Label \"com.docker.compose.service\"}} {{.Label \"com.docker.compose.container-number\"}}" |
		sort >ps &&
	printf "%s\n" "${app}_db_1 db 1" "${app}_web_1 web 1" >expect &&
	test_cmp expect ps &&
	test "$(dk inspect -f "{{.State.Health.Status}}" ${app}_db_1)" = healthy &&
	test "$(dk inspect -f "{{.State.Health.Status}}" ${app}_web_1)" = healthy &&
	test "$(started_ns ${app}_db_1)" -lt "$(started_ns ${app}_web_1)" &&
	dk network inspect ${app}_default >/dev/null &&
	serves ${app}_web_1 compose-one &&
	dk exec ${app}_db_1 wget -qO- http://web:8080/ | grep compose-one
'

test_expect_success 'redeploy unchanged: changed=false, containers left alone' '
	db=$(id_of ${app}_db_1) && web=$(id_of ${app}_web_1) &&
	deploy -f app.yml --set IMG=$img:1 --json same.json >out 2>&1 &&
	jq -e ".changed == false and .status == \"converged\" and all(.objects[]; .action == \"unchanged\")" same.json &&
	test "$(id_of ${app}_db_1)" = "$db" &&
	test "$(id_of ${app}_web_1)" = "$web"
'

test_expect_success 'a changed environment recreates that container only' '
	db=$(id_of ${app}_db_1) && web=$(id_of ${app}_web_1) &&
	deploy -f app.yml --set IMG=$img:1 --set LEVEL=2 --json env.json >out 2>&1 &&
	jq -e --arg app $app ".changed == true and .status == \"converged\" and
		(.objects[] | select(.name == \"\(\$app)_db_1\") | .action) == \"updated\" and
		(.objects[] | select(.name == \"\(\$app)_web_1\") | .action) == \"unchanged\"" env.json &&
	test "$(id_of ${app}_db_1)" != "$db" &&
	test "$(id_of ${app}_web_1)" = "$web" &&
	dk inspect -f "{{range .Config.Env}}{{println .}}{{end}}" ${app}_db_1 | grep -x LEVEL=2 &&
	test "$(dk inspect -f "{{.State.Health.Status}}" ${app}_db_1)" = healthy &&
	test "$(dk ps -aq --filter label=com.docker.compose.project=$app | wc -l)" = 2
'

test_expect_success 'a command that exits 1: exit 8, the previous container is back and serving' '
	web=$(id_of ${app}_web_1) &&
	test_expect_code 8 deploy -f app.yml --set IMG=$img:bad --set LEVEL=2 --json bad.json >out 2>&1 &&
	grep "${app}_web_1" out &&
	grep "about to fail" out &&
	jq -e ".status == \"rolled_back\" and .changed == false" bad.json &&
	test "$(id_of ${app}_web_1)" = "$web" &&
	test "$(dk inspect -f "{{.Config.Image}}" ${app}_web_1)" = $img:1 &&
	test "$(dk inspect -f "{{.State.Status}}" ${app}_web_1)" = running &&
	serves ${app}_web_1 compose-one &&
	test "$(dk ps -aq --filter label=com.docker.compose.project=$app | wc -l)" = 2
'

test_expect_success 'the keys docker compose puts in Config and HostConfig are applied (cap_add, sysctls, dns, ulimits, logging, ...)' '
	cat >keys.yml <<-EOF &&
	services:
	  keys:
	    image: busybox:latest
	    command: ["sleep", "3600"]
	    cap_add: [NET_ADMIN]
	    cap_drop: [MKNOD]
	    sysctls:
	      net.ipv4.ip_unprivileged_port_start: "80"
	    dns: [10.0.0.53]
	    dns_search: [example.org]
	    extra_hosts: ["somehost:10.1.2.3"]
	    tty: true
	    stdin_open: true
	    read_only: true
	    init: true
	    stop_signal: SIGUSR1
	    ulimits:
	      nofile: {soft: 1024, hard: 2048}
	    logging:
	      driver: json-file
	      options: {max-size: 1m}
	    tmpfs: ["/scratch:size=1m"]
	    expose: ["3000"]
	    deploy:
	      resources:
	        limits: {pids: 50}
	    networks: [fixed]
	networks:
	  fixed:
	    internal: true
	    ipam:
	      config:
	        - subnet: 10.231.9.0/24
	          gateway: 10.231.9.254
	EOF
	kapp=${app}k &&
	caas-deployer --coe compose --bay "$sock" --timeout 60 --app "$kapp" -f keys.yml >out 2>&1 &&
	dk inspect ${kapp}_keys_1 >k.json &&
	jq -e ".[0].HostConfig | .CapAdd == [\"NET_ADMIN\"] and .CapDrop == [\"MKNOD\"]
		and .Sysctls[\"net.ipv4.ip_unprivileged_port_start\"] == \"80\"
		and .Dns == [\"10.0.0.53\"] and .DnsSearch == [\"example.org\"]
		and .ExtraHosts == [\"somehost:10.1.2.3\"] and .ReadonlyRootfs and .Init
		and .Ulimits == [{\"Name\": \"nofile\", \"Soft\": 1024, \"Hard\": 2048}]
		and .LogConfig == {\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1m\"}}
		and .Tmpfs == {\"/scratch\": \"size=1m\"} and .PidsLimit == 50" k.json &&
	jq -e ".[0].Config | .Tty and .OpenStdin and .StopSignal == \"SIGUSR1\"
		and (.ExposedPorts | has(\"3000/tcp\"))" k.json &&
	dk network inspect ${kapp}_fixed >n.json &&
	jq -e ".[0] | .Internal and .IPAM.Config == [{\"Subnet\": \"10.231.9.0/24\", \"Gateway\": \"10.231.9.254\"}]" n.json &&
	dk rm -f ${kapp}_keys_1 >/dev/null &&
	dk network rm ${kapp}_fixed >/dev/null
'

test_expect_success 'stop the second engine: no process, mount or directory left; the main engine is as before' '
	test_when_finished "docker rm -f $CS_TEST_PREFIX-sentinel >/dev/null" &&
	stop_engine &&
	! pgrep -f "$eng/" &&
	! grep -q " $eng/" /proc/mounts &&
	test ! -e "$eng" &&
	main_unaffected
'

test_done
