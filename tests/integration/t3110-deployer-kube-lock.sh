#!/usr/bin/env bash
test_description='caas-deployer --coe kubernetes takes a Lease per app: two runs of the same app at once never interleave, two apps do not wait, a stale Lease is broken'
. "$(dirname "$0")/test-lib.sh"
. "$TOP/tests/integration/k8s-lib.sh"

ns=$CS_TEST_PREFIX-klock
L=io.caas.deployer.lock

# deploy APP FILE NAME [OPTIONS...]: run the deployer; NAME.out, NAME.err, NAME.json, NAME.rc.
deploy() {
	local app=$1 file=$2 name=$3
	shift 3
	# -v: the progress lines ("waiting for the lock ...") are shown at -v by the options layer
	caas-deployer --coe kubernetes --namespace "$ns" --app "$app" -f "$file" --timeout 60 \
		--json "$name.json" -v "$@" >"$name.out" 2>"$name.err"
	echo $? >"$name.rc"
}

lease_exists() {
	kubectl -n "$ns" get lease "$1.caas-deployer-lock" >/dev/null 2>&1
}

# wait_lease APP: until the Lease of APP exists (up to 10 s).
wait_lease() {
	for _ in $(seq 100); do
		lease_exists "$1" && return 0
		sleep 0.1
	done
	return 1
}

test_expect_success 'setup: a namespace, a Deployment, a dead PID' '
	kubectl create namespace "$ns" >/dev/null &&
	cat >app.yaml <<-EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web}
	spec:
	  replicas: 1
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec:
	      containers: [{name: web, image: "registry.example/web:1"}]
	EOF
	sed "s/registry.example\/web:1/registry.example\/web:2/" app.yaml >app2.yaml &&
	# a rollout that takes a while: available only 6 s after the pod is ready
	sed "s/^  replicas: 1$/  replicas: 1\n  minReadySeconds: 6/" app.yaml >slow.yaml &&
	sed "s/^  replicas: 1$/  replicas: 1\n  minReadySeconds: 6/" app2.yaml >slow2.yaml &&
	grep -q minReadySeconds slow2.yaml &&
	sh -c "exit 0" &
	dead=$! &&
	wait $dead &&
	! kill -0 $dead 2>/dev/null
'

test_expect_success 'two runs of the same app at once: the second waits for the Lease, then finds nothing to do' '
	{ deploy one slow.yaml a & } &&
	wait_lease one &&
	kubectl -n "$ns" get lease one.caas-deployer-lock -o json >lease.json &&
	jq -e ".metadata.annotations[\"$L.holder\"] | test(\"^caas-deployer pid [0-9]+ on \")" lease.json &&
	jq -e ".spec.leaseDurationSeconds > 100" lease.json &&
	deploy one slow.yaml b &&
	wait &&
	echo 0 | test_cmp - a.rc &&
	echo 0 | test_cmp - b.rc &&
	grep "waiting for the lock of app .one.: held by caas-deployer pid [0-9]* on " b.err &&
	jq -e ".changed == false" b.json &&
	! lease_exists one
'

test_expect_success '--lock-timeout 1 while another run holds the Lease: exit 11, nothing changed' '
	{ deploy one slow2.yaml a & } &&
	wait_lease one &&
	deploy one app.yaml b --lock-timeout 1 &&
	wait &&
	echo 11 | test_cmp - b.rc &&
	grep "error: app .one. is locked by another deployment (caas-deployer pid [0-9]* on .*): gave up after 1 s (--lock-timeout)" b.err &&
	jq -e ".status == \"failed\" and .exit_code == 11 and .changed == false" b.json &&
	echo 0 | test_cmp - a.rc &&
	kubectl -n "$ns" get deploy web -o jsonpath="{.spec.template.spec.containers[0].image}" | grep -x "registry.example/web:2" &&
	! lease_exists one
'

test_expect_success 'two different apps at once do not wait for each other' '
	sed "s/name: web}/name: web-b}/" app.yaml >b.yaml &&
	{ deploy one slow.yaml a & } &&
	wait_lease one &&
	deploy other b.yaml b --lock-timeout 0 &&
	wait &&
	echo 0 | test_cmp - a.rc &&
	echo 0 | test_cmp - b.rc &&
	! grep "waiting for the lock" a.err b.err &&
	! lease_exists one && ! lease_exists other
'

test_expect_success 'a stale Lease whose process is gone (this machine) is broken at once' '
	cat >stale.yaml <<-EOF &&
	apiVersion: coordination.k8s.io/v1
	kind: Lease
	metadata:
	  name: one.caas-deployer-lock
	  annotations:
	    $L.holder: "caas-deployer pid $dead on $(hostname)"
	    $L.host: "$(hostname)"
	    $L.boot-id: "$(cat /proc/sys/kernel/random/boot_id)"
	    $L.pid-ns: "$(readlink /proc/self/ns/pid)"
	    $L.pid: "$dead"
	    $L.expires: "$(($(date +%s) + 3600))"
	spec: {holderIdentity: x}
	EOF
	kubectl -n "$ns" apply -f stale.yaml >/dev/null &&
	deploy one slow.yaml a --lock-timeout 0 &&
	echo 0 | test_cmp - a.rc &&
	grep "breaking the stale lock one.caas-deployer-lock of app .one. (caas-deployer pid $dead on .*): its process $dead is gone" a.err &&
	! lease_exists one
'

test_expect_success 'a namespace that does not exist yet: no lock, a warning, the run goes on' '
	caas-deployer --coe kubernetes --namespace "$ns-none" --app one -f app.yaml --timeout 20 \
		>n.out 2>n.err; rc=$? &&
	grep "deploying app .one. without a lock: cannot create the Lease one.caas-deployer-lock in namespace .$ns-none." n.err &&
	test "$rc" != 11
'

test_expect_success 'cleanup' '
	kubectl delete namespace "$ns" --wait=false >/dev/null
'

test_done
