{{/* Chart name. */}}
{{- define "publisher.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-publisher. */}}
{{- define "publisher.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "publisher.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels. */}}
{{- define "publisher.selectorLabels" -}}
app.kubernetes.io/name: {{ include "publisher.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Common labels. */}}
{{- define "publisher.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "publisher.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: publisher
app.kubernetes.io/part-of: article-pipeline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* ServiceAccount name. */}}
{{- define "publisher.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "publisher.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference (tag required). */}}
{{- define "publisher.image" -}}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required" .Values.image.tag) -}}
{{- end -}}

{{/* The Secret holding the API token: the user's (`apiToken.existingSecret`), or the one the chart creates from `apiToken.value`. */}}
{{- define "publisher.tokenSecretName" -}}
{{- default (printf "%s-api-token" (include "publisher.fullname" .) | trunc 63 | trimSuffix "-") .Values.apiToken.existingSecret -}}
{{- end -}}

{{/* Where the publisher container finds the API token (the Secret's key, mounted read-only). */}}
{{- define "publisher.tokenFile" -}}
/var/run/secrets/article-pipeline/api-token/token
{{- end -}}

{{/* `apiToken.enabled` needs exactly one source of the token. */}}
{{- define "publisher.validateToken" -}}
{{- if .Values.apiToken.enabled }}
{{- if and .Values.apiToken.existingSecret .Values.apiToken.value }}
{{- fail "publisher.apiToken: set apiToken.existingSecret or apiToken.value, not both" }}
{{- end }}
{{- if not (or .Values.apiToken.existingSecret .Values.apiToken.value) }}
{{- fail "publisher.apiToken.enabled needs the token: apiToken.existingSecret (a Secret you manage: the GitOps way) or apiToken.value (at least 16 characters, e.g. `openssl rand -hex 24`; the chart keeps it in a Secret)" }}
{{- end }}
{{- end }}
{{- end -}}
