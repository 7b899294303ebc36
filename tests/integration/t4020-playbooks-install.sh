#!/usr/bin/env bash
test_description='make install-playbooks (part of make install): the playbooks under PREFIX/share/caas-devops/playbooks, library/ linking to the installed executables, usable by ansible'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/playbook-lib.sh"

# (install-playbooks only copies files and makes links: it builds nothing, so the tree under
# test keeps its compiled-in data directory)
test_expect_success 'make install-playbooks PREFIX=...: the playbooks, tasks, vars and the inventory example' '
	make -C "$TOP" -s install-playbooks PREFIX="$PWD/prefix" >out &&
	pb=prefix/share/caas-devops/playbooks &&
	for f in all-in-one.yml deploy-only.yml promote.yml all-in-one-cli.yml inventory.example \
		tasks/workdirs.yml tasks/source.yml tasks/deploy.yml tasks/cleanup.yml vars/caas.yml; do
		cmp "$TOP/playbooks/$f" "$pb/$f" || return 1
	done
'

test_expect_success 'library/ holds relative links to the executables in PREFIX/bin' '
	test "$(readlink $pb/library/caas_build)" = ../../../../bin/caas-build-runner &&
	test "$(readlink $pb/library/caas_validate)" = ../../../../bin/caas-validator &&
	test "$(readlink $pb/library/caas_deploy)" = ../../../../bin/caas-deployer &&
	mkdir -p prefix/bin &&
	cp "$TOP/build-runner/caas-build-runner" "$TOP/validator/caas-validator" \
		"$TOP/deployer/caas-deployer" prefix/bin/ &&
	for m in caas_build caas_validate caas_deploy; do
		test -x "$pb/library/$m" || return 1
	done
'

test_expect_success 'ansible finds the installed modules: the playbooks pass a syntax check, a module answers' '
	for p in all-in-one deploy-only promote all-in-one-cli; do
		ansible-playbook --syntax-check -i $pb/inventory.example "$pb/$p.yml" || return 1
	done &&
	test_must_fail ansible -M "$pb/library" -i "localhost," -c local \
		-e ansible_python_interpreter=/usr/bin/python3 localhost -m caas_deploy \
		-a "{\"coe\": \"swarm\", \"app\": \"$CS_TEST_PREFIX-x\", \"file\": [\"$PWD/none.yml\"]}" >out 2>&1 &&
	cat out &&
	grep "localhost | FAILED" out &&
	grep "\"msg\": \".*none.yml" out
'

test_expect_success 'with DESTDIR the links stay relative (they resolve once installed)' '
	make -C "$TOP" -s install-playbooks PREFIX=/usr DESTDIR="$PWD/stage" >out &&
	test "$(readlink stage/usr/share/caas-devops/playbooks/library/caas_deploy)" = ../../../../bin/caas-deployer
'

test_done
