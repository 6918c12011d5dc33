{{/*
Name of the chart, or nameOverride.
*/}}
{{- define "sophia-mcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name, cut at 63 characters because Service and label values are DNS-1123 limited.
A release whose name already contains the chart name is used as is.
*/}}
{{- define "sophia-mcp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sophia-mcp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object. The version is the image tag rather than the chart's appVersion: one chart runs many
different servers, so only the tag says which build of this server is running (the schema keeps tags label-safe).
component and part-of are how the policy pack recognises an MCP workload, so they come last and podLabels
cannot override them.
*/}}
{{- define "sophia-mcp.labels" -}}
helm.sh/chart: {{ include "sophia-mcp.chart" . }}
{{ include "sophia-mcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: mcp-server
app.kubernetes.io/part-of: sophia-mcp
{{- end }}

{{/*
Selector labels: immutable on a Deployment, so only name and instance.
*/}}
{{- define "sophia-mcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sophia-mcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Pod template labels: podLabels first, so the chart's own labels win on a clash.
*/}}
{{- define "sophia-mcp.podLabels" -}}
{{- $own := include "sophia-mcp.labels" . | fromYaml }}
{{- toYaml (merge $own (.Values.podLabels | default dict)) }}
{{- end }}

{{- define "sophia-mcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sophia-mcp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
A whole GPU quantity ("2", 2 or "2000m", already checked by values.schema.json) as a plain integer, so a request
and a limit written differently can be compared.
*/}}
{{- define "sophia-mcp.wholeGpuCount" -}}
{{- $text := toString . }}
{{- if hasSuffix "m" $text }}
{{- div (atoi (trimSuffix "m" $text)) 1000 }}
{{- else }}
{{- atoi $text }}
{{- end }}
{{- end }}

{{/*
Checks values.schema.json cannot express because they relate two fields. Included by the Deployment, so
`helm template`, `helm lint` and an install all run them.
*/}}
{{- define "sophia-mcp.validate" -}}
{{- $gpu := "nvidia.com/gpu" }}
{{- $requests := .Values.resources.requests | default dict }}
{{- if hasKey $requests $gpu }}
{{- $requested := include "sophia-mcp.wholeGpuCount" (index $requests $gpu) }}
{{- $limit := include "sophia-mcp.wholeGpuCount" (index .Values.resources.limits $gpu) }}
{{- if ne $requested $limit }}
{{- fail (printf "resources.requests[\"nvidia.com/gpu\"] (%v) must equal resources.limits[\"nvidia.com/gpu\"] (%v): Kubernetes does not overcommit extended resources; drop the request or make it equal the limit" (index $requests $gpu) (index .Values.resources.limits $gpu)) }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (hasKey $requests "cpu")) }}
{{- fail "autoscaling.enabled needs resources.requests.cpu: the HorizontalPodAutoscaler's CPU target is a percentage of the request" }}
{{- end }}
{{- if lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas) }}
{{- fail (printf "autoscaling.maxReplicas (%v) must be at least autoscaling.minReplicas (%v)" .Values.autoscaling.maxReplicas .Values.autoscaling.minReplicas) }}
{{- end }}
{{- if .Values.podDisruptionBudget.enabled }}
{{- /* A percentage follows the live replica count, so only a whole number can be checked here. */}}
{{- $minAvailable := .Values.podDisruptionBudget.minAvailable }}
{{- $fewestReplicas := ternary .Values.autoscaling.minReplicas .Values.replicaCount .Values.autoscaling.enabled }}
{{- if and (not (kindIs "string" $minAvailable)) (ge (int $minAvailable) (int $fewestReplicas)) }}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be below the replica count (%v), or no node running this server could ever be drained; lower it or add replicas" $minAvailable $fewestReplicas) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The probe handler: an HTTP GET when the server has a health path, else a TCP connect (MCP defines no health
endpoint, and a GET on the MCP endpoint opens an event stream or is refused with 405).
*/}}
{{- define "sophia-mcp.probeAction" -}}
{{- if .Values.probes.httpHealthPath }}
httpGet:
  path: {{ .Values.probes.httpHealthPath }}
  port: mcp
{{- else }}
tcpSocket:
  port: mcp
{{- end }}
{{- end }}

{{/*
The Snowflake key Secret's one key, and the file name it is mounted as: a PKCS#8 PEM private key.
*/}}
{{- define "sophia-mcp.snowflakeKeyFile" -}}
rsa_key.p8
{{- end }}
