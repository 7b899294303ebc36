#!/usr/bin/env bash
test_description='caas-build-runner clones over SSH with --ssh-key from a real sshd on 127.0.0.1'
. "$(dirname "$0")/test-lib.sh"

port=$((20000 + $$ % 10000))
img=$CS_TEST_PREFIX-ssh

test_expect_success 'setup: an sshd on 127.0.0.1 with a key for this test, and a repository' '
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
	for i in $(seq 50); do test -s sshd/pid && break; sleep 0.1; done &&
	printf "[127.0.0.1]:%s %s\n" "$port" "$(cut -d" " -f1,2 sshd/host_key.pub)" >"$HOME/.ssh/known_hosts" &&
	mkdir repo && printf "FROM busybox:latest\nCOPY v /v\nCMD [\"cat\", \"/v\"]\n" >repo/Dockerfile &&
	echo over-ssh >repo/v && git -C repo init -q -b main && git -C repo add -A &&
	git -C repo commit -qm ssh
'

stop_sshd() {
	test -s sshd/pid && kill "$(cat sshd/pid)" 2>/dev/null
	return 0
}

test_expect_success 'ssh:// with --ssh-key: cloned, built, the source label without credentials' '
	test_when_finished "docker rmi -f $img:1 >/dev/null 2>&1" &&
	caas-build-runner --repo "ssh://root@127.0.0.1:$port$PWD/repo" --ssh-key client_key \
		--image $img --tag 1 >out 2>&1 &&
	test "$(docker run --rm $img:1)" = over-ssh &&
	test "$(docker image inspect -f "{{index .Config.Labels \"org.opencontainers.image.source\"}}" $img:1)" = \
		"ssh://root@127.0.0.1:$port$PWD/repo" &&
	! grep -q "PRIVATE KEY" out
'

test_expect_success 'a key the server does not accept: exit 5, clearly' '
	ssh-keygen -q -t ed25519 -N "" -f other_key &&
	test_expect_code 5 caas-build-runner --repo "ssh://root@127.0.0.1:$port$PWD/repo" --ssh-key other_key \
		--image $img --tag 2 >out 2>&1 &&
	grep "127.0.0.1" out
'

test_expect_success 'an unknown host key is refused: exit 5' '
	mv "$HOME/.ssh/known_hosts" known_hosts.saved &&
	test_when_finished "mv known_hosts.saved \"$HOME/.ssh/known_hosts\"" &&
	test_expect_code 5 caas-build-runner --repo "ssh://root@127.0.0.1:$port$PWD/repo" --ssh-key client_key \
		--image $img --tag 3 >out 2>&1
'

test_expect_success 'stop the sshd' '
	stop_sshd
'

test_done
