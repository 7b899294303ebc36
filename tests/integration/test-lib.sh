# shellcheck shell=bash
# Integration test library of caas-devops, in the manner of git's t/test-lib.sh.
#
#   test_description='what this file tests'
#   . ./test-lib.sh
#   test_expect_success 'title' '
#           img=$CS_TEST_PREFIX-x && test_when_finished "docker rmi -f $img" &&
#           ...
#   '
#   test_done
#
# Bodies are eval'ed in the test file's shell (no subshell), so variables they set
# persist; chain their commands with &&. Each test prints "ok N - title" or
# "not ok N - title"; a failing test's body and output are shown, a passing one's
# only with -v (or CAAS_TEST_VERBOSE=1). Options of a test file:
#   -v, --verbose    show every test's output
#   -i, --immediate  stop at the first failing test
#   -d, --debug      keep the scratch directory
#   -x               trace the bodies (set -x)
#
# Environment given to the tests:
#   everything in $CAAS_TEST_STATE/env (written by tests/env/setup.sh): CAAS_REGISTRY,
#     CAAS_REGISTRY_URL, CAAS_REGISTRY_USER, CAAS_REGISTRY_PASSWORD_FILE, CAAS_REGISTRY_CA, ...
#   TOP             the repository's root
#   PATH            starts with $TOP/build-runner $TOP/validator $TOP/deployer
#   TEST_DATA       $TOP/tests/data
#   TEST_SCRATCH    a scratch directory for this file, the tests' working directory,
#                   removed when the file ends (kept with -d or CAAS_TEST_KEEP=1)
#   CS_TEST_PREFIX  cs-test-$$: prefix of every Docker resource a test makes; whatever
#                   still carries it when the file ends is removed
#   HOME            $TEST_SCRATCH (the user's ~/.docker and ~/.gitconfig are never used)
#   DOCKER_CONFIG   $TEST_SCRATCH/.docker, empty at the start
#   XDG_CACHE_HOME  $TEST_SCRATCH/.cache: the validator's layer cache starts empty in each file
#   GIT_AUTHOR_*, GIT_COMMITTER_*, GIT_CONFIG_NOSYSTEM=1, LC_ALL=C, TZ=UTC;
#                   BUILD_NUMBER and NO_COLOR are unset (tests set them when they need them)

# ---- options and paths -------------------------------------------------------------

TEST_NAME=$(basename "$0" .sh)
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST_DATA=$TOP/tests/data
CS_TEST_PREFIX=cs-test-$$
export TOP TEST_DATA CS_TEST_PREFIX

verbose=${CAAS_TEST_VERBOSE:-}
[ "$verbose" != 0 ] || verbose=
immediate=
debug=${CAAS_TEST_KEEP:-}
[ "$debug" != 0 ] || debug=
trace=
while [ $# -gt 0 ]; do
	case $1 in
	-v | --verbose) verbose=1 ;;
	-i | --immediate) immediate=1 ;;
	-d | --debug) debug=1 ;;
	-x) trace=1 ;;
	*)
		echo "usage: $0 [-v] [-i] [-d] [-x]" >&2
		exit 2
		;;
	esac
	shift
done

if [ -n "$verbose" ]; then
	echo "# $TEST_NAME: ${test_description:-}"
fi

# stdout/stderr of the file, kept on fds 5 and 6 while a body's output goes elsewhere
exec 5>&1 6>&2

test_count=0
test_passed=0
test_failed=0
test_fixed=0
test_broken=0
test_cleanup=
in_test=
test_done_called=

say_bail() {
	echo "Bail out! $TEST_NAME: $*" >&5
	exit 1
}

# ---- environment ---------------------------------------------------------------------

CAAS_TEST_STATE=${CAAS_TEST_STATE:-/var/lib/caas-devops-test}
if [ ! -r "$CAAS_TEST_STATE/env" ]; then
	say_bail "no test environment ($CAAS_TEST_STATE/env is missing): run tests/env/setup.sh"
fi
# shellcheck source=/dev/null
. "$CAAS_TEST_STATE/env"

PATH=$TOP/build-runner:$TOP/validator:$TOP/deployer:$PATH
export PATH
# Under SANITIZE=address: leaks inside Debian's libgit2/pcre2 are not ours.
LSAN_OPTIONS=suppressions=$TOP/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}
export LSAN_OPTIONS
# Full stacks for allocations, so those suppressions can name libgit2's functions.
ASAN_OPTIONS=fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export ASAN_OPTIONS
unset CDPATH

# A deterministic environment: no user or CI settings leak into the tests.
LC_ALL=C TZ=UTC
export LC_ALL TZ
unset BUILD_NUMBER NO_COLOR GIT_DIR GIT_WORK_TREE
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME='C A Test' GIT_AUTHOR_EMAIL=caas-test@example.com
GIT_COMMITTER_NAME='C A Test' GIT_COMMITTER_EMAIL=caas-test@example.com
export GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL

TEST_OUT=$TOP/tests/out/$TEST_NAME.$$
TEST_SCRATCH=$TEST_OUT/scratch
TEST_LOG=$TEST_OUT/test.log
rm -rf "$TEST_OUT"
mkdir -p "$TEST_SCRATCH/.docker" || say_bail "cannot make $TEST_SCRATCH"
HOME=$TEST_SCRATCH
DOCKER_CONFIG=$TEST_SCRATCH/.docker
XDG_CACHE_HOME=$TEST_SCRATCH/.cache
export TEST_SCRATCH HOME DOCKER_CONFIG XDG_CACHE_HOME
cd "$TEST_SCRATCH" || say_bail "cannot cd to $TEST_SCRATCH"

# ---- valgrind (CAAS_TEST_VALGRIND=1) ---------------------------------------------------------
# The three tools run under valgrind memcheck: wrappers of the same names come first in
# PATH. Each run writes $TEST_OUT/valgrind/<tool>.<pid>.log; the exit code stays the
# tool's (a memcheck error must not pass as an expected failure), and test_done fails
# the file when a log reports an error or a definite leak (the logs are then kept in
# tests/out/valgrind-<file>). Extra valgrind options: CAAS_TEST_VALGRIND_OPTS.
# (make check-valgrind-integration runs a selection of files this way.)
valgrind_dir=
if [ -n "${CAAS_TEST_VALGRIND:-}" ] && [ "$CAAS_TEST_VALGRIND" != 0 ]; then
	valgrind_dir=$TEST_OUT/valgrind
	mkdir -p "$valgrind_dir/bin" || say_bail "cannot make $valgrind_dir"
	for tool in build-runner/caas-build-runner validator/caas-validator deployer/caas-deployer; do
		cat >"$valgrind_dir/bin/${tool#*/}" <<-EOF
		#!/bin/sh
		exec valgrind --leak-check=full --errors-for-leak-kinds=definite \\
			--show-leak-kinds=definite --error-exitcode=99 --child-silent-after-fork=yes \\
			--suppressions="$TOP/tests/valgrind.supp" --log-file="$valgrind_dir/${tool#*/}.%p.log" \\
			${CAAS_TEST_VALGRIND_OPTS:-} "$TOP/$tool" "\$@"
		EOF
		chmod +x "$valgrind_dir/bin/${tool#*/}"
	done
	PATH=$valgrind_dir/bin:$PATH
	export PATH
fi

# Checks the valgrind logs of this file: prints the bad ones; fails when there is one.
test_valgrind_check_() {
	local log bad=0 runs=0
	[ -n "$valgrind_dir" ] || return 0
	for log in "$valgrind_dir"/*.log; do
		[ -f "$log" ] || continue
		runs=$((runs + 1))
		if ! grep -q "ERROR SUMMARY: 0 errors" "$log" || grep -q "definitely lost: [1-9]" "$log"; then
			bad=$((bad + 1))
			echo "# valgrind: errors in $(basename "$log"):" >&5
			sed -n -e "/== Command:/p" -e "/== Invalid\|== Conditional\|== Syscall\|== Mismatched\|definitely lost in\|== [0-9,]* bytes in/,/^==[0-9]*== \$/p" "$log" |
				head -n 60 | sed -e "s/^/# /" >&5
		fi
	done
	echo "# valgrind: $runs runs of the tools, $bad with errors or definite leaks" >&5
	if [ "$bad" -gt 0 ]; then
		rm -rf "$TOP/tests/out/valgrind-$TEST_NAME"
		cp -r "$valgrind_dir" "$TOP/tests/out/valgrind-$TEST_NAME"
		echo "# valgrind: logs kept in tests/out/valgrind-$TEST_NAME" >&5
		return 1
	fi
	return 0
}

# ---- helpers for bodies -------------------------------------------------------------------

# test_when_finished 'cmd': runs cmd after the current test, whether it passed or
# failed (last registered runs first); a failing cleanup fails the test.
test_when_finished() {
	if [ -z "$in_test" ]; then
		echo "test_when_finished: only inside a test body" >&2
		return 1
	fi
	test_cleanup="{ $*
	} && (exit \"\$eval_ret\"); eval_ret=\$?; $test_cleanup"
}

# test_expect_code N cmd...: cmd must exit with status N.
test_expect_code() {
	local want=$1 got=0
	shift
	"$@" || got=$?
	if [ "$got" -eq "$want" ]; then
		return 0
	fi
	echo "test_expect_code: command exited $got, expected $want: $*" >&2
	return 1
}

# test_must_fail cmd...: cmd must fail normally (exit 1-125), not succeed, not be
# missing (126/127) and not die of a signal (>128).
test_must_fail() {
	local got=0
	"$@" || got=$?
	if [ "$got" -eq 0 ]; then
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
	elif [ "$got" -gt 128 ]; then
		echo "test_must_fail: command died of a signal (exit $got): $*" >&2
		return 1
	elif [ "$got" -eq 126 ] || [ "$got" -eq 127 ]; then
		echo "test_must_fail: command not found or not executable (exit $got): $*" >&2
		return 1
	fi
	return 0
}

# test_cmp expected actual: the two files are the same (shows a diff if not).
test_cmp() {
	diff -u "$@"
}

# test_must_be_empty FILE: FILE exists and is empty (shows it if not).
test_must_be_empty() {
	if [ -s "$1" ]; then
		echo "test_must_be_empty: '$1' is not empty:" >&2
		cat "$1" >&2
		return 1
	fi
}

# test_line_count OP N FILE: FILE's line count compares with N (OP: = -lt -gt ...).
test_line_count() {
	local n
	n=$(wc -l <"$3")
	if ! test "$n" "$1" "$2"; then
		echo "test_line_count: $3 has $n lines, want $1 $2:" >&2
		cat "$3" >&2
		return 1
	fi
}

# registry_curl ARGS...: curl to the test registry with the account, verifying TLS with
# the test CA; the password goes through a curl config on stdin, never argv.
# Example: registry_curl -o /dev/null -w '%{http_code}' "$CAAS_REGISTRY_URL/v2/"
registry_curl() {
	printf 'user = "%s:%s"\n' "$CAAS_REGISTRY_USER" "$(cat "$CAAS_REGISTRY_PASSWORD_FILE")" |
		curl -sS --cacert "$CAAS_REGISTRY_CA" -K - "$@"
}

# running_container NAME [SECONDS]: prints the ID of a running container whose name contains
# NAME (a swarm task of service NAME), waiting up to SECONDS (default 60) for one: swarm may
# be restarting the task, e.g. after a health check failed.
running_container() {
	local c i
	for i in $(seq "${2:-60}"); do
		c=$(docker ps -q --filter "name=$1" --filter status=running | head -n 1)
		if [ -n "$c" ]; then
			echo "$c"
			return 0
		fi
		[ "$i" = "${2:-60}" ] || sleep 1
	done
	echo "running_container: no running container named '$1' after ${2:-60} s" >&2
	return 1
}

# ---- running tests ----------------------------------------------------------------------

# Runs a body (and its cleanups) in this shell; returns its status.
test_run_() {
	local body=$1
	eval_ret=0
	test_cleanup=:
	in_test=1
	if [ -n "$trace" ]; then
		set -x
	fi
	eval "$body" </dev/null
	eval_ret=$?
	in_test=
	eval "$test_cleanup" </dev/null
	if [ -n "$trace" ]; then
		set +x
	fi 2>/dev/null
	return "$eval_ret"
}

test_expect_success() {
	local title=$1 body=$2 ret=0
	if [ $# -ne 2 ]; then
		say_bail "test_expect_success needs 2 arguments (title, body), got $#"
	fi
	test_count=$((test_count + 1))
	if [ -n "$verbose" ]; then
		echo "# running $test_count - $title" >&5
		test_run_ "$body" >&5 2>&6 || ret=$?
	else
		test_run_ "$body" >"$TEST_LOG" 2>&1 || ret=$?
	fi
	cd "$TEST_SCRATCH" || say_bail "the scratch directory $TEST_SCRATCH is gone"
	if [ "$ret" -eq 0 ]; then
		test_passed=$((test_passed + 1))
		echo "ok $test_count - $title" >&5
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $title" >&5
		printf '%s\n' "$body" | sed -e 's/^/#	/' >&5
		if [ -z "$verbose" ] && [ -s "$TEST_LOG" ]; then
			echo "# output (exit $ret):" >&5
			sed -e 's/^/# /' "$TEST_LOG" >&5
		fi
		if [ -n "$immediate" ]; then
			test_done
		fi
	fi
}

# test_expect_failure 'title' 'body': a known breakage (as in git's test-lib), kept
# visible until it is fixed: "not ok N - title # TODO known breakage" does not fail
# the file; when the body passes, "ok N - title # TODO known breakage vanished" asks
# for it to become test_expect_success. Neither counts as passed or failed.
test_expect_failure() {
	local title=$1 body=$2 ret=0
	if [ $# -ne 2 ]; then
		say_bail "test_expect_failure needs 2 arguments (title, body), got $#"
	fi
	test_count=$((test_count + 1))
	if [ -n "$verbose" ]; then
		echo "# running $test_count - $title (known breakage)" >&5
		test_run_ "$body" >&5 2>&6 || ret=$?
	else
		test_run_ "$body" >"$TEST_LOG" 2>&1 || ret=$?
	fi
	cd "$TEST_SCRATCH" || say_bail "the scratch directory $TEST_SCRATCH is gone"
	if [ "$ret" -eq 0 ]; then
		test_fixed=$((test_fixed + 1))
		echo "ok $test_count - $title # TODO known breakage vanished" >&5
	else
		test_broken=$((test_broken + 1))
		echo "not ok $test_count - $title # TODO known breakage" >&5
	fi
}

# Removes the Docker resources still named with this file's prefix (a safety net:
# tests remove their own with test_when_finished).
test_remove_leftovers_() {
	local kind ids ls rm
	timeout 10 docker version >/dev/null 2>&1 || return 0
	# services first: they hold containers, networks, secrets and configs
	for kind in service container network volume secret config; do
		ls=(ls -q) rm=(rm)
		case $kind in
		container) ls=(ls -aq) rm=(rm -f) ;;
		volume) rm=(rm -f) ;;
		esac
		mapfile -t ids < <(docker "$kind" "${ls[@]}" --filter "name=$CS_TEST_PREFIX" 2>/dev/null)
		[ "${#ids[@]}" -eq 0 ] || docker "$kind" "${rm[@]}" "${ids[@]}" >/dev/null 2>&1
	done
	mapfile -t ids < <(docker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
		grep -E "(^|/)${CS_TEST_PREFIX}[-:/]")
	[ "${#ids[@]}" -eq 0 ] || docker rmi -f "${ids[@]}" >/dev/null 2>&1
	return 0
}

test_at_exit_() {
	local code=$?
	test_remove_leftovers_
	cd "$TOP" || return
	if [ -z "$debug" ]; then
		rm -rf "$TEST_OUT"
		rmdir "$TOP/tests/out" 2>/dev/null
	else
		echo "# kept $TEST_OUT" >&5
	fi
	if [ -z "$test_done_called" ]; then
		echo "not ok - $TEST_NAME.sh exited (status $code) before test_done" >&5
		exit 1
	fi
}
trap 'test_at_exit_' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# test_done: prints "# <file>: N passed, N failed" and exits non-zero on a failure.
test_done() {
	test_done_called=1
	if [ $((test_fixed + test_broken)) -gt 0 ]; then
		echo "# $TEST_NAME.sh: $test_broken known breakage(s), $test_fixed fixed (test_expect_failure)" >&5
	fi
	if ! test_valgrind_check_; then
		test_failed=$((test_failed + 1))
		echo "not ok - valgrind memcheck" >&5
	fi
	echo "# $TEST_NAME.sh: $test_passed passed, $test_failed failed" >&5
	if [ "$test_failed" -gt 0 ]; then
		exit 1
	fi
	exit 0
}
