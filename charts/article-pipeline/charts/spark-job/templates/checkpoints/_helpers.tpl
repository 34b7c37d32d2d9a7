{{/* Checkpoint PVC name: `checkpoint.existingClaim`, or the one the chart creates. */}}
{{- define "spark-job.checkpoints.claimName" -}}
{{- default (printf "%s-checkpoints" (include "spark-job.fullname" .)) .Values.checkpoint.existingClaim -}}
{{- end -}}
