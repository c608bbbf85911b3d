{{/* ramp.fullname is the release's name for every object. */}}
{{- define "ramp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* ramp.labels are the common labels. */}}
{{- define "ramp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* ramp.selector selects the controller's pods. */}}
{{- define "ramp.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* ramp.podSelector selects the pods of one Deployment: the main one's
(ramp.selector, unchanged since the first release: a Deployment's selector
cannot change), or a shard's, which the main one's never matches. */}}
{{- define "ramp.podSelector" -}}
{{- if .shard -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}-shard
app.kubernetes.io/instance: {{ .root.Release.Name }}
ramp.dev/shard: {{ .shard }}
{{- else -}}
{{- include "ramp.selector" .root }}
{{- end -}}
{{- end -}}

{{/* ramp.allPods selects every controller pod of the release, the shards'
included: the Service and the NetworkPolicy. */}}
{{- define "ramp.allPods" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
{{- end -}}

{{/* ramp.serviceAccount is the controller's ServiceAccount name. */}}
{{- define "ramp.serviceAccount" -}}
{{- default (include "ramp.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* ramp.leaderElect is true when replicas compete for a Lease. */}}
{{- define "ramp.leaderElect" -}}
{{- if or .Values.leaderElection (gt (int .Values.replicas) 1) }}true{{ else }}false{{ end -}}
{{- end -}}

{{/* ramp.rules are the rules on ramp's own objects and events. */}}
{{- define "ramp.rules" }}
# ReleaseRepositories: watch them, annotate them (webhook receiver), patch status.
- apiGroups: [ramp.dev]
  resources: [releaserepositories]
  verbs: [get, list, watch, patch]
- apiGroups: [ramp.dev]
  resources: [releaserepositories/status]
  verbs: [get, patch]
# Events about ReleaseRepositories.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}
{{/* ramp.fluxRules are the rules on Flux objects. */}}
{{- define "ramp.fluxRules" }}
# Flux: read Kustomization status, request reconciles by annotation.
- apiGroups: [kustomize.toolkit.fluxcd.io]
  resources: [kustomizations]
  verbs: [get, list, watch, patch]
- apiGroups: [source.toolkit.fluxcd.io]
  resources: [gitrepositories]
  verbs: [get, patch]
{{- end }}

{{/* ramp.readSecrets reads every Secret and ConfigMap of the Role's scope, one
by one (never listed): only where no rbac.credentials entry names them. */}}
{{- define "ramp.readSecrets" }}
# Credentials, signing key, approvers' keys, webhook tokens, guardrails:
# read one by one, never listed.
- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [get]
{{- end }}
