#!/usr/bin/env bash
# emergency-restart.sh [component…]: rolling restart of Skreaver's Deployments (default: all three), saving each
# Deployment's spec first and checking /ready inside a pod afterwards. agent-api goes first: it owns the schema.
#   SKREAVER_NAMESPACE (default "default"), SKREAVER_PREFIX (default "skreaver": skreaver-agent-api, …)
# Without kubectl, it restarts a docker compose deployment instead (docker compose restart).
# A rolling restart drains each pod (readiness 503, in-flight runs finish, queued runs wait in Redis): no run is lost.
set -euo pipefail

NAMESPACE=${SKREAVER_NAMESPACE:-default}
PREFIX=${SKREAVER_PREFIX:-skreaver}
if [ "$#" -gt 0 ]; then components=("$@"); else components=(agent-api ws-gateway mesh-coordinator); fi
declare -A ports=([agent-api]=8080 [ws-gateway]=8081 [mesh-coordinator]=8082)

for component in "${components[@]}"; do
  if [ -z "${ports[$component]:-}" ]; then
    echo "unknown component $component (agent-api, ws-gateway or mesh-coordinator)" >&2
    exit 2
  fi
done

echo "🚨 Emergency restart of: ${components[*]}"

if ! command -v kubectl >/dev/null 2>&1; then
  if docker compose version >/dev/null 2>&1; then
    echo "kubectl not found; restarting the docker compose services instead"
    docker compose restart "${components[@]}"
    docker compose ps "${components[@]}"
    exit 0
  fi
  echo "neither kubectl nor docker compose is installed: nothing to restart from here" >&2
  exit 2
fi

stamp=$(date +%Y%m%d-%H%M%S)
echo "Saving state..."
for component in "${components[@]}"; do
  kubectl -n "$NAMESPACE" get deployment "$PREFIX-$component" -o yaml >"pre-restart-$PREFIX-$component-$stamp.yaml"
  echo "  pre-restart-$PREFIX-$component-$stamp.yaml"
done

echo "Restarting..."
for component in "${components[@]}"; do
  kubectl -n "$NAMESPACE" rollout restart "deployment/$PREFIX-$component"
  # agent-api first and alone: it migrates the schema the others wait for.
  if [ "$component" = "agent-api" ]; then
    kubectl -n "$NAMESPACE" rollout status "deployment/$PREFIX-agent-api" --timeout=5m
  fi
done

echo "Waiting for rollout..."
for component in "${components[@]}"; do
  kubectl -n "$NAMESPACE" rollout status "deployment/$PREFIX-$component" --timeout=5m
done

echo "Verifying readiness..."
for component in "${components[@]}"; do
  port=${ports[$component]}
  kubectl -n "$NAMESPACE" exec "deployment/$PREFIX-$component" -- node -e \
    "fetch('http://127.0.0.1:$port/ready').then(async (r) => { console.log('$component', r.status, await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(e.message); process.exit(1); })"
done

echo "✅ Restart complete"
