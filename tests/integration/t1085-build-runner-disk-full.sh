#!/usr/bin/env bash
test_description='caas-build-runner --repo with the work directory (TMPDIR) on a full file system'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-full

# mount_small DIR OPTIONS: a tmpfs on DIR, unmounted when the test ends.
mount_small() {
	mkdir -p "$1" && mount -t tmpfs -o "$2" "cs-test-tmpfs" "$1"
}

test_expect_success 'setup: repositories bigger than 1 MiB (packed and checked out)' '
	git init -q random && head -c 3000000 /dev/urandom >random/big.bin &&
	printf "FROM busybox:latest\nCOPY big.bin /\n" >random/Dockerfile &&
	git -C random add . && git -C random commit -qm random &&
	git init -q zeros && head -c 5000000 /dev/zero >zeros/zeros.bin &&
	printf "FROM busybox:latest\nCOPY zeros.bin /\n" >zeros/Dockerfile &&
	git -C zeros add . && git -C zeros commit -qm zeros &&
	test "$(du -sk zeros/.git | cut -f1)" -lt 1024
'

test_expect_success 'the clone does not fit: exit 5, the work directory named, nothing left' '
	test_when_finished "umount small" &&
	mount_small small size=1m &&
	TMPDIR=$PWD/small test_expect_code 5 caas-build-runner --repo "$PWD/random" --image $img >out 2>err &&
	test "$(wc -l <err)" = 1 &&
	grep "error: cannot clone .*: the work directory .$PWD/small/caas-build-[^/]*. is full: .*No space left on device" err &&
	test -z "$(ls -A small)" &&
	! grep "sending build context" out
'

test_expect_success 'the checkout does not fit (a small pack): exit 5, named, nothing left' '
	test_when_finished "umount small" &&
	mount_small small size=1m &&
	TMPDIR=$PWD/small test_expect_code 5 caas-build-runner --repo "file://$PWD/zeros" --image $img >out 2>err &&
	test "$(wc -l <err)" = 1 &&
	grep "error: cannot check out .file://$PWD/zeros.: the work directory .$PWD/small/caas-build-[^/]*. is full: " err &&
	test -z "$(ls -A small)"
'

test_expect_success 'no inode left for the work directory itself: exit 5, TMPDIR named, nothing left' '
	test_when_finished "umount small" &&
	mount_small small size=1m,nr_inodes=1 &&
	TMPDIR=$PWD/small test_expect_code 5 caas-build-runner --repo "$PWD/random" --image $img >out 2>err &&
	grep "error: cannot create a work directory in .$PWD/small.: No space left on device" err &&
	test -z "$(ls -A small)"
'

test_expect_success 'the same repository builds with room enough (the failure was the space)' '
	test_when_finished "umount big; docker rmi -f $img:1 >/dev/null 2>&1" &&
	mount_small big size=32m &&
	TMPDIR=$PWD/big caas-build-runner --repo "file://$PWD/zeros" --image $img --tag 1 >out 2>&1 &&
	test -z "$(ls -A big)"
'

test_done
