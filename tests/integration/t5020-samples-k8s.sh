#!/usr/bin/env bash
test_description='samples/*/k8s: the Kubernetes descriptors are valid for the current API (offline schema check; kubectl dry-run when an API server answers)'
. "$(dirname "$0")/test-lib.sh"

defs=$TEST_DATA/k8s-openapi/definitions.json
check=$TOP/tests/integration/k8s-manifest-check.py
vars='$PRIVATE_REGISTRY $NAMESPACE $TAG $DB_TAG $STORE_TAG $WEB_TAG'
export PRIVATE_REGISTRY=$CAAS_REGISTRY NAMESPACE=caas-demo TAG=42 DB_TAG=t0123456789ab
export STORE_TAG=t0123456789ab WEB_TAG=t0123456789ab

# render SAMPLE: the sample's descriptors with the pipeline's placeholders filled, in SAMPLE/.
render() {
	mkdir -p "$1" &&
		for f in "$TOP/samples/$1/k8s/"*.yaml; do
			out=$1/${f##*/}
			envsubst "$vars" <"$f" >"$out" || return 1
		done &&
		! grep -n '\${' "$1"/*.yaml
}

test_expect_success 'the checker refuses an old apiVersion, an unknown field, a wrong type' '
	cat >bad.yaml <<-\EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: x}
	spec:
	  replicas: "2"
	  selector: {}
	  template:
	    spec:
	      containers:
	      - name: a
	        imagee: b
	---
	apiVersion: autoscaling/v2beta2
	kind: HorizontalPodAutoscaler
	metadata: {name: y}
	EOF
	test_expect_code 1 python3 "$check" "$defs" bad.yaml >out &&
	cat out &&
	grep -q "spec.replicas: expected an integer" out &&
	grep -q "unknown field .imagee." out &&
	grep -q "autoscaling/v2beta2 kind HorizontalPodAutoscaler is not a current" out
'

test_expect_success 'petclinic/k8s: Deployment, Service, StatefulSet with a PVC, autoscaling/v2 HPA, all valid' '
	render petclinic &&
	python3 "$check" "$defs" petclinic/*.yaml &&
	cat petclinic/*.yaml >all.yaml &&
	grep -q "^kind: Deployment" all.yaml &&
	grep -q "^kind: Service" all.yaml &&
	grep -q "^kind: StatefulSet" all.yaml &&
	grep -q "volumeClaimTemplates:" all.yaml &&
	grep -A1 "^apiVersion: autoscaling/v2$" all.yaml | grep -q "kind: HorizontalPodAutoscaler"
'

test_expect_success 'tweet/k8s: store StatefulSet with a PVC, producer, web and admin, all valid' '
	render tweet &&
	python3 "$check" "$defs" tweet/*.yaml &&
	grep -q "^kind: StatefulSet" tweet/store.yaml &&
	grep -q "image: $CAAS_REGISTRY/caas-demo/tweet:42" tweet/producer.yaml
'

if command -v kubectl >/dev/null && kubectl version --request-timeout=5s >/dev/null 2>&1; then
	test_expect_success 'kubectl apply --dry-run (client and server) accepts both samples' '
		for s in petclinic tweet; do
			kubectl apply --dry-run=client -f $s/ &&
			kubectl apply --dry-run=server -f $s/ || return 1
		done
	'
else
	echo "# kubectl dry-run not run: no kubectl, or no Kubernetes API server answers" >&5
fi

test_done
