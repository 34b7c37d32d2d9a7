#!/bin/bash
# Entry point of localhost/article-pipeline/localstack (run under tini, which reaps the
# kinesis-mock and init-script children). Runs the LocalStack runtime and stops it on SIGTERM.
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

# LocalStack's own shutdown takes well under a second, but the interpreter can then linger at
# exit for ~8 s (non-daemon threads): on SIGTERM/SIGINT give it SHUTDOWN_TIMEOUT seconds
# (default 5, as LocalStack's supervisor does), then SIGKILL. tini (PID 1) forwards the signal.
python -m localstack.runtime.main "$@" &
child=$!
stop() {
  kill -TERM "$child" 2>/dev/null || true
  local deadline=$(( SECONDS + ${SHUTDOWN_TIMEOUT:-5} ))
  while kill -0 "$child" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  kill -KILL "$child" 2>/dev/null || true
}
trap stop TERM INT
rc=0
wait "$child" || rc=$?
if [ "$rc" -gt 128 ]; then
  # `wait` returned because a trapped signal arrived; stop() has ended the child since.
  wait "$child" 2>/dev/null && rc=0 || { r=$?; [ "$r" -eq 127 ] || rc=$r; }
fi
exit "$rc"
