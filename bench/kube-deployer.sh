#!/usr/bin/env bash
# Benchmark of caas-deployer --coe kubernetes (issue 8): OBJECTS objects (default 500: a
# third each Deployments of 1 replica, Services and ConfigMaps) applied and waited for by
#   caas-deployer --coe kubernetes --namespace NS --app bench -f FILE
#   kubectl apply --server-side -f FILE  +  kubectl rollout status for each Deployment
# on the test control plane (tests/env/k8s.sh: real kube-apiserver and controllers, KWOK
# nodes), alternated ROUNDS times (default 3), each in a fresh namespace; then the same
# file again (a no-op re-apply) by each. Namespaces are deleted between runs (not timed).
# Prints each wall time, the medians and the ratios caas-deployer/kubectl.
# Target: <= 0.5x kubectl's wall time for both.
#
#   bench/kube-deployer.sh [-n ROUNDS] [-o OBJECTS]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deployer=$top/deployer/caas-deployer
rounds=3 objects=500
while [ $# -gt 0 ]; do
	case $1 in
	-n) rounds=$2; shift ;;
	-o) objects=$2; shift ;;
	-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [-n ROUNDS] [-o OBJECTS]" >&2; exit 2 ;;
	esac
	shift
done
[ -x "$deployer" ] || { echo "bench: build first (make)" >&2; exit 2; }
state=${CAAS_TEST_STATE:-/var/lib/caas-devops-test}
[ -f "$state/k8s/env" ] || { echo "bench: no control plane (tests/env/k8s.sh start)" >&2; exit 2; }
# shellcheck source=/dev/null
. "$state/k8s/env"
export KUBECONFIG=$CAAS_K8S_KUBECONFIG
kubectl() { "$CAAS_KUBECTL" "$@"; }

work=$(mktemp -d)
prefix=cs-test-bench-$$
trap 'kubectl get ns -o name | grep "/$prefix-" | xargs -r kubectl delete --wait=false >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

n=$((objects / 3))
{
	for i in $(seq "$n"); do
		cat <<-EOF
		apiVersion: v1
		kind: ConfigMap
		metadata: {name: cm-$i}
		data: {index: "$i"}
		---
		apiVersion: v1
		kind: Service
		metadata: {name: svc-$i}
		spec:
		  selector: {app: app-$i}
		  ports: [{port: 80, targetPort: 8080}]
		---
		apiVersion: apps/v1
		kind: Deployment
		metadata: {name: app-$i}
		spec:
		  replicas: 1
		  selector: {matchLabels: {app: app-$i}}
		  template:
		    metadata: {labels: {app: app-$i}}
		    spec:
		      containers: [{name: app, image: "registry.example/bench:1"}]
		---
		EOF
	done
} >"$work/objects.yaml"

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

run_caas() {
	"$deployer" --coe kubernetes --namespace "$1" --app bench -f "$work/objects.yaml" \
		--timeout 600 >"$work/caas.out" 2>&1
}

run_kubectl() {
	local d
	kubectl apply --server-side -n "$1" -f "$work/objects.yaml" >"$work/kubectl.out"
	for d in $(seq "$n"); do
		kubectl rollout status -n "$1" "deployment/app-$d" --timeout=600s >/dev/null
	done
}

gone() {
	while kubectl get ns "$1" >/dev/null 2>&1; do sleep 0.5; done
}

declare -a t_caas t_kctl t_caas0 t_kctl0
for r in $(seq "$rounds"); do
	for tool in caas kubectl; do
		ns=$prefix-$tool-$r
		kubectl create ns "$ns" >/dev/null
		t0=$(now)
		if [ $tool = caas ]; then run_caas "$ns"; else run_kubectl "$ns"; fi
		t=$(elapsed "$t0")
		t0=$(now)
		if [ $tool = caas ]; then run_caas "$ns"; else run_kubectl "$ns"; fi
		t2=$(elapsed "$t0")
		if [ $tool = caas ]; then
			t_caas+=("$t") t_caas0+=("$t2")
		else
			t_kctl+=("$t") t_kctl0+=("$t2")
		fi
		printf 'round %d %-8s apply+wait %7.2f s   no-op again %6.2f s\n' "$r" "$tool" "$t" "$t2"
		kubectl delete ns "$ns" --wait=false >/dev/null
		gone "$ns"
	done
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mc=$(median "${t_caas[@]}") mk=$(median "${t_kctl[@]}")
mc0=$(median "${t_caas0[@]}") mk0=$(median "${t_kctl0[@]}")
echo "objects: $((n * 3)) ($n Deployments, $n Services, $n ConfigMaps), $rounds rounds, medians:"
printf '  apply+wait: caas-deployer %.2f s, kubectl %.2f s, ratio %.2fx\n' "$mc" "$mk" "$(echo "$mc / $mk" | bc -l)"
printf '  no-op:      caas-deployer %.2f s, kubectl %.2f s, ratio %.2fx\n' "$mc0" "$mk0" "$(echo "$mc0 / $mk0" | bc -l)"
