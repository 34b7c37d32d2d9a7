#!/bin/bash
# Entry point of localhost/article-pipeline/localstack (run under tini, which reaps the
# kinesis-mock and init-script children). Starts the LocalStack runtime in the foreground.
#
# Init hooks: scripts in /etc/localstack/init/{boot,start,ready,shutdown}.d. boot.d runs here,
# before the runtime; the runtime itself runs start.d, ready.d (after "Ready.") and shutdown.d.
set -eo pipefail
shopt -s nullglob

# LOCALSTACK_<NAME>=v is accepted as <NAME>=v (as LocalStack's own image does), except the
# LOCALSTACK_HOST/LOCALSTACK_HOSTNAME settings that keep their prefix.
while IFS='=' read -r name _; do
  case "$name" in
    LOCALSTACK_HOST|LOCALSTACK_HOSTNAME|LOCALSTACK_[0-9]*) ;;
    LOCALSTACK_?*) export "${name#LOCALSTACK_}=${!name}" ;;
  esac
done < <(env)

# /var/lib/localstack may be a fresh (empty) volume.
mkdir -p /var/lib/localstack/logs 2>/dev/null || true

boot=(/etc/localstack/init/boot.d/*)
if [ "${#boot[@]}" -gt 0 ]; then
  python -m localstack.runtime.init BOOT
fi

exec python -m localstack.runtime.main "$@"
