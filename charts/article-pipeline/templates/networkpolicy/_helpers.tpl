{{/*
Helpers of the release's NetworkPolicies. The umbrella chart renders them all: an allow names pods
of two components (the publisher and LocalStack, the driver and its executors), which only the
umbrella chart sees together. Names and labels come from the subcharts' own helpers, called with
each subchart's values (as NOTES.txt does).
*/}}

{{/*
The context a subchart's name and label helpers need, for a component of the release:
publisher, test (the publisher's `helm test` pod), driver, executor, consumer-deregister (the
spark-job's `pre-delete` hook with `spark-job.job.consumerName`), aws-emulator (LocalStack).
Returns the subchart's name, for `(index $.Values <chart>)`.
*/}}
{{- define "article-pipeline.networkpolicy.chartOf" -}}
{{- get (dict "publisher" "publisher" "test" "publisher" "driver" "spark-job" "executor" "spark-job" "consumer-deregister" "spark-job" "aws-emulator" "localstack") . -}}
{{- end -}}

{{/*
The labels that select a component's pods: the subchart's selector labels (name, instance) and
`app.kubernetes.io/component`. The Spark Operator passes `spec.driver.labels` and
`spec.executor.labels` of the SparkApplication to spark-submit
(`spark.kubernetes.{driver,executor}.label.*`), so the driver and executor pods carry these
next to Spark's own (`spark-role`, `spark-app-selector`) and the operator's
(`sparkoperator.k8s.io/app-name`, `.../submission-id`). Call with (dict "root" $ "component" "...").
*/}}
{{- define "article-pipeline.networkpolicy.podLabels" -}}
{{- $chart := include "article-pipeline.networkpolicy.chartOf" .component -}}
{{- $ctx := dict "Values" (index .root.Values $chart) "Release" .root.Release "Chart" (dict "Name" $chart) -}}
{{ include (printf "%s.selectorLabels" $chart) $ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A podSelector (same namespace) for a component. Call with (dict "root" $ "component" "..."). */}}
{{- define "article-pipeline.networkpolicy.podSelector" -}}
podSelector:
  matchLabels:
    {{- include "article-pipeline.networkpolicy.podLabels" . | nindent 4 }}
{{- end -}}

{{/* Common metadata labels of a policy. Call with (dict "root" $ "component" "..."). */}}
{{- define "article-pipeline.networkpolicy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: article-pipeline
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* Name of a policy: `<release>-<suffix>`, at most 63 characters. Call with (list $ "suffix"). */}}
{{- define "article-pipeline.networkpolicy.name" -}}
{{- printf "%s-%s" (index . 0).Release.Name (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The `app.kubernetes.io/name` of every enabled component chart: with the release's instance label
they select every pod of the release and nothing else.
*/}}
{{- define "article-pipeline.networkpolicy.releaseNames" -}}
{{- $names := list -}}
{{- range $chart := list "localstack" "publisher" "spark-job" -}}
{{- $values := index $.Values $chart -}}
{{- if $values.enabled -}}
{{- $names = append $names (include (printf "%s.name" $chart) (dict "Values" $values "Chart" (dict "Name" $chart))) -}}
{{- end -}}
{{- end -}}
{{- toYaml (uniq $names) -}}
{{- end -}}

{{/* The podSelector of every pod of the release. */}}
{{- define "article-pipeline.networkpolicy.releaseSelector" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ .Release.Name }}
  matchExpressions:
    - key: app.kubernetes.io/name
      operator: In
      values:
        {{- include "article-pipeline.networkpolicy.releaseNames" . | nindent 8 }}
{{- end -}}

{{/*
Egress rule(s) to Kinesis, S3 and STS, for the pods that call them (publisher, its test pod, the
driver with its init containers, the executors, the consumer's `pre-delete` hook). With LocalStack in the release: its pod's edge
port, nothing else. Without: TCP `networkPolicy.aws.ports` to `networkPolicy.aws.cidrs`.
*/}}
{{- define "article-pipeline.networkpolicy.awsEgress" -}}
{{- $np := .Values.networkPolicy -}}
{{- if .Values.localstack.enabled }}
# Kinesis and S3 are the bundled LocalStack: its pod's edge port only.
- to:
    - {{ include "article-pipeline.networkpolicy.podSelector" (dict "root" . "component" "aws-emulator") | indent 6 | trim }}
  ports:
    - protocol: TCP
      port: 4566
{{- else }}
# Kinesis, S3 and STS (IRSA's AssumeRoleWithWebIdentity) over HTTPS: networkPolicy.aws.
- to:
    {{- range $np.aws.cidrs }}
    - ipBlock:
        cidr: {{ . | quote }}
    {{- end }}
  ports:
    {{- range $np.aws.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* The peers of a values list (ingressFrom, metricsFrom, sparkUiFrom) as a `from:` list. */}}
{{- define "article-pipeline.networkpolicy.from" -}}
from:
  {{- toYaml . | nindent 2 }}
{{- end -}}

{{/*
Spark's ports in force (spark-job's "spark-job.application.ports"), each checked to be a fixed
port: a policy cannot name a random one (0).
*/}}
{{- define "article-pipeline.networkpolicy.sparkPorts" -}}
{{- $sj := index .Values "spark-job" -}}
{{- $ports := include "spark-job.application.ports" (dict "Values" $sj "Release" .Release "Chart" (dict "Name" "spark-job")) | fromYaml -}}
{{- $keys := dict "driverRpc" "spark.driver.port" "driverBlockManager" "spark.driver.blockManager.port" "executorBlockManager" "spark.blockManager.port" "ui" "spark.ui.port" -}}
{{- range $name, $value := $ports }}
{{- if not (regexMatch "^[0-9]+$" $value) }}
{{- fail (printf "spark-job.sparkConf.%s=%s: the network policies need a fixed port number (or networkPolicy.enabled=false)" (get $keys $name) $value) }}
{{- end }}
{{- if or (lt (atoi $value) 1024) (gt (atoi $value) 65535) }}
{{- fail (printf "spark-job.sparkConf.%s=%s: the network policies need a fixed port in 1024-65535, not a random one (or networkPolicy.enabled=false)" (get $keys $name) $value) }}
{{- end }}
{{- end }}
{{- toYaml $ports -}}
{{- end -}}
