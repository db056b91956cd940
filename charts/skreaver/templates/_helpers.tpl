{{/* Names, labels and shared blocks. Most helpers take (dict "root" $ "component" <name> "svc" <values>). */}}

{{- define "skreaver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "skreaver.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>", e.g. skreaver-agent-api: the Deployment, Service, ConfigMap, HPA and PDB name. */}}
{{- define "skreaver.componentName" -}}
{{- printf "%s-%s" (include "skreaver.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "skreaver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "skreaver.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "skreaver.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "skreaver.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: skreaver
{{- end -}}

{{- define "skreaver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "skreaver.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "skreaver.secretName" -}}
{{- default (include "skreaver.fullname" .) .Values.secret.name -}}
{{- end -}}

{{- define "skreaver.image" -}}
{{- $tag := .svc.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .svc.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .svc.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The services that open the database (the gateway only reads API keys, with a small pool). */}}
{{- define "skreaver.usesDatabase" -}}
{{- if has .component (list "agent-api" "mesh-coordinator" "ws-gateway") -}}true{{- end -}}
{{- end -}}

{{/* Whether an HPA or a KEDA ScaledObject owns the replica count: "hpa", "keda" or "". */}}
{{- define "skreaver.scaler" -}}
{{- $keda := .svc.keda | default (dict) -}}
{{- if $keda.enabled -}}keda
{{- else if .svc.autoscaling.enabled -}}hpa
{{- end -}}
{{- end -}}

{{/* Drain budget: preStop sleep, then SIGTERM and SHUTDOWN_TIMEOUT_MS (rounded up), plus 5 s to exit. */}}
{{- define "skreaver.terminationGracePeriodSeconds" -}}
{{- add (div (add .Values.config.shutdownTimeoutMs 999) 1000) .Values.preStopSleepSeconds 5 -}}
{{- end -}}

{{/* The service's ConfigMap data: the variables each service's config schema reads, as strings. */}}
{{- define "skreaver.configData" -}}
{{- $config := .root.Values.config -}}
{{- $data := dict "NODE_ENV" "production" "HOST" "0.0.0.0" -}}
{{- $_ := set $data "PORT" (toString (int .svc.port)) -}}
{{- $_ = set $data "LOG_LEVEL" $config.logLevel -}}
{{- $_ = set $data "REDIS_KEY_PREFIX" $config.redisKeyPrefix -}}
{{- if has .component (list "agent-api" "mesh-coordinator") -}}
{{- $_ = set $data "RUN_QUEUE" $config.runQueue -}}
{{- end -}}
{{- $_ = set $data "SHUTDOWN_TIMEOUT_MS" (toString (int $config.shutdownTimeoutMs)) -}}
{{- $_ = set $data "SKREAVER_ENABLE_PROFILING" (toString $config.enableProfiling) -}}
{{- if include "skreaver.usesDatabase" . -}}
{{- $_ = set $data "DATABASE_POOL_SIZE" (toString (int $config.databasePoolSize)) -}}
{{- $_ = set $data "SKREAVER_DATA_DIR" "/var/lib/skreaver" -}}
{{- $_ = set $data "SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES" (toString (mul (int .root.Values.dataVolume.sizeLimitMiB) 1048576)) -}}
{{- end -}}
{{- range $key, $value := .svc.env -}}
{{- $_ = set $data $key $value -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* Variables read from Secrets: each service gets only those it uses. */}}
{{- define "skreaver.secretEnv" -}}
{{- $root := .root -}}
{{- $secretName := .secretName | default (include "skreaver.secretName" $root) -}}
{{- $byService := dict "agent-api" (list "JWT_SECRET_KEY" "DATABASE_URL" "REDIS_URL" "SKREAVER_ADMIN_API_KEY") "ws-gateway" (list "JWT_SECRET_KEY" "DATABASE_URL" "REDIS_URL") "mesh-coordinator" (list "DATABASE_URL" "JWT_SECRET_KEY" "REDIS_URL") -}}
{{- range $var := get $byService .component }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      {{- $ref := get $root.Values.secret.refs $var }}
      {{- if $ref }}
      name: {{ required (printf "secret.refs.%s.name is required" $var) $ref.name }}
      key: {{ required (printf "secret.refs.%s.key is required" $var) $ref.key }}
      {{- else }}
      name: {{ $secretName }}
      key: {{ $var }}
      {{- end }}
      {{- if eq $var "SKREAVER_ADMIN_API_KEY" }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* Scale in slowly, for the HPA and KEDA's HPA alike: a gateway replica that goes away drops its sockets. */}}
{{- define "skreaver.scalingBehavior" -}}
scaleDown:
  stabilizationWindowSeconds: 300
  policies:
    - type: Pods
      value: 1
      periodSeconds: 60
{{- end -}}

{{- define "skreaver.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
{{ toYaml .settings }}
{{- end -}}

{{/* The Secret's keys when the chart creates it (secret.create). */}}
{{- define "skreaver.secretData" -}}
{{- range $var := list "JWT_SECRET_KEY" "DATABASE_URL" "REDIS_URL" }}
{{- if not (hasKey $.Values.secret.refs $var) }}
{{ $var }}: {{ required (printf "secret.values.%s is required when secret.create is true (or point secret.refs.%s at an existing Secret)" $var $var) (get $.Values.secret.values $var) | quote }}
{{- end }}
{{- end }}
{{- with .Values.secret.values.SKREAVER_ADMIN_API_KEY }}
SKREAVER_ADMIN_API_KEY: {{ . | quote }}
{{- end }}
{{- end -}}
