#!/bin/bash
test_description='the Kubernetes test control plane: real API server, controllers and scheduler; KWOK nodes and pods'
. ./test-lib.sh

. "$TOP/tests/integration/k8s-lib.sh"
NS=$CS_TEST_PREFIX-k8s

# waiting_reasons DEPLOYMENT: the waiting reasons of its pods' containers, one a line.
waiting_reasons() {
	kubectl -n "$NS" get pods -l "app=$1" \
		-o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.state.waiting.reason}{"\n"}{end}{end}'
}

has_reason() { # DEPLOYMENT ERE
	waiting_reasons "$1" >reasons && grep -qE "$2" reasons
}

max_restarts() { # DEPLOYMENT
	kubectl -n "$NS" get pods -l "app=$1" \
		-o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.restartCount}{"\n"}{end}{end}' |
		sort -n | tail -n 1
}

restarts_at_least() { # DEPLOYMENT N
	[ "$(max_restarts "$1")" -ge "$2" ] 2>/dev/null
}

test_expect_success 'a second start finds it running and takes seconds' '
	start=$SECONDS &&
	"$K8S_SH" start >out &&
	grep "already running" out &&
	test $((SECONDS - start)) -le 10 &&
	"$K8S_SH" status
'

test_expect_success 'the API server and kubectl are the pinned release' '
	kubectl version -o json >version.json &&
	jq -r ".serverVersion.gitVersion, .clientVersion.gitVersion" version.json >got &&
	printf "%s\n%s\n" "$CAAS_K8S_VERSION" "$CAAS_K8S_VERSION" >expect &&
	test_cmp expect got
'

test_expect_success 'two KWOK nodes are Ready, with their InternalIPs' '
	kubectl get nodes -o jsonpath="{range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status} {.status.addresses[?(@.type==\"InternalIP\")].address}{\"\n\"}{end}" >got &&
	set -- $CAAS_K8S_NODE_IPS &&
	for n in $CAAS_K8S_NODES; do echo "$n True $1"; shift; done >expect &&
	test_cmp expect got
'

test_expect_success 'setup: a namespace for this file' '
	kubectl create namespace "$NS" &&
	wait_until 30 kubectl -n "$NS" get serviceaccount default
'

test_expect_success 'a Deployment converges: the controllers make pods, KWOK runs them' '
	kubectl -n "$NS" create deployment web --image="$CAAS_REGISTRY/busybox:1" --replicas=2 &&
	kubectl -n "$NS" rollout status deployment/web --timeout=60s &&
	kubectl -n "$NS" get deployment web -o jsonpath="{.status.availableReplicas} {.status.conditions[?(@.type==\"Available\")].status}{\"\n\"}" >got &&
	echo "2 True" >expect &&
	test_cmp expect got &&
	kubectl -n "$NS" get pods -l app=web -o jsonpath="{range .items[*]}{.status.phase} {.status.containerStatuses[0].ready} {.spec.nodeName}{\"\n\"}{end}" >pods &&
	test "$(grep -c "^Running true caas-node-[12]$" pods)" -eq 2 &&
	kubectl -n "$NS" get pods -l app=web -o jsonpath="{.items[0].status.podIP}{\"\n\"}" >ip &&
	grep -E "^10\.244\.[0-9]+\.[0-9]+$" ip
'

test_expect_success 'an image tagged :broken fails with ErrImagePull, then ImagePullBackOff; never available' '
	kubectl -n "$NS" create deployment broken --image=x:broken &&
	wait_until 30 has_reason broken "^(ErrImagePull|ImagePullBackOff)$" &&
	wait_until 15 has_reason broken "^ImagePullBackOff$" &&
	kubectl -n "$NS" get pods -l app=broken -o jsonpath="{.items[0].status.phase} {.items[0].status.containerStatuses[0].state.waiting.message}{\"\n\"}" >pod &&
	grep "^Pending Back-off pulling image \"x:broken\"" pod &&
	kubectl -n "$NS" get deployment broken -o jsonpath="{.status.availableReplicas}|{.status.conditions[?(@.type==\"Available\")].status}{\"\n\"}" >got &&
	echo "|False" >expect &&
	test_cmp expect got &&
	kubectl -n "$NS" get events --field-selector reason=Failed -o jsonpath="{.items[*].message}{\"\n\"}" >events &&
	grep "Failed to pull image" events
'

test_expect_success 'the Deployment controller gives up on it: ProgressDeadlineExceeded' '
	kubectl -n "$NS" patch deployment broken -p "{\"spec\":{\"progressDeadlineSeconds\":2}}" &&
	deadline_exceeded() {
		kubectl -n "$NS" get deployment broken -o jsonpath="{.status.conditions[?(@.type==\"Progressing\")].reason}{\"\n\"}" >got &&
		echo ProgressDeadlineExceeded >expect &&
		test_cmp expect got
	} &&
	wait_until 30 deadline_exceeded
'

test_expect_success 'an image tagged :crashloop crash-loops: CrashLoopBackOff, restartCount grows' '
	kubectl -n "$NS" create deployment crash --image=y:crashloop &&
	wait_until 30 has_reason crash "^CrashLoopBackOff$" &&
	wait_until 30 restarts_at_least crash 2 &&
	kubectl -n "$NS" get pods -l app=crash -o jsonpath="{.items[0].status.phase} {.items[0].status.conditions[?(@.type==\"Ready\")].status} {.items[0].status.containerStatuses[0].lastState.terminated.reason}{\"\n\"}" >got &&
	echo "Running False Error" >expect &&
	test_cmp expect got &&
	kubectl -n "$NS" get deployment crash -o jsonpath="{.status.conditions[?(@.type==\"Available\")].status}{\"\n\"}" >got &&
	echo False >expect &&
	test_cmp expect got
'

test_expect_success 'a broken update keeps the old pods serving; rollout undo restores the revision' '
	kubectl -n "$NS" set image deployment/web busybox=x:broken &&
	wait_until 30 has_reason web "^(ErrImagePull|ImagePullBackOff)$" &&
	kubectl -n "$NS" get deployment web -o jsonpath="{.status.availableReplicas}{\"\n\"}" >got &&
	echo 2 >expect &&
	test_cmp expect got &&
	test_must_fail kubectl -n "$NS" rollout status deployment/web --timeout=3s &&
	kubectl -n "$NS" rollout undo deployment/web &&
	kubectl -n "$NS" rollout status deployment/web --timeout=60s &&
	kubectl -n "$NS" get deployment web -o jsonpath="{.spec.template.spec.containers[0].image} {.status.updatedReplicas} {.status.availableReplicas}{\"\n\"}" >got &&
	echo "$CAAS_REGISTRY/busybox:1 2 2" >expect &&
	test_cmp expect got &&
	wait_until 30 test -z "$(waiting_reasons web)"
'

test_expect_success 'a LoadBalancer Service gets an ingress from the test controller' '
	kubectl -n "$NS" create service loadbalancer lb --tcp=80:8080 &&
	lb_ingress() {
		kubectl -n "$NS" get service lb -o jsonpath="{.status.loadBalancer.ingress[0].ip}{\"\n\"}" >ingress &&
		grep -q . ingress
	} &&
	wait_until 20 lb_ingress &&
	echo "$CAAS_K8S_LB_IP" >expect &&
	test_cmp expect ingress &&
	kubectl -n "$NS" get service lb -o jsonpath="{.spec.ports[0].nodePort}{\"\n\"}" >port &&
	grep -E "^3[0-9]{4}$" port
'

test_expect_success 'a PVC of the default StorageClass is provisioned and bound; its pod runs' '
	cat >pvc.yaml <<-EOF &&
	apiVersion: v1
	kind: PersistentVolumeClaim
	metadata: {name: data, namespace: $NS}
	spec:
	  accessModes: [ReadWriteOnce]
	  resources: {requests: {storage: 2Gi}}
	---
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: db, namespace: $NS}
	spec:
	  selector: {matchLabels: {app: db}}
	  template:
	    metadata: {labels: {app: db}}
	    spec:
	      containers:
	      - {name: db, image: db:1, volumeMounts: [{name: data, mountPath: /data}]}
	      volumes:
	      - {name: data, persistentVolumeClaim: {claimName: data}}
	EOF
	kubectl apply -f pvc.yaml &&
	pvc_bound() {
		kubectl -n "$NS" get pvc data -o jsonpath="{.status.phase} {.spec.storageClassName} {.status.capacity.storage}{\"\n\"}" >got &&
		echo "Bound $CAAS_K8S_STORAGE_CLASS 2Gi" >expect &&
		test_cmp expect got
	} &&
	wait_until 30 pvc_bound &&
	kubectl -n "$NS" rollout status deployment/db --timeout=60s &&
	pv=$(kubectl -n "$NS" get pvc data -o jsonpath="{.spec.volumeName}") &&
	kubectl get pv "$pv" &&
	kubectl -n "$NS" delete deployment db --wait=true &&
	kubectl -n "$NS" delete pvc data --wait=true &&
	wait_until 30 test_must_fail kubectl get pv "$pv"
'

test_expect_success 'server-side apply: field managers, conflicts, --force-conflicts' '
	cat >cm.yaml <<-EOF &&
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: ssa, namespace: $NS}
	data: {key: one}
	EOF
	kubectl apply --server-side --field-manager=first -f cm.yaml &&
	sed "s/one/two/" cm.yaml >cm2.yaml &&
	test_must_fail kubectl apply --server-side --field-manager=second -f cm2.yaml 2>err &&
	grep -i "conflict" err &&
	grep "first" err &&
	kubectl apply --server-side --field-manager=second --force-conflicts -f cm2.yaml &&
	kubectl -n "$NS" get configmap ssa -o jsonpath="{.data.key} {.metadata.managedFields[*].manager}{\"\n\"}" >got &&
	echo "two second" >expect &&
	test_cmp expect got
'

test_expect_success 'every kubeconfig authenticates as its user' '
	for kc in "$CAAS_K8S_KUBECONFIG" "$CAAS_K8S_TOKEN_KUBECONFIG" "$CAAS_K8S_CERT_KUBECONFIG" \
		"$CAAS_K8S_CERT_DATA_KUBECONFIG" "$CAAS_K8S_VIEWER_KUBECONFIG"; do
		kubectl --kubeconfig "$kc" auth whoami -o jsonpath="{.status.userInfo.username}{\"\n\"}" ||
			return 1
	done >got &&
	printf "%s\n" "$CAAS_K8S_TOKEN_USER" "$CAAS_K8S_TOKEN_USER" "$CAAS_K8S_CERT_USER" \
		"$CAAS_K8S_CERT_USER" caas-viewer >expect &&
	test_cmp expect got &&
	kubectl --kubeconfig "$CAAS_K8S_CERT_KUBECONFIG" -n "$NS" get deployment web &&
	kubectl --kubeconfig "$CAAS_K8S_CERT_KUBECONFIG" auth can-i "*" "*" --all-namespaces
'

test_expect_success 'RBAC is enforced: the viewer reads but cannot write' '
	kubectl --kubeconfig "$CAAS_K8S_VIEWER_KUBECONFIG" -n "$NS" get deployment web &&
	test_must_fail kubectl --kubeconfig "$CAAS_K8S_VIEWER_KUBECONFIG" -n "$NS" \
		create configmap nope 2>err &&
	grep -i "forbidden" err
'

test_expect_success 'a wrong token is refused (401)' '
	printf "header = \"Authorization: Bearer %s\"\n" "$(openssl rand -hex 32)" |
		curl -sS -K - --cacert "$CAAS_K8S_CA" -o /dev/null -w "%{http_code}\n" \
			"$CAAS_K8S_API/api/v1/namespaces" >code &&
	echo 401 >expect &&
	test_cmp expect code &&
	printf "header = \"Authorization: Bearer %s\"\n" "$(cat "$CAAS_K8S_TOKEN_FILE")" |
		curl -sS -K - --cacert "$CAAS_K8S_CA" -o /dev/null -w "%{http_code}\n" \
			"$CAAS_K8S_API/api/v1/namespaces" >code &&
	echo 200 >expect &&
	test_cmp expect code
'

test_expect_success 'TLS is verified: without the CA the server is not trusted' '
	test_expect_code 60 curl -sS -o /dev/null "$CAAS_K8S_API/version" &&
	sed "/certificate-authority:/d" "$CAAS_K8S_KUBECONFIG" >no-ca.kubeconfig &&
	test_must_fail kubectl --kubeconfig no-ca.kubeconfig get nodes 2>err &&
	grep -i "certificate signed by unknown authority" err
'

test_expect_success 'the plain-HTTP URL (kubectl proxy, as the seed'"'"'s bays) serves the same API' '
	curl -sS "$CAAS_K8S_HTTP_URL/version" >version.json &&
	jq -r .gitVersion version.json >got &&
	echo "$CAAS_K8S_VERSION" >expect &&
	test_cmp expect got &&
	env -u KUBECONFIG "$CAAS_KUBECTL" -s "$CAAS_K8S_HTTP_URL" -n "$NS" get deployment web -o name >got &&
	echo deployment.apps/web >expect &&
	test_cmp expect got
'

test_expect_success 'start brings back a component that died, keeping the objects' '
	pid=$(cat "$CAAS_TEST_STATE/k8s/run/pids/lb-controller.pid") &&
	kill "$pid" &&
	wait_until 10 test ! -e "/proc/$pid/exe" &&
	test_must_fail "$K8S_SH" status >status &&
	grep "^lb-controller  *stopped" status &&
	"$K8S_SH" start >out &&
	grep "running, but for lb-controller" out &&
	"$K8S_SH" status &&
	kubectl -n "$NS" get deployment web
'

test_expect_success 'cleanup: the namespace and its objects go' '
	kubectl delete namespace "$NS" --timeout=60s &&
	test_must_fail kubectl get namespace "$NS"
'

test_done
