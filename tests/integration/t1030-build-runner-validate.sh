#!/usr/bin/env bash
test_description='caas-build-runner validates the image before any push (the seed'"'"'s image factory)'
. "$(dirname "$0")/test-lib.sh"

name=$CS_TEST_PREFIX-val
reg=$CAAS_REGISTRY
auth=(--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE")

# "curl" here is busybox under that name: the files rule matches the basename.
test_expect_success 'setup: an image that ships curl, and a clean FROM scratch one' '
	mkdir bad good &&
	cp "$(command -v busybox)" bad/busybox && cp "$(command -v busybox)" good/app &&
	printf "FROM scratch\nCOPY busybox /usr/bin/curl\nCOPY busybox /bin/sleep\nCMD [\"/bin/sleep\", \"30\"]\n" >bad/Dockerfile &&
	printf "FROM scratch\nCOPY app /app\nCMD [\"/app\", \"sleep\", \"30\"]\n" >good/Dockerfile
'

test_expect_success 'not valid: exit 3, the violation named, nothing pushed' '
	test_when_finished "docker rmi -f $reg/$name:bad >/dev/null 2>&1" &&
	test_expect_code 3 caas-build-runner --context bad --image $name --tag bad --registry $reg --push \
		"${auth[@]}" --validate-level production --validate-no-processes --json r.json >out 2>&1 &&
	grep "file /usr/bin/curl is forbidden (files.forbidden \"curl\")" out &&
	grep "is not valid (1 violation), it will not be pushed to the private registry" out &&
	! grep "^pushing" out &&
	test "$(registry_curl -s -o /dev/null -w "%{http_code}" "$CAAS_REGISTRY_URL/v2/$name/manifests/bad")" = 404 &&
	test "$(jq -r .validation.status r.json)" = "not valid" && test "$(jq -r .validation.Status r.json)" = failure &&
	test "$(jq -r ".validation.violations[0].item" r.json)" = /usr/bin/curl
'

test_expect_success 'valid: validated (processes too), then pushed' '
	test_when_finished "docker rmi -f $reg/$name:good >/dev/null 2>&1" &&
	caas-build-runner --context good --image $name --tag good --registry $reg --push "${auth[@]}" \
		--validate "$TOP/validator/policies/filch.json" --validate-observe 2 --json r.json >out 2>&1 &&
	grep "is valid" out &&
	test "$(jq -r .validation.status r.json)" = valid && test "$(jq -r .validation.Status r.json)" = success &&
	test "$(registry_curl -s -o /dev/null -w "%{http_code}" "$CAAS_REGISTRY_URL/v2/$name/manifests/good")" = 200 &&
	test -z "$(docker ps -aq --filter name=cs-val-)"
'

test_expect_success 'the seed'"'"'s parameters as environment: ProdReady=False is the non-production level' '
	test_when_finished "docker rmi -f $name:env >/dev/null 2>&1" &&
	activate_DockerImageFactory=1 DockerImageFactory_ProdReady=False \
		caas-build-runner --context bad --image $name --tag env --validate-no-processes >out 2>&1 &&
	grep "filch-insecure.json" out &&
	test_expect_code 3 env activate_DockerImageFactory=1 DockerImageFactory_ProdReady=True \
		caas-build-runner --context bad --image $name --tag env --validate-no-processes >out 2>&1 &&
	caas-build-runner --context bad --image $name --tag env --activate_DockerImageFactory=0 >out 2>&1 &&
	! grep "validating" out
'

test_expect_success 'a bad policy is refused (exit 2) before anything is built' '
	printf "{\"files\": {\"forbidden\": [\"curl(\"]}}" >bad-policy.json &&
	test_expect_code 2 caas-build-runner --context good --image $name --tag x --validate bad-policy.json >out 2>&1 &&
	grep "bad-policy.json" out && grep "files.forbidden" out &&
	! grep "sending build context" out &&
	test_expect_code 2 caas-build-runner --context good --image $name --validate-level staging >out 2>&1 &&
	test_expect_code 2 env activate_DockerImageFactory=maybe caas-build-runner --context good --image $name >out 2>&1 &&
	grep "activate_DockerImageFactory" out
'

test_done
