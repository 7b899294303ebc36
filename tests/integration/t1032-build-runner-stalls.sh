#!/usr/bin/env bash
test_description='caas-build-runner: SIGTERM stops it promptly while a git server, a registry or a credential helper hangs'
. "$(dirname "$0")/test-lib.sh"

name=$CS_TEST_PREFIX-stall

# Wait (up to 30 s) until file $1 has a line matching $2.
wait_for_line() {
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le 300 ] || return 1
		sleep 0.1
	done
}

# term_after DELAY ARGS...: run caas-build-runner ARGS in the background, send
# SIGTERM after DELAY seconds, and write its exit code and the seconds it took
# to exit to rc and secs.
term_after() {
	local delay=$1 pid start end
	shift
	caas-build-runner "$@" <&0 >out 2>&1 &
	pid=$!
	sleep "$delay"
	start=$(date +%s.%N)
	kill -TERM "$pid"
	wait "$pid"
	echo $? >rc
	end=$(date +%s.%N)
	echo "$end - $start" | bc >secs
	echo "exit $(cat rc) after SIGTERM in $(cat secs) s"
}

test_expect_success 'setup: a context, a listener that accepts and never answers, a hanging helper' '
	mkdir app && printf "FROM busybox:latest\n" >app/Dockerfile &&
	echo not-the-password >pw || return 1
	python3 -c "import socket, time
s = socket.socket()
s.bind((\"127.0.0.1\", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
	held.append(s.accept()[0])" >port &
	echo $! >listener.pid &&
	wait_for_line port "^[0-9]" &&
	mkdir bin helper-cfg &&
	printf "#!/bin/sh\necho \$\$ >\"%s/helper.pid\"\nexec sleep 600\n" "$PWD" >bin/docker-credential-hang &&
	chmod +x bin/docker-credential-hang &&
	echo "{\"credsStore\": \"hang\"}" >helper-cfg/config.json
'

test_expect_success 'a git server that never answers (clone phase): SIGTERM exits 143 within 3 s, no work directory left' '
	mkdir tmp &&
	TMPDIR=$PWD/tmp term_after 2 --repo "https://127.0.0.1:$(cat port)/app.git" --image $name &&
	test "$(cat rc)" = 143 &&
	test "$(echo "$(cat secs) < 3" | bc)" = 1 &&
	grep "interrupted" out &&
	test -z "$(ls tmp)"
'

test_expect_success 'a registry that never answers: SIGTERM at 3 s exits 143 within 3 s' '
	test_when_finished "kill $(cat listener.pid)" &&
	term_after 3 --context app --image $name --registry 127.0.0.1:$(cat port) --push \
		--registry-user u --registry-password-file pw &&
	test "$(cat rc)" = 143 &&
	test "$(echo "$(cat secs) < 3" | bc)" = 1 &&
	grep "interrupted" out && ! grep "sending build context" out
'

test_expect_success 'a credential helper that never answers: SIGTERM at 2 s exits 143 within 3 s, helper killed' '
	PATH=$PWD/bin:$PATH DOCKER_CONFIG=$PWD/helper-cfg term_after 2 --context app --image $name \
		--registry "$CAAS_REGISTRY" --push &&
	test "$(cat rc)" = 143 &&
	test "$(echo "$(cat secs) < 3" | bc)" = 1 &&
	grep "interrupted while credential helper .docker-credential-hang. ran" out &&
	test -s helper.pid && ! kill -0 "$(cat helper.pid)" 2>/dev/null
'

test_expect_success '--password-stdin with a stdin that never ends: SIGTERM exits 143' '
	mkfifo fifo || return 1
	sleep 30 >fifo &
	writer=$!
	test_when_finished "kill $writer" &&
	term_after 1 --context app --image $name --registry "$CAAS_REGISTRY" --push \
		--registry-user u --password-stdin <fifo &&
	test "$(cat rc)" = 143 && grep "interrupted while reading" out
'

test_done
