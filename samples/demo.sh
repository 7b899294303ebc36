#!/usr/bin/env bash
# make demo: the main job end to end on the local default bay, as the Jenkins
# job would run it. The test environment (engine, swarm, TLS registry, base
# images) is started by `make demo` before this script runs.
#
#   1. a git repository is made from samples/hello-web (the application's repo);
#   2. caas-build-runner clones it, builds the image, validates it against the
#      non-production policy, pushes it to the private registry and verifies
#      the digest;
#   3. caas-deployer deploys samples/hello-web/docker-compose.yml to the swarm
#      as the stack "caas-demo", waits until it converges and prints the endpoint;
#   4. the endpoint is asked for the page.
# Remove the stack afterwards with: docker stack rm caas-demo
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
state=${CAAS_TEST_STATE:-/var/lib/caas-devops-test}
# shellcheck source=/dev/null
. "$state/env"
PATH=$top/build-runner:$top/validator:$top/deployer:$PATH
work=$(mktemp -d /tmp/caas-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== 1. the application's git repository ($work/hello-web)"
cp -a "$top/samples/hello-web" "$work/hello-web"
git -C "$work/hello-web" init -q -b main
git -C "$work/hello-web" add -A
git -C "$work/hello-web" -c user.name=demo -c user.email=demo@localhost commit -qm "hello-web"
tag=${BUILD_NUMBER:-$(date +%s)}

echo "== 2. caas-build-runner: clone, build, validate, push"
caas-build-runner --repo "$work/hello-web" --image caas-demo/hello-web --tag "$tag" \
	--registry "$CAAS_REGISTRY" --push --registry-user "$CAAS_REGISTRY_USER" \
	--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
	--validate-level non-production --validate-observe 2 --json "$work/build.json"

echo "== 3. caas-deployer: deploy to the swarm, converge"
caas-deployer --coe swarm --bay unix:///var/run/docker.sock --app caas-demo \
	-f "$top/samples/hello-web/docker-compose.yml" \
	--set PRIVATE_REGISTRY="$CAAS_REGISTRY" --set TAG="$tag" \
	--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
	--json "$work/deploy.json"

echo "== 4. the endpoint answers"
endpoint=$(jq -r '.endpoints[0]' "$work/deploy.json")
curl -fsS "$endpoint/"
echo "image $(jq -r '.tags[0].name + "@" + .tags[0].digest' "$work/build.json") is served at $endpoint"
echo "(remove it with: docker stack rm caas-demo)"
