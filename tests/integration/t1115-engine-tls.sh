#!/usr/bin/env bash
test_description='the engine over TCP with TLS: verified against DOCKER_CERT_PATH, refused from an unknown CA (all three tools, and the docker CLI as the peer)'
. "$(dirname "$0")/test-lib.sh"

# The shared engine listens only on its unix socket, and it must not be restarted. socat
# (OPENSSL-LISTEN, client certificate required, as dockerd --tlsverify) terminates TLS on a
# port of its own and relays to that socket: to a client it is the engine on tcp:// with TLS.
relay_pid=
relay_stop_() {
	local ret=$?
	[ -z "$relay_pid" ] || { kill "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null; }
	(exit "$ret")
	test_at_exit_
}
trap relay_stop_ EXIT

port= # the relay's, set by the setup
app=$CS_TEST_PREFIX-tls
img=$CS_TEST_PREFIX-tls
policy=$TOP/validator/policies/filch-insecure.json

# with_certs DIR CMD...: CMD against the relay, the certificates from DIR
with_certs() {
	local dir=$1
	shift
	env DOCKER_HOST="tcp://127.0.0.1:$port" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$PWD/$dir" "$@"
}

test_expect_success 'setup: a CA, the engine'"'"'s and a client'"'"'s certificates, an unknown CA; the TLS relay' '
	for ca in good other; do
		openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca-ca.key -out $ca-ca.pem -days 2 \
			-subj "/CN=$ca test CA" 2>/dev/null || return 1
	done &&
	printf "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n" >server.cnf &&
	printf "extendedKeyUsage = clientAuth\n" >client.cnf &&
	for c in server client; do
		openssl req -new -newkey rsa:2048 -nodes -keyout $c.key -out $c.csr -subj "/CN=$c" \
			2>/dev/null &&
		openssl x509 -req -in $c.csr -CA good-ca.pem -CAkey good-ca.key -CAcreateserial \
			-days 2 -extfile $c.cnf -out $c.pem 2>/dev/null || return 1
	done &&
	mkdir good unknown &&
	cp good-ca.pem good/ca.pem && cp other-ca.pem unknown/ca.pem &&
	for d in good unknown; do
		cp client.pem $d/cert.pem && cp client.key $d/key.pem || return 1
	done &&
	port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	{
		socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,cert=server.pem,key=server.key,cafile=good-ca.pem,verify=1" \
			UNIX-CONNECT:/var/run/docker.sock >relay.log 2>&1 &
	} &&
	relay_pid=$! &&
	for _ in $(seq 50); do
		with_certs good docker version --format "{{.Server.Version}}" >version 2>/dev/null && break
		sleep 0.1
	done &&
	test -s version &&
	mkdir ctx && printf "FROM busybox:latest\nRUN echo tls >/id\n" >ctx/Dockerfile &&
	printf "services:\n  a:\n    image: busybox:latest\n    command: [sleep, \"600\"]\n" >compose.yml
'

test_expect_success 'with the right CA and a client certificate: the three tools work over TLS' '
	with_certs good caas-build-runner -q --context ctx --image $img --tag 1 --json build.json &&
	test "$(jq -r .status build.json)" = ok &&
	test "$(jq -r .image_id build.json)" = "$(docker image inspect -f "{{.Id}}" $img:1)" &&
	with_certs good caas-validator -q --policy "$policy" --no-processes $img:1 &&
	test_when_finished "docker rm -f ${app}_a_1 >/dev/null 2>&1; docker network rm ${app}_default >/dev/null 2>&1; :" &&
	with_certs good caas-deployer -q --coe compose --app $app -f compose.yml --json deploy.json &&
	test "$(jq -r .status deploy.json)" = converged &&
	test "$(docker inspect -f "{{.State.Running}}" ${app}_a_1)" = true
'

# expect_refused TOOL ARGS...: exit 6 within 5 s, one error line naming the certificate
# problem and the CA file it was checked against
expect_refused() {
	local t0 t1
	t0=$(date +%s)
	test_expect_code 6 with_certs unknown "$@" >out 2>err || return 1
	t1=$(date +%s)
	cat err
	test "$((t1 - t0))" -lt 5 &&
		grep -E "error: cannot connect to the Docker engine at tcp://127.0.0.1:$port: its TLS certificate is refused: .*certificate.* \(checked against .$PWD/unknown/ca.pem.\)" err &&
		test "$(grep -c "error:" err)" = 1
}

test_expect_success 'an engine certificate from an unknown CA: exit 6 at once in each tool, the CA file named (the docker CLI refuses it too)' '
	test_must_fail with_certs unknown docker version 2>cli.err &&
	grep "x509: certificate signed by unknown authority" cli.err &&
	expect_refused caas-build-runner --context ctx --image $img --tag 2 &&
	test_must_fail docker image inspect $img:2 >/dev/null 2>&1 &&
	expect_refused caas-validator --policy "$policy" --no-processes $img:1 &&
	expect_refused caas-deployer --coe compose --app $app-2 -f compose.yml &&
	test -z "$(docker ps -aq --filter "name=${app}-2_")"
'

test_expect_success 'the TLS port without DOCKER_TLS_VERIFY (plain HTTP, as the docker CLI does): exit 6' '
	test_must_fail env DOCKER_HOST=tcp://127.0.0.1:$port docker version >/dev/null 2>&1 &&
	test_expect_code 6 env DOCKER_HOST=tcp://127.0.0.1:$port caas-validator --no-processes $img:1 2>err &&
	grep "error: cannot connect to the Docker engine at tcp://127.0.0.1:$port" err
'

test_done
