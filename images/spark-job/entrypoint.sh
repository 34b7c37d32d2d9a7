#!/bin/bash
# Entrypoint of article-pipeline/spark-job. Three ways in:
#
#   driver ...    Spark-on-Kubernetes driver pod (what the Spark Operator / spark-submit's
#                 Kubernetes backend runs): spark-submit --deploy-mode client ...
#   executor      Spark-on-Kubernetes executor pod: KubernetesExecutorBackend, configured
#                 by the SPARK_EXECUTOR_* / SPARK_DRIVER_URL / SPARK_JAVA_OPT_* env vars.
#   job [args]    (default CMD) the streaming job itself, python process_articles.py, in
#                 local mode (SPARK_MASTER_URL, default local[*]) or against a master.
#   anything else runs as given (pass-through), e.g. `bash`, `pip freeze`.
#
# Modelled on apache/spark-docker's entrypoint.sh (Apache-2.0). Works with a read-only root
# filesystem: everything written goes to /tmp (HOME, SPARK_LOCAL_DIRS, Ivy, Python caches)
# and to the checkpoint mount.
set -eo pipefail

SPARK_HOME="${SPARK_HOME:-/opt/spark}"
if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME=$(java -XshowSettings:properties -version 2>&1 >/dev/null | awk '/java.home/ {print $3}')
fi
export SPARK_HOME JAVA_HOME

# An arbitrary uid (OpenShift) has no passwd entry; Hadoop's UserGroupInformation needs one.
attempt_setup_fake_passwd_entry() {
  local myuid; myuid="$(id -u)"
  if ! getent passwd "$myuid" >/dev/null 2>&1; then
    local wrapper
    for wrapper in {/usr,}/lib{/*,}/libnss_wrapper.so; do
      if [ -s "$wrapper" ]; then
        NSS_WRAPPER_PASSWD="$(mktemp)"
        NSS_WRAPPER_GROUP="$(mktemp)"
        export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
        printf 'spark:x:%s:%s:%s:%s:/bin/false\n' "$myuid" "$(id -g)" "${SPARK_USER_NAME:-anonymous uid}" "$SPARK_HOME" >"$NSS_WRAPPER_PASSWD"
        printf 'spark:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
        break
      fi
    done
  fi
  export SPARK_USER="${SPARK_USER:-$(id -un 2>/dev/null || echo spark)}"
}

# Writable scratch space on a read-only root filesystem (a tmpfs or emptyDir on /tmp).
prepare_writable_dirs() {
  mkdir -p "${SPARK_LOCAL_DIRS:-/tmp/spark-local}" "${SPARK_WORK_DIR:-/tmp/spark-work}" 2>/dev/null || true
  # Executors fetch files into their working directory: move to a writable one if needed.
  if [ ! -w . ]; then cd "${SPARK_WORK_DIR:-/tmp/spark-work}"; fi
}

SPARK_CLASSPATH="${SPARK_CLASSPATH:+$SPARK_CLASSPATH:}${SPARK_HOME}/jars/*"
SPARK_EXECUTOR_JAVA_OPTS=()
for v in "${!SPARK_JAVA_OPT_@}"; do
  SPARK_EXECUTOR_JAVA_OPTS+=("${!v}")
done
if [ -n "${SPARK_EXTRA_CLASSPATH:-}" ]; then
  SPARK_CLASSPATH="$SPARK_CLASSPATH:$SPARK_EXTRA_CLASSPATH"
fi
if [ -n "${PYSPARK_PYTHON+x}" ]; then export PYSPARK_PYTHON; fi
if [ -n "${PYSPARK_DRIVER_PYTHON+x}" ]; then export PYSPARK_DRIVER_PYTHON; fi
if [ -n "${HADOOP_CONF_DIR+x}" ]; then SPARK_CLASSPATH="$HADOOP_CONF_DIR:$SPARK_CLASSPATH"; fi
if [ -n "${SPARK_CONF_DIR+x}" ]; then
  SPARK_CLASSPATH="$SPARK_CONF_DIR:$SPARK_CLASSPATH"
else
  SPARK_CLASSPATH="$SPARK_HOME/conf:$SPARK_CLASSPATH"
fi

case "${1:-job}" in
  driver)
    shift 1
    prepare_writable_dirs
    # SPARK-43540: the working directory is on the executor classpath.
    CMD=(
      "$SPARK_HOME/bin/spark-submit"
      --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS"
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS"
      --deploy-mode client
      "$@"
    )
    attempt_setup_fake_passwd_entry
    exec /usr/bin/tini -s -- "${CMD[@]}"
    ;;
  executor)
    shift 1
    prepare_writable_dirs
    CMD=(
      "${JAVA_HOME}/bin/java"
      "${SPARK_EXECUTOR_JAVA_OPTS[@]}"
      -Xms"$SPARK_EXECUTOR_MEMORY"
      -Xmx"$SPARK_EXECUTOR_MEMORY"
      -cp "$SPARK_CLASSPATH:${SPARK_DIST_CLASSPATH:-}:$PWD"
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend
      --driver-url "$SPARK_DRIVER_URL"
      --executor-id "$SPARK_EXECUTOR_ID"
      --cores "$SPARK_EXECUTOR_CORES"
      --app-id "$SPARK_APPLICATION_ID"
      --hostname "$SPARK_EXECUTOR_POD_IP"
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}"
      --podName "$SPARK_EXECUTOR_POD_NAME"
    )
    attempt_setup_fake_passwd_entry
    exec /usr/bin/tini -s -- "${CMD[@]}"
    ;;
  job)
    [ "$#" -gt 0 ] && shift 1
    prepare_writable_dirs
    export SPARK_MASTER_URL="${SPARK_MASTER_URL:-local[*]}"
    # A local-mode driver talks to itself only: bind it to loopback, never to a routable
    # address (and avoid the hostname lookup that fails in minimal containers).
    case "$SPARK_MASTER_URL" in
      local*) export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}" ;;
    esac
    attempt_setup_fake_passwd_entry
    # SIGTERM goes to python only: the job stops its queries and Spark, then exits.
    exec /usr/bin/tini -s -- "${PYSPARK_DRIVER_PYTHON:-python3}" "${APP_MAIN:-/opt/app/jobs/process_articles.py}" "$@"
    ;;
  *)
    # Not a Spark-on-Kubernetes command: run it as given.
    exec "$@"
    ;;
esac
