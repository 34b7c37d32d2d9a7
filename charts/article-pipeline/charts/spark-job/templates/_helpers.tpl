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

{{/* Driver ServiceAccount name (bound to the Role that lets the driver manage executor pods). */}}
{{- define "spark-job.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-driver" (include "spark-job.fullname" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Executor ServiceAccount name (no Kubernetes API rights, no token mounted). */}}
{{- define "spark-job.executorServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-executor" (include "spark-job.fullname" .)) .Values.serviceAccount.executorName -}}
{{- else -}}
{{- required "serviceAccount.executorName is required when serviceAccount.create is false" .Values.serviceAccount.executorName -}}
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

{{/*
A retry count of restartPolicy: `unlimited` is the CRD's int32 maximum, which the operator's
attempt counters never pass (its ShouldRetry compares them with `<=`).
*/}}
{{- define "spark-job.retryCount" -}}
{{- if eq (toString .) "unlimited" -}}
2147483647
{{- else -}}
{{- . | int -}}
{{- end -}}
{{- end -}}

{{/*
spec.restartPolicy of the SparkApplication. OnFailure: counts and intervals for failed runs and
failed submissions. Always: intervals only (the operator retries without counting). Never: nothing.
*/}}
{{- define "spark-job.restartPolicy" -}}
{{- $rp := .Values.restartPolicy -}}
type: {{ $rp.type }}
{{- if eq $rp.type "OnFailure" }}
onFailureRetries: {{ include "spark-job.retryCount" $rp.onFailureRetries }}
onSubmissionFailureRetries: {{ include "spark-job.retryCount" $rp.onSubmissionFailureRetries }}
{{- end }}
{{- if ne $rp.type "Never" }}
onFailureRetryInterval: {{ $rp.onFailureRetryInterval | int }}
onSubmissionFailureRetryInterval: {{ $rp.onSubmissionFailureRetryInterval | int }}
{{- end }}
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
- name: RETRY_DEADLINE
  value: {{ .Values.job.retryDeadline | quote }}
- name: LOG_LEVEL
  value: {{ .Values.global.logLevel | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* AWS settings and names the init containers need. */}}
{{- define "spark-job.initEnv" -}}
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
- name: S3_BUCKET_NAME
  value: {{ .Values.global.s3.bucketName | quote }}
{{- end -}}

{{/*
Pod template of the driver or the executors (`spec.driver.template`, `spec.executor.template`).
Everything Spark's own configuration cannot express lives here: env, the checkpoint PVC, /tmp,
security contexts, init containers, tolerations. The operator hands the template to
spark-submit (`spark.kubernetes.{driver,executor}.podTemplateFile`), so none of it depends on
the operator's mutating webhook, and the operator no longer asks the webhook to mutate the pods.
Call with (dict "root" $ "role" "driver"|"executor").
*/}}
{{- define "spark-job.podTemplate" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $driver := eq .role "driver" -}}
spec:
  automountServiceAccountToken: {{ $driver }}
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  {{- if $driver }}
  # Ordered start-up: the stream and the bucket exist, then the checkpoint matches the stream.
  initContainers:
    - name: wait-for-aws
      image: {{ include "spark-job.image" $root | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      command: ["python3", "/scripts/wait_for_aws.py"]
      terminationMessagePolicy: FallbackToLogsOnError
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      env:
        {{- include "spark-job.initEnv" $root | nindent 8 }}
        - name: WAIT_TIMEOUT_SECONDS
          value: {{ $v.waitForResources.timeoutSeconds | quote }}
      resources:
        {{- toYaml $v.initResources | nindent 8 }}
      volumeMounts:
        - name: scripts
          mountPath: /scripts
          readOnly: true
        - name: tmp
          mountPath: /tmp
    - name: checkpoint-guard
      image: {{ include "spark-job.image" $root | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      command: ["python3", "/scripts/checkpoint_guard.py"]
      terminationMessagePolicy: FallbackToLogsOnError
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      env:
        {{- include "spark-job.initEnv" $root | nindent 8 }}
        - name: CHECKPOINT_LOCATION
          value: {{ $v.checkpoint.mountPath | quote }}
        - name: ON_STREAM_RECREATED
          value: {{ $v.checkpoint.onStreamRecreated | quote }}
        - name: ALLOW_EXISTING_OUTPUTS
          value: {{ $v.checkpoint.allowExistingOutputs | quote }}
      resources:
        {{- toYaml $v.initResources | nindent 8 }}
      volumeMounts:
        - name: scripts
          mountPath: /scripts
          readOnly: true
        - name: checkpoints
          mountPath: {{ $v.checkpoint.mountPath }}
        - name: tmp
          mountPath: /tmp
  {{- end }}
  containers:
    - name: {{ ternary "spark-kubernetes-driver" "spark-kubernetes-executor" $driver }}
      # The tail of the log of a container that failed becomes its termination message
      # (`kubectl describe pod`, `.status.containerStatuses[].state.terminated.message`): e.g.
      # "article-job: invalid setting: ...". The operator's `status.applicationState.errorMessage`
      # carries only the exit code and the kubelet's reason.
      terminationMessagePolicy: FallbackToLogsOnError
      env:
        {{- include "spark-job.env" $root | nindent 8 }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      volumeMounts:
        - name: checkpoints
          mountPath: {{ $v.checkpoint.mountPath }}
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: checkpoints
      persistentVolumeClaim:
        claimName: {{ include "spark-job.claimName" $root }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmpSizeLimit }}
    {{- if $driver }}
    - name: scripts
      configMap:
        name: {{ include "spark-job.fullname" $root }}-scripts
        defaultMode: 0444
    {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
