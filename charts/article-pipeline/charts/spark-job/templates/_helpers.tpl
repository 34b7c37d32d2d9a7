{{/*
Names, labels and the image, shared by every component. Each component folder (application/,
driver/, executor/, checkpoints/, submitter/, ui/) keeps its own helpers in its _helpers.tpl.
*/}}

{{/* Chart name. */}}
{{- define "spark-job.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: <release>-spark-job, also the SparkApplication's name. At most 40 characters: the
pods' names are built from it (`<fullname>-driver`, the executors') and stop at 63.
*/}}
{{- define "spark-job.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "spark-job.name" .) | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels. */}}
{{- define "spark-job.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spark-job.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Common labels (each object adds its `app.kubernetes.io/component`). */}}
{{- define "spark-job.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "spark-job.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: article-pipeline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Image reference (tag required): the Spark containers and the driver's init containers. */}}
{{- define "spark-job.image" -}}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required" .Values.image.tag) -}}
{{- end -}}
