#!/usr/bin/env bash
test_description='make install: the installed tools find the policies make install put beside them, whatever the order of the commands'
. "$(dirname "$0")/test-lib.sh"

# A copy of the sources, so that rebuilding with another PREFIX leaves the tree under test alone.
test_expect_success 'a copy of the sources' '
	mkdir src &&
	(cd "$TOP" && tar -cf - --exclude="*.o" --exclude="*.a" --exclude=lib/.datadir \
		Makefile lib build-runner validator deployer playbooks) | tar -xf - -C src &&
	rm -f src/build-runner/caas-build-runner src/validator/caas-validator src/deployer/caas-deployer
'

# level LEVEL VALIDATOR: runs the validator on busybox with a policy level; a policy that
# is not found is exit 2 with "not found", anything else found the policy.
level_found() {
	"$2" --level "$1" --no-processes busybox:latest >out 2>err
	rc=$?
	if grep "not found" err; then
		return 1
	fi
	test "$rc" -eq 0 || test "$rc" -eq 3
}

test_expect_success 'make, then make install PREFIX=/usr DESTDIR=...: the installed validator finds its policies' '
	make -C src -s -j2 >/dev/null &&
	make -C src -s install PREFIX=/usr DESTDIR="$PWD/pkg" >/dev/null &&
	test -f pkg/usr/share/caas-devops/policies/filch.json &&
	test -f pkg/usr/share/caas-devops/policies/filch-insecure.json &&
	level_found production pkg/usr/bin/caas-validator &&
	level_found non-production pkg/usr/bin/caas-validator &&
	test -f pkg/usr/share/caas-devops/playbooks/all-in-one.yml &&
	test "$(readlink pkg/usr/share/caas-devops/playbooks/library/caas_build)" = ../../../../bin/caas-build-runner
'

test_expect_success 'make install: man pages and bash completions generated from the option tables' '
	for t in caas-build-runner caas-validator caas-deployer; do
		test -f pkg/usr/share/man/man1/$t.1 &&
		MANWIDTH=80 man -l pkg/usr/share/man/man1/$t.1 >$t.txt 2>/dev/null &&
		grep -q "EXIT STATUS" $t.txt && grep -q "ANSIBLE MODULE" $t.txt &&
		test -f pkg/usr/share/bash-completion/completions/$t &&
		bash -n pkg/usr/share/bash-completion/completions/$t || return 1
	done &&
	grep -q -- "--insecure-registry" caas-build-runner.txt &&
	grep -q "kubernetes" caas-deployer.txt
'

test_expect_success 'the data directory is compiled in again when PREFIX changes' '
	make -C src -s install PREFIX="$PWD/prefix" >/dev/null &&
	grep -a -q "$PWD/prefix/share/caas-devops" prefix/bin/caas-validator &&
	! grep -a -q "^/usr/share/caas-devops" prefix/bin/caas-validator &&
	mkdir elsewhere &&
	cp prefix/bin/caas-validator elsewhere/ &&
	level_found production elsewhere/caas-validator
'

test_expect_success 'without any installed policy: exit 2 naming where it looked' '
	mkdir lonely &&
	cp prefix/bin/caas-validator lonely/ &&
	rm -rf prefix &&
	test_expect_code 2 lonely/caas-validator --level production --no-processes busybox:latest 2>err &&
	grep "filch.json. not found" err
'

test_done
