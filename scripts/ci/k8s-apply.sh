#!/usr/bin/env sh
# The Kubernetes deploy step, run by `riskctl deploy RELEASE --env ENV --via "scripts/ci/k8s-apply.sh ENV IMAGE"`
# after riskctl's policy checks (riskctl records the outcome from this script's exit status).
# Renders ENV's manifests for IMAGE and the release riskctl passes in RISKCTL_RELEASE, applies
# them, and waits for Argo Rollouts to finish the canary (its AnalysisTemplate aborts and rolls
# back a failing one, and this exits non-zero). Needs kubectl with the argo-rollouts plugin and
# credentials for the cluster; ROLLOUT_TIMEOUT (default 60m) should end before the CI job's.
set -eu
env_name="$1"
image="$2"
: "${RISKCTL_RELEASE:?run me through riskctl deploy --via}"
manifests="$(mktemp)"
trap 'rm -f "$manifests"' EXIT
# A canary environment's analysis queries the in-cluster Prometheus: PROMETHEUS_URL.
.venv/bin/riskctl render k8s --env "$env_name" --image "$image" --release "$RISKCTL_RELEASE" \
  ${PROMETHEUS_URL:+--prometheus-url "$PROMETHEUS_URL"} > "$manifests"
kubectl apply --server-side -f "$manifests"
kubectl argo rollouts status risk-service -n "risk-service-$env_name" --timeout "${ROLLOUT_TIMEOUT:-60m}"
