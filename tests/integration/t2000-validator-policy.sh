#!/usr/bin/env bash
test_description='caas-validator: command line, policy files and their errors (exit 2)'
. "$(dirname "$0")/test-lib.sh"

pol=$TEST_DATA/validator/policies

test_expect_success '--help documents the options and the exit codes' '
	caas-validator --help >out &&
	for w in --policy --level --archive --no-processes --observe --json --junit \
		"0    valid" "2    bad input" "3    not valid" "6    engine"; do
		grep -e "$w" out || return 1
	done
'

test_expect_success 'usage errors: exit 2' '
	test_expect_code 2 caas-validator 2>err &&
	grep "IMAGE is required (see --help)" err &&
	test_expect_code 2 caas-validator --bogus busybox:latest 2>err &&
	test_expect_code 2 caas-validator --policy x.json --level production busybox:latest 2>err &&
	grep "exclude each other" err &&
	test_expect_code 2 caas-validator --level staging busybox:latest 2>err &&
	grep -- "--level .staging.: want production or non-production" err &&
	test_expect_code 2 caas-validator --observe -1 busybox:latest 2>err &&
	grep -- "--observe .-1.: want a number" err
'

test_expect_success 'a malformed policy: exit 2 naming the file and the line' '
	test_expect_code 2 caas-validator --policy "$pol/malformed.json" --no-processes \
		busybox:latest >out 2>err &&
	grep "policy .*malformed.json.: line 1:" err &&
	! test -s out
'

test_expect_success 'an unknown section: exit 2 naming the file and the section' '
	test_expect_code 2 caas-validator --policy "$pol/unknown-section.json" busybox:latest 2>err &&
	grep "policy .*unknown-section.json.: unknown section .binaries." err
'

test_expect_success 'an unknown list: exit 2 naming the section and the list' '
	test_expect_code 2 caas-validator --policy "$pol/unknown-list.json" busybox:latest 2>err &&
	grep "policy .*unknown-list.json.: files: unknown list .allowed." err
'

test_expect_success 'a regex that does not compile: exit 2 naming the section and the entry' '
	test_expect_code 2 caas-validator --policy "$pol/bad-regex.json" busybox:latest 2>err &&
	grep "policy .*bad-regex.json.: files.forbidden\[1\] \"curl(\": invalid regex" err
'

test_expect_success 'a policy that does not exist: exit 2' '
	test_expect_code 2 caas-validator --policy nope.json busybox:latest 2>err &&
	grep "cannot read policy .nope.json." err
'

test_expect_success 'an image the engine does not know: exit 2' '
	test_expect_code 2 caas-validator --no-processes $CS_TEST_PREFIX-none:1 2>err &&
	grep "no such image" err
'

test_expect_success 'an unreachable engine: exit 6' '
	test_expect_code 6 env DOCKER_HOST=unix://$PWD/no.sock caas-validator busybox:latest 2>err &&
	grep "cannot connect to the Docker engine" err
'

test_expect_success 'an archive that is not a docker save tarball: exit 2' '
	echo "not a tar" >bad.tar &&
	test_expect_code 2 caas-validator --no-processes --archive bad.tar x 2>err &&
	grep "bad.tar" err &&
	tar -cf empty.tar --files-from /dev/null &&
	test_expect_code 2 caas-validator --no-processes --archive empty.tar x 2>err &&
	grep "no manifest.json" err
'

test_expect_success 'both shipped levels load; production flags busybox applets' '
	test_expect_code 3 caas-validator --level production --no-processes busybox:latest >out &&
	grep "^file /bin/wget is forbidden (files.forbidden \"wget\")$" out &&
	grep "^file /bin/nc is forbidden (files.forbidden \"nc\")$" out &&
	! grep "/bin/sync" out &&
	grep "will not be pushed to the private registry" out &&
	caas-validator --level non-production --no-processes busybox:latest >out &&
	grep "is valid: it can be pushed" out
'

test_done
