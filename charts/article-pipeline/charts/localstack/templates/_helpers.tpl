{{/* Chart name. */}}
{{- define "localstack.name" -}}
{{- .Chart.Name -}}
{{- end -}}

{{/*
Full name: <release>-localstack, truncated to 63 characters. Not overridable: the other
subcharts reach the Service through "localstack.host", which must give the same name.
*/}}
{{- define "localstack.fullname" -}}
{{- include "localstack.host" . -}}
{{- end -}}

{{/*
Host name of the LocalStack Service for a root context (`.Release`), usable from any chart of
the release: `global.aws.endpointUrl` is `http://{{ include "localstack.host" . }}:4566`.
*/}}
{{- define "localstack.host" -}}
{{- printf "%s-localstack" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels. */}}
{{- define "localstack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "localstack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Common labels. */}}
{{- define "localstack.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "localstack.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: aws-emulator
app.kubernetes.io/part-of: article-pipeline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Image reference (tag required). */}}
{{- define "localstack.image" -}}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required" .Values.image.tag) -}}
{{- end -}}

{{/*
The endpoint of the LocalStack Service (its edge port, 4566) for any chart of the release: the
aws-env library chart runs it, with the calling chart's context (so it reads `.Release` only), as
the default `AWS_ENDPOINT_URL` while this chart is enabled, and an empty fallback when it is not.
*/}}
{{- define "localstack.endpoint" -}}
http://{{ include "localstack.host" . }}:4566
{{- end -}}
