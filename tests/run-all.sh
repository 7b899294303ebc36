#!/bin/bash
# Runs every test: the unit tests (make check-unit), the integration tests
# (tests/run-integration.sh), a short run of each fuzz target (make fuzz-smoke)
# and the shell lint (shellcheck), and ends with one
# line "N passed, N failed" (CI reads it). Exits non-zero on any failure.
# The test environment must be up (make test runs tests/env/setup.sh first).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0 failed=0

# Adds the counts of the last "PREFIX: N passed, N failed" line of $log; when
# there is none, or the step exited non-zero without a failure counted, adds one failure.
count() {
	local prefix=$1 rc=$2 line p n
	line=$(sed -n "s/^$prefix: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p" "$log" |
		tail -n 1)
	if [ -z "$line" ]; then
		echo "$prefix: no result line (exit $rc)"
		failed=$((failed + 1))
		return
	fi
	p=${line% *} n=${line#* }
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		echo "$prefix: exited $rc"
		n=1
	fi
	passed=$((passed + p)) failed=$((failed + n))
}

echo "== unit tests"
make --no-print-directory check-unit 2>&1 | tee "$log"
count unit "${PIPESTATUS[0]}"

echo "== integration tests"
tests/run-integration.sh 2>&1 | tee "$log"
count integration "${PIPESTATUS[0]}"

echo "== fuzz smoke (the seed corpora, then a few seconds per target)"
make -j2 --no-print-directory fuzz-smoke 2>&1 | tee "$log"
count fuzz "${PIPESTATUS[0]}"

echo "== shell lint"
shopt -s globstar nullglob
lint_passed=0 lint_failed=0
for f in tests/**/*.sh bench/*.sh samples/*.sh .ci/run; do
	[ -f "$f" ] || continue
	if shellcheck "$f"; then
		lint_passed=$((lint_passed + 1))
	else
		echo "shellcheck: $f"
		lint_failed=$((lint_failed + 1))
	fi
done
# The playbooks: ansible-lint (its syntax check needs the modules: make links
# playbooks/library to the executables). The binary modules have no option spec to check
# against: its warnings saying so are left out.
ansible_lint() {
	local out rc=0
	make --no-print-directory -s playbooks || return 1
	out=$(LC_ALL=C.UTF-8 NO_COLOR=1 ansible-lint -q --profile production playbooks/ 2>&1) || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | grep -v '^WARNING  Unable to load module caas_'
	return "$rc"
}
if ansible_lint; then
	lint_passed=$((lint_passed + 1))
else
	echo "ansible-lint: playbooks/"
	lint_failed=$((lint_failed + 1))
fi
echo "lint: $lint_passed passed, $lint_failed failed"
passed=$((passed + lint_passed)) failed=$((failed + lint_failed))

echo "== C style (clang-format, banned functions)"
if make --no-print-directory style; then
	echo "style: 1 passed, 0 failed"
	passed=$((passed + 1))
else
	echo "style: 0 passed, 1 failed"
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
