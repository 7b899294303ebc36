#!/bin/bash
# Runs the integration tests tests/integration/t[0-9]*.sh one after the other (they
# share one engine and one registry) and prints "integration: N passed, N failed"
# as its last line; exits non-zero when a test failed.
#
#   tests/run-integration.sh [-v] [-i] [-d] [PATTERN...]
#
# A PATTERN selects the files whose name starts with it or matches it as a glob
# (t0000, t01, 't1*-deploy*'). -v, -i, -d are passed to each file (see test-lib.sh).
# CAAS_TEST_TIMEOUT (seconds, default 1200) bounds the run time of one file.
# The environment must be up: tests/env/setup.sh (make test runs it first).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/tests/integration
timeout_s=${CAAS_TEST_TIMEOUT:-1200}
opts=()
patterns=()
for a in "$@"; do
	case $a in
	-v | --verbose | -i | --immediate | -d | --debug | -x) opts+=("$a") ;;
	-*)
		echo "usage: $0 [-v] [-i] [-d] [-x] [PATTERN...]" >&2
		exit 2
		;;
	*) patterns+=("$a") ;;
	esac
done

selected() {
	local name=$1 p
	[ "${#patterns[@]}" -gt 0 ] || return 0
	for p in "${patterns[@]}"; do
		p=${p##*/}
		# shellcheck disable=SC2053 # $p is a glob on purpose
		if [[ $name == "$p"* || $name == $p || $name == $p.sh ]]; then
			return 0
		fi
	done
	return 1
}

files=()
for f in "$dir"/t[0-9]*.sh; do
	[ -f "$f" ] || continue
	if selected "$(basename "$f")"; then
		files+=("$f")
	fi
done
if [ "${#files[@]}" -eq 0 ]; then
	echo "no integration test matches: ${patterns[*]:-}" >&2
	echo "integration: 0 passed, 1 failed"
	exit 1
fi

# The Kubernetes test control plane (tests/env/k8s.sh), for the files that source
# k8s-lib.sh: started here when it is not running, and then stopped at the end, so
# nothing is left running (CAAS_K8S_KEEP=1 leaves it up); one that already ran is
# someone else's and is left alone.
k8s_started=
stop_k8s() {
	if [ -n "$k8s_started" ] && [ -z "${CAAS_K8S_KEEP:-}" ]; then
		"$top/tests/env/k8s.sh" stop
	fi
}
log=$(mktemp)
trap 'rm -f "$log"; stop_k8s' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if grep -l 'k8s-lib\.sh' "${files[@]}" >/dev/null 2>&1 && ! "$top/tests/env/k8s.sh" status >/dev/null 2>&1; then
	k8s_started=1
	"$top/tests/env/k8s.sh" start || echo "# the Kubernetes test control plane did not start"
fi
passed=0 failed=0
for f in "${files[@]}"; do
	name=$(basename "$f")
	(cd "$dir" && timeout -k 10 "$timeout_s" bash "./$name" "${opts[@]}" </dev/null) 2>&1 |
		tee "$log"
	rc=${PIPESTATUS[0]}
	summary=$(sed -n "s/^# $name: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p" "$log" |
		tail -n 1)
	if [ -z "$summary" ]; then
		if [ "$rc" -eq 124 ]; then
			echo "not ok - $name timed out after $timeout_s s"
		else
			echo "not ok - $name gave no summary line (exit $rc)"
		fi
		failed=$((failed + 1))
		continue
	fi
	p=${summary% *} n=${summary#* }
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		echo "not ok - $name exited $rc"
		n=1
	fi
	passed=$((passed + p)) failed=$((failed + n))
done

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
