#!/usr/bin/env bash
test_description='caas-deployer --coe kubernetes: SIGTERM in the apply phase and in the wait, an API server lost during the apply (through an HTTP relay)'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/k8s-lib.sh"
. "$TOP/tests/integration/fault-lib.sh"

ns=$CS_TEST_PREFIX-kap
relay_port='' relay_ctl='' # set by the setup

# manifests V MINREADY: a ConfigMap and two Deployments (applied in that order)
manifests() {
	cat <<-EOF
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: conf}
	data: {v: "$1"}
	EOF
	for d in a b; do
		cat <<-EOF
		---
		apiVersion: apps/v1
		kind: Deployment
		metadata: {name: $d}
		spec:
		  replicas: 1
		  minReadySeconds: $2
		  progressDeadlineSeconds: 900
		  selector: {matchLabels: {app: $d}}
		  template:
		    metadata: {labels: {app: $d}}
		    spec:
		      containers: [{name: $d, image: "registry.example/$d:$1", env: [{name: V, value: "$1"}]}]
		EOF
	done
}

# deploy_bg APP FILE ARGS...: the deployer through the relay, in the background; out, err,
# report.json; $dep_pid
deploy_bg() {
	local app=$1 file=$2
	shift 2
	caas-deployer --coe kubernetes --bay "http://127.0.0.1:$relay_port" --namespace "$ns" \
		--app "$app" -f "$file" -v --json report.json "$@" >out 2>err &
	dep_pid=$!
}

finish() {
	rc=0
	wait "$dep_pid" || rc=$?
	cat out err
}

# objects APP: "KIND/NAME" of the app's objects in the namespace, sorted
objects() {
	kubectl -n "$ns" get cm,deploy,svc -l "app.kubernetes.io/instance=$1" -o name | sort
}

# state: the ConfigMap's data and each Deployment's env and image
state() {
	kubectl -n "$ns" get cm conf -o jsonpath='{.data.v}{"\n"}' &&
		for d in a b; do
			kubectl -n "$ns" get deploy "$d" -o jsonpath='{.spec.template.spec.containers[0].env[0].value} {.spec.template.spec.containers[0].image} {.spec.minReadySeconds}{"\n"}'
		done
}

no_lease() {
	test_must_fail kubectl -n "$ns" get lease "$1.caas-deployer-lock"
}

test_expect_success 'setup: a namespace, the HTTP relay to the API server' '
	kubectl create namespace "$ns" >/dev/null &&
	start_http_relay relay "${CAAS_K8S_HTTP_URL#http://}" &&
	curl -sSf "http://127.0.0.1:$relay_port/version" | jq -e .gitVersion &&
	manifests 1 0 >v1.yaml && manifests 2 0 >v2.yaml && manifests 3 500 >slow.yaml
'

test_expect_success 'first deployment: SIGTERM while Deployment b is applied (it was): 143, everything deleted, the Lease released' '
	fault_arm "$relay_ctl" "mode=hold&match=^PATCH%20.*/deployments/b[?]fieldManager=[a-z-]*$&delay=8" &&
	deploy_bg k1 v1.yaml --timeout 60 &&
	fault_injected "$relay_ctl" &&
	kubectl -n "$ns" get deploy b -o name &&
	kill -TERM $dep_pid &&
	finish && test "$rc" = 143 &&
	grep "interrupted by SIGTERM" err &&
	grep "Deployment $ns/b was created (its answer was lost)" err &&
	grep "^removed Deployment $ns/b" err &&
	grep "^removed Deployment $ns/a" err &&
	grep "^removed ConfigMap $ns/conf" err &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\" and .changed == false" report.json &&
	wait_until 30 test -z "$(objects k1)" &&
	no_lease k1
'

test_expect_success 'update: SIGTERM while Deployment b is applied: the ConfigMap and both Deployments as before' '
	caas-deployer --coe kubernetes --namespace "$ns" --app k2 -f v1.yaml --timeout 60 >first.log 2>&1 &&
	state >before && cat before &&
	fault_arm "$relay_ctl" "mode=hold&match=^PATCH%20.*/deployments/b[?]fieldManager=[a-z-]*$&delay=8" &&
	deploy_bg k2 v2.yaml --timeout 60 &&
	fault_injected "$relay_ctl" &&
	kill -TERM $dep_pid &&
	finish && test "$rc" = 143 &&
	grep "Deployment $ns/b was updated (its answer was lost)" err &&
	grep "^restored Deployment $ns/b" err &&
	grep "^restored Deployment $ns/a" err &&
	grep "^restored ConfigMap $ns/conf" err &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\"" report.json &&
	state >after && cat after &&
	test_cmp before after &&
	no_lease k2
'

test_expect_success 'SIGTERM in the wait (a rollout held by minReadySeconds): 143, restored, the Lease released' '
	state >before &&
	deploy_bg k2 slow.yaml --timeout 120 &&
	wait_until 30 grep -q "^updated Deployment $ns/b" err &&
	sleep 1 &&
	kill -TERM $dep_pid &&
	finish && test "$rc" = 143 &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\"" report.json &&
	state >after &&
	test_cmp before after &&
	no_lease k2
'

test_expect_success 'the API server goes away as Deployment b is applied (it was), back 3 s later: converged' '
	fault_arm "$relay_ctl" "mode=refuse&match=^PATCH%20.*/deployments/b[?]fieldManager=[a-z-]*$&forward=1" &&
	deploy_bg k2 v2.yaml --timeout 60 --stable-for 1 &&
	fault_injected "$relay_ctl" &&
	sleep 3 && fault "$relay_ctl" mode=none &&
	finish && test "$rc" = 0 &&
	grep "warning: lost the bay while applying Deployment $ns/b: .*; trying again for [0-9]* s" err &&
	grep "warning: the bay answers again: Deployment $ns/b was changed" err &&
	state >now && cat now &&
	test "$(grep -c "^2 registry.example/[ab]:2 " now)" = 2
'

test_expect_success 'the API server never comes back during the apply: exit 9 naming each object, the lock ID given' '
	test_when_finished "fault $relay_ctl mode=none" &&
	fault_arm "$relay_ctl" "mode=refuse&match=^PATCH%20.*/deployments/b[?]fieldManager=[a-z-]*$" &&
	deploy_bg k2 v1.yaml --timeout 4 &&
	finish && test "$rc" = 9 &&
	grep "error: cannot update Deployment .$ns/b.: the bay stayed unreachable until the deadline" err &&
	grep "error: cannot tell whether Deployment .$ns/b. was updated" err &&
	grep "error: cannot roll back Deployment .$ns/a." err &&
	grep "error: cannot roll back ConfigMap .$ns/conf." err &&
	grep "cannot remove the lock k2.caas-deployer-lock of app .k2.: .*--break-lock [0-9a-f]\{32\}" err &&
	jq -e ".exit_code == 9" report.json
'

test_expect_success 'cleanup: delete the namespace' '
	kubectl delete namespace "$ns" --wait=false >/dev/null
'

test_done
