# shellcheck shell=bash
# Helpers for integration tests against the Kubernetes test control plane
# (tests/env/k8s.sh: kube-apiserver, controller-manager, scheduler, etcd, KWOK nodes).
# Source it after test-lib.sh:
#
#   . ./test-lib.sh
#   . "$TOP/tests/integration/k8s-lib.sh"
#
# tests/run-integration.sh starts the control plane before the files that source this
# one and stops it at the end (when it started it). Run alone, a file starts it here (a
# no-op when it runs) and leaves it running for the next ones (tests/env/k8s.sh stop).
# Then:
#   everything in $CAAS_TEST_STATE/k8s/env: CAAS_K8S_API, CAAS_K8S_CA,
#     CAAS_K8S_KUBECONFIG (token + CA), CAAS_K8S_TOKEN_KUBECONFIG (tokenFile),
#     CAAS_K8S_CERT_KUBECONFIG / CAAS_K8S_CERT_DATA_KUBECONFIG (client certificate),
#     CAAS_K8S_VIEWER_KUBECONFIG (read-only user), CAAS_K8S_TOKEN_FILE, CAAS_KUBECTL, ...
#   KUBECONFIG      $CAAS_K8S_KUBECONFIG (the cluster-admin test user, token + CA)
#   kubectl ARGS    the kubectl built with the control plane
#   wait_until SECONDS CMD...   polls CMD every 0.5 s until it succeeds, or fails
# Make a namespace per file (named with $CS_TEST_PREFIX) and delete it at the end.

K8S_SH=$TOP/tests/env/k8s.sh
if ! "$K8S_SH" start >"$TEST_OUT/k8s-start.out" 2>&1; then
	sed -e 's/^/# /' "$TEST_OUT/k8s-start.out" >&5
	say_bail "the Kubernetes test control plane does not start (tests/env/k8s.sh start)"
fi
# shellcheck source=/dev/null
. "$CAAS_TEST_STATE/k8s/env"
KUBECONFIG=$CAAS_K8S_KUBECONFIG
export KUBECONFIG

kubectl() {
	"$CAAS_KUBECTL" "$@"
}

wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		if ((SECONDS >= deadline)); then
			echo "wait_until: still failing after the time limit: $*" >&2
			return 1
		fi
		sleep 0.5
	done
}
