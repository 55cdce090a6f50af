#!/bin/sh
# One-shot onboarding of the compose stack's k3s server as a podbus target cluster, run in the
# rancher/k3s image (it has kubectl and a shell) by the k3s-onboard service:
#   1. apply deploy/target-cluster (namespace, service account, least-privilege Role, token
#      Secret, quota, limits, default-deny network policy) with k3s's admin kubeconfig;
#   2. wait for the token controller to fill in the token Secret;
#   3. write token and ca.crt where the worker reads them (clusters-k3s.yaml).
# It is what `podbus clusters add` does, done with kubectl: k3s's kubeconfig names
# https://127.0.0.1:6443, which `clusters add` would connect to from its own container. The worker
# never sees the admin kubeconfig. Idempotent: re-running it re-applies and rewrites the files.
set -eu

# The defaults are docker-compose.yml's; the variables let the integration test run this script
# against podbus's Kubernetes emulator.
admin_kubeconfig="${ONBOARD_KUBECONFIG:-/output/kubeconfig.yaml}"
# k3s writes its kubeconfig for https://127.0.0.1:6443; from this container it is k3s:6443
# (a name on the server certificate: --tls-san=k3s).
server="${ONBOARD_SERVER:-https://k3s:6443}"
target_cluster="${ONBOARD_MANIFESTS:-/deploy/target-cluster}"
out="${ONBOARD_OUT:-/var/run/secrets/podbus/clusters/k3s}"
k() { kubectl --kubeconfig "$admin_kubeconfig" --server "$server" "$@"; }

i=0
until [ -s "$admin_kubeconfig" ] && k get --raw=/readyz >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -le 120 ] || { echo "onboard-k3s: k3s did not become ready" >&2; exit 1; }
  sleep 1
done

k apply -k "$target_cluster"

i=0
until [ -n "$(k -n challenges get secret podbus-token -o 'go-template={{or .data.token ""}}')" ]; do
  i=$((i + 1))
  [ "$i" -le 60 ] || { echo "onboard-k3s: the token controller did not fill podbus-token" >&2; exit 1; }
  sleep 1
done

# Readable by the worker's uid 10001 (local demo stack; in a cluster these come from a Secret).
umask 022
k -n challenges get secret podbus-token -o 'go-template={{.data.token | base64decode}}' >"$out/token"
k -n challenges get secret podbus-token -o 'go-template={{index .data "ca.crt" | base64decode}}' >"$out/ca.crt"
echo "onboard-k3s: wrote $out/token and $out/ca.crt"
