{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "hfi.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name: the release name when it already contains the chart name. */}}
{{- define "hfi.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hfi.controlPlane.name" -}}{{ include "hfi.fullname" . }}-control-plane{{- end -}}
{{- define "hfi.etcd.name" -}}{{ include "hfi.fullname" . }}-etcd{{- end -}}
{{- define "hfi.envoy.name" -}}{{ include "hfi.fullname" . }}-envoy{{- end -}}
{{- define "hfi.sampleApp.name" -}}{{ include "hfi.fullname" . }}-sample-app{{- end -}}
{{- define "hfi.auth.name" -}}{{ include "hfi.fullname" . }}-auth{{- end -}}

{{/* Labels on every object; pass (dict "ctx" $ "component" "control-plane"). */}}
{{- define "hfi.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: hfi
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{ include "hfi.selectorLabels" . }}
{{- end -}}

{{- define "hfi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hfi.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "hfi.image" -}}
{{- printf "%s:%s" .image.repository (.image.tag | default .ctx.Chart.AppVersion) -}}
{{- end -}}

{{/* The control plane's in-cluster address, as the filter's long-poll authority and cluster. */}}
{{- define "hfi.controlPlane.host" -}}
{{- printf "%s.%s.svc.cluster.local" (include "hfi.controlPlane.name" .) .Release.Namespace -}}
{{- end -}}

{{/* Replicas: 1 for memory, 2 for etcd and kubernetes unless set; more than one memory replica is refused. */}}
{{- define "hfi.controlPlane.replicas" -}}
{{- $replicas := .Values.controlPlane.replicas | default (ternary 1 2 (eq .Values.store.type "memory")) | int -}}
{{- if and (eq .Values.store.type "memory") (gt $replicas 1) -}}
{{- fail "controlPlane.replicas > 1 needs store.type=etcd or kubernetes: with the memory store every replica would keep its own policies" -}}
{{- end -}}
{{- $replicas -}}
{{- end -}}

{{/* Comma-separated etcd client URLs: store.etcd.endpoints, else the demo etcd. */}}
{{- define "hfi.etcd.endpoints" -}}
{{- if .Values.store.etcd.endpoints -}}
{{- join "," .Values.store.etcd.endpoints -}}
{{- else if .Values.etcdDemo.enabled -}}
{{- printf "http://%s.%s.svc.cluster.local:2379" (include "hfi.etcd.name" .) .Release.Namespace -}}
{{- else -}}
{{- fail "store.type=etcd needs store.etcd.endpoints (your etcd cluster) or etcdDemo.enabled=true" -}}
{{- end -}}
{{- end -}}

{{- define "hfi.auth.secretName" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecret -}}
{{- else if or .Values.auth.writerToken .Values.auth.readerToken -}}
{{- include "hfi.auth.name" . -}}
{{- else -}}
{{- fail "auth.enabled needs auth.existingSecret or at least one of auth.writerToken / auth.readerToken" -}}
{{- end -}}
{{- end -}}

{{/* Restricted Pod Security Standard, shared by every container the chart runs. */}}
{{- define "hfi.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "hfi.podSecurityContext" -}}
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Checks that span several values; rendered once from NOTES.txt and the control plane. */}}
{{- define "hfi.validate" -}}
{{- if and .Values.etcdDemo.enabled (ne .Values.store.type "etcd") -}}
{{- fail "etcdDemo.enabled needs store.type=etcd (the memory store would not use it)" -}}
{{- end -}}
{{- if and .Values.etcdDemo.enabled .Values.store.etcd.endpoints -}}
{{- fail "set either store.etcd.endpoints or etcdDemo.enabled, not both" -}}
{{- end -}}
{{- end -}}
