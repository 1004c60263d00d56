{{/* The release's name for every object: the chart name unless the release already contains it. */}}
{{- define "mnptc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mnptc.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mnptc.labels" -}}
{{ include "mnptc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "mnptc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mnptc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The agent's flags, one list item each, from the values. */}}
{{- define "mnptc.args" -}}
- --hostname-override=$(NODE_NAME)
- --network-plugins={{ join "," .Values.networkPlugins }}
- --tc-driver={{ .Values.tcDriver }}
{{- range .Values.plugins }}
- --plugin={{ . }}
{{- end }}
{{- if .Values.podRulesPath }}
- --pod-rules-path={{ .Values.podRulesPath }}
{{- end }}
- --health-address=0.0.0.0:{{ .Values.healthPort }}
{{- if .Values.verbosity }}
- -v={{ .Values.verbosity }}
{{- end }}
{{- if .Values.stateless }}
- --stateless
{{- end }}
{{- if .Values.ctZone }}
- --ct-zone={{ .Values.ctZone }}
{{- end }}
{{- if ne (join "," .Values.encapsulations) "auto" }}
- --encapsulations={{ join "," .Values.encapsulations }}
{{- end }}
{{- if ne .Values.layout "per-port" }}
- --layout={{ .Values.layout }}
{{- end }}
{{- if .Values.uplink }}
- --uplink={{ .Values.uplink }}
{{- end }}
{{- if ne (int .Values.resyncSeconds) 300 }}
- --resync-seconds={{ .Values.resyncSeconds }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}
