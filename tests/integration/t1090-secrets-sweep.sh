#!/usr/bin/env bash
test_description='secrets sweep: the three tools run with known secret values (registry password file and stdin, config.json auths, credential helpers, git token file, user:password in --repo, kubeconfig token, Compose secret file); no value appears in stdout, stderr, --json, --junit, the image labels, or /proc/PID/cmdline and environ of the tool and its children sampled while it runs'
. "$(dirname "$0")/test-lib.sh"

# Not swept: --build-arg values. The engine records a build argument that a RUN uses in
# the image history (docker history shows "|1 K=V"), as docker build does, and a K=V
# form is in argv; docker's advice holds: no secret in build arguments. t1060 checks
# that the tool itself does not print them.

reg=$CAAS_REGISTRY
img=$CS_TEST_PREFIX-sweep
app=$CS_TEST_PREFIX-sweep
bay=unix:///var/run/docker.sock
srv=$(mktemp -d /tmp/cs-git-http.XXXXXX)
server=
# the git server goes with the file, also when it stops early (-i)
stop_server() {
	local code=$?
	[ -z "$server" ] || kill "$server" 2>/dev/null
	rm -rf "$srv"
	(exit "$code")
	test_at_exit_
}
trap stop_server EXIT

# Every secret value of this file goes to $TEST_SCRATCH/secrets, one a line (no empty line).
add_secret() {
	test -n "$1" && printf '%s\n' "$1" >>"$TEST_SCRATCH/secrets"
}

# no_secret FILE...: no secret value is in any FILE (those found are shown).
no_secret() {
	if grep -n -F -f "$TEST_SCRATCH/secrets" "$@" >&2; then
		echo "no_secret: a secret value is in the lines above" >&2
		return 1
	fi
}

# proc_tree PID: PID and all its descendants, one a line.
proc_tree() {
	local kids=$1 p
	while [ -n "$kids" ]; do
		echo "$kids"
		kids=$(for p in $kids; do cat "/proc/$p/task/"*/children 2>/dev/null; done)
	done
}

# sweep NAME CMD...: run CMD in the background, stdin from $SWEEP_IN (default /dev/null);
# NAME.out, NAME.err and NAME.rc get its output and exit code. While it runs, the
# cmdline and environ of it and of every descendant are sampled into NAME.proc, as
# "== PID cmdline|environ" headers, then one argument or variable a line.
sweep() {
	local name=$1 pid p rc=0 what
	shift
	"$@" <"${SWEEP_IN:-/dev/null}" >"$name.out" 2>"$name.err" &
	pid=$!
	: >"$name.proc"
	while kill -0 "$pid" 2>/dev/null; do
		for p in $(proc_tree "$pid"); do
			for what in cmdline environ; do
				{
					echo "== $p $what"
					tr '\0' '\n' <"/proc/$p/$what"
					echo
				} >>"$name.proc" 2>/dev/null
			done
		done
		sleep 0.02
	done
	wait "$pid" || rc=$?
	echo "$rc" >"$name.rc"
}

# sampled NAME PROG: a process running PROG (argv[0], or argv[1] of a script's
# interpreter) was seen by the sampler.
sampled() {
	grep -A2 -E "^== [0-9]+ cmdline$" "$1.proc" | grep -q -E "(^|/)$2\$"
}

test_expect_success 'setup: secrets, a git server behind a token, credential helpers, config files' '
	pw=$(cat "$CAAS_REGISTRY_PASSWORD_FILE") && user=$CAAS_REGISTRY_USER &&
	: >secrets &&
	add_secret "$pw" &&
	add_secret "$(printf "%s:%s" "$user" "$pw" | base64 -w0)" &&
	add_secret "$(printf "%s" "$pw" | base64 -w0)" &&
	token=tok-$$-Sweep-git && add_secret "$token" && echo "$token" >git-token &&
	compose_secret=compose-$$-Sweep-value && add_secret "$compose_secret" &&
	printf "%s" "$compose_secret" >compose-secret &&

	mkdir -p "$srv/www/git" "$srv/repos" && ln -s /usr/lib/git-core/git-http-backend "$srv/www/git/http" &&
	git init -q --bare -b main "$srv/repos/app.git" &&
	git clone -q "$srv/repos/app.git" work 2>/dev/null &&
	printf "FROM busybox:latest\nARG TOKEN\nRUN test -n \"\$TOKEN\"\nCOPY v /v\nCMD [\"sleep\", \"3600\"]\n" >work/Dockerfile &&
	echo swept >work/v && git -C work add -A && git -C work commit -qm sweep &&
	git -C work push -q origin HEAD:main &&
	chmod -R a+rX "$srv" &&
	{ GIT_PROJECT_ROOT=$srv/repos GIT_HTTP_EXPORT_ALL=1 GIT_CONFIG_COUNT=1 \
		GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0="*" \
		python3 "$TEST_DATA/fakes/git-http.py" git-token "$srv/www" >port 2>server.log 5>&- 6>&- &
		server=$!; } &&
	for _ in $(seq 50); do test -s port && break; sleep 0.1; done &&
	url=http://127.0.0.1:$(cat port)/git/http/app.git &&

	# a credential helper that records its argv and environment, and lingers so that
	# the sampler sees it; it answers with the registry account
	mkdir bin && cat >bin/docker-credential-sweep <<-EOF &&
	#!/bin/sh
	{ echo "== argv"; printf "%s\n" "\$0" "\$@"; echo "== environ"; env; } >>"$PWD/helper.log"
	read -r server
	sleep 0.3
	case \$1 in
	get) printf "{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}\n" "\$server" "$user" "\$(cat "$CAAS_REGISTRY_PASSWORD_FILE")" ;;
	*) exit 1 ;;
	esac
	EOF
	chmod +x bin/docker-credential-sweep &&
	mkdir cfg-auths cfg-helpers cfg-store &&
	printf "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}" "$reg" \
		"$(printf "%s:%s" "$user" "$pw" | base64 -w0)" >cfg-auths/config.json &&
	printf "{\"credHelpers\": {\"%s\": \"sweep\"}}" "$reg" >cfg-helpers/config.json &&
	printf "{\"credsStore\": \"sweep\"}" >cfg-store/config.json &&
	! grep -F -x "" secrets
'

test_expect_success 'build-runner: --git-token-file, --registry-password-file, traced' '
	sweep br1 env CS_TRACE_HTTP=1 caas-build-runner --repo "$url" --git-token-file git-token \
		--image $img --tag 1 --registry $reg --push --registry-user "$user" \
		--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" --build-arg TOKEN=x \
		--json br1.json -vv &&
	echo 0 | test_cmp - br1.rc &&
	cat br1.out br1.err | grep "verified in the registry" &&
	grep -q "<redacted>" br1.err &&
	grep -q "caas-build-runner" br1.proc &&
	docker image inspect $reg/$img:1 >br1.inspect &&
	jq -e ".[0].Config.Labels[\"org.opencontainers.image.source\"] == \"$url\"" br1.inspect &&
	docker history --no-trunc $reg/$img:1 >br1.history &&
	no_secret br1.out br1.err br1.json br1.proc br1.inspect br1.history
'

test_expect_success 'build-runner: --repo with user:token@, --password-stdin; the source label masked' '
	authurl=http://x-token:$token@127.0.0.1:$(cat port)/git/http/app.git &&
	SWEEP_IN=$CAAS_REGISTRY_PASSWORD_FILE sweep br2 env CS_TRACE_HTTP=1 caas-build-runner \
		--repo "$authurl" --image $img --tag 2 --registry $reg --push --registry-user "$user" \
		--password-stdin --build-arg TOKEN=x --json br2.json -vv &&
	echo 0 | test_cmp - br2.rc &&
	docker image inspect $reg/$img:2 >br2.inspect &&
	jq -e ".[0].Config.Labels[\"org.opencontainers.image.source\"] == \"$url\"" br2.inspect &&
	jq -e ".source_url // .source // \"\" | tostring | contains(\"$token\") | not" br2.json &&
	no_secret br2.out br2.err br2.json br2.inspect
'

# The --repo URL is the tool's own argv: it stays readable in /proc/PID/cmdline
# unless main() overwrites it after copying (STYLE.md section 6; curl's cleanarg).
# The first sample of the tool may fall between exec and the scrub (a few ms, as with
# curl's cleanarg); every later one must be clean. The samples of "env" before its exec
# are the test's own command line.
test_expect_success 'build-runner: a --repo password is not left in /proc/PID/cmdline' '
	awk "/^== [0-9]+ cmdline\$/ { getline a0; tool = a0 ~ /caas-build-runner\$/; if (tool) n++;
		if (tool && n > 1) print a0; next }
		/^== [0-9]+ environ\$/ { tool = 0; next }
		tool && n > 1 { print }" br2.proc >br2.cmdline &&
	test -s br2.cmdline &&
	no_secret br2.cmdline
'

# The Ansible module's check mode answers with the plan; its "source" showed the --repo
# value as given until 4777241.
test_expect_success 'build-runner module check mode: the plan shows no --repo token' '
	printf "{\"repo\": \"%s\", \"image\": \"%s\", \"_ansible_check_mode\": true}\n" \
		"$authurl" "$img" >check-args.json &&
	caas-build-runner check-args.json >check.out 2>check.err &&
	jq -e ".check_mode == true" check.out &&
	no_secret check.out check.err
'

for cfg in auths helpers store; do
	test_expect_success "build-runner: credentials from config.json ($cfg); the helper gets no secret in argv or environ" '
		: >helper.log &&
		PATH=$PWD/bin:$PATH DOCKER_CONFIG=$PWD/cfg-$cfg sweep br-$cfg env CS_TRACE_HTTP=1 \
			caas-build-runner --context work --image $img --tag $cfg --registry $reg --push \
			--build-arg TOKEN=x --json br-$cfg.json -vv &&
		echo 0 | test_cmp - br-$cfg.rc &&
		if [ $cfg = auths ]; then
			test ! -s helper.log
		else
			grep -x "get" helper.log && sampled br-$cfg docker-credential-sweep
		fi &&
		no_secret br-$cfg.out br-$cfg.err br-$cfg.json br-$cfg.proc helper.log
	'
done

test_expect_success 'build-runner: ssh:// with --ssh-key (libssh2 in process: no ssh child)' '
	port=$((20000 + ($$ + 7) % 10000)) &&
	mkdir -p /run/sshd sshd "$HOME/.ssh" &&
	ssh-keygen -q -t ed25519 -N "" -f sshd/host_key &&
	ssh-keygen -q -t ed25519 -N "" -f client_key &&
	cp client_key.pub sshd/authorized_keys &&
	cat >sshd/config <<-EOF &&
	Port $port
	ListenAddress 127.0.0.1
	HostKey $PWD/sshd/host_key
	AuthorizedKeysFile $PWD/sshd/authorized_keys
	PidFile $PWD/sshd/pid
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	StrictModes no
	UsePAM no
	EOF
	/usr/sbin/sshd -f "$PWD/sshd/config" -E "$PWD/sshd/log" &&
	test_when_finished "kill \$(cat sshd/pid) 2>/dev/null; :" &&
	for _ in $(seq 50); do test -s sshd/pid && break; sleep 0.1; done &&
	printf "[127.0.0.1]:%s %s\n" "$port" "$(cut -d" " -f1,2 sshd/host_key.pub)" >"$HOME/.ssh/known_hosts" &&
	# every line of the private key body is a secret
	sed -e "/PRIVATE KEY/d" client_key >>secrets &&
	sweep ssh env CS_TRACE_HTTP=1 caas-build-runner --repo "ssh://root@127.0.0.1:$port$PWD/work" \
		--ssh-key client_key --image $img --tag ssh --build-arg TOKEN=x --json ssh.json -vv &&
	echo 0 | test_cmp - ssh.rc &&
	test "$(grep -c "^== [0-9]* cmdline$" ssh.proc)" -gt 0 &&
	# no ssh program ran (under ASan, LeakSanitizer clones a tracer: a child without argv)
	! sampled ssh ssh &&
	docker image inspect $img:ssh >ssh.inspect &&
	no_secret ssh.out ssh.err ssh.json ssh.proc ssh.inspect
'

test_expect_success 'validator: an image read from the registry, --registry-password-file, --json, --junit' '
	docker rmi $reg/$img:2 >/dev/null &&
	sweep val1 env CS_TRACE_HTTP=1 caas-validator --no-processes --no-cache --level non-production \
		--registry-user "$user" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--registry-ca "$CAAS_REGISTRY_CA" --json val1.json --junit val1.xml -vv $reg/$img:2 &&
	echo 0 | test_cmp - val1.rc &&
	jq -e ".Source.path == \"registry\"" val1.json &&
	no_secret val1.out val1.err val1.json val1.xml val1.proc
'

test_expect_success 'validator: registry credentials from a credential helper' '
	: >helper.log &&
	PATH=$PWD/bin:$PATH DOCKER_CONFIG=$PWD/cfg-helpers sweep val2 env CS_TRACE_HTTP=1 \
		caas-validator --no-processes --no-cache --level non-production \
		--registry-ca "$CAAS_REGISTRY_CA" --json val2.json --junit val2.xml -vv $reg/$img:2 &&
	echo 0 | test_cmp - val2.rc &&
	grep -x "get" helper.log && sampled val2 docker-credential-sweep &&
	no_secret val2.out val2.err val2.json val2.xml val2.proc helper.log
'

test_expect_success 'validator: the processes check (it runs the image)' '
	sweep val3 caas-validator --level non-production --observe 1 --json val3.json \
		--junit val3.xml -vv $reg/$img:1 &&
	echo 0 | test_cmp - val3.rc &&
	no_secret val3.out val3.err val3.json val3.xml val3.proc
'

test_expect_success 'deployer (swarm): --registry-password-file and a Compose secret file' '
	test_when_finished "docker stack rm $app >/dev/null 2>&1; true" &&
	cat >stack.yml <<-EOF &&
	services:
	  web:
	    image: $reg/$img:1
	    secrets: [s]
	    stop_grace_period: 1s
	secrets:
	  s:
	    file: ./compose-secret
	EOF
	sweep dep1 env CS_TRACE_HTTP=1 caas-deployer --coe swarm --bay "$bay" --app $app -f stack.yml \
		--registry-user "$user" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--timeout 90 --stable-for 1 --json dep1.json -vv &&
	echo 0 | test_cmp - dep1.rc &&
	grep -i "x-registry-auth" dep1.err &&
	docker service inspect ${app}_web >dep1.inspect &&
	no_secret dep1.out dep1.err dep1.json dep1.proc dep1.inspect
'

test_expect_success 'deployer (swarm): registry credentials from a credential helper' '
	test_when_finished "docker stack rm $app-h >/dev/null 2>&1; true" &&
	: >helper.log &&
	PATH=$PWD/bin:$PATH DOCKER_CONFIG=$PWD/cfg-store sweep dep2 env CS_TRACE_HTTP=1 \
		caas-deployer --coe swarm --bay "$bay" --app $app-h -f stack.yml \
		--timeout 90 --stable-for 1 --json dep2.json -vv &&
	echo 0 | test_cmp - dep2.rc &&
	grep -x "get" helper.log && sampled dep2 docker-credential-sweep &&
	no_secret dep2.out dep2.err dep2.json dep2.proc helper.log
'

test_expect_success 'deployer (kubernetes): kubeconfig token, registry password: pull Secret made, nothing shown' '
	. "$TOP/tests/integration/k8s-lib.sh" &&
	add_secret "$(cat "$CAAS_K8S_TOKEN_FILE")" &&
	ns=$CS_TEST_PREFIX-sweep &&
	kubectl create namespace $ns >/dev/null &&
	test_when_finished "kubectl delete namespace $ns --wait=false >/dev/null 2>&1; true" &&
	cat >k.yaml <<-EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web}
	spec:
	  replicas: 1
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec:
	      containers: [{name: web, image: "$reg/$img:1"}]
	EOF
	for kc in "$CAAS_K8S_KUBECONFIG" "$CAAS_K8S_TOKEN_KUBECONFIG"; do
		sweep dep3 env CS_TRACE_HTTP=1 caas-deployer --coe kubernetes --kubeconfig "$kc" \
			--namespace $ns --app $app -f k.yaml --registry-user "$user" \
			--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" --timeout 60 \
			--stable-for 1 --json dep3.json -vv &&
		{ echo 0 | test_cmp - dep3.rc || { cat dep3.err; false; }; } &&
		no_secret dep3.out dep3.err dep3.json dep3.proc || return 1
	done &&
	pull=$(kubectl -n $ns get deploy web -o jsonpath="{.spec.template.spec.imagePullSecrets[*].name}") &&
	test -n "$pull" &&
	# the pull Secret as the deployer sent it (base64 of a config.json that holds base64 of
	# user:password): in no output either
	dcj=$(kubectl -n $ns get secret "$pull" -o jsonpath="{.data.\.dockerconfigjson}") &&
	test -n "$dcj" && add_secret "$dcj" &&
	add_secret "$(printf "%s" "$dcj" | base64 -d | jq -r ".auths[].auth")" &&
	no_secret dep3.out dep3.err dep3.json dep3.proc
'

test_expect_success 'cleanup: images, the git server' '
	kill "$server" && server= && rm -rf "$srv" &&
	docker rmi -f $reg/$img:1 $reg/$img:2 $reg/$img:helpers $reg/$img:store $reg/$img:auths \
		$img:ssh >/dev/null 2>&1;
	true
'

test_done
