#!/usr/bin/env bash
# Benchmark: stream a 600 MB, 20,000-file build context to the engine with
# caas-build-runner --context and with `docker build` (classic builder,
# DOCKER_BUILDKIT=0), alternated in one run. Prints wall time, client CPU time
# (user+sys) and peak RSS of each client, then the ratios.
#
#   bench/build-context.sh [ROUNDS] [FILES] [FILE_KB]    (defaults: 3 20000 30)
#
# Not a timed test: run it by hand on an idle machine (the engine must answer).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} files=${2:-20000} kb=${3:-30}
runner=$PWD/build-runner/caas-build-runner
[ -x "$runner" ] || make -s all
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
dir=${CAAS_BENCH_DIR:-/var/tmp/caas-bench-context-$files-$kb}
if [ ! -f "$dir/.complete" ]; then
	echo "making $files files of $kb KiB in $dir ..."
	rm -rf "$dir" && mkdir -p "$dir"
	head -c $((kb * 1024 * 64)) /dev/urandom >"$dir/.pool"
	for ((i = 0; i < files; i++)); do
		d="$dir/d$((i / 500))"
		[ -d "$d" ] || mkdir "$d"
		dd if="$dir/.pool" of="$d/f$i" bs=1024 count="$kb" skip=$((i % 63)) status=none
	done
	rm -f "$dir/.pool"
	printf 'FROM busybox:latest\nCOPY Dockerfile /Dockerfile\n' >"$dir/Dockerfile"
	touch "$dir/.complete"
fi
printf '.complete\n' >"$dir/.dockerignore"
echo "context: $(find "$dir" -type f | wc -l) files, $(du -sm "$dir" | cut -f1) MB"

measure() { # label command... -> appends "label wall cpu rss_kb" to $results
	local wall user sys rss
	/usr/bin/time -o "$results.t" -f '%e %U %S %M' "$@" >/dev/null 2>&1
	read -r wall user sys rss <"$results.t"
	printf '%s %s %s %s\n' "$label" "$wall" "$(echo "$user + $sys" | bc -l)" "$rss" >>"$results"
}
results=$(mktemp)
trap 'rm -f "$results" "$results.t"; docker rmi -f caas-bench-ctx:ours caas-bench-ctx:docker >/dev/null 2>&1 || true' EXIT
for ((r = 1; r <= rounds; r++)); do
	label=caas measure "$runner" --context "$dir" --image caas-bench-ctx --tag ours -q
	label=docker measure env DOCKER_BUILDKIT=0 docker build -q -t caas-bench-ctx:docker "$dir"
	echo "round $r done"
done
awk '
	{ n[$1]++; w[$1] += $2; c[$1] += $3; if ($4 > m[$1]) m[$1] = $4 }
	END {
		printf "%-8s %10s %12s %14s\n", "client", "wall (s)", "CPU (s)", "peak RSS (MiB)"
		for (k in n) printf "%-8s %10.2f %12.2f %14.1f\n", k, w[k] / n[k], c[k] / n[k], m[k] / 1024
		printf "ratio caas/docker: wall %.2fx, client CPU %.2fx, peak RSS %.2fx\n",
			w["caas"] / w["docker"], c["caas"] / c["docker"], m["caas"] / m["docker"]
	}' "$results"
