#!/usr/bin/env bash
test_description='jenkins/: the Jenkins Job Builder jobs render to config.xml (jenkins-jobs test) in the seed freestyle style; the Jenkinsfiles compile (groovy) and have the declarative structure, credentials, reports and URL they must have'
. "$(dirname "$0")/test-lib.sh"

JENKINS=$TOP/jenkins
# Ansible refuses to run without a UTF-8 locale
LC_ALL=C.UTF-8
export LC_ALL
CHECK=$TOP/tests/integration/jenkinsfile_check.groovy
JOBS='all-in-one deploy-only promote'

# A JJB configuration of its own: no /etc/jenkins_jobs, no cache in the user's home.
printf '[job_builder]\nignore_cache=True\n' >jjb.ini
jjb() {
	jenkins-jobs --conf "$PWD/jjb.ini" -l error "$@"
}

# xpath FILE EXPR: the string value of EXPR in FILE.
xpath() {
	xmllint --xpath "string($2)" "$1"
}

# The Ansible plugin's step, inside the PostBuildScript publisher (a post-build step).
STEP=//publishers/org.jenkinsci.plugins.postbuildscript.PostBuildScript//org.jenkinsci.plugins.ansible.AnsiblePlaybookBuilder

test_expect_success 'jenkins-jobs test renders the three jobs into config.xml' '
	jjb test --config-xml "$JENKINS/jjb" -o jjb-out &&
	for j in $JOBS; do
		test -s "jjb-out/petclinic-$j/config.xml" &&
			xmllint --noout "jjb-out/petclinic-$j/config.xml" || return 1
	done &&
	test "$(find jjb-out -name config.xml | wc -l)" -eq 3
'

test_expect_success 'all-in-one: git SCM, the build step, then the playbook as a post-build step' '
	x=jjb-out/petclinic-all-in-one/config.xml &&
	test "$(xpath $x "/project/scm/@class")" = hudson.plugins.git.GitSCM &&
	test "$(xpath $x "//scm//hudson.plugins.git.UserRemoteConfig/url")" = https://git.example.com/team/petclinic.git &&
	test "$(xpath $x "/project/builders/hudson.tasks.Shell/command")" = "mvn -B package" &&
	test "$(xpath $x "count(/project/builders/*)")" = 1 &&
	test "$(xpath $x "$STEP/playbook")" = /usr/share/caas-devops/playbooks/all-in-one.yml &&
	test "$(xpath $x "$STEP/../../results/string")" = SUCCESS &&
	test "$(xpath $x "$STEP/credentialsId")" = caas-build-server &&
	test "$(xpath $x "$STEP/inventory/@class")" = org.jenkinsci.plugins.ansible.InventoryContent &&
	test "$(xpath $x "$STEP/extraVars/org.jenkinsci.plugins.ansible.ExtraVar[key=\"workspace\"]/value")" = "\${WORKSPACE}" &&
	test "$(xpath $x "/project/concurrentBuild")" = true
'

# The inline inventory as the Ansible plugin writes it: the build variables expanded.
inventory_of() { # JOB
	xpath "jjb-out/petclinic-$1/config.xml" "$STEP/inventory/content" |
		sed -e "s/\${BUILD_NUMBER}/57/; s/\${activate_DockerImageFactory}/1/; s/\${DockerImageFactory_ProdReady}/False/"
}

test_expect_success 'the inline inventory is the seed'\''s, and ansible reads the seed'\''s variables from it' '
	inventory_of all-in-one >inv.ini &&
	cat inv.ini &&
	grep -x "\[docker_nodes\]" inv.ini &&
	for v in ansible_ssh_host private_registry bay_api build_number activate_DockerImageFactory \
		application_name DockerImageFactory_ProdReady coe; do
		grep -q "^build_server $v=" inv.ini || { echo "no $v" >&2; return 1; }
	done &&
	ansible-inventory -i inv.ini --host build_server >host.json &&
	jq -e ".build_number == 57 and .activate_DockerImageFactory == 1 and
		.DockerImageFactory_ProdReady == false and .coe == \"swarm\" and
		.application_name == \"petclinic\" and .private_registry == \"registry.example.com:5000\"" host.json &&
	ansible-inventory -i inv.ini --graph | grep -- "--@docker_nodes:" &&
	ansible-inventory -i inv.ini --graph | grep -- "--build_server"
'

test_expect_success 'deploy-only and promote: their playbooks, parameters, and variables the playbooks know' '
	for j in deploy-only promote; do
		x=jjb-out/petclinic-$j/config.xml &&
		test "$(xpath $x "$STEP/playbook")" = "/usr/share/caas-devops/playbooks/$j.yml" &&
		test -f "$TOP/playbooks/$j.yml" &&
		for key in $(xmllint --xpath "$STEP/extraVars/org.jenkinsci.plugins.ansible.ExtraVar/key/text()" $x); do
			grep -qw "$key" "$TOP/playbooks/$j.yml" || { echo "$j: $key unknown" >&2; return 1; }
		done || return 1
	done &&
	test "$(xpath jjb-out/petclinic-deploy-only/config.xml "//hudson.model.StringParameterDefinition/name")" = IMAGE_TAG &&
	test "$(xpath jjb-out/petclinic-promote/config.xml "//hudson.model.StringParameterDefinition/name")" = SOURCE_TAG &&
	test "$(xpath jjb-out/petclinic-promote/config.xml "/project/concurrentBuild")" = false &&
	inventory_of promote >prod.ini &&
	ansible-inventory -i prod.ini --host build_server | jq -e ".coe == \"kubernetes\""
'

test_expect_success 'jenkins-jobs test fails on a job it cannot render (the test can fail)' '
	mkdir broken &&
	sed -e "s/- ansible-playbook:/- ansible-playbok:/" "$JENKINS/jjb/caas-devops.yaml" >broken/jobs.yaml &&
	test_must_fail jjb test --config-xml broken -o broken-out 2>err &&
	cat err &&
	grep -i "ansible-playbok" err
'

test_expect_success 'the three Jenkinsfiles compile and pass the declarative checks' '
	JENKINSFILE_CHECK_OUT=$PWD/written groovy "$CHECK" "$JENKINS"/all-in-one.Jenkinsfile \
		"$JENKINS"/deploy-only.Jenkinsfile "$JENKINS"/promote.Jenkinsfile >tree 2>err &&
	cat err &&
	test ! -s err &&
	test "$(grep -c "^== " tree)" -eq 3
'

# tree_of JOB: the recorded calls of one Jenkinsfile.
tree_of() {
	sed -n "/^== .*\/$1.Jenkinsfile$/,/^== /p" tree | grep -v "^== "
}

test_expect_success 'each Jenkinsfile: credentials bound, the playbook run with them, reports kept, the URL last' '
	for j in $JOBS; do
		tree_of $j >t.$j &&
		grep "^pipeline/agent/label: caas-build$" t.$j &&
		grep "/withCredentials: " t.$j >/dev/null &&
		grep "/usernamePassword: {credentialsId=caas-registry, usernameVariable=CAAS_REGISTRY_USER, passwordVariable=CAAS_REGISTRY_PASSWORD}" t.$j &&
		grep "/sshUserPrivateKey: {credentialsId=caas-build-server, keyFileVariable=CAAS_SSH_KEY," t.$j &&
		grep "/withCredentials/sh: ansible-playbook -i .caas/inventory.ini -e @.caas/vars.json --private-key \"\$CAAS_SSH_KEY\" .*\"\$CAAS_PLAYBOOKS/$j.yml\"" t.$j &&
		grep "^pipeline/post/always/archiveArtifacts: {artifacts=caas-artifacts/\*.json" t.$j &&
		grep "^pipeline/stages/stage\[Checkout\]/steps/checkout: scm$" t.$j &&
		tail -n 1 t.$j | grep "^pipeline/post/success/script/echo: URL: http" || return 1
	done &&
	grep "^pipeline/post/always/junit: {testResults=caas-artifacts/validation.xml" t.all-in-one &&
	grep "^pipeline/post/always/junit: {testResults=caas-artifacts/validation.xml" t.promote &&
	grep "^pipeline/options/disableConcurrentBuilds" t.promote
'

test_expect_success 'all-in-one.Jenkinsfile: the seed'\''s parameters, its inventory and variables as ansible reads them' '
	for p in APPLICATION_NAME BUILD_SERVER PRIVATE_REGISTRY BAY_API COE activate_DockerImageFactory \
		DockerImageFactory_ProdReady APP_BUILD_COMMAND; do
		grep -q "^pipeline/parameters/[a-z]*: {name=$p," t.all-in-one || { echo "no $p" >&2; return 1; }
	done &&
	ansible-inventory -i written/all-in-one/.caas/inventory.ini --host build_server >host.json &&
	jq -e ".build_number == 42 and .activate_DockerImageFactory == 1 and
		.DockerImageFactory_ProdReady == false and .ansible_connection == \"local\"" host.json &&
	jq -e ".workspace == \"/workspace/job\" and .artifacts_dir == \"/workspace/job/caas-artifacts\" and
		.app_build_command == \"mvn -B package\"" written/all-in-one/.caas/vars.json &&
	for j in $JOBS; do
		for key in $(jq -r "keys[]" written/$j/.caas/vars.json); do
			grep -qw "$key" "$TOP/playbooks/$j.yml" || { echo "$j: $key unknown" >&2; return 1; }
		done || return 1
	done
'

test_expect_success 'the checker fails on a syntax error, naming the line' '
	sed -e "0,/^    }$/{/^    }$/d}" "$JENKINS/all-in-one.Jenkinsfile" >syntax.Jenkinsfile &&
	test_must_fail groovy "$CHECK" syntax.Jenkinsfile >out 2>err &&
	cat err &&
	grep "syntax.Jenkinsfile: syntax error: .* line [0-9]*" err
'

test_expect_success 'the checker fails on an unknown step and on a section out of place' '
	sed -e "s/archiveArtifacts artifacts/archiveArtifact artifacts/" "$JENKINS/promote.Jenkinsfile" >typo.Jenkinsfile &&
	test_must_fail groovy "$CHECK" typo.Jenkinsfile >out 2>err &&
	grep "unknown step .archiveArtifact." err &&
	sed -e "s/^    agent { label .caas-build. }$/    agnt { label \"caas-build\" }/" "$JENKINS/deploy-only.Jenkinsfile" >agent.Jenkinsfile &&
	test_must_fail groovy "$CHECK" agent.Jenkinsfile >out 2>err &&
	grep "pipeline: no agent section" err
'

test_expect_success 'the checker fails when Groovy would interpolate a credential into sh' '
	sed -e "s/^                    sh '\'\'\''$/                    sh \"\"\"/" \
		-e "s/^                    '\'\'\''$/                    \"\"\"/" \
		-e "s/--private-key \"\$CAAS_SSH_KEY\"/--private-key \${CAAS_SSH_KEY}/" \
		"$JENKINS/all-in-one.Jenkinsfile" >gstring.Jenkinsfile &&
	grep -F "private-key \${CAAS_SSH_KEY}" gstring.Jenkinsfile &&
	test_must_fail groovy "$CHECK" gstring.Jenkinsfile >out 2>err &&
	grep "interpolates a credential" err
'

test_done
