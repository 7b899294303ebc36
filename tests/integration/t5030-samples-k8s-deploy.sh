#!/usr/bin/env bash
test_description='samples/*/k8s deployed by caas-deployer --coe kubernetes to the real control plane: they converge (pods simulated by KWOK), as kubectl sees them'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/k8s-lib.sh"

# The pipeline's placeholders, as samples/demo.sh fills them.
sets=(--set PRIVATE_REGISTRY="$CAAS_REGISTRY" --set NAMESPACE=caas-demo --set TAG=42
	--set DB_TAG=t0123456789ab --set STORE_TAG=t0123456789ab --set WEB_TAG=t0123456789ab)

deploy() {
	caas-deployer --coe kubernetes --timeout 120 "${sets[@]}" "$@"
}

test_expect_success 'petclinic/k8s: the database password Secret from a file, then the whole directory converges' '
	ns=$CS_TEST_PREFIX-pc &&
	test_when_finished "kubectl delete namespace $ns --wait=false >/dev/null" &&
	kubectl create namespace "$ns" >/dev/null &&
	printf "pw-%s\n" "$$" >pw &&
	kubectl -n "$ns" create secret generic petclinic-db --from-file=db_password=pw >/dev/null &&
	deploy --app petclinic --namespace "$ns" -f "$TOP/samples/petclinic/k8s" --json pc.json >out 2>err &&
	cat out err &&
	jq -e ".status == \"converged\" and .changed == true" pc.json &&
	kubectl -n "$ns" get deploy petclinic -o jsonpath="{.status.availableReplicas}" | grep -x 2 &&
	kubectl -n "$ns" get statefulset db -o jsonpath="{.status.readyReplicas}" | grep -x 1 &&
	kubectl -n "$ns" get pvc data-db-0 -o jsonpath="{.status.phase}" | grep -x Bound &&
	kubectl -n "$ns" get hpa petclinic -o jsonpath="{.apiVersion}" | grep -x autoscaling/v2 &&
	kubectl -n "$ns" get deploy petclinic -o jsonpath="{.spec.template.spec.containers[0].image}" |
		grep -x "$CAAS_REGISTRY/caas-demo/petclinic:42" &&
	port=$(kubectl -n "$ns" get svc petclinic -o jsonpath="{.spec.ports[0].nodePort}") &&
	grep "^endpoint http://[0-9.]*:$port" out &&
	deploy --app petclinic --namespace "$ns" -f "$TOP/samples/petclinic/k8s" --json again.json >out 2>err &&
	jq -e ".status == \"converged\" and .changed == false" again.json
'

test_expect_success 'tweet/k8s: store StatefulSet, producer, web and admin converge' '
	ns=$CS_TEST_PREFIX-tw &&
	test_when_finished "kubectl delete namespace $ns --wait=false >/dev/null" &&
	kubectl create namespace "$ns" >/dev/null &&
	deploy --app tweet --namespace "$ns" -f "$TOP/samples/tweet/k8s" --json tw.json >out 2>err &&
	cat out err &&
	jq -e ".status == \"converged\"" tw.json &&
	for d in producer web admin; do
		test "$(kubectl -n "$ns" get deploy $d -o jsonpath="{.status.availableReplicas}")" -ge 1 || return 1
	done &&
	kubectl -n "$ns" get statefulset store -o jsonpath="{.status.readyReplicas}" | grep -x 1
'

test_done
