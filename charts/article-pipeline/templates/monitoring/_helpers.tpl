{{/*
Helpers of the release's monitoring objects (PodMonitors, PrometheusRule, the dashboard's
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
