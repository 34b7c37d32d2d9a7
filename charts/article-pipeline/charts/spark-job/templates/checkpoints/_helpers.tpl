{{/* Checkpoint PVC name: `checkpoint.existingClaim`, or the one the chart creates. */}}
{{- define "spark-job.checkpoints.claimName" -}}
{{- default (printf "%s-checkpoints" (include "spark-job.fullname" .)) .Values.checkpoint.existingClaim -}}
{{- end -}}

{{/*
The job's outputs in `global.s3.bucketName` (common.contract.OUTPUTS, the guard's OUTPUTS): a
checkpoint prefix there would be emptied by a reset, and read as a table by the guard.
*/}}
{{- define "spark-job.checkpoints.outputs" -}}
{{- list "enriched_articles" "author_stats" "quarantine" | toJson -}}
{{- end -}}

{{/*
"true" when the checkpoints live on S3 (`checkpoint.location`), "" when on the PVC. Fails, naming
the value, for a location that is not s3://bucket/prefix (the schema has the same pattern; this
holds when it is skipped), for one together with `checkpoint.existingClaim`, and for a prefix that
is one of the job's outputs in the output bucket.
*/}}
{{- define "spark-job.checkpoints.onS3" -}}
{{- $ckpt := .Values.checkpoint -}}
{{- with $ckpt.location -}}
{{- if not (regexMatch "^s3a?://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^/]+(/[^/]+)*/?$" .) }}
{{- fail (printf "checkpoint.location=%s is refused: it must be empty (a PVC) or s3://bucket/prefix (s3a:// too), with a bucket name and a prefix, e.g. s3://my-bucket/checkpoints" .) }}
{{- end }}
{{- if $ckpt.existingClaim }}
{{- fail (printf "checkpoint.location=%s and checkpoint.existingClaim=%s are both set: checkpoints on S3 use no claim; unset one of them" . $ckpt.existingClaim) }}
{{- end }}
{{- $bucket := regexReplaceAll "^s3a?://([^/]+)/.*$" . "${1}" }}
{{- $first := regexReplaceAll "^s3a?://[^/]+/([^/]+).*$" . "${1}" }}
{{- if and (eq $bucket $.Values.global.s3.bucketName) (has $first (include "spark-job.checkpoints.outputs" $ | fromJsonArray)) }}
{{- fail (printf "checkpoint.location=%s is refused: %s/ is one of the job's outputs in s3://%s (a checkpoint reset would delete it); choose another prefix, e.g. s3://%s/checkpoints" . $first $bucket $bucket) }}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* `CHECKPOINT_LOCATION` of the job and the guard: `checkpoint.location`, or the PVC's mount path. */}}
{{- define "spark-job.checkpoints.location" -}}
{{- if include "spark-job.checkpoints.onS3" . -}}
{{- .Values.checkpoint.location -}}
{{- else -}}
{{- .Values.checkpoint.mountPath -}}
{{- end -}}
{{- end -}}
