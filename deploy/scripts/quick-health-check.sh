#!/usr/bin/env bash
# quick-health-check.sh: one look at Skreaver. Health and readiness of the three services, the key metrics, and,
# where kubectl is installed, the three Deployments, the Redis/PostgreSQL pods and recent error logs.
#
# Locally (npm start, or docker-compose.dev.yml) the defaults reach the services. In Kubernetes, port-forward first
# (kubectl port-forward svc/skreaver-agent-api 8080 & …) or point the URLs elsewhere:
#   SKREAVER_API_URL  SKREAVER_GATEWAY_URL  SKREAVER_COORDINATOR_URL  SKREAVER_NAMESPACE  SKREAVER_PREFIX
# Exits 1 when a service is not healthy or not ready.
set -uo pipefail

API_URL=${SKREAVER_API_URL:-http://localhost:8080}
GATEWAY_URL=${SKREAVER_GATEWAY_URL:-http://localhost:8081}
COORDINATOR_URL=${SKREAVER_COORDINATOR_URL:-http://localhost:8082}
NAMESPACE=${SKREAVER_NAMESPACE:-default}
# Deployment names are <prefix>-agent-api, <prefix>-ws-gateway, <prefix>-mesh-coordinator.
PREFIX=${SKREAVER_PREFIX:-skreaver}
failures=0

probe() {
  local name=$1 url=$2 code body
  for path in health ready; do
    body=$(curl -s --max-time 5 -w '\n%{http_code}' "$url/$path") || body=$'\n000'
    code=${body##*$'\n'}
    body=${body%$'\n'*}
    if [ "$code" = "200" ]; then
      printf '  %-17s /%-6s ok    %s\n' "$name" "$path" "$body"
    else
      printf '  %-17s /%-6s FAIL  (HTTP %s) %s\n' "$name" "$path" "$code" "$body"
      failures=$((failures + 1))
    fi
  done
}

metrics() {
  local name=$1 url=$2 pattern=$3
  echo "  $name:"
  curl -s --max-time 5 "$url/metrics" | grep -E "^($pattern)" | sed 's/^/    /' || echo "    (no metrics from $url)"
}

echo "=== Service health (/health: alive, /ready: dependencies) ==="
probe agent-api "$API_URL"
probe ws-gateway "$GATEWAY_URL"
probe mesh-coordinator "$COORDINATOR_URL"

echo
echo "=== Metrics summary ==="
resources='skreaver_cpu_usage_percent|skreaver_memory_usage_bytes|skreaver_memory_total_bytes|skreaver_disk_usage_bytes|skreaver_disk_total_bytes'
metrics agent-api "$API_URL" "http_requests_total\{[^}]*status=\"5..\"|$resources"
metrics ws-gateway "$GATEWAY_URL" "websocket_connections_active|websocket_connections_failed_total|$resources"
metrics mesh-coordinator "$COORDINATOR_URL" "skreaver_runs_active|skreaver_runs_total|$resources"

if command -v kubectl >/dev/null 2>&1 && kubectl version --request-timeout=3s >/dev/null 2>&1; then
  echo
  echo "=== Deployments ($NAMESPACE) ==="
  kubectl -n "$NAMESPACE" get deployment "$PREFIX-agent-api" "$PREFIX-ws-gateway" "$PREFIX-mesh-coordinator" || failures=$((failures + 1))

  echo
  echo "=== Database and Redis pods ==="
  kubectl -n "$NAMESPACE" get pods -l 'app.kubernetes.io/name in (postgresql,redis)' || true

  echo
  echo "=== Recent errors ==="
  for component in agent-api ws-gateway mesh-coordinator; do
    kubectl -n "$NAMESPACE" logs "deployment/$PREFIX-$component" --tail=200 2>/dev/null | grep '"level":"ERROR"' | tail -n 5 || true
  done
else
  echo
  echo "kubectl not installed or no cluster reachable: skipping the Deployment, pod and log checks."
fi

echo
if [ "$failures" -gt 0 ]; then
  echo "✗ $failures check(s) failed"
  exit 1
fi
echo "✓ all services healthy and ready"
