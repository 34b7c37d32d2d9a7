{{/*
Enhanced fan-out: the stream consumer `job.consumerName` the driver reads through
(`KINESIS_CONSUMER_NAME`), and the `pre-delete` hook that deregisters it (job-deregister.yaml).
Nothing renders while `job.consumerName` is empty (polling).
*/}}

{{/* Name of the hook's Job: `<fullname>-consumer-deregister` (at most 60 characters). */}}
{{- define "spark-job.consumer.deregisterName" -}}
{{- printf "%s-consumer-deregister" (include "spark-job.fullname" .) -}}
{{- end -}}

{{/*
`KINESIS_CONSUMER_NAME`, for the driver and the hook, while `job.consumerName` is set (else
nothing). The executors read through the consumer the driver hands them in the source's options.
*/}}
{{- define "spark-job.consumer.env" -}}
{{- with .Values.job.consumerName }}
- name: KINESIS_CONSUMER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
Environment of the hook's container: the AWS environment every container of the release that
calls AWS gets (aws-env), the consumer, its own retry deadline and the log level. With
`global.aws.kinesisRoleArn` it assumes the role as the job does (session `article-pipeline-job`).
*/}}
{{- define "spark-job.consumer.deregisterEnv" -}}
{{ include "aws-env.vars" (dict "context" .) }}
{{- include "spark-job.consumer.env" . }}
- name: RETRY_DEADLINE
  value: {{ .Values.consumerDeregister.retryDeadline | quote }}
- name: LOG_LEVEL
  value: {{ .Values.global.logLevel | quote }}
{{- end -}}
