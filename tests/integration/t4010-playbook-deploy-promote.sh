#!/usr/bin/env bash
test_description='playbooks/deploy-only.yml (an existing tag to the swarm) and promote.yml (production validation, release tag in the registry with the same digest, deploy to the Kubernetes control plane) run for real'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/playbook-lib.sh"
. "$TOP/tests/integration/k8s-lib.sh"

APP=$CS_TEST_PREFIX-rel
NS=$CS_TEST_PREFIX-prod
PORT=$(free_port "")
REG_ARGS=(-e "registry_user=$CAAS_REGISTRY_USER" -e "registry_password_file=$CAAS_REGISTRY_PASSWORD_FILE")

# The application's workspace, and its image pushed by the build runner's command line:
# tag 5 passes the production policy (HARDEN=1), tag 6 does not.
cp -R "$TEST_DATA/playbooks/web" ws
push() { # TAG HARDEN
	(cd ws && BUILD_NUMBER=$1 APP_NAME=$APP ./build.sh) &&
		caas-build-runner -q --context ws --image "$APP" --tag "$1" --build-arg "HARDEN=$2" \
			--registry "$CAAS_REGISTRY" --registry-user "$CAAS_REGISTRY_USER" \
			--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" --push >/dev/null
}

test_expect_success 'setup: tags 5 (hardened) and 6 (not) in the registry' '
	push 5 1 && push 6 0 &&
	test "$(registry_code $APP 5)" = 200 && test "$(registry_code $APP 6)" = 200
'

swarm_inventory() {
	write_inventory inv-swarm "private_registry=$CAAS_REGISTRY" "bay_api=unix:///var/run/docker.sock" \
		"application_name=$APP" coe=swarm
}

test_expect_success 'deploy-only: tag 5 to the swarm; the printed URL answers with build 5; again: ok' '
	test_when_finished "docker stack rm $APP >/dev/null 2>&1" &&
	swarm_inventory &&
	run_playbook out deploy-only.yml -i inv-swarm "${REG_ARGS[@]}" -e image_tag=5 \
		-e "workspace=$PWD/ws" -e "artifacts_dir=$PWD/art" -e deploy_timeout=120 \
		-e "{\"deploy_set\": {\"APP_PORT\": \"$PORT\"}}" &&
	cat out &&
	test "$(task_status out "Deploy the application")" = changed &&
	test "$(printed_url out)" = "http://127.0.0.1:$PORT" &&
	get "http://127.0.0.1:$PORT/version.txt" | grep -x "$APP build 5" &&
	jq -e ".status == \"converged\"" art/deploy.json &&
	run_playbook out2 deploy-only.yml -i inv-swarm "${REG_ARGS[@]}" -e image_tag=5 \
		-e "workspace=$PWD/ws" -e deploy_timeout=120 -e "{\"deploy_set\": {\"APP_PORT\": \"$PORT\"}}" &&
	test "$(task_status out2 "Deploy the application")" = ok &&
	test -z "$(ls -A "$TMPDIR")"
'

test_expect_success 'deploy-only: a tag the registry does not have fails the play, nothing deployed' '
	test_when_finished "docker stack rm $APP >/dev/null 2>&1 || :" &&
	swarm_inventory &&
	test_must_fail run_playbook out deploy-only.yml -i inv-swarm "${REG_ARGS[@]}" -e image_tag=404 \
		-e "workspace=$PWD/ws" -e "{\"deploy_set\": {\"APP_PORT\": \"$PORT\"}}" &&
	cat out &&
	test "$(task_status out "Deploy the application")" = fatal &&
	! docker service inspect "${APP}_web" >/dev/null 2>&1 &&
	test -z "$(ls -A "$TMPDIR")"
'

k8s_inventory() {
	write_inventory inv-k8s "private_registry=$CAAS_REGISTRY" "bay_api=$CAAS_K8S_HTTP_URL" \
		"application_name=$APP" coe=kubernetes
}

test_expect_success 'promote: tag 5 validated (production, after a pull), tagged release-5 with the same digest, deployed to Kubernetes' '
	kubectl create namespace "$NS" >/dev/null &&
	docker rmi -f "$CAAS_REGISTRY/$APP:5" >/dev/null &&
	k8s_inventory &&
	run_playbook out promote.yml -i inv-k8s "${REG_ARGS[@]}" -e source_tag=5 -e "namespace=$NS" \
		-e "workspace=$PWD/ws" -e "artifacts_dir=$PWD/art-p" -e deploy_timeout=120 &&
	cat out &&
	test "$(task_status out "Pull the image into the engine (the validator runs it to see its processes)")" = changed &&
	test "$(task_status out "Validate the image with the production policy")" = ok &&
	test "$(task_status out "Tag the validated manifest as the release")" = changed &&
	test "$(task_status out "Deploy the application")" = changed &&
	test "$(registry_digest $APP release-5)" = "$(registry_digest $APP 5)" &&
	test "$(kubectl -n "$NS" get deploy web -o jsonpath="{.spec.template.spec.containers[0].image}")" = \
		"$CAAS_REGISTRY/$APP:release-5" &&
	test "$(kubectl -n "$NS" get deploy web -o jsonpath="{.status.availableReplicas}")" = 2 &&
	port=$(kubectl -n "$NS" get svc web -o jsonpath="{.spec.ports[0].nodePort}") &&
	printed_url out | grep -E "^http://[0-9.]+:$port$" &&
	test "$(xmllint --xpath "sum(//testsuite/@failures)" art-p/validation.xml)" = 0 &&
	grep -q "processes" art-p/validation.xml &&
	grep -E "^http://[0-9.]+:$port$" art-p/urls.txt &&
	test -z "$(ls -A "$TMPDIR")"
'

test_expect_success 'promote again: the release tag is already there (not rewritten), the deployment is ok' '
	k8s_inventory &&
	run_playbook out promote.yml -i inv-k8s "${REG_ARGS[@]}" -e source_tag=5 -e "namespace=$NS" \
		-e "workspace=$PWD/ws" -e deploy_timeout=120 &&
	cat out &&
	test "$(task_status out "Pull the image into the engine (the validator runs it to see its processes)")" = ok &&
	test "$(task_status out "Tag the validated manifest as the release")" = skipping &&
	test "$(task_status out "Deploy the application")" = ok
'

test_expect_success 'promote: a tag that breaks the production policy fails at the validation: no release tag, production unchanged' '
	test_when_finished "kubectl delete namespace $NS --wait=false >/dev/null;
		registry_delete $APP release-5; registry_delete $APP 5; registry_delete $APP 6" &&
	k8s_inventory &&
	test_must_fail run_playbook out promote.yml -i inv-k8s "${REG_ARGS[@]}" -e source_tag=6 \
		-e "namespace=$NS" -e "workspace=$PWD/ws" -e "artifacts_dir=$PWD/art-6" &&
	cat out &&
	test "$(task_status out "Validate the image with the production policy")" = fatal &&
	test -z "$(task_status out "Tag the validated manifest as the release")" &&
	test "$(registry_code $APP release-6)" = 404 &&
	test "$(xmllint --xpath "sum(//testsuite/@failures)" art-6/validation.xml)" -ge 3 &&
	test "$(kubectl -n "$NS" get deploy web -o jsonpath="{.spec.template.spec.containers[0].image}")" = \
		"$CAAS_REGISTRY/$APP:release-5"
'

test_done
