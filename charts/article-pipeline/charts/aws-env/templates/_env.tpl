{{/*
The AWS environment of a container, read from `global` (the umbrella chart's values, or the
subchart's own defaults when it is rendered alone):

  AWS_REGION
  AWS_ENDPOINT_URL        only when `global.aws.endpointUrl` renders non-empty (empty: real AWS)
  AWS_ACCESS_KEY_ID       LocalStack's dummy keys, only with `global.aws.localstackCredentials`
  AWS_SECRET_ACCESS_KEY   (real AWS: the default credential chain, e.g. IRSA)
  KINESIS_STREAM_NAME
  KINESIS_SHARD_COUNT     only with "shardCount" true: for whoever may create the stream
  S3_BUCKET_NAME

Call with the chart's root context:
  {{- include "aws-env.vars" (dict "context" $ "shardCount" true) | nindent 12 }}
`global.aws.endpointUrl` goes through `tpl` with that context, so it may name another chart's
Service (the umbrella's default is the LocalStack Service's name).
*/}}
{{- define "aws-env.vars" -}}
{{- $ctx := .context -}}
{{- $global := $ctx.Values.global -}}
- name: AWS_REGION
  value: {{ $global.aws.region | quote }}
{{- with tpl $global.aws.endpointUrl $ctx }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- if $global.aws.localstackCredentials }}
- name: AWS_ACCESS_KEY_ID
  value: test
- name: AWS_SECRET_ACCESS_KEY
  value: test
{{- end }}
- name: KINESIS_STREAM_NAME
  value: {{ $global.kinesis.streamName | quote }}
{{- if .shardCount }}
- name: KINESIS_SHARD_COUNT
  value: {{ $global.kinesis.shardCount | quote }}
{{- end }}
- name: S3_BUCKET_NAME
  value: {{ $global.s3.bucketName | quote }}
{{- end -}}
