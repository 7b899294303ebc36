#!/usr/bin/env bash
test_description='caas-deployer --coe kubernetes against the real control plane (kube-apiserver, controllers, KWOK nodes)'
. "$(dirname "$0")/test-lib.sh"

# The control plane comes from tests/env/k8s.sh (k8s-lib.sh starts it when needed).
# Without it (a branch that has not merged it yet) this file skips, saying so.
k8s_env=$CAAS_TEST_STATE/k8s/env
if [ -f "$TOP/tests/integration/k8s-lib.sh" ]; then
	# shellcheck source=/dev/null
	. "$TOP/tests/integration/k8s-lib.sh"
elif [ -f "$k8s_env" ] && (
	# shellcheck source=/dev/null
	. "$k8s_env" && "$CAAS_KUBECTL" --kubeconfig "$CAAS_K8S_KUBECONFIG" get --raw /version
) >/dev/null 2>&1; then
	# shellcheck source=/dev/null
	. "$k8s_env"
	KUBECONFIG=$CAAS_K8S_KUBECONFIG
	export KUBECONFIG
	kubectl() { "$CAAS_KUBECTL" "$@"; }
	wait_until() {
		local deadline=$((SECONDS + $1))
		shift
		while ! "$@"; do
			((SECONDS < deadline)) || return 1
			sleep 0.5
		done
	}
else
	echo "# SKIP $TEST_NAME: no Kubernetes test control plane (no tests/env/k8s.sh in this tree, and none answering per $k8s_env)" >&5
	test_done
fi

ns=$CS_TEST_PREFIX-k
app=kapp
data=$TEST_DATA/kube

deploy() {
	caas-deployer --coe kubernetes --namespace "$ns" --timeout 60 "$@"
}

# rvs: "KIND/NAME RESOURCEVERSION" of the app's objects, sorted.
rvs() {
	kubectl -n "$ns" get deploy,svc,cm,pvc,hpa -l "app.kubernetes.io/instance=$app" \
		-o jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.metadata.resourceVersion}{"\n"}{end}' | sort
}

image_of() {
	kubectl -n "$ns" get deploy "$1" -o jsonpath='{.spec.template.spec.containers[0].image}'
}

# rs_serving IMAGE: the ReplicaSet running IMAGE has all the Deployment's replicas ready.
rs_serving() {
	kubectl -n "$ns" get rs -o jsonpath='{range .items[*]}{.spec.template.spec.containers[0].image} {.status.readyReplicas}{"\n"}{end}' |
		grep -qx "$1 2"
}

# start_bg OUT ARGS...: the deployer in the background (output to OUT); sets $pid.
start_bg() {
	local out=$1
	shift
	caas-deployer --coe kubernetes --namespace "$ns" --timeout 120 "$@" >"$out" 2>&1 &
	pid=$!
}

test_expect_success 'setup: a namespace of our own' '
	kubectl create namespace "$ns" >/dev/null
'

test_expect_success 'first deployment: Deployment, NodePort Service, ConfigMap, PVC, HPA autoscaling/v2' '
	deploy --app $app -f "$data/app.yaml" --set IMAGE=registry.example/web:1 --json first.json >out 2>err &&
	cat out err &&
	jq -e ".status == \"converged\" and .changed == true and .coe == \"kubernetes\" and
		([.objects[].action] | all(. == \"created\")) and (.objects | length) == 5" first.json &&
	port=$(kubectl -n "$ns" get svc web -o jsonpath="{.spec.ports[0].nodePort}") &&
	jq -e --arg ep "http://127.0.10.1:$port" ".endpoints == [\$ep]" first.json &&
	grep "^endpoint http://127.0.10.1:$port$" out &&
	kubectl -n "$ns" get deploy web -o jsonpath="{.status.availableReplicas}" | grep -x 2 &&
	kubectl -n "$ns" get hpa web -o jsonpath="{.apiVersion}" | grep autoscaling &&
	kubectl -n "$ns" get pvc web-data >/dev/null &&
	test "$(kubectl -n "$ns" get cm web-config -o jsonpath="{.data.GREETING}")" = "hello world" &&
	test "$(kubectl -n "$ns" get cm web-config -o jsonpath="{.data.SCRIPT}")" = "echo \$HOME_TEXT costs \$\$5" &&
	kubectl -n "$ns" get deploy web -o jsonpath="{.metadata.labels}" >labels &&
	grep "\"app.kubernetes.io/managed-by\":\"caas-deployer\"" labels &&
	grep "\"app.kubernetes.io/instance\":\"$app\"" labels &&
	kubectl -n "$ns" get deploy web -o jsonpath="{.metadata.managedFields[*].manager}" | grep -w caas-deployer
'

test_expect_success 'image tag update: a rolling update, changed, only the Deployment updated' '
	deploy --app $app -f "$data/app.yaml" --set IMAGE=registry.example/web:2 --json update.json >out 2>&1 &&
	jq -e ".status == \"converged\" and .changed == true and
		(.objects[] | select(.kind == \"Deployment\") | .action) == \"updated\" and
		([.objects[] | select(.kind != \"Deployment\") | .action] | all(. == \"unchanged\"))" update.json &&
	test "$(image_of web)" = registry.example/web:2 &&
	rs_serving registry.example/web:2 &&
	test "$(kubectl -n "$ns" get rs -o name | wc -l)" -eq 2
'

test_expect_success 'the same again: changed=false, every object unchanged, no resourceVersion moves' '
	rvs >before &&
	deploy --app $app -f "$data/app.yaml" --set IMAGE=registry.example/web:2 --json same.json >out 2>&1 &&
	rvs >after &&
	test_cmp before after &&
	test -s before &&
	jq -e ".changed == false and .status == \"converged\" and ([.objects[].action] | all(. == \"unchanged\"))" same.json
'

test_expect_success 'a broken image: exit 8, the reason named, the previous ReplicaSet serving again' '
	test_expect_code 8 deploy --app $app -f "$data/app.yaml" --set IMAGE=registry.example/web:broken \
		--json broken.json >out 2>err &&
	cat out err &&
	grep "ErrImagePull\|ImagePullBackOff" err &&
	grep "^restored Deployment $ns/web" err &&
	jq -e ".status == \"rolled_back\" and .exit_code == 8 and .changed == false" broken.json &&
	test "$(image_of web)" = registry.example/web:2 &&
	wait_until 30 rs_serving registry.example/web:2
'

test_expect_success 'an object the server rejects stops the run before anything changed (dry run)' '
	cat >invalid.yaml <<-EOF &&
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: fine}
	data: {a: b}
	---
	apiVersion: v1
	kind: Service
	metadata: {name: invalid}
	spec:
	  type: NodePort
	  ports: [{port: 80, nodePort: 5}]
	EOF
	test_expect_code 7 deploy --app invalid -f invalid.yaml >out 2>err &&
	cat out err &&
	grep "invalid.yaml: document 2 (line [0-9]*): Service $ns/invalid: HTTP 422" err &&
	test_must_fail kubectl -n "$ns" get cm fine
'

test_expect_success 'a field owned by another manager: a conflict naming it, then --force-conflicts takes it' '
	cat >other.yaml <<-EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web, namespace: $ns}
	spec:
	  replicas: 3
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec:
	      containers: [{name: web, image: registry.example/web:2}]
	EOF
	kubectl apply --server-side --field-manager=other --force-conflicts -f other.yaml >/dev/null &&
	test_expect_code 7 deploy --app $app -f "$data/app.yaml" --set IMAGE=registry.example/web:2 >out 2>err &&
	cat err &&
	grep "conflict" err && grep "\.spec\.replicas" err && grep "\"other\"" err &&
	grep -e "--force-conflicts" err &&
	test "$(kubectl -n "$ns" get deploy web -o jsonpath="{.spec.replicas}")" = 3 &&
	deploy --app $app -f "$data/app.yaml" --set IMAGE=registry.example/web:2 --force-conflicts --json force.json >out 2>&1 &&
	test "$(kubectl -n "$ns" get deploy web -o jsonpath="{.spec.replicas}")" = 2 &&
	jq -e ".status == \"converged\"" force.json
'

test_expect_success 'prune: an object no longer in the files is deleted (and only with --prune)' '
	grep -v "^#" "$data/app.yaml" | awk "BEGIN{RS=\"---\n\"; ORS=\"---\n\"} !/kind: HorizontalPodAutoscaler/" >nohpa.yaml &&
	deploy --app $app -f nohpa.yaml --set IMAGE=registry.example/web:2 --json noprune.json >out 2>&1 &&
	kubectl -n "$ns" get hpa web >/dev/null &&
	deploy --app $app -f nohpa.yaml --set IMAGE=registry.example/web:2 --prune --json prune.json >out 2>&1 &&
	cat out &&
	jq -e "(.objects[] | select(.kind == \"HorizontalPodAutoscaler\") | .action) == \"removed\" and .changed == true" prune.json &&
	test_must_fail kubectl -n "$ns" get hpa web 2>err &&
	grep NotFound err
'

test_expect_success 'the seed-era extensions/v1beta1 files: exit 2, the replacement named, nothing created' '
	test_expect_code 2 deploy --app seed -f "$data/seed-v1beta1.yml" --set PRIVATE_REGISTRY=reg --set TAG=1 >out 2>err &&
	cat err &&
	grep "seed-v1beta1.yml: document 2 (line [0-9]*): Deployment extensions/v1beta1 was removed in Kubernetes 1.16: use Deployment apps/v1 instead" err &&
	grep "document 3 (line [0-9]*): HorizontalPodAutoscaler extensions/v1beta1 .*use HorizontalPodAutoscaler autoscaling/v2" err &&
	test -z "$(kubectl -n "$ns" get all -l app.kubernetes.io/instance=seed -o name)" &&
	test_must_fail kubectl -n "$ns" get svc petclinic &&
	test_expect_code 2 deploy --app seed -f "$TEST_DATA/corpus/k8s/guestbook-all-in-one-2017.yaml" >out 2>err &&
	grep "Deployment extensions/v1beta1 was removed" err
'

test_expect_success 'a CustomResourceDefinition and a custom resource of it in one file' '
	plural=widgets${CS_TEST_PREFIX##*-} &&
	test_when_finished "kubectl delete crd $plural.caas.example.com >/dev/null 2>&1; :" &&
	deploy --app crd -f "$data/crd.yaml" --set PLURAL=$plural --set SINGULAR=w$plural --set KIND=Widget${CS_TEST_PREFIX##*-} \
		--json crd.json >out 2>&1 &&
	cat out &&
	jq -e ".status == \"converged\" and (.objects | length) == 2" crd.json &&
	kubectl -n "$ns" get $plural first -o jsonpath="{.spec.size}" | grep -x 3 &&
	deploy --app crd -f "$data/crd.yaml" --set PLURAL=$plural --set SINGULAR=w$plural --set KIND=Widget${CS_TEST_PREFIX##*-} \
		--json crd2.json >out 2>&1 &&
	jq -e ".changed == false" crd2.json
'

test_expect_success 'an Ingress: its hosts are endpoints, in the text and the JSON' '
	cat >ingress.yaml <<-EOF &&
	apiVersion: networking.k8s.io/v1
	kind: Ingress
	metadata: {name: web}
	spec:
	  rules:
	  - host: web.caas.example
	    http:
	      paths:
	      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
	EOF
	deploy --app ing -f ingress.yaml --json ing.json >out 2>&1 &&
	grep -x "endpoint http://web.caas.example/" out &&
	jq -e ".endpoints == [\"http://web.caas.example/\"]" ing.json &&
	kubectl -n "$ns" get ingress web -o jsonpath="{.spec.rules[0].host}" | grep -x web.caas.example
'

test_expect_success 'one file spanning two namespaces' '
	a=$CS_TEST_PREFIX-a b=$CS_TEST_PREFIX-b &&
	test_when_finished "kubectl delete ns $a $b --wait=false >/dev/null 2>&1; :" &&
	deploy --app two -f "$data/two-ns.yaml" --set NS_A=$a --set NS_B=$b --json two.json >out 2>&1 &&
	cat out &&
	test "$(kubectl -n $a get cm settings -o jsonpath="{.data.side}")" = a &&
	test "$(kubectl -n $b get cm settings -o jsonpath="{.data.side}")" = b &&
	kubectl -n $b get deploy worker -o jsonpath="{.status.availableReplicas}" | grep -x 1 &&
	jq -e "[.objects[].name] | index(\"$a/settings\") and index(\"$b/settings\") and index(\"$b/worker\")" two.json &&
	head -2 out | grep -x "create Namespace $a"
'

test_expect_success 'kubeconfigs: token file + CA, client certificate files, inline data; --context; --bay' '
	deploy --app $app --kubeconfig "$CAAS_K8S_TOKEN_KUBECONFIG" -f nohpa.yaml --set IMAGE=registry.example/web:2 --json t1.json >out 2>&1 &&
	jq -e ".changed == false" t1.json &&
	deploy --app $app --kubeconfig "$CAAS_K8S_CERT_KUBECONFIG" -f nohpa.yaml --set IMAGE=registry.example/web:2 --json t2.json >out 2>&1 &&
	jq -e ".changed == false" t2.json &&
	KUBECONFIG=/nonexistent:$CAAS_K8S_CERT_DATA_KUBECONFIG deploy --app $app --context caas-test -f nohpa.yaml \
		--set IMAGE=registry.example/web:2 --json t3.json >out 2>&1 &&
	jq -e ".changed == false" t3.json &&
	test_expect_code 2 deploy --app $app --kubeconfig "$CAAS_K8S_TOKEN_KUBECONFIG" --context nosuch -f nohpa.yaml \
		--set IMAGE=x >out 2>err &&
	grep "context .nosuch." err &&
	rc=0 &&
	deploy --app $app --bay "$CAAS_K8S_API" -f nohpa.yaml --set IMAGE=x >out 2>err || rc=$? &&
	cat out err &&
	test $rc -eq 6 &&
	grep "SSL certificate problem" err &&
	! grep -F "$(cat "$CAAS_K8S_TOKEN_FILE")" out err t1.json
'

test_expect_success 'registry credentials: a dockerconfigjson Secret the pods reference; the password never shown' '
	printf "canary-pw-%s\n" "$$" >pw &&
	# "other" still owns the image field since the conflict test: take it
	deploy --app $app -f nohpa.yaml --set IMAGE=127.0.0.1:5000/web:2 --registry-user bob \
		--registry-password-file pw --force-conflicts --json reg.json >out 2>err &&
	cat out err &&
	kubectl -n "$ns" get secret kapp-registry -o jsonpath="{.type}" | grep -x kubernetes.io/dockerconfigjson &&
	kubectl -n "$ns" get secret kapp-registry -o jsonpath="{.data.\.dockerconfigjson}" | base64 -d >cfg.json &&
	jq -e --arg pw "canary-pw-$$" ".auths[\"127.0.0.1:5000\"].username == \"bob\" and .auths[\"127.0.0.1:5000\"].password == \$pw" cfg.json &&
	kubectl -n "$ns" get deploy web -o jsonpath="{.spec.template.spec.imagePullSecrets[*].name}" | grep -x kapp-registry &&
	! grep -r "canary-pw" out err reg.json
'

test_expect_success 'SIGTERM during the wait: exit 143, the previous Deployment restored, the report written' '
	cat >slow.yaml <<-EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: slow}
	spec:
	  replicas: 1
	  minReadySeconds: \${MINREADY}
	  progressDeadlineSeconds: 900
	  selector: {matchLabels: {app: slow}}
	  template:
	    metadata: {labels: {app: slow}}
	    spec:
	      containers: [{name: slow, image: "registry.example/slow:\${TAG}"}]
	EOF
	deploy --app slow -f slow.yaml --set TAG=1 --set MINREADY=0 >out 2>&1 &&
	start_bg sig.out --app slow -f slow.yaml --set TAG=2 --set MINREADY=500 --json sig.json &&
	wait_until 30 grep -q "^updated Deployment $ns/slow" sig.out &&
	sleep 1 &&
	kill -TERM $pid &&
	rc=0 && wait $pid || rc=$? &&
	cat sig.out &&
	test $rc -eq 143 &&
	grep "interrupted by SIGTERM" sig.out &&
	grep "^restored Deployment $ns/slow" sig.out &&
	jq -e ".exit_code == 143 and .status == \"rolled_back\" and .changed == false" sig.json &&
	test "$(image_of slow)" = registry.example/slow:1 &&
	test "$(kubectl -n "$ns" get deploy slow -o jsonpath="{.spec.minReadySeconds}")" = "" &&
	wait_until 30 sh -c "kubectl -n $ns get deploy slow -o jsonpath={.status.updatedReplicas} | grep -qx 1"
'

test_expect_success 'SIGTERM during a first deployment: what it created is deleted' '
	sed "s/slow/slower/g" slow.yaml >slower.yaml &&
	start_bg sig2.out --app slow2 -f slower.yaml --set TAG=1 --set MINREADY=500 --json sig2.json &&
	wait_until 30 grep -q "^created Deployment $ns/slower" sig2.out &&
	kill -TERM $pid &&
	rc=0 && wait $pid || rc=$? &&
	test $rc -eq 143 &&
	jq -e ".status == \"rolled_back\"" sig2.json &&
	wait_until 30 test_must_fail kubectl -n "$ns" get deploy slower
'

test_expect_success 'an object another app deployed is refused (exit 7, nothing changed)' '
	test_expect_code 7 deploy --app intruder -f slow.yaml --set TAG=9 --set MINREADY=0 >out 2>err &&
	cat err &&
	grep "Deployment $ns/slow belongs to app .slow." err &&
	test "$(image_of slow)" = registry.example/slow:1
'

test_expect_success 'a crash-looping first deployment: exit 8 naming CrashLoopBackOff, what it created deleted' '
	sed "s/slow/crash/g" slow.yaml >crash.yaml &&
	test_expect_code 8 deploy --app crash -f crash.yaml --set TAG=crashloop --set MINREADY=0 \
		--json crash.json >out 2>err &&
	cat out err &&
	grep "CrashLoopBackOff" err &&
	jq -e ".status == \"rolled_back\" and .exit_code == 8" crash.json &&
	wait_until 30 test_must_fail kubectl -n "$ns" get deploy crash
'

test_expect_success 'a rollout slower than --timeout: exit 10, the previous Deployment restored' '
	rc=0 &&
	caas-deployer --coe kubernetes --namespace "$ns" --timeout 6 --app slow -f slow.yaml \
		--set TAG=3 --set MINREADY=500 --json slowt.json >out 2>err || rc=$? &&
	cat out err &&
	test $rc -eq 10 &&
	grep "did not converge in time" err &&
	jq -e ".status == \"rolled_back\" and .exit_code == 10" slowt.json &&
	test "$(image_of slow)" = registry.example/slow:1
'

test_expect_success '--dry-run: a server-side dry run, the plan printed, nothing changed' '
	rvs >before &&
	deploy --app $app -f nohpa.yaml --set IMAGE=registry.example/web:3 --dry-run --force-conflicts --json dry.json >out 2>&1 &&
	cat out &&
	grep -x "plan: update Deployment $ns/web" out &&
	grep -x "plan: unchanged Service $ns/web" out &&
	jq -e ".status == \"planned\" and .changed == true" dry.json &&
	rvs >after &&
	test_cmp before after
'

test_expect_success 'a Compose file of the corpus on Kubernetes: translated, converged, as kubectl sees it' '
	deploy --app vote -f "$TEST_DATA/corpus/compose/voting-app-stack.yml" --json vote.json >out 2>err &&
	cat out err &&
	jq -e ".status == \"converged\" and (.endpoints | length) == 2" vote.json &&
	grep "service .redis.: key .ports. is empty: no Kubernetes Service" err &&
	test "$(kubectl -n "$ns" get statefulset db -o jsonpath="{.status.readyReplicas}")" = 1 &&
	test "$(kubectl -n "$ns" get deploy vote -o jsonpath="{.status.availableReplicas}")" = 2 &&
	test "$(kubectl -n "$ns" get deploy worker -o jsonpath="{.spec.replicas}")" = 2 &&
	kubectl -n "$ns" get pvc db-data -o jsonpath="{.metadata.labels.app\.kubernetes\.io/instance}" | grep -x vote &&
	vport=$(kubectl -n "$ns" get svc vote -o jsonpath="{.spec.type} {.spec.ports[0].port} {.spec.ports[0].nodePort}") &&
	set -- $vport &&
	test "$1 $2" = "NodePort 8080" &&
	jq -e --arg ep "http://127.0.10.1:$3" ".endpoints | index(\$ep)" vote.json
'

test_expect_success 'Compose healthcheck, resources, configs, secrets, replicas; --publish-mode loadbalancer' '
	cp "$data/compose-app.yml" "$data/api.conf" "$data/api.key" . &&
	deploy --app capp -f compose-app.yml --publish-mode loadbalancer --json capp.json >out 2>err &&
	cat out err &&
	grep "compose-app.yml:[0-9]*: service .api.: key .cap_add. is not translated" err &&
	! grep "expose" err &&
	kubectl -n "$ns" get deploy api -o json >api.json &&
	jq -e ".spec.replicas == 3 and
		(.spec.template.spec.containers[0] | .readinessProbe.periodSeconds == 10 and
		 .readinessProbe.exec.command[0] == \"wget\" and .resources.limits.cpu == \"500m\" and
		 .resources.limits.memory == \"268435456\" and .args == [\"serve\", \"--port\", \"8080\"] and
		 (.volumeMounts | map(.mountPath) | index(\"/run/secrets/api_key\") and index(\"/etc/api/api.conf\")))" api.json &&
	test "$(kubectl -n "$ns" get cm api-conf -o jsonpath="{.data.api_conf}")" = "listen = 8080" &&
	kubectl -n "$ns" get svc api -o jsonpath="{.spec.type}" | grep -x LoadBalancer &&
	kubectl -n "$ns" get svc cache -o jsonpath="{.spec.type} {.spec.ports[0].port}" | grep -x "ClusterIP 6379" &&
	kubectl -n "$ns" get statefulset cache >/dev/null &&
	jq -e ".endpoints | index(\"http://$CAAS_K8S_LB_IP:8080\")" capp.json
'

test_expect_success 'cleanup: delete the namespace' '
	kubectl delete namespace "$ns" --wait=false >/dev/null
'

test_done
