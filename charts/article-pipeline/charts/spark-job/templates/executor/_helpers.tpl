{{/* Executor ServiceAccount name (no Kubernetes API rights, no token mounted). */}}
{{- define "spark-job.executor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-executor" (include "spark-job.fullname" .)) .Values.serviceAccount.executorName -}}
{{- else -}}
{{- required "serviceAccount.executorName is required when serviceAccount.create is false" .Values.serviceAccount.executorName -}}
{{- end -}}
{{- end -}}
