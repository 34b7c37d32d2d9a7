{{/*
sparkConf the chart sets and sparkConf may only repeat (Spark parses booleans in any case): Spark
authenticated, its UI unable to kill, and the settings that keep the driver within its Role
(templates/driver/rbac.yaml). A YAML map of key: [value, why].
*/}}
{{- define "spark-job.application.pinnedConf" -}}
spark.authenticate: ["true", "the driver generates a secret per application and hands it to its executors (`_SPARK_AUTH_SECRET`); without it anyone who reaches the driver's RPC port may act as an executor or a client"]
spark.ui.killEnabled: ["false", "with kill on, one request to the UI stops a streaming job or a stage"]
spark.kubernetes.executor.deleteOnTermination: ["true", "keeping finished executors means relabelling their pods (PATCH), which the driver's Role does not grant"]
spark.kubernetes.driver.service.deleteOnTermination: ["false", "the driver's Role grants nothing on Services (its Service is owned by its pod and goes with it)"]
spark.kubernetes.driver.ownPersistentVolumeClaim: ["false", "the driver's Role grants nothing on PersistentVolumeClaims (no claims on demand)"]
spark.kubernetes.driver.reusePersistentVolumeClaim: ["false", "the driver's Role grants nothing on PersistentVolumeClaims (no claims on demand)"]
{{- end -}}

{{/*
Values the chart refuses: sparkConf keys it sets itself (the pod templates, the ServiceAccounts,
the driver/executor values), sparkConf that would change a pinned setting or need API rights the
driver's Role does not grant, an authentication secret of one's own, and a restart policy that
would rerun an available-now run forever.
*/}}
{{- define "spark-job.application.validate" -}}
{{- $ownConf := list "spark.driver.extraClassPath" "spark.executor.extraClassPath" "spark.kubernetes.driver.podTemplateFile" "spark.kubernetes.executor.podTemplateFile" "spark.kubernetes.authenticate.driver.serviceAccountName" "spark.driver.memoryOverhead" "spark.executor.memoryOverhead" -}}
{{- range $ownConf }}
{{- if hasKey $.Values.sparkConf . }}
{{- fail (printf "sparkConf.%s is set by the chart (pod templates, ServiceAccounts, driver/executor values): remove it" .) }}
{{- end }}
{{- end -}}
{{- range $key, $pin := include "spark-job.application.pinnedConf" . | fromYaml }}
{{- if hasKey $.Values.sparkConf $key }}
{{- $given := index $.Values.sparkConf $key | toString }}
{{- if ne (lower $given) (first $pin) }}
{{- fail (printf "sparkConf.%s=%s is refused: the chart sets %s=%s because %s" $key $given $key (first $pin) (last $pin)) }}
{{- end }}
{{- end }}
{{- range $optsKey, $opts := $.Values.sparkConf }}
{{- if and (hasSuffix "JavaOptions" $optsKey) (contains (printf "-D%s=" $key) (toString $opts)) }}
{{- fail (printf "sparkConf.%s=%s is refused: the chart sets %s=%s because %s" $optsKey (toString $opts) $key (first $pin) (last $pin)) }}
{{- end }}
{{- end }}
{{- end -}}
{{- range $key, $value := .Values.sparkConf }}
{{- $given := toString $value }}
{{- $needsRights := "" }}
{{- if and (eq $key "spark.kubernetes.allocation.pods.allocator") (ne $given "direct") }}
{{- $needsRights = "executors in a StatefulSet or a Deployment are managed through the apps API" }}
{{- else if eq $key "spark.kubernetes.executor.decommissionLabel" }}
{{- $needsRights = "labelling decommissioning executors patches their pods" }}
{{- else if and (eq $key "spark.kubernetes.driver.annotateExitException") (eq (lower $given) "true") }}
{{- $needsRights = "annotating the exit exception patches the driver pod" }}
{{- else if and (regexMatch "^spark[.]kubernetes[.](driver|executor)[.]volumes[.]persistentVolumeClaim[.][^.]+[.]options[.]claimName$" $key) (contains "OnDemand" $given) }}
{{- $needsRights = "a claim on demand is a PersistentVolumeClaim the driver creates" }}
{{- end }}
{{- if $needsRights }}
{{- fail (printf "sparkConf.%s=%s needs Kubernetes API rights the driver's Role does not grant (%s; templates/driver/rbac.yaml): remove it" $key $given $needsRights) }}
{{- end }}
{{- end -}}
{{- range .Values.extraEnv }}
{{- if eq (toString .name) "_SPARK_AUTH_SECRET" }}
{{- fail "extraEnv _SPARK_AUTH_SECRET is refused: Spark generates the authentication secret per application and passes it to the executors itself (spark.authenticate)" }}
{{- end }}
{{- if eq (toString .name) "KINESIS_CONSUMER_NAME" }}
{{- fail "extraEnv KINESIS_CONSUMER_NAME is refused: set job.consumerName, which the chart gives the driver and the pre-delete hook that deregisters the consumer at helm uninstall" }}
{{- end }}
{{- if eq (toString .name) "JOB_METRICS_BIND" }}
{{- fail "extraEnv JOB_METRICS_BIND is refused: the chart sets it on the driver from metrics.enabled and metrics.port (the port its annotations, NetworkPolicy and PodMonitor name)" }}
{{- end }}
{{- end -}}
{{- if .Values.metrics.enabled }}
{{- $ports := include "spark-job.application.ports" . | fromYaml }}
{{- $names := dict "driverRpc" "spark.driver.port" "driverBlockManager" "spark.driver.blockManager.port" "ui" "spark.ui.port" }}
{{- range $name, $key := $names }}
{{- if eq (toString (index $ports $name)) (toString $.Values.metrics.port) }}
{{- fail (printf "metrics.port=%v is Spark's %s on the driver: choose another port for the job's metrics" $.Values.metrics.port $key) }}
{{- end }}
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
The ports Spark listens on, fixed so that a NetworkPolicy can name them (the umbrella chart's
templates/networkpolicy/): the driver's RPC endpoint (executors connect to it), the driver's block
manager, and the executors' block manager (the driver fetches task results from it, executors
fetch shuffle and broadcast blocks from each other). Executors run their RPC environment in client
mode (they only connect out), so they listen on the block manager port alone. Spark's own defaults
are 7078 and 7079 for the driver (cluster mode) but a random port for the executors' block manager.
sparkConf may change them; "spark-job.application.ports" gives the values in force.
*/}}
{{- define "spark-job.application.defaultPorts" -}}
spark.driver.port: "7078"
spark.driver.blockManager.port: "7079"
spark.blockManager.port: "7079"
{{- end -}}

{{/*
The ports in force (the defaults above, then sparkConf; `spark.ui.port` Spark's 4040 unless set),
as YAML: driverRpc, driverBlockManager, executorBlockManager, ui. Each is what sparkConf says,
as a string: the caller checks it is a fixed port.
*/}}
{{- define "spark-job.application.ports" -}}
{{- $conf := include "spark-job.application.defaultPorts" . | fromYaml }}
{{- $_ := set $conf "spark.ui.port" "4040" }}
{{- range $k, $v := .Values.sparkConf }}
{{- $_ := set $conf $k ($v | toString) }}
{{- end -}}
driverRpc: {{ index $conf "spark.driver.port" | quote }}
driverBlockManager: {{ index $conf "spark.driver.blockManager.port" | quote }}
executorBlockManager: {{ index $conf "spark.blockManager.port" | quote }}
ui: {{ index $conf "spark.ui.port" | quote }}
{{- end -}}

{{/*
spec.sparkConf: the Delta Lake and S3A jars (jobs/jars.lock, in the image at `jarsDir`) on both
JVMs' class paths from their start, the Prometheus servlet with `metrics.enabled`, then
`sparkConf` over them, then the pinned settings (authentication, no UI kill, what keeps the driver
within its Role; "spark-job.application.validate" has refused any sparkConf that differs); every
value a string.
*/}}
{{- define "spark-job.application.sparkConf" -}}
{{- $conf := dict }}
{{- $_ := set $conf "spark.driver.extraClassPath" (printf "%s/*" .Values.jarsDir) }}
{{- $_ := set $conf "spark.executor.extraClassPath" (printf "%s/*" .Values.jarsDir) }}
{{- range $k, $v := include "spark-job.application.defaultPorts" . | fromYaml }}
{{- $_ := set $conf $k $v }}
{{- end }}
{{- if .Values.metrics.enabled }}
{{- $_ := set $conf "spark.ui.prometheus.enabled" "true" }}
{{- $_ := set $conf "spark.metrics.conf.*.sink.prometheusServlet.class" "org.apache.spark.metrics.sink.PrometheusServlet" }}
{{- $_ := set $conf "spark.metrics.conf.*.sink.prometheusServlet.path" "/metrics/prometheus" }}
{{- end }}
{{- range $k, $v := .Values.sparkConf }}
{{- $_ := set $conf $k ($v | toString) }}
{{- end }}
{{- range $k, $pin := include "spark-job.application.pinnedConf" . | fromYaml }}
{{- $_ := set $conf $k (first $pin) }}
{{- end }}
{{- range $k, $v := $conf }}
{{ $k | quote }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Environment of the driver and executor containers (both read Kinesis and write S3). */}}
{{- define "spark-job.application.env" -}}
{{ include "aws-env.vars" (dict "context" . "shardCount" true) }}
- name: CHECKPOINT_LOCATION
  value: {{ include "spark-job.checkpoints.location" . | quote }}
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
Everything Spark's own configuration cannot express lives here: env, the checkpoint PVC (none
with checkpoints on S3), /tmp, security contexts, the driver's init containers, tolerations and
affinity (`affinity`, and for the executors each kind of affinity `executor.affinity` sets in place
of that kind). The operator hands the template to spark-submit
(`spark.kubernetes.{driver,executor}.podTemplateFile`), so the pods need no mutating webhook
(`spec.executor.affinity` would reach them only through it). Call with (dict "root" $ "role"
"driver"|"executor").
*/}}
{{- define "spark-job.application.podTemplate" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $driver := eq .role "driver" -}}
{{- $pvc := not (include "spark-job.checkpoints.onS3" $root) -}}
{{- $affinity := deepCopy (default (dict) $v.affinity) -}}
{{- if not $driver -}}
{{- range $kind, $terms := $v.executor.affinity -}}
{{- $_ := set $affinity $kind $terms -}}
{{- end -}}
{{- end -}}
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
        {{- if and $driver $v.job.consumerName }}
        # Enhanced fan-out through the stream consumer job.consumerName (templates/consumer/): the
        # driver registers or finds it and hands it to the executors in the source's options.
        {{- include "spark-job.consumer.env" $root | trim | nindent 8 }}
        {{- end }}
        {{- if and $driver $v.metrics.enabled }}
        # The job's own Prometheus metrics (jobs/job_metrics.py), on every interface of the pod:
        # the driver pod's annotations, the PodMonitor and the NetworkPolicy name this port.
        - name: JOB_METRICS_BIND
          value: {{ printf "0.0.0.0:%v" $v.metrics.port | quote }}
        {{- end }}
      {{- if and $driver $v.metrics.enabled }}
      # spark-submit adds its own ports (driver-rpc-port, blockmanager, spark-ui) to these.
      ports:
        - name: job-metrics
          containerPort: {{ $v.metrics.port }}
          protocol: TCP
      {{- end }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      volumeMounts:
        {{- if $pvc }}
        - name: checkpoints
          mountPath: {{ $v.checkpoint.mountPath }}
        {{- end }}
        - name: tmp
          mountPath: /tmp
  volumes:
    {{- if $pvc }}
    - name: checkpoints
      persistentVolumeClaim:
        claimName: {{ include "spark-job.checkpoints.claimName" $root }}
    {{- end }}
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
  {{- with $affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
