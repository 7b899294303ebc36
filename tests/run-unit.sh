#!/bin/sh
# Runs each unit-test binary given as argument (under valgrind when VALGRIND=1)
# and prints the total as "N passed, N failed".
passed=0 failed=0
for t in "$@"; do
	if [ -n "$VALGRIND" ]; then
		out=$(valgrind -q --leak-check=full --error-exitcode=99 --suppressions="$(dirname "$0")/valgrind.supp" "$t" 2>&1); rc=$?
	else
		out=$("$t" 2>&1); rc=$?
	fi
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p' | tail -1)
	[ -n "$p" ] || { p=0; f=1; echo "$t: no report line (exit $rc)"; }
	[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { f=1; echo "$t: exit $rc"; }
	passed=$((passed + p)) failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
