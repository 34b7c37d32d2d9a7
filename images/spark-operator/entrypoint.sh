#!/bin/bash
# Entry point of localhost/article-pipeline/spark-operator: runs the operator binary under
# tini (signals forwarded, spark-submit children reaped), passing all arguments through, as
# the upstream chart expects (`args: [controller, start, ...]` / `[webhook, start, ...]`).
#
# Under an arbitrary uid with no passwd entry (OpenShift-style), Java and spark-submit want a
# user name: give the process one through libnss_wrapper when it is installed.
set -e

uid="$(id -u)"
if ! getent passwd "$uid" >/dev/null 2>&1; then
  for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
    [ -s "$lib" ] || continue
    NSS_WRAPPER_PASSWD="$(mktemp)"
    NSS_WRAPPER_GROUP="$(mktemp)"
    printf 'spark:x:%s:%s:%s:%s:/bin/false\n' "$uid" "$(id -g)" "${SPARK_USER_NAME:-anonymous uid}" "${HOME:-/tmp}" >"$NSS_WRAPPER_PASSWD"
    printf 'spark:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
    export LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
    break
  done
fi

exec /usr/bin/tini -s -- /usr/bin/spark-operator "$@"
