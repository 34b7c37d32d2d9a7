{{/* Chart name. */}}
{{- define "spark-job.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-spark-job (also the SparkApplication name; kept short for pod names). */}}
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

{{/* Common labels (component is set per object). */}}
{{- define "spark-job.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "spark-job.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: article-pipeline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Driver ServiceAccount name. */}}
{{- define "spark-job.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-driver" (include "spark-job.fullname" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Checkpoint PVC name. */}}
{{- define "spark-job.claimName" -}}
{{- default (printf "%s-checkpoints" (include "spark-job.fullname" .)) .Values.checkpoint.existingClaim -}}
{{- end -}}

{{/* Image reference (tag required). */}}
{{- define "spark-job.image" -}}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required" .Values.image.tag) -}}
{{- end -}}

{{/* Environment shared by driver and executors (both read Kinesis / write S3). */}}
{{- define "spark-job.env" -}}
- name: AWS_REGION
  value: {{ .Values.global.aws.region | quote }}
{{- with tpl .Values.global.aws.endpointUrl . }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- if .Values.global.aws.localstackCredentials }}
- name: AWS_ACCESS_KEY_ID
  value: test
- name: AWS_SECRET_ACCESS_KEY
  value: test
{{- end }}
- name: KINESIS_STREAM_NAME
  value: {{ .Values.global.kinesis.streamName | quote }}
- name: KINESIS_SHARD_COUNT
  value: {{ .Values.global.kinesis.shardCount | quote }}
- name: S3_BUCKET_NAME
  value: {{ .Values.global.s3.bucketName | quote }}
- name: CHECKPOINT_LOCATION
  value: {{ .Values.checkpoint.mountPath | quote }}
- name: SPARK_APP_NAME
  value: {{ .Values.job.appName | quote }}
- name: STARTING_POSITION
  value: {{ .Values.job.startingPosition | quote }}
- name: WATERMARK_DELAY
  value: {{ .Values.job.watermarkDelay | quote }}
- name: TRIGGER_INTERVAL
  value: {{ .Values.job.triggerInterval | quote }}
{{- with .Values.job.authorStatsTriggerInterval }}
- name: AUTHOR_STATS_TRIGGER_INTERVAL
  value: {{ . | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.global.logLevel | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by driver and executors. */}}
{{- define "spark-job.podSpec" -}}
env:
  {{- include "spark-job.env" . | nindent 2 }}
volumeMounts:
  - name: checkpoints
    mountPath: {{ .Values.checkpoint.mountPath }}
  - name: tmp
    mountPath: /tmp
podSecurityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
