#!/usr/bin/env bash
# deploy/: each Kustomize overlay renders (kubectl kustomize), every object
# validates offline against the Kubernetes and prometheus-operator schemas and
# the objects agree (deploy/validate/validate.mjs); then a real lmc-server runs
# with the overlay's rendered configuration and args, and the ports it really
# listens on must be the probes' and the ServiceMonitor's.
# Usage: deploy_test.sh LMC LMC_SERVER
set -uo pipefail
LMC=$1 SERVER=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
V=$SRC/deploy/validate
T=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$T"' EXIT
source "$(dirname "$0")/lib.sh"
need_npm deploy_test "$V"

http_get() {  # PORT PATH: the response, through bash's /dev/tcp
  timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf 'GET $2 HTTP/1.0\r\n\r\n' >&3; cat <&3"
}

for overlay in cpu gpu; do
  check "$overlay: kubectl kustomize renders" \
    bash -c "kubectl kustomize '$SRC/deploy/kubernetes/overlays/$overlay' >'$T/$overlay.yaml' 2>'$T/$overlay.err'"
  if ! node "$V/validate.mjs" "$T/$overlay.yaml" "$overlay" "$T/$overlay" >"$T/$overlay.facts"; then
    check "$overlay: objects validate and agree" false
    continue
  fi
  pass=$((pass + 1))
  grpc_port=$(sed -n 's/^grpc_port=//p' "$T/$overlay.facts")
  metrics_port=$(sed -n 's/^metrics_port=//p' "$T/$overlay.facts")
  read -r -a args <<<"$(sed -n 's/^args=//p' "$T/$overlay.facts")"
  "$SERVER" "${args[@]}" 2>"$T/$overlay.log" &
  pid=$!
  for _ in $(seq 600); do grep -q '^lmc-server: serving' "$T/$overlay.log" && break; sleep 0.1; done
  listen=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$T/$overlay.log")
  metrics=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$T/$overlay.log")
  check "$overlay: server listens on the probes' port ($listen vs $grpc_port)" test "$listen" = "$grpc_port"
  check "$overlay: metrics on the ServiceMonitor's port ($metrics vs $metrics_port)" test "$metrics" = "$metrics_port"
  check "$overlay: serves lmc.v1.Compressor there" bash -c "'$LMC' --server 127.0.0.1:$grpc_port models | grep -q default"
  check "$overlay: /metrics there" bash -c "$(declare -f http_get); http_get $metrics_port /metrics | grep -q '^lmc_build_info'"
  kill -TERM $pid
  wait $pid; rc=$?
  pid=
  check "$overlay: SIGTERM exits 0 (got $rc)" test $rc = 0
done

# The checks are not vacuous: broken objects are refused.
refused() {  # NAME SED_EXPR: the cpu rendering, edited, must fail validation
  sed "$2" "$T/cpu.yaml" >"$T/broken.yaml"
  check "refused: $1" bash -c "! node '$V/validate.mjs' '$T/broken.yaml' cpu '$T/broken' >/dev/null 2>&1"
}
refused "liveness probe on another port" '/livenessProbe:/,/periodSeconds/s/port: 50051/port: 50052/'
refused "bad scrape interval (schema)" 's/interval: 15s/interval: 15 seconds/'
refused "replicas not a number (schema)" 's/replicas: 2/replicas: two/'
refused "grace period shorter than the drain" 's/terminationGracePeriodSeconds: 45/terminationGracePeriodSeconds: 20/'
refused "ServiceMonitor on the gRPC port" '/kind: ServiceMonitor/,$s/port: metrics/port: grpc/'

finish deploy_test
