#!/usr/bin/env bash
test_description='playbooks/all-in-one.yml with the caas_* modules against the real engine, TLS registry and swarm: build, validate, push, deploy, the printed URL answers; idempotent; a policy violation stops it before the push; two jobs at once'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/playbook-lib.sh"

APP=$CS_TEST_PREFIX-web
PORT=$(free_port "")
PASSWORD=$(cat "$CAAS_REGISTRY_PASSWORD_FILE")

# inventory FILE BUILD ACTIVATE PRODREADY [APP]: the seed's inventory for this test.
inventory() {
	write_inventory "$1" "private_registry=$CAAS_REGISTRY" \
		"bay_api=unix:///var/run/docker.sock" "build_number=$2" \
		"activate_DockerImageFactory=$3" "application_name=${5:-$APP}" \
		"DockerImageFactory_ProdReady=$4" coe=swarm
}

cp -R "$TEST_DATA/playbooks/web" ws

test_expect_success 'make links the three modules in playbooks/library to the executables' '
	test "$(readlink "$TOP/playbooks/library/caas_build")" = ../../build-runner/caas-build-runner &&
	test "$(readlink "$TOP/playbooks/library/caas_validate")" = ../../validator/caas-validator &&
	test "$(readlink "$TOP/playbooks/library/caas_deploy")" = ../../deployer/caas-deployer
'

# (the stack and the image stay for the next test, which removes them)
test_expect_success 'all-in-one: build, validate (non-production), push, deploy; the URL it prints answers with this build' '
	inventory inv 1 1 False &&
	CAAS_REGISTRY_USER=$CAAS_REGISTRY_USER CAAS_REGISTRY_PASSWORD=$PASSWORD \
	run_playbook out all-in-one.yml -vv -i inv -e "workspace=$PWD/ws" \
		-e app_build_command=./build.sh -e "artifacts_dir=$PWD/art" -e deploy_timeout=120 \
		-e "{\"deploy_set\": {\"APP_PORT\": \"$PORT\"}}" &&
	cat out &&
	test "$(task_status out "Build the application")" = changed &&
	test "$(task_status out "Build the image")" = changed &&
	test "$(task_status out "Validate the image (the image factory)")" = ok &&
	test "$(task_status out "Push the validated image")" = changed &&
	test "$(task_status out "Deploy the application")" = changed &&
	url=$(printed_url out) &&
	test "$url" = "http://127.0.0.1:$PORT" &&
	get "$url/version.txt" >body &&
	echo "$APP build 1" >expect &&
	test_cmp expect body &&
	test "$(registry_code $APP 1)" = 200 &&
	jq -r ".tags[0].name, .tags[0].digest" art/build.json >pushed &&
	printf "%s\n%s\n" "$CAAS_REGISTRY/$APP:1" "$(registry_digest $APP 1)" >expect &&
	test_cmp expect pushed &&
	test "$(docker service inspect ${APP}_web --format "{{.Spec.TaskTemplate.ContainerSpec.Image}}")" = \
		"$CAAS_REGISTRY/$APP:1@$(registry_digest $APP 1)" &&
	jq -e ".status == \"converged\"" art/deploy.json &&
	jq -e ".status == \"valid\" and .violations == []" art/validation.json &&
	xmllint --xpath "count(//testcase)" art/validation.xml | grep -v "^0$" &&
	test "$(xmllint --xpath "sum(//testsuite/@failures)" art/validation.xml)" = 0 &&
	grep -x "http://127.0.0.1:$PORT" art/urls.txt &&
	! grep -F -e "$PASSWORD" out &&
	test -z "$(ls -A "$TMPDIR")"
'

test_expect_success 'the same build number again: nothing changes, the deploy task is ok' '
	test_when_finished "docker stack rm $APP >/dev/null 2>&1; registry_delete $APP 1" &&
	inventory inv 1 1 False &&
	run_playbook out all-in-one.yml -i inv -e "workspace=$PWD/ws" \
		-e "registry_user=$CAAS_REGISTRY_USER" -e "registry_password_file=$CAAS_REGISTRY_PASSWORD_FILE" \
		-e deploy_timeout=120 -e "{\"deploy_set\": {\"APP_PORT\": \"$PORT\"}}" &&
	cat out &&
	test "$(task_status out "Build the image")" = ok &&
	test "$(task_status out "Push the validated image")" = ok &&
	test "$(task_status out "Deploy the application")" = ok &&
	test "$(printed_url out)" = "http://127.0.0.1:$PORT" &&
	get "http://127.0.0.1:$PORT/version.txt" | grep -x "$APP build 1"
'

test_expect_success 'activate_DockerImageFactory=1 with the production policy: the play fails at the validation, nothing is pushed or deployed' '
	test_when_finished "docker stack rm $APP >/dev/null 2>&1; registry_delete $APP 2" &&
	inventory inv 2 1 True &&
	test_must_fail run_playbook out all-in-one.yml -i inv -e "workspace=$PWD/ws" \
		-e app_build_command=./build.sh -e "artifacts_dir=$PWD/art2" \
		-e "registry_user=$CAAS_REGISTRY_USER" -e "registry_password_file=$CAAS_REGISTRY_PASSWORD_FILE" \
		-e "{\"deploy_set\": {\"APP_PORT\": \"$PORT\"}}" &&
	cat out &&
	test "$(task_status out "Build the image")" = changed &&
	test "$(task_status out "Validate the image (the image factory)")" = fatal &&
	grep -E "/bin/(nc|telnet|wget)" out &&
	test -z "$(task_status out "Push the validated image")" &&
	test -z "$(task_status out "Deploy the application")" &&
	test "$(registry_code $APP 2)" = 404 &&
	! docker service inspect ${APP}_web >/dev/null 2>&1 &&
	test "$(xmllint --xpath "sum(//testsuite/@failures)" art2/validation.xml)" -ge 3 &&
	test ! -e art2/deploy.json &&
	test -z "$(ls -A "$TMPDIR")"
'

test_expect_success 'check mode (--check): the build and the deployment are planned, nothing is built, pushed or deployed' '
	inventory inv 9 1 True &&
	run_playbook out all-in-one.yml --check -i inv -e "workspace=$PWD/ws" \
		-e "registry_user=$CAAS_REGISTRY_USER" -e "registry_password_file=$CAAS_REGISTRY_PASSWORD_FILE" \
		-e "{\"deploy_set\": {\"APP_PORT\": \"$PORT\"}}" &&
	cat out &&
	test "$(task_status out "Build the image")" = changed &&
	test "$(task_status out "Validate the image (the image factory)")" = skipping &&
	test "$(task_status out "Deploy the application")" = changed &&
	grep "URL: (check mode: nothing deployed)" out &&
	test "$(registry_code $APP 9)" = 404 &&
	! docker image inspect "$CAAS_REGISTRY/$APP:9" >/dev/null 2>&1 &&
	! docker service inspect ${APP}_web >/dev/null 2>&1 &&
	test -z "$(ls -A "$TMPDIR")"
'

test_expect_success 'two all-in-one jobs of different applications at once (one copies its workspace) both succeed' '
	a=$CS_TEST_PREFIX-a && b=$CS_TEST_PREFIX-b &&
	pa=$(free_port $PORT) && pb=$(free_port $pa) &&
	test_when_finished "docker stack rm $a $b >/dev/null 2>&1; registry_delete $a 7; registry_delete $b 7" &&
	cp -R "$TEST_DATA/playbooks/web" ws-a && cp -R "$TEST_DATA/playbooks/web" ws-b &&
	inventory inv-a 7 1 False "$a" && inventory inv-b 7 0 False "$b" &&
	common="-e registry_user=$CAAS_REGISTRY_USER -e registry_password_file=$CAAS_REGISTRY_PASSWORD_FILE -e app_build_command=./build.sh -e deploy_timeout=120" &&
	{ run_playbook out-a all-in-one.yml -i inv-a $common -e "workspace=$PWD/ws-a" \
		-e ship_workspace=true -e "{\"deploy_set\": {\"APP_PORT\": \"$pa\"}}" & } &&
	pid=$! &&
	{ run_playbook out-b all-in-one.yml -i inv-b $common -e "workspace=$PWD/ws-b" \
		-e "{\"deploy_set\": {\"APP_PORT\": \"$pb\"}}"; rc_b=$?; } &&
	{ wait $pid; rc_a=$?; } &&
	cat out-a out-b &&
	test $rc_a = 0 && test $rc_b = 0 &&
	test "$(task_status out-a "Unpack the workspace on the build server")" = changed &&
	test "$(task_status out-b "Unpack the workspace on the build server")" = skipping &&
	test "$(task_status out-b "Validate the image (the image factory)")" = skipping &&
	get "$(printed_url out-a)/version.txt" | grep -x "$a build 7" &&
	get "$(printed_url out-b)/version.txt" | grep -x "$b build 7" &&
	test "$(registry_code $a 7)" = 200 && test "$(registry_code $b 7)" = 200 &&
	test -z "$(ls -A "$TMPDIR")"
'

test_expect_success 'all-in-one-cli.yml (the command module and the tools'\'' flags): the same job, the password from the environment in a file of the run' '
	c=$CS_TEST_PREFIX-cli && pc=$(free_port $((PORT + 100))) &&
	test_when_finished "docker stack rm $c >/dev/null 2>&1; registry_delete $c 3" &&
	cp -R "$TEST_DATA/playbooks/web" ws-cli &&
	inventory inv-cli 3 1 False "$c" &&
	CAAS_REGISTRY_USER=$CAAS_REGISTRY_USER CAAS_REGISTRY_PASSWORD=$PASSWORD \
	run_playbook out all-in-one-cli.yml -v -i inv-cli -e "workspace=$PWD/ws-cli" \
		-e app_build_command=./build.sh -e "artifacts_dir=$PWD/art-cli" -e deploy_timeout=120 \
		-e "{\"deploy_set\": {\"APP_PORT\": \"$pc\"}}" &&
	cat out &&
	test "$(task_status out "Build, validate and push the image (caas-build-runner)")" = changed &&
	test "$(task_status out "Print the URL(s)")" = changed &&
	test "$(printed_url out)" = "http://127.0.0.1:$pc" &&
	get "http://127.0.0.1:$pc/version.txt" | grep -x "$c build 3" &&
	jq -r ".tags[0].digest" art-cli/build.json | grep -x "$(registry_digest $c 3)" &&
	! grep -F -e "$PASSWORD" out &&
	test -z "$(ls -A "$TMPDIR")"
'

test_done
