#!/usr/bin/env bash
test_description='caas-validator: the options layer (streams, -q, --json on failure) and the caas_validate Ansible module'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-valmod
ref=$CAAS_REGISTRY/$img/bb:1
pol=$TOP/validator/policies
pw=$(cat "$CAAS_REGISTRY_PASSWORD_FILE")

# A JSON arguments file as Ansible writes it: jq builds it, so quoting is jq's.
args() {
	jq -n "$@"
}

# No validation container of IMAGE is left (other jobs on the engine may validate other images).
no_validation_container() { # IMAGE
	test -z "$(docker ps -aq --filter name=cs-val- \
		--filter "ancestor=$(docker image inspect -f "{{.Id}}" "$1")")"
}

test_expect_success 'setup: busybox (nc, telnet, wget: 3 violations in production) in the registry only' '
	mkdir uniq && printf "FROM busybox:latest\nRUN echo %s >/stamp\n" "$CS_TEST_PREFIX" >uniq/Dockerfile &&
	docker build -q -t $img-uniq:1 uniq >/dev/null &&
	DOCKER_CONFIG=$PWD/dcfg && export DOCKER_CONFIG && mkdir -p "$DOCKER_CONFIG" &&
	docker login -u "$CAAS_REGISTRY_USER" --password-stdin "$CAAS_REGISTRY" \
		<"$CAAS_REGISTRY_PASSWORD_FILE" >/dev/null 2>&1 &&
	docker tag busybox:latest $ref &&
	docker push -q $ref >/dev/null &&
	docker rmi $ref >/dev/null &&
	docker logout "$CAAS_REGISTRY" >/dev/null 2>&1 &&
	unset DOCKER_CONFIG &&
	test_must_fail docker image inspect $ref >/dev/null 2>&1
'

test_expect_success '--json - gives pure JSON on stdout; the text report goes to stderr' '
	test_expect_code 3 caas-validator --no-processes --json - busybox:latest >out 2>err &&
	jq -e ".status == \"not valid\" and .Status == \"failure\" and .exit_code == 3" out &&
	jq -e "(.violations | length) == 3 and (.error | test(\"3 violations\"))" out &&
	grep "^file /bin/nc is forbidden" err &&
	grep "^Image .busybox:latest. is not valid (3 violations)" err &&
	caas-validator --no-processes --level non-production --json - busybox:latest 2>/dev/null |
		jq -e ".status == \"valid\" and .violations == [] and .exit_code == 0 and (has(\"error\") | not)"
'

test_expect_success 'without --json: the result lines on stdout, notes and progress on stderr' '
	test_expect_code 3 caas-validator --no-processes busybox:latest >out 2>err &&
	test_line_count = 5 out &&
	grep "^checked [0-9]* files, 0 packages" out &&
	! grep "^note:" out &&
	grep "^note: no package database found" err &&
	grep "^caas-validator: info: validating .busybox:latest." err
'

test_expect_success '-q: nothing on stderr; the result stays on stdout' '
	caas-validator -q --no-processes --level non-production busybox:latest >out 2>err &&
	test_must_be_empty err &&
	test_line_count = 2 out &&
	grep "is valid: it can be pushed" out
'

test_expect_success '--junit - gives the XML on stdout; both on stdout is a usage error' '
	test_expect_code 3 caas-validator --no-processes --junit - busybox:latest >out 2>err &&
	xmllint --noout out &&
	test "$(xmllint --xpath "string(//testsuite[@name=\"files\"]/@failures)" out)" = 3 &&
	grep "is not valid" err &&
	test_expect_code 2 caas-validator --json - --junit - busybox:latest >out 2>err &&
	jq -e ".status == \"failed\" and .exit_code == 2" out &&
	test_line_count = 1 err &&
	grep "cannot both use stdout (see --help)" err
'

test_expect_success '--json FILE is written on bad input too: status failed, exit_code, error' '
	printf "{\"files\": " >broken.json &&
	test_expect_code 2 caas-validator --policy broken.json --json r.json busybox:latest 2>err &&
	jq -e ".status == \"failed\" and .exit_code == 2 and (.error | test(\"broken.json\"))" r.json &&
	test_expect_code 2 caas-validator --no-processes --json r.json $img-none:1 2>err &&
	jq -e ".status == \"failed\" and (.error | test(\"no such image\"))" r.json
'

test_expect_success 'usage errors: one line and "see --help", exit 2; a password never in argv' '
	test_expect_code 2 caas-validator --bogus busybox:latest >out 2>err &&
	test_line_count = 1 err &&
	grep "unknown option .--bogus. (see --help)" err &&
	test_expect_code 2 caas-validator --registry-password s3cret-pw busybox:latest 2>err &&
	grep "module arguments file only: a secret never goes in argv" err &&
	test_expect_code 2 caas-validator --registry-user u busybox:latest 2>err &&
	grep "go together" err &&
	test_expect_code 2 caas-validator a b 2>err &&
	grep "unexpected argument .b." err
'

test_expect_success '--version, man page and completion from the option table' '
	caas-validator --version | grep -E "^caas-validator [0-9]+\.[0-9]+" &&
	caas-validator --help >help &&
	! grep -- "--registry-password " help &&
	grep "^  130  interrupted (SIGINT), 143 terminated (SIGTERM)" help &&
	caas-validator --help-man >man.1 &&
	man -l man.1 >/dev/null 2>&1 &&
	caas-validator --help-completion >comp.bash &&
	bash -n comp.bash &&
	bash -c ". ./comp.bash; COMP_WORDS=(caas-validator --level \"\"); COMP_CWORD=2; _caas_validator; printf \"%s\n\" \"\${COMPREPLY[@]}\"" >words &&
	grep -x production words && grep -x non-production words
'

test_expect_success 'module: a valid image: one JSON object, changed false, status valid' '
	args --arg p "$pol/filch-insecure.json" \
		"{image: \"$img-uniq:1\", policy: \$p, observe: 1, junit: \"m.xml\"}" >ok.json &&
	caas-validator ok.json >out 2>err &&
	test_line_count = 1 out &&
	jq -e ".failed == false and .changed == false and .rc == 0 and .status == \"valid\"" out &&
	jq -e ".violations == [] and (.msg | test(\"is valid\")) and (.processes | type) == \"number\"" out &&
	xmllint --noout m.xml &&
	no_validation_container $img-uniq:1
'

test_expect_success 'module: a not valid image fails with rc 3 and the number of violations' '
	args "{image: \"busybox:latest\", no_processes: \"yes\", json: \"m.json\"}" >bad.json &&
	caas-validator bad.json >out 2>err; test $? = 1 &&
	test_line_count = 1 out &&
	jq -e ".failed == true and .changed == false and .rc == 3 and .status == \"not valid\"" out &&
	jq -e "(.msg | test(\"not valid \\\\(3 violations\\\\)\")) and (.violations | length) == 3" out &&
	jq -e "[.violations[].item] == [\"/bin/nc\", \"/bin/telnet\", \"/bin/wget\"]" out &&
	jq -e ".status == \"not valid\" and .exit_code == 3" m.json &&
	grep "^file /bin/nc is forbidden" err
'

test_expect_success 'module: check mode validates too, and leaves nothing behind' '
	args --arg p "$pol/filch.json" \
		"{image: \"$img-uniq:1\", policy: \$p, observe: 1, _ansible_check_mode: true}" >check.json &&
	caas-validator check.json >out 2>err; test $? = 1 &&
	jq -e ".check_mode == true and .changed == false and .rc == 3" out &&
	no_validation_container $img-uniq:1
'

test_expect_success 'module: registry_password reads an image only in the registry and is never printed' '
	args --arg ref "$ref" --arg user "$CAAS_REGISTRY_USER" --arg pw "$pw" \
		--arg ca "$CAAS_REGISTRY_CA" --arg p "$pol/filch.json" \
		"{image: \$ref, policy: \$p, no_processes: true, no_cache: true, registry_user: \$user,
		  registry_password: \$pw, registry_ca: \$ca, json: \"reg.json\", junit: \"reg.xml\",
		  verbose: 2}" >reg-args.json &&
	caas-validator reg-args.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 3 and .Source.path == \"registry\" and .Source.layersFetched == 1" out &&
	jq -e "(.violations | length) == 3" out &&
	grep "fetched from the registry" err &&
	! grep -F "$pw" out err reg.json reg.xml &&
	test_must_fail docker image inspect $ref >/dev/null 2>&1
'

test_expect_success 'module: a wrong registry_password is rc 7 and not echoed' '
	args --arg ref "$ref" --arg user "$CAAS_REGISTRY_USER" --arg ca "$CAAS_REGISTRY_CA" \
		"{image: \$ref, no_processes: true, no_cache: true, registry_user: \$user,
		  registry_password: \"wrong-Secret-987\", registry_ca: \$ca, verbose: 2}" >wrong.json &&
	caas-validator wrong.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 7 and .status == \"failed\" and (.msg | test(\"authentication failed\"))" out &&
	! grep -F "wrong-Secret-987" out err
'

test_expect_success 'module: bad input gives failed JSON, a clear msg and rc 2' '
	args "{image: \"busybox:latest\", bogus: 1}" >b1.json &&
	caas-validator b1.json >out 2>err; test $? = 1 &&
	jq -e ".failed == true and .rc == 2 and (.msg | test(\"unsupported parameter .bogus. for module caas_validate\"))" out &&
	args "{image: \"busybox:latest\", no_processes: \"maybe\"}" >b2.json &&
	caas-validator b2.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 2 and (.msg | test(\"no_processes: want a boolean\"))" out &&
	args "{no_processes: true}" >b3.json &&
	caas-validator b3.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 2 and .msg == \"image is required\"" out &&
	args "{image: \"busybox:latest\", junit: \"-\"}" >b4.json &&
	caas-validator b4.json >out 2>err; test $? = 1 &&
	test_line_count = 1 out &&
	jq -e ".rc == 2 and (.msg | test(\"junit\"))" out &&
	args "{image: \"busybox:latest\", level: \"staging\"}" >b5.json &&
	caas-validator b5.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 2 and (.msg | test(\"level .staging.: want production or non-production\"))" out &&
	printf "{\"image\": " >b6.json &&
	caas-validator b6.json >out 2>err; test $? = 1 &&
	jq -e ".rc == 2 and (.msg | test(\"arguments file .b6.json.: line\"))" out
'

# Ansible wants a UTF-8 locale (test-lib sets LC_ALL=C)
ansible_run() {
	env LC_ALL=C.UTF-8 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
		ANSIBLE_NOCOLOR=1 ansible localhost -c local -M library -m caas_validate -o "$@"
}

test_expect_success 'ansible itself runs it as a binary module' '
	mkdir library &&
	cp "$(command -v caas-validator)" library/caas_validate &&
	ansible_run -a "image=busybox:latest no_processes=true policy=$pol/filch-insecure.json" >out 2>err &&
	grep "^localhost | SUCCESS => " out &&
	sed "s/^localhost | SUCCESS => //" out | jq -e ".status == \"valid\" and .changed == false" &&
	test_expect_code 2 ansible_run -a "image=busybox:latest no_processes=true policy=$pol/filch.json" >out 2>err &&
	grep "^localhost | FAILED! => " out &&
	sed "s/^localhost | FAILED! => //" out | jq -e ".rc == 3 and .status == \"not valid\""
'

test_expect_success 'cleanup: the registry manifest' '
	d=$(registry_curl -sI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"$CAAS_REGISTRY_URL/v2/$img/bb/manifests/1" | tr -d "\r" | sed -n "s/^docker-content-digest: //Ip") &&
	registry_curl -s -X DELETE "$CAAS_REGISTRY_URL/v2/$img/bb/manifests/$d" &&
	docker rmi $img-uniq:1 >/dev/null
'

test_done
