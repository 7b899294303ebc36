#!/bin/bash
# Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/fuzz_<name>).
#
#   tests/fuzz/run.sh --time SECONDS [NAME...]   fuzz each target for SECONDS (make fuzz)
#   tests/fuzz/run.sh --smoke [NAME...]          the seed corpus, then FUZZ_SMOKE_TIME
#                                                (default 10) seconds each (make test)
# FUZZ_JOBS (default 2) targets run at a time.
#
# Each target starts from its seed corpus, tests/fuzz/corpus/NAME (read only),
# with the dictionary tests/fuzz/NAME.dict when there is one.
# A long run keeps what it finds in build/fuzz/corpus/NAME (reused by the next
# run) and writes crashing inputs to build/fuzz/crashes/NAME-*; a smoke run
# works in a temporary directory and keeps only crashes. Inputs are capped at
# the target's max_len (below). Ends with "fuzz: N passed, N failed"; a target
# passes when libFuzzer found no crash, leak, timeout (10 s) or out-of-memory
# (2 GiB).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
smoke=0 time=60
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 time=${FUZZ_SMOKE_TIME:-10} ;;
	--time) time=$2 && shift ;;
	*) break ;;
	esac
	shift
done
if [ $# -eq 0 ]; then
	set --
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		set -- "$@" "${n%.c}"
	done
fi

# Longest input per target: big enough for the seeds, small enough for speed.
# The smoke run keeps .dockerignore inputs short, for speed.
max_len() {
	case $1 in
	dockerignore) [ "$smoke" -eq 1 ] && echo 512 || echo 4096 ;;
	imagefs | imagefs_layer | pkgdb) echo 65536 ;;
	compose | yamldoc | kube) echo 16384 ;;
	*) echo 4096 ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Fuzz one target; its report goes to $tmp/NAME.result, its status to $tmp/NAME.rc.
run_one() {
	local name=$1 bin=build/fuzz/fuzz_$1 seeds=tests/fuzz/corpus/$1 work out rc execs cov start
	local dict=()

	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "fuzz $name: no target $bin or no seeds $seeds"
		return 1
	fi
	if [ "$smoke" -eq 1 ]; then
		work=$tmp/$name
	else
		work=build/fuzz/corpus/$name
	fi
	mkdir -p "$work" build/fuzz/crashes
	out=$tmp/$name.log
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	start=$(date +%s)
	"$bin" -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$name")" \
		"${dict[@]}" -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$name-" \
		"$work" "$seeds" </dev/null >"$out" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$out" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $name: ok, ${execs:-?} execs in $(($(date +%s) - start))s, ${cov:-cov: ?}"
		return 0
	fi
	echo "fuzz $name: FAILED (exit $rc) after $(($(date +%s) - start))s; libFuzzer's report:"
	grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|.*check failed|artifact_prefix|Test unit written)' \
		"$out" | head -n 20
	grep -E '^ *#[0-9]+ ' "$out" | grep -vE 'fuzzer::|__sanitizer|libc\.so|__libc_start|in _start' |
		head -n 12
	return 1
}

# FUZZ_JOBS targets at a time (default 2: the two cores of the CI machine).
jobs=${FUZZ_JOBS:-2}
running=0
for name in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	{
		run_one "$name" >"$tmp/$name.result" 2>&1
		echo $? >"$tmp/$name.rc"
	} &
	running=$((running + 1))
done
wait
passed=0 failed=0
for name in "$@"; do
	cat "$tmp/$name.result"
	if [ "$(cat "$tmp/$name.rc" 2>/dev/null)" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
