{{/*
Values the chart refuses: sparkConf keys it sets itself (the pod templates, the ServiceAccounts,
the driver/executor values), and a restart policy that would rerun an available-now run forever.
*/}}
{{- define "spark-job.application.validate" -}}
{{- $ownConf := list "spark.driver.extraClassPath" "spark.executor.extraClassPath" "spark.kubernetes.driver.podTemplateFile" "spark.kubernetes.executor.podTemplateFile" "spark.kubernetes.authenticate.driver.serviceAccountName" "spark.driver.memoryOverhead" "spark.executor.memoryOverhead" -}}
{{- range $ownConf }}
{{- if hasKey $.Values.sparkConf . }}
{{- fail (printf "sparkConf.%s is set by the chart (pod templates, ServiceAccounts, driver/executor values): remove it" .) }}
{{- end }}
{{- end -}}
{{- if and (eq .Values.restartPolicy.type "Always") (eq .Values.job.triggerInterval "available-now") }}
{{- fail "restartPolicy.type=Always resubmits a driver that exited 0 at once: an available-now run would drain in a loop. Use OnFailure (the default)" }}
{{- end -}}
{{- end -}}

{{/*
A retry count of restartPolicy: `unlimited` is the CRD's int32 maximum, which the operator's
attempt counters never pass (its ShouldRetry compares them with `<=`).
*/}}
{{- define "spark-job.application.retryCount" -}}
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
{{- define "spark-job.application.restartPolicy" -}}
{{- $rp := .Values.restartPolicy -}}
type: {{ $rp.type }}
{{- if eq $rp.type "OnFailure" }}
onFailureRetries: {{ include "spark-job.application.retryCount" $rp.onFailureRetries }}
onSubmissionFailureRetries: {{ include "spark-job.application.retryCount" $rp.onSubmissionFailureRetries }}
{{- end }}
{{- if ne $rp.type "Never" }}
onFailureRetryInterval: {{ $rp.onFailureRetryInterval | int }}
onSubmissionFailureRetryInterval: {{ $rp.onSubmissionFailureRetryInterval | int }}
{{- end }}
{{- end -}}

{{/*
spec.sparkConf: the Delta Lake and S3A jars (jobs/jars.lock, in the image at `jarsDir`) on both
JVMs' class paths from their start, the Prometheus servlet with `metrics.enabled`, then
`sparkConf` over them; every value a string.
*/}}
{{- define "spark-job.application.sparkConf" -}}
{{- $conf := dict }}
{{- $_ := set $conf "spark.driver.extraClassPath" (printf "%s/*" .Values.jarsDir) }}
{{- $_ := set $conf "spark.executor.extraClassPath" (printf "%s/*" .Values.jarsDir) }}
{{- if .Values.metrics.enabled }}
{{- $_ := set $conf "spark.ui.prometheus.enabled" "true" }}
{{- $_ := set $conf "spark.metrics.conf.*.sink.prometheusServlet.class" "org.apache.spark.metrics.sink.PrometheusServlet" }}
{{- $_ := set $conf "spark.metrics.conf.*.sink.prometheusServlet.path" "/metrics/prometheus" }}
{{- end }}
{{- range $k, $v := .Values.sparkConf }}
{{- $_ := set $conf $k ($v | toString) }}
{{- end }}
{{- range $k, $v := $conf }}
{{ $k | quote }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Environment of the driver and executor containers (both read Kinesis and write S3). */}}
{{- define "spark-job.application.env" -}}
{{ include "aws-env.vars" (dict "context" . "shardCount" true) }}
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

{{/*
Pod template of the driver or the executors (`spec.driver.template`, `spec.executor.template`).
Everything Spark's own configuration cannot express lives here: env, the checkpoint PVC, /tmp,
security contexts, the driver's init containers, tolerations. The operator hands the template to
spark-submit (`spark.kubernetes.{driver,executor}.podTemplateFile`), so the pods need no mutating
webhook. Call with (dict "root" $ "role" "driver"|"executor").
*/}}
{{- define "spark-job.application.podTemplate" -}}
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
  initContainers:
    {{- include "spark-job.driver.initContainers" $root | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ ternary "spark-kubernetes-driver" "spark-kubernetes-executor" $driver }}
      # The tail of the log of a container that failed becomes its termination message
      # (`kubectl describe pod`, `.status.containerStatuses[].state.terminated.message`): e.g.
      # "article-job: invalid setting: ...". The operator's `status.applicationState.errorMessage`
      # carries only the exit code and the kubelet's reason.
      terminationMessagePolicy: FallbackToLogsOnError
      env:
        {{- include "spark-job.application.env" $root | nindent 8 }}
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
        claimName: {{ include "spark-job.checkpoints.claimName" $root }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmpSizeLimit }}
    {{- if $driver }}
    - name: scripts
      configMap:
        name: {{ include "spark-job.driver.scriptsName" $root }}
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
