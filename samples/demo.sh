#!/usr/bin/env bash
# make demo [SAMPLE=petclinic|tweet|hello-web]: a sample's pipeline end to end on the local
# default bay, the steps the all-in-one job runs, each timed:
#
#   bases   the "existing images" the sample uses (Tomcat, MariaDB, nginx, Redis, ...), built
#           by caas-build-runner from the local debian:bookworm and Debian packages, tagged with
#           the git tree hash of their directory and pushed; skipped when the registry has them
#   source  the sample is copied into the application's git repository (persistent, under
#           the work directory) and committed when it changed
#   app     PetClinic: Maven builds the WAR (offline once the Maven repository is warm), which
#           is committed too (the image is built from that commit)
#   image   caas-build-runner: clone the commit, build, validate against the non-production
#           policy, push to the TLS registry, verify the digest
#   deploy  caas-deployer --coe swarm: deploy the sample's Compose file, wait for convergence
#   check   the endpoint answers (PetClinic: /petclinic/owners lists owners from MariaDB)
#
# Environment (all optional):
#   SAMPLE            petclinic (default), tweet or hello-web (or the first argument)
#   BUILD_NUMBER      the image tag (default: the current time in seconds)
#   CAAS_DEMO_APP     the stack name (default caas-demo-SAMPLE; hello-web: caas-demo)
#   CAAS_DEMO_NS      the application image's namespace in the registry (default caas-demo)
#   CAAS_DEMO_PORT    the published port (default 18081 PetClinic, 18082 Tweet, 18080 hello-web)
#   CAAS_DEMO_PORT2   Tweet: the store admin UI's port (default 18083)
#   CAAS_DEMO_WORK    the work directory: git repositories, password files (default
#                     $CAAS_TEST_STATE/samples)
#   CAAS_DEMO_TIMINGS a file to which the phase timings are written ("phase seconds" lines)
#   MAVEN_REPO_LOCAL  the Maven repository (default $CAAS_TEST_STATE/m2/repository)
# The test environment (engine, swarm, TLS registry, base images) is started by `make demo`
# (tests/env/setup.sh) before this script runs. Remove a stack with: docker stack rm NAME
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
state=${CAAS_TEST_STATE:-/var/lib/caas-devops-test}
# shellcheck source=/dev/null
. "$state/env"
PATH=$top/build-runner:$top/validator:$top/deployer:$PATH

sample=${1:-${SAMPLE:-petclinic}}
case $sample in
petclinic | tweet | hello-web) ;;
*)
	echo "demo: unknown sample '$sample' (petclinic, tweet or hello-web)" >&2
	exit 2
	;;
esac
app=${CAAS_DEMO_APP:-caas-demo-$sample}
[ "$sample" != hello-web ] || app=${CAAS_DEMO_APP:-caas-demo}
ns=${CAAS_DEMO_NS:-caas-demo}
work=${CAAS_DEMO_WORK:-$state/samples}
m2=${MAVEN_REPO_LOCAL:-$state/m2/repository}
tag=${BUILD_NUMBER:-$(date +%s)}
case $sample in
petclinic) port=${CAAS_DEMO_PORT:-18081} ;;
tweet) port=${CAAS_DEMO_PORT:-18082} ;;
hello-web) port=${CAAS_DEMO_PORT:-18080} ;;
esac
src=$top/samples/$sample
repo=$work/$sample
reg=$CAAS_REGISTRY
mkdir -p "$work"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/caas-demo.XXXXXX")
on_exit() {
	local rc=$?
	rm -rf "$tmp"
	if [ "$rc" -ne 0 ] && [ -n "${current:-}" ]; then
		echo "demo: $sample: phase '$current' failed (exit $rc)" >&2
	fi
}
trap on_exit EXIT

# ---- timing -------------------------------------------------------------------------------

phases=()
durations=()
now() { date +%s.%N; }
t_start=$(now)
# phase NAME CMD...: runs CMD (under set -e), records how long it took.
current=
phase() {
	local name=$1 t0
	shift
	echo "== $name"
	current=$name
	t0=$(now)
	"$@"
	phases+=("$name")
	durations+=("$(echo "$(now) - $t0" | bc)")
	current=
}
report_timings() {
	local i total
	total=$(echo "$(now) - $t_start" | bc)
	echo "== timings ($sample, build $tag)"
	for i in "${!phases[@]}"; do
		printf '  %-8s %7.1f s\n' "${phases[$i]}" "${durations[$i]}"
	done
	printf '  %-8s %7.1f s\n' total "$total"
	if [ -n "${CAAS_DEMO_TIMINGS:-}" ]; then
		for i in "${!phases[@]}"; do
			printf '%s %.1f\n' "${phases[$i]}" "${durations[$i]}"
		done >"$CAAS_DEMO_TIMINGS"
		printf 'total %.1f\n' "$total" >>"$CAAS_DEMO_TIMINGS"
	fi
}

# ---- the steps ----------------------------------------------------------------------------

registry_args=(--registry "$reg" --registry-user "$CAAS_REGISTRY_USER"
	--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE")

# The registry has REPO:TAG (a HEAD on its manifest; the password goes through curl's stdin).
registry_has() {
	local code
	code=$(printf 'user = "%s:%s"\n' "$CAAS_REGISTRY_USER" "$(cat "$CAAS_REGISTRY_PASSWORD_FILE")" |
		curl -sS -K - --cacert "$CAAS_REGISTRY_CA" -o /dev/null -w '%{http_code}' -I \
			-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
			"$CAAS_REGISTRY_URL/v2/$1/manifests/$2") || return 1
	[ "$code" = 200 ]
}

# The sample's source, committed to the application's repository when it changed.
sync_source() {
	if [ ! -d "$repo/.git" ]; then
		git init -q -b main "$repo"
	fi
	# Everything but .git and Maven's target/ is replaced by the sample's current files;
	# tar keeps the modification times, so Maven's incremental build sees what changed.
	find "$repo" -mindepth 1 -maxdepth 1 ! -name .git ! -name target -exec rm -rf {} +
	tar -C "$src" --exclude=./target -cf - . | tar -C "$repo" -xf -
	commit "$sample sources"
}

# commit MESSAGE: commits the work tree when it changed; prints the commit.
commit() {
	git -C "$repo" add -A
	if [ -f "$repo/target/$sample.war" ]; then
		git -C "$repo" add -f "target/$sample.war"
	fi
	if ! git -C "$repo" rev-parse -q --verify HEAD >/dev/null ||
		! git -C "$repo" diff --cached --quiet; then
		git -C "$repo" -c user.name=caas-demo -c user.email=caas-demo@localhost \
			commit -q --no-verify -m "$1"
	fi
	echo "commit $(git -C "$repo" rev-parse --short HEAD): $(git -C "$repo" log -1 --format=%s)"
}

# base_tag DIR: the tag of the image built from DIR (its git tree hash).
base_tag() {
	echo "t$(git -C "$repo" rev-parse "HEAD:$1" | cut -c1-12)"
}

# base DIR IMAGE push|local: builds the image of DIR from the committed source, once per
# content of DIR; "push" ones go to the registry (the services pull them), "local" ones are
# only FROM images of a later build.
base() {
	local dir=$1 image=$2 where=$3 btag
	btag=$(base_tag "$dir")
	if [ "$where" = push ] && registry_has "$image" "$btag"; then
		echo "$reg/$image:$btag: in the registry"
		return 0
	fi
	if [ "$where" = local ] && docker image inspect "$image:$btag" >/dev/null 2>&1; then
		echo "$image:$btag: built"
		return 0
	fi
	local args=(--repo "$repo" --ref "$(git -C "$repo" rev-parse HEAD)" --context-dir "$dir"
		--image "$image" --tag "$btag" -q)
	if [ "$where" = push ]; then
		args+=("${registry_args[@]}" --push --validate-level non-production --validate-no-processes)
	fi
	caas-build-runner "${args[@]}"
	echo "$image:$btag: built"
}

# The WAR, with the Maven repository kept between runs: offline once it holds what the
# pom needs (the pom's hash is noted after a successful online build).
maven_build() {
	local stamp=$m2/.caas-demo-$sample.pom.sha256 mvn=(mvn -B -q -Dmaven.repo.local="$m2" -DskipTests)
	mkdir -p "$m2"
	if [ "$(cat "$stamp" 2>/dev/null)" = "$(sha256sum <"$repo/pom.xml")" ]; then
		echo "mvn package (offline, the Maven repository is warm)"
		if (cd "$repo" && "${mvn[@]}" -o package); then
			return 0
		fi
		echo "offline build failed, trying online"
	else
		echo "mvn package (online: the first build fills $m2)"
	fi
	(cd "$repo" && "${mvn[@]}" package)
	sha256sum <"$repo/pom.xml" >"$stamp"
}

# The WAR is rebuilt only when the sources (pom.xml and src/, as committed) changed since the
# last successful build; Maven's own up-to-date checks still cost seconds of JVM start.
app_build() {
	local stamp=$repo/target/.caas-demo-sources sources
	sources=$(git -C "$repo" rev-parse HEAD:pom.xml HEAD:src | tr '\n' ' ')
	if [ -f "$repo/target/$sample.war" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sources" ]; then
		echo "target/$sample.war is up to date (pom.xml and src/ unchanged since it was built)"
	else
		rm -f "$stamp"
		maven_build
		echo "$sources" >"$stamp"
	fi
	ls -l "$repo/target/$sample.war"
	commit "$sample: the WAR"
}

image_build() {
	local args=(--repo "$repo" --ref "$(git -C "$repo" rev-parse HEAD)" --image "$ns/$sample"
		--tag "$tag" "${registry_args[@]}" --push
		--validate-level non-production --validate-observe 2 --json "$tmp/build.json")
	case $sample in
	petclinic) args+=(--build-arg "BASE_IMAGE=caas-samples/tomcat:$(base_tag tomcat)") ;;
	tweet) args+=(--context-dir producer) ;;
	esac
	caas-build-runner "${args[@]}"
	echo "image $(jq -r '.tags[0].name + "@" + .tags[0].digest' "$tmp/build.json")"
}

# A password for the sample's database, made once (mode 600) and kept with the work
# directory: the database volume keeps the account.
password_file() {
	local f=$work/$sample-db-password
	if [ ! -s "$f" ]; then
		(umask 077 && openssl rand -hex 16 >"$f.tmp") && mv "$f.tmp" "$f"
	fi
	echo "$f"
}

deploy() {
	local args=(--coe swarm --bay unix:///var/run/docker.sock --app "$app"
		--set PRIVATE_REGISTRY="$reg" --set NAMESPACE="$ns" --set TAG="$tag"
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE"
		--timeout 600 --json "$tmp/deploy.json")
	case $sample in
	petclinic)
		args+=(-f "$src/swarm/petclinic.yml" --set DB_TAG="$(base_tag db)"
			--set FRONT_TAG="$(base_tag proxy)" --set DB_PASSWORD_SOURCE="$(password_file)"
			--set PETCLINIC_PORT="$port")
		;;
	tweet)
		args+=(-f "$src/swarm/tweet.yml" --set STORE_TAG="$(base_tag store)"
			--set WEB_TAG="$(base_tag web)" --set TWEET_PORT="$port"
			--set TWEET_ADMIN_PORT="${CAAS_DEMO_PORT2:-18083}")
		;;
	hello-web)
		args+=(-f "$src/docker-compose.yml" --set DEMO_PORT="$port")
		;;
	esac
	caas-deployer "${args[@]}"
}

# get URL: the body, retried for up to a minute (a published host port answers a moment
# after the task runs).
get() {
	local i
	for ((i = 0; i < 60; i++)); do
		if curl -fsS --max-time 10 "$1" 2>/dev/null; then
			return 0
		fi
		sleep 1
	done
	curl -fsS --max-time 10 "$1"
}

url=
check() {
	local endpoint body
	# the endpoint of the sample's main port (Tweet has a second one, the admin UI)
	endpoint=$(jq -r --arg p ":$port" '[.endpoints[] | select(endswith($p))][0] // empty' \
		"$tmp/deploy.json")
	[ -n "$endpoint" ] || endpoint=http://127.0.0.1:$port
	case $sample in
	petclinic)
		url=$endpoint/petclinic/
		body=$(get "${url}owners")
		grep -q 'class="owner"' <<<"$body" || {
			echo "demo: ${url}owners lists no owner" >&2
			return 1
		}
		echo "${url}owners: $(grep -c 'class="owner"' <<<"$body") owners from the database," \
			"served by build $(get "${url}api/version" | jq -r .version)"
		;;
	tweet)
		url=$endpoint/
		local n i
		# the producer writes one item a second: wait until the UI lists some
		for ((i = 0; i < 60; i++)); do
			n=$(get "${url}api/items" | jq 'length')
			[ "$n" -gt 0 ] && break
			sleep 1
		done
		[ "$n" -gt 0 ] || {
			echo "demo: ${url} lists no item" >&2
			return 1
		}
		echo "${url}: $n items from the producer, through the store"
		;;
	hello-web)
		url=$endpoint/
		get "$url"
		;;
	esac
}

# ---- the pipeline -------------------------------------------------------------------------

petclinic_bases() {
	base tomcat caas-samples/tomcat local
	base db caas-samples/petclinic-db push
	base proxy caas-samples/petclinic-front push
}
tweet_bases() {
	base store caas-samples/tweet-store push
	base web caas-samples/tweet-web push
}

phase source sync_source
case $sample in
petclinic)
	phase bases petclinic_bases
	phase app app_build
	;;
tweet) phase bases tweet_bases ;;
esac
phase image image_build
phase deploy deploy
phase check check
report_timings
echo "$sample (build $tag) is served at $url"
[ "$sample" != tweet ] || echo "the store's admin UI: http://127.0.0.1:${CAAS_DEMO_PORT2:-18083}/"
echo "(remove it with: docker stack rm $app)"
