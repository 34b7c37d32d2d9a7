{{/*
The AWS environment of a container, read from `global` (the umbrella chart's values, or the
subchart's own defaults when it is rendered alone):

  AWS_REGION
  AWS_ENDPOINT_URL        `global.aws.endpointUrl` rendered with `tpl`; when that is empty, the
                          bundled LocalStack's endpoint if its chart is in the release, else none
                          (real AWS)
  AWS_ACCESS_KEY_ID       LocalStack's dummy keys, with `global.aws.localstackCredentials` and only
  AWS_SECRET_ACCESS_KEY   while LocalStack is in the release (otherwise the default credential
                          chain, e.g. IRSA, which static keys would outrank)
  KINESIS_ROLE_ARN        `global.aws.kinesisRoleArn`, when set: Kinesis (never S3) is called as
  KINESIS_ROLE_EXTERNAL_ID  that role, assumed with STS, with `global.aws.kinesisRoleExternalId`
                          (rendering fails on an external id without a role)
  KINESIS_STREAM_NAME
  KINESIS_SHARD_COUNT     only with "shardCount" true: for whoever may create the stream
  S3_BUCKET_NAME

Call with the chart's root context:
  {{- include "aws-env.vars" (dict "context" $ "shardCount" true) | nindent 12 }}
`global.aws.endpointUrl` goes through `tpl` with that context, so it may name another chart's
Service.
*/}}
{{- define "aws-env.vars" -}}
{{- $ctx := .context -}}
{{- $global := $ctx.Values.global -}}
{{- $localstack := include "aws-env.localstackEndpoint" $ctx -}}
- name: AWS_REGION
  value: {{ $global.aws.region | quote }}
{{- with tpl $global.aws.endpointUrl $ctx | default $localstack }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- if and $localstack $global.aws.localstackCredentials }}
- name: AWS_ACCESS_KEY_ID
  value: test
- name: AWS_SECRET_ACCESS_KEY
  value: test
{{- end }}
{{- with $global.aws.kinesisRoleArn }}
- name: KINESIS_ROLE_ARN
  value: {{ . | quote }}
{{- end }}
{{- with $global.aws.kinesisRoleExternalId }}
{{- if not $global.aws.kinesisRoleArn }}
{{- fail "global.aws.kinesisRoleExternalId is set but global.aws.kinesisRoleArn is not: the external id goes with the role to assume; set global.aws.kinesisRoleArn or unset global.aws.kinesisRoleExternalId" }}
{{- end }}
- name: KINESIS_ROLE_EXTERNAL_ID
  value: {{ . | quote }}
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

{{/*
The bundled LocalStack's endpoint while the localstack subchart is part of the release, else "".
A subchart sees neither `localstack.enabled` nor its sibling's values, only which templates are
loaded: a disabled subchart's are not. The `block` below defines "localstack.endpoint" with an
empty body and runs it. Go's text/template never lets an empty definition replace a non-empty one
(whatever the parse order), so while the localstack chart is loaded its "localstack.endpoint"
(charts/localstack/templates/_helpers.tpl) is the one that runs; without it, this empty one does.
*/}}
{{- define "aws-env.localstackEndpoint" -}}
{{- block "localstack.endpoint" . }}{{ end -}}
{{- end -}}
