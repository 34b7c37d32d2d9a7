{{/* Driver ServiceAccount name (bound to the Role that lets the driver manage executor pods). */}}
{{- define "spark-job.driver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-driver" (include "spark-job.fullname" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* ConfigMap holding the init containers' scripts (files/). */}}
{{- define "spark-job.driver.scriptsName" -}}
{{- include "spark-job.fullname" . }}-scripts
{{- end -}}

{{/*
Init containers of the driver pod, for an ordered start-up: `wait-for-aws` waits until the stream
and the bucket exist, then `checkpoint-guard` checks that the checkpoint (on the PVC, or on S3 with
`checkpoint.location`) belongs to that stream (`checkpoint.onStreamRecreated`,
`checkpoint.allowExistingOutputs`). Call with the root context.
*/}}
{{- define "spark-job.driver.initContainers" -}}
- name: wait-for-aws
  image: {{ include "spark-job.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["python3", "/scripts/wait_for_aws.py"]
  terminationMessagePolicy: FallbackToLogsOnError
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  env:
    {{- include "aws-env.vars" (dict "context" .) | nindent 4 }}
    - name: WAIT_TIMEOUT_SECONDS
      value: {{ .Values.waitForResources.timeoutSeconds | quote }}
  resources:
    {{- toYaml .Values.initResources | nindent 4 }}
  volumeMounts:
    - name: scripts
      mountPath: /scripts
      readOnly: true
    - name: tmp
      mountPath: /tmp
- name: checkpoint-guard
  image: {{ include "spark-job.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["python3", "/scripts/checkpoint_guard.py"]
  terminationMessagePolicy: FallbackToLogsOnError
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  env:
    {{- include "aws-env.vars" (dict "context" .) | nindent 4 }}
    - name: CHECKPOINT_LOCATION
      value: {{ include "spark-job.checkpoints.location" . | quote }}
    - name: ON_STREAM_RECREATED
      value: {{ .Values.checkpoint.onStreamRecreated | quote }}
    - name: ALLOW_EXISTING_OUTPUTS
      value: {{ .Values.checkpoint.allowExistingOutputs | quote }}
  resources:
    {{- toYaml .Values.initResources | nindent 4 }}
  volumeMounts:
    - name: scripts
      mountPath: /scripts
      readOnly: true
    {{- if not (include "spark-job.checkpoints.onS3" .) }}
    - name: checkpoints
      mountPath: {{ .Values.checkpoint.mountPath }}
    {{- end }}
    - name: tmp
      mountPath: /tmp
{{- end -}}
