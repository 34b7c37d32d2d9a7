{{/*
Helpers of the release's monitoring objects (PodMonitors, PrometheusRule and the rules ConfigMap, the dashboard's
ConfigMap). The umbrella chart renders them: the rules and the dashboard span the driver and the
publisher. Names come from the subcharts' own helpers, called with each subchart's values (as
NOTES.txt and the NetworkPolicies do).
*/}}

{{/* Metadata labels of a monitoring object, with monitoring.labels. Call with (dict "root" $ "component" "..."). */}}
{{- define "article-pipeline.monitoring.labels" -}}
{{ include "article-pipeline.networkpolicy.labels" . }}
{{- with .root.Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Name of a monitoring object: `<release>-<suffix>`, at most 63 characters. Call with (list $ "suffix"). */}}
{{- define "article-pipeline.monitoring.name" -}}
{{- printf "%s-%s" (index . 0).Release.Name (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Whether the cluster serves a monitoring.coreos.com/v1 kind (the Prometheus Operator's CRDs). Call with (list $ "Kind"). */}}
{{- define "article-pipeline.monitoring.has" -}}
{{- if (index . 0).Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" (index . 1)) -}}
true
{{- end -}}
{{- end -}}

{{/* The SparkApplication's name (spark-job's fullname); its driver pod is `<name>-driver`. */}}
{{- define "article-pipeline.monitoring.sparkApp" -}}
{{- include "spark-job.fullname" (dict "Values" (index .Values "spark-job") "Release" .Release "Chart" (dict "Name" "spark-job")) -}}
{{- end -}}

{{/* The publisher's Deployment name; its pods are `<name>-<hash>-<hash>`. */}}
{{- define "article-pipeline.monitoring.publisherName" -}}
{{- include "publisher.fullname" (dict "Values" .Values.publisher "Release" .Release "Chart" (dict "Name" "publisher")) -}}
{{- end -}}

{{/* PromQL label matchers of the driver's series: its namespace and pod. */}}
{{- define "article-pipeline.monitoring.driverSeries" -}}
namespace="{{ .Release.Namespace }}",pod="{{ include "article-pipeline.monitoring.sparkApp" . }}-driver"
{{- end -}}

{{/* PromQL label matchers of the publisher's series: its namespace and its Deployment's pods. */}}
{{- define "article-pipeline.monitoring.publisherSeries" -}}
namespace="{{ .Release.Namespace }}",pod=~"{{ include "article-pipeline.monitoring.publisherName" . }}-[a-z0-9]+-[a-z0-9]+"
{{- end -}}

{{/*
Seconds of a duration in the job's forms ("5 seconds", "500 ms", "1 minute 30 seconds"; the units
of common/env.py), as a float. Call with the duration string.
*/}}
{{- define "article-pipeline.monitoring.seconds" -}}
{{- $units := dict "ms" 0.001 "msec" 0.001 "msecs" 0.001 "millisecond" 0.001 "milliseconds" 0.001 "s" 1 "sec" 1 "secs" 1 "second" 1 "seconds" 1 "min" 60 "mins" 60 "minute" 60 "minutes" 60 "h" 3600 "hr" 3600 "hrs" 3600 "hour" 3600 "hours" 3600 "d" 86400 "day" 86400 "days" 86400 -}}
{{- $text := toString . -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?\\s*[a-z]+" (lower $text) -1 -}}
{{- $amount := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $unit := trim (trimPrefix $amount .) -}}
{{- if not (hasKey $units $unit) -}}
{{- fail (printf "monitoring.rules.staleness: cannot read the unit %q of the trigger interval %q" $unit $text) -}}
{{- end -}}
{{- $total = addf $total (mulf (float64 $amount) (get $units $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* The alerts' annotations: summary, description, runbook_url. Call with (dict "root" $ "alert" "Name" "summary" "..." "description" "..."). */}}
{{- define "article-pipeline.monitoring.annotations" -}}
summary: {{ .summary | quote }}
description: {{ .description | quote }}
runbook_url: {{ printf "%s#%s" .root.Values.monitoring.rules.runbookUrl (lower .alert) | quote }}
{{- end -}}

{{/* The alerts' labels: severity and monitoring.rules.extraLabels. Call with (dict "root" $ "severity" "..."). */}}
{{- define "article-pipeline.monitoring.alertLabels" -}}
severity: {{ .severity }}
{{- with .root.Values.monitoring.rules.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The pipeline's alerts as the content of a Prometheus rules file (`groups:`), shared by the
PrometheusRule (Prometheus Operator) and the rules ConfigMap (any Prometheus); empty when neither the
job's nor the publisher's metrics are on. The series are the driver's (the job's own metrics,
JOB_METRICS_BIND) and the publisher's, selected by namespace and pod; the runbook of each alert is in
docs/operations.md, "Alerts" (runbook_url).
*/}}
{{- define "article-pipeline.monitoring.ruleGroups" -}}
{{- $r := .Values.monitoring.rules }}
{{- $sj := index .Values "spark-job" }}
{{- $pub := .Values.publisher }}
{{- $job := and $sj.enabled $sj.metrics.enabled }}
{{- $publisher := and $pub.enabled $pub.metrics.enabled }}
{{- $streaming := false }}
{{- if $job }}
{{- $streaming = ne $sj.job.triggerInterval "available-now" }}
{{- end }}
{{- if or $job $publisher }}
{{- $driver := "" }}
{{- if $job }}
{{- $driver = include "article-pipeline.monitoring.driverSeries" . }}
{{- end }}
{{- $pubSeries := "" }}
{{- if $publisher }}
{{- $pubSeries = include "article-pipeline.monitoring.publisherSeries" . }}
{{- end }}
groups:
  {{- if $job }}
  - name: article-pipeline.job
    rules:
      {{- $c := $r.kinesisLag }}
      - alert: ArticlePipelineKinesisLagHigh
        expr: |-
          max by (namespace, query, shard) (article_pipeline_kinesis_millis_behind_latest{ {{- $driver -}} }) / 1000 > {{ $c.thresholdSeconds }}
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelineKinesisLagHigh"
              "summary" `Kinesis shard {{ $labels.shard }} is {{ $value | humanizeDuration }} behind its tip ({{ $labels.query }} query)`
              "description" (printf `The {{ $labels.query }} query's last read of {{ $labels.shard }} in {{ $labels.namespace }} stopped {{ $value | humanizeDuration }} behind the shard's newest record, over %v s for %s: the job reads slower than the stream fills, or its batches stall. Records older than the stream's retention are lost.` (toString $c.thresholdSeconds) $c.for)) | nindent 10 }}
      {{- if $streaming }}
      {{- $c = $r.staleness }}
      {{- $intervals := dict "articles" $sj.job.triggerInterval "author_stats" (default $sj.job.triggerInterval $sj.job.authorStatsTriggerInterval) }}
      {{- $terms := list }}
      {{- range $query, $interval := $intervals }}
      {{- if ne $interval "available-now" }}
      {{- $seconds := include "article-pipeline.monitoring.seconds" $interval | float64 }}
      {{- $limit := maxf (mulf $seconds $c.triggerIntervals) $c.minimumSeconds | ceil }}
      {{- $terms = append $terms (printf `(time() - max by (namespace, query) (article_pipeline_last_batch_completed_timestamp_seconds{%s,query="%s"}) > %v)` $driver $query $limit) }}
      {{- end }}
      {{- end }}
      - alert: ArticlePipelineNoBatchCompleted
        expr: |-
          {{- join "\nor\n" $terms | nindent 10 }}
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelineNoBatchCompleted"
              "summary" `The {{ $labels.query }} query completed no batch for {{ $value | humanizeDuration }}`
              "description" (printf `The {{ $labels.query }} query in {{ $labels.namespace }} last completed a batch {{ $value | humanizeDuration }} ago, more than %d of its trigger intervals (at least %d s): a batch hangs (a frozen endpoint), or the queries restart in an outage.` ($c.triggerIntervals | int) ($c.minimumSeconds | int))) | nindent 10 }}
      {{- $c = $r.jobDown }}
      - alert: ArticlePipelineJobNotRunning
        expr: |-
          absent(article_pipeline_batches_total{ {{- $driver -}} })
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelineJobNotRunning"
              "summary" (printf "The streaming job's driver %s-driver reports no batches" (include "article-pipeline.monitoring.sparkApp" .))
              "description" (printf `No article_pipeline_batches_total from pod %s-driver in %s for %s: the SparkApplication is not RUNNING (driver gone, crash-looping, waiting in its init containers, or FAILED), Prometheus cannot scrape its metrics port, or it completed no batch since it started.` (include "article-pipeline.monitoring.sparkApp" .) .Release.Namespace $c.for)) | nindent 10 }}
      {{- end }}
      {{- $c = $r.quarantine }}
      - alert: ArticlePipelineQuarantineRateHigh
        expr: |-
          sum by (namespace) (rate(article_pipeline_quarantined_rows_total{ {{- $driver -}} }[{{ $c.window }}]))
          /
          sum by (namespace) (rate(article_pipeline_input_rows_total{ {{- $driver -}} ,query="articles"}[{{ $c.window }}]))
          > {{ $c.share }}
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelineQuarantineRateHigh"
              "summary" `{{ $value | humanizePercentage }} of the records read go to quarantine`
              "description" (printf `In {{ $labels.namespace }}, {{ $value | humanizePercentage }} of the records the articles query read over %s went to the quarantine table (more than %v): the publisher or another producer writes records that break the data contract. article_pipeline_quarantined_rows_total says which reason.` $c.window (toString $c.share))) | nindent 10 }}
      {{- $c = $r.watermarkDrops }}
      - alert: ArticlePipelineWatermarkDrops
        expr: |-
          sum by (namespace, query) (increase(article_pipeline_watermark_dropped_rows_total{ {{- $driver -}} }[{{ $c.window }}])) > 0
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelineWatermarkDrops"
              "summary" (printf `The {{ $labels.query }} query's watermark dropped {{ $value | humanize }} rows in %s` $c.window)
              "description" (printf `In {{ $labels.namespace }}, the {{ $labels.query }} query dropped {{ $value | humanize }} rows over %s whose event time was behind its watermark (spark-job.job.watermarkDelay, %s): their windows were already closed, so they count nowhere.` $c.window $sj.job.watermarkDelay)) | nindent 10 }}
      {{- $c = $r.outage }}
      - alert: ArticlePipelineOutage
        expr: |-
          max by (namespace, endpoint) (article_pipeline_outage_endpoint{ {{- $driver -}} }) > 0
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelineOutage"
              "summary" `The job cannot reach {{ $labels.endpoint }}`
              "description" (printf `In {{ $labels.namespace }}, {{ $labels.endpoint }} has been unreachable or failing for over %s: the job restarts its queries from the checkpoint and gives up after spark-job.job.retryDeadline (%s); article_pipeline_outage_deadline_remaining_seconds says how long is left.` $c.for $sj.job.retryDeadline)) | nindent 10 }}
  {{- end }}
  {{- if $publisher }}
  - name: article-pipeline.publisher
    rules:
      {{- $c := $r.publisherFailures }}
      - alert: ArticlePipelinePublisherFailing
        expr: |-
          sum by (namespace) (rate(article_records_failed_total{ {{- $pubSeries -}} }[{{ $c.window }}]))
          /
          (
            sum by (namespace) (rate(article_records_failed_total{ {{- $pubSeries -}} }[{{ $c.window }}]))
            +
            sum by (namespace) (rate(articles_published_total{ {{- $pubSeries -}} }[{{ $c.window }}]))
          )
          > {{ $c.share }}
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelinePublisherFailing"
              "summary" `Kinesis refuses {{ $value | humanizePercentage }} of the publisher's records`
              "description" (printf `In {{ $labels.namespace }}, {{ $value | humanizePercentage }} of the records the publisher sent over %s failed (PutRecords refused them or the call failed; they are retried and stay buffered): Kinesis is unreachable, throttling, or refusing the stream.` $c.window)) | nindent 10 }}
      {{- $c = $r.publisherErrors }}
      - alert: ArticlePipelinePublisherErrors
        expr: |-
          sum by (namespace, route) (rate(publisher_http_responses_total{ {{- $pubSeries -}} ,code=~"5.."}[{{ $c.window }}]))
          /
          sum by (namespace, route) (rate(publisher_http_responses_total{ {{- $pubSeries -}} }[{{ $c.window }}]))
          > {{ $c.share }}
        for: {{ $c.for }}
        labels:
          {{- include "article-pipeline.monitoring.alertLabels" (dict "root" . "severity" $c.severity) | nindent 10 }}
        annotations:
          {{- include "article-pipeline.monitoring.annotations" (dict "root" . "alert" "ArticlePipelinePublisherErrors"
              "summary" `The publisher answers {{ $value | humanizePercentage }} of its {{ $labels.route }} requests with a 5xx`
              "description" (printf `In {{ $labels.namespace }}, {{ $value | humanizePercentage }} of the publisher's answers on {{ $labels.route }} over %s were 5xx (more than %v): 503 from POST /articles when Kinesis did not store the articles or the token file holds no valid token, 503 from /health when Kinesis is unreachable or publishing stalls (the pod is not ready), 500 from a bug (its traceback is in the log). publisher_http_responses_total says which code.` $c.window (toString $c.share))) | nindent 10 }}
  {{- end }}
{{- end }}
{{- end -}}
