#!/usr/bin/env bash
# Benchmark of caas-validator's static validation (issues 3 and 13):
#   export:  caas-validator --no-processes --export --no-cache IMAGE  (the engine's export stream)
#   local:   caas-validator --no-processes --cache-dir EMPTY IMAGE    (overlay2 directories, cold
#            cache: every layer read and stored)
#   rebuilt: caas-validator --no-processes --cache-dir WARM REBUILT   (IMAGE plus one new top
#            layer, built before the timing; the cache holds IMAGE's layers)
#   docker save IMAGE >/dev/null                   (the floor of the export: reading the image once)
#   docker run IMAGE sh -c 'dpkg-query -W; find /' (the naive way)
# alternated ROUNDS times; prints wall time and peak RSS (GNU time) of each run,
# the medians and the ratios. Targets: export <= 1.2x docker save; local (first
# validation) <= 1.5x the naive run; rebuilt <= 0.1x docker save; peak RSS <= 64 MiB,
# also for a 2 GB image (--big).
#
#   bench/validator.sh [-n ROUNDS] [--big] [IMAGE]
#
# Without IMAGE, builds cs-test-val-bench:debian (bench/validator/debian: ~340 MB,
# 130 packages); --big also builds cs-test-val-bench:big (~2 GB, 100k more files)
# and measures it too. The images are kept for the next run (docker rmi them).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
validator=$top/validator/caas-validator
rounds=3 big='' images=()
while [ $# -gt 0 ]; do
	case $1 in
	-n) rounds=$2; shift ;;
	--big) big=1 ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "usage: $0 [-n ROUNDS] [--big] [IMAGE]" >&2; exit 2 ;;
	*) images+=("$1") ;;
	esac
	shift
done
[ -x /usr/bin/time ] || { echo "bench: GNU time is missing (apt-get install time)" >&2; exit 2; }
[ -x "$validator" ] || { echo "bench: build first (make)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build() { # TAG DIR
	echo "# building $1 (cached after the first run)"
	DOCKER_BUILDKIT=0 docker build -q -t "$1" "$2" >/dev/null 2>"$tmp/build.err" ||
		{ cat "$tmp/build.err" >&2; exit 1; }
}

if [ "${#images[@]}" -eq 0 ]; then
	build cs-test-val-bench:debian "$top/bench/validator/debian"
	images=(cs-test-val-bench:debian)
	if [ -n "$big" ]; then
		build cs-test-val-bench:big "$top/bench/validator/big"
		images+=(cs-test-val-bench:big)
	fi
fi

# measure NAME OKCODES CMD...: appends "wall rss_kib" to $tmp/NAME
measure() {
	local name=$1 ok=$2 rc=0
	shift 2
	/usr/bin/time -f '%e %M' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || rc=$?
	case " $ok " in
	*" $rc "*) ;;
	*) echo "bench: $name failed (exit $rc):" >&2; cat "$tmp/err" >&2; exit 1 ;;
	esac
	tail -n 1 "$tmp/t" >>"$tmp/$name"
	tail -n 1 "$tmp/t"
}

median() { # column of file
	awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

for img in "${images[@]}"; do
	rm -f "$tmp/val" "$tmp/local" "$tmp/rebuilt" "$tmp/save" "$tmp/naive"
	size=$(docker image inspect -f '{{.Size}}' "$img")
	echo "# image $img: $((size / 1000000)) MB; $rounds rounds, alternated"
	rm -rf "$tmp/warm"
	"$validator" --no-processes --cache-dir "$tmp/warm" "$img" >/dev/null || [ $? = 3 ]
	for r in $(seq "$rounds"); do
		# a rebuild that changes only the top layer (not timed)
		mkdir -p "$tmp/rb"
		printf 'FROM %s\nRUN echo %s >/caas-bench-stamp\n' "$img" "$$-$r-$RANDOM" >"$tmp/rb/Dockerfile"
		rebuilt=cs-test-val-bench:rebuilt-$$
		DOCKER_BUILDKIT=0 docker build -q -t "$rebuilt" "$tmp/rb" >/dev/null 2>"$tmp/build.err" ||
			{ cat "$tmp/build.err" >&2; exit 1; }
		v=$(measure val "0 3" "$validator" --no-processes --export --no-cache "$img")
		rm -rf "$tmp/cold"
		l=$(measure local "0 3" "$validator" --no-processes --cache-dir "$tmp/cold" "$img")
		w=$(measure rebuilt "0 3" "$validator" --no-processes --cache-dir "$tmp/warm" "$rebuilt")
		# shellcheck disable=SC2016 # $1 expands in the inner shell
		s=$(measure save "0" sh -c 'docker save "$1" >/dev/null' sh "$img")
		n=$(measure naive "0" docker run --rm --network none "$img" sh -c 'dpkg-query -W; find /')
		docker rmi "$rebuilt" >/dev/null
		# shellcheck disable=SC2086 # each of v, l, w, s, n is "seconds KiB": two fields
		printf 'round %d: export %s s %s KiB | local %s s %s KiB | rebuilt %s s %s KiB | docker save %s s %s KiB | docker run %s s %s KiB\n' \
			"$r" $v $l $w $s $n
	done
	vw=$(median "$tmp/val" 1) lw=$(median "$tmp/local" 1) ww=$(median "$tmp/rebuilt" 1)
	sw=$(median "$tmp/save" 1) nw=$(median "$tmp/naive" 1)
	vr=$(median "$tmp/val" 2) lr=$(median "$tmp/local" 2) wr=$(median "$tmp/rebuilt" 2)
	sr=$(median "$tmp/save" 2) nr=$(median "$tmp/naive" 2)
	awk -v vw="$vw" -v lw="$lw" -v ww="$ww" -v sw="$sw" -v nw="$nw" -v vr="$vr" -v lr="$lr" \
		-v wr="$wr" -v sr="$sr" -v nr="$nr" 'BEGIN {
		printf "median wall: export %.2f s, local cold %.2f s, rebuilt warm %.2f s, docker save %.2f s, docker run (naive) %.2f s\n", vw, lw, ww, sw, nw
		printf "ratio to docker save: export %.2f (target <= 1.2), local cold %.2f, rebuilt warm %.3f (target <= 0.1)\n", vw / sw, lw / sw, ww / sw
		printf "ratio to the naive run: export %.2f, local cold %.2f (target <= 1.5), rebuilt warm %.3f\n", vw / nw, lw / nw, ww / nw
		printf "peak RSS: export %.1f MiB, local %.1f MiB, rebuilt %.1f MiB (target <= 64), docker save CLI %.1f MiB, docker run CLI %.1f MiB\n", vr / 1024, lr / 1024, wr / 1024, sr / 1024, nr / 1024
	}'
done
