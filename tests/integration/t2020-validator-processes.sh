#!/usr/bin/env bash
test_description='caas-validator runs the image in a sandbox and samples its processes'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-val
pol=$TEST_DATA/validator/policies/processes.json

# The validation containers of IMAGE: other jobs on the engine may be validating other images.
val_containers() { # [-a] IMAGE
	local -a all=()
	[ "$1" != -a ] || { all=(-a); shift; }
	docker ps "${all[@]}" -q --filter name=cs-val- \
		--filter "ancestor=$(docker image inspect -f "{{.Id}}" "$1")"
}

no_validation_container() { # IMAGE
	test -z "$(val_containers -a "$1")"
}

test_expect_success 'setup: an image starting processes named ssh and ssh-agent' '
	docker build -q -t $img-ssh:1 "$TEST_DATA/validator/images/ssh" >/dev/null
'

test_expect_success 'ssh is reported, ssh-agent is not, and no container is left' '
	test_expect_code 3 caas-validator --policy "$pol" --observe 2 --json r.json --junit r.xml \
		$img-ssh:1 >out &&
	grep "^process ssh (/bin/sh /usr/bin/ssh) is forbidden (processes.forbidden \"ssh\")$" out &&
	! grep "process ssh-agent" out &&
	jq -e ".violations == [{\"section\": \"processes\", \"item\": \"/bin/sh /usr/bin/ssh\", \"rule\": \"ssh\", \"process\": \"ssh\"}]" r.json &&
	xmllint --noout r.xml &&
	no_validation_container $img-ssh:1
'

wait_for_container() { # IMAGE
	for i in $(seq 100); do
		test -n "$(val_containers "$1")" && return 0
		sleep 0.1
	done
	return 1
}

test_expect_success 'with --archive, the processes still come from the engine' '
	docker save -o ssh.tar $img-ssh:1 &&
	test_expect_code 3 caas-validator --policy "$pol" --observe 1 --archive ssh.tar $img-ssh:1 >out &&
	grep "^process ssh (/bin/sh /usr/bin/ssh) is forbidden" out &&
	no_validation_container $img-ssh:1
'

test_expect_success 'the sandbox: no network, no capabilities, no-new-privileges, limits' '
	caas-validator --policy "$pol" --observe 60 $img-ssh:1 >out 2>err &
	pid=$! &&
	test_when_finished "kill $pid 2>/dev/null; wait $pid; :" &&
	wait_for_container $img-ssh:1 &&
	docker inspect -f "{{.HostConfig.NetworkMode}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.AutoRemove}}" \
		$(val_containers $img-ssh:1) >hc &&
	cat hc &&
	grep "^none \[ALL\] \[no-new-privileges\] 268435456 256 1000000000 false$" hc
'

# the validation container of image $1 (another validator may run at the same time)
container_of() {
	docker ps -q --filter "ancestor=$1" --filter name=cs-val- | head -n 1
}

test_expect_success 'the sandbox seen from inside: read-only root, tmpfs, no capabilities, no network' '
	caas-validator --policy "$pol" --observe 60 $img-ssh:1 >out 2>err &
	pid=$! &&
	test_when_finished "kill $pid 2>/dev/null; wait $pid; :" &&
	for _ in $(seq 100); do test -n "$(container_of $img-ssh:1)" && break; sleep 0.1; done &&
	c=$(container_of $img-ssh:1) && test -n "$c" &&
	docker inspect -f "{{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.Tmpfs}}" "$c" >ro &&
	cat ro &&
	grep "^true {\"/run\":\"rw,nosuid,nodev,size=64m\",\"/tmp\":\"rw,nosuid,nodev,size=64m\",\"/var/tmp\":\"rw,nosuid,nodev,size=64m\"}$" ro &&
	docker exec "$c" sh -c "grep -E \"^(CapEff|CapBnd|NoNewPrivs):\" /proc/self/status; ls /sys/class/net; touch /x 2>&1 || echo root-ro; touch /tmp/x /run/x /var/tmp/x && echo tmp-rw" >inside &&
	cat inside &&
	grep -x "CapEff:	0000000000000000" inside &&
	grep -x "CapBnd:	0000000000000000" inside &&
	grep -x "NoNewPrivs:	1" inside &&
	test "$(grep -c -v -E "^(Cap|NoNew|touch|root-ro|tmp-rw)" inside)" = 1 && grep -x lo inside &&
	grep -x root-ro inside && grep -x tmp-rw inside
'

test_expect_success 'an image that cannot run read-only is observed again with a writable root' '
	printf "FROM busybox:latest\nCMD [\"sh\", \"-c\", \"mkdir -p /data && exec sleep 30\"]\n" >Dockerfile &&
	test_when_finished "docker rmi -f $img-rw:1 >/dev/null 2>&1" &&
	docker build -q -t $img-rw:1 . >/dev/null &&
	printf "{\"processes\": {\"forbidden\": [\"sleep\"]}}\n" >sleep.json &&
	test_expect_code 3 caas-validator -v --policy sleep.json --observe 3 --json rw.json $img-rw:1 >out 2>err &&
	cat out err >all &&
	cat all &&
	grep "stopped with an error with a read-only root: observing it again with a writable root" err &&
	grep "^process sleep (sleep 30) is forbidden" all &&
	! grep "note: the container exited" all &&
	test -z "$(docker ps -aq --filter ancestor=$img-rw:1)"
'

test_expect_success 'a container that exits early is reported with its exit code, not as a failure' '
	printf "FROM busybox:latest\nCMD [\"sh\", \"-c\", \"exit 7\"]\n" >Dockerfile &&
	test_when_finished "docker rmi -f $img-exit:1 >/dev/null 2>&1" &&
	docker build -q -t $img-exit:1 . >/dev/null &&
	caas-validator --policy "$pol" --observe 3 $img-exit:1 >out 2>err &&
	grep "^note: the container exited after .* with code 7" err &&
	no_validation_container $img-exit:1
'

test_expect_success 'a command that cannot start, or none: a note, not a failure' '
	printf "FROM busybox:latest\nCMD [\"/nonexistent\"]\n" >Dockerfile &&
	test_when_finished "docker rmi -f $img-nostart:1 $img-nocmd:1 >/dev/null 2>&1" &&
	docker build -q -t $img-nostart:1 . >/dev/null &&
	caas-validator --policy "$pol" $img-nostart:1 >out 2>err &&
	grep "^note: the container did not start: .*/nonexistent" err &&
	no_validation_container $img-nostart:1 &&
	mkdir nocmd && cp /bin/busybox nocmd/ &&
	printf "FROM scratch\nCOPY busybox /bin/busybox\n" >nocmd/Dockerfile &&
	docker build -q -t $img-nocmd:1 nocmd >/dev/null &&
	caas-validator --policy "$pol" $img-nocmd:1 >out 2>err &&
	grep "^note: the image has no command: no process to observe" err &&
	no_validation_container $img-nocmd:1
'

test_expect_success 'a static failure stops the observation at once and removes the container' '
	mkdir baddb && printf "not a dpkg database\n" >baddb/status &&
	printf "FROM busybox:latest\nCOPY status /var/lib/dpkg/status\nCMD [\"sleep\", \"300\"]\n" >baddb/Dockerfile &&
	test_when_finished "docker rmi -f $img-baddb:1 >/dev/null 2>&1" &&
	docker build -q -t $img-baddb:1 baddb >/dev/null &&
	start=$(date +%s) &&
	test_expect_code 2 caas-validator --policy "$pol" --observe 60 $img-baddb:1 >out 2>err &&
	test $(( $(date +%s) - start )) -le 10 &&
	grep "cannot parse package database .var/lib/dpkg/status.: line 1" err &&
	no_validation_container $img-baddb:1
'

test_expect_success '--no-processes does not create a container' '
	caas-validator --policy "$pol" --no-processes $img-ssh:1 >out &&
	grep "processes skipped" out
'

test_expect_success 'SIGTERM during the observation: exit 143 and the container is removed' '
	caas-validator --policy "$pol" --observe 60 $img-ssh:1 >out 2>err &
	pid=$! &&
	wait_for_container $img-ssh:1 &&
	kill -TERM $pid &&
	{ wait $pid; rc=$?; } ; test $rc = 143 &&
	grep "interrupted" err &&
	no_validation_container $img-ssh:1
'

test_expect_success 'SIGINT: exit 130 and the container is removed' '
	caas-validator --policy "$pol" --observe 60 $img-ssh:1 >out 2>err &
	pid=$! &&
	wait_for_container $img-ssh:1 &&
	kill -INT $pid &&
	{ wait $pid; rc=$?; } ; test $rc = 130 &&
	no_validation_container $img-ssh:1
'

test_expect_success 'cleanup' '
	docker rmi -f $img-ssh:1 >/dev/null
'

test_done
