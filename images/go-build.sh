# images/go-build.sh - sourced by the prepare.sh of the images whose binary is built from a Go
# module (spark-operator, kube-router-np; prometheus through its versions.sh, which
# scripts/lint/install-promtool.sh uses too) and by scripts/lint/install-kube-score.sh: one way to
# download a pinned module and check it, and one to build a static, reproducible binary and to
# skip the build when its inputs have not changed.
# shellcheck shell=bash

# go_build_stamped LOG_FN OUT STAMP DIR GO_BUILD_ARGS...
# Builds OUT (static, linux/$GOARCH or the host's architecture) with `go build GO_BUILD_ARGS` run
# in DIR, unless OUT exists and OUT.stamp holds STAMP (FORCE=1: always). STAMP names every input
# the binary is a pure function of. OUT is replaced only when the new binary differs, so its
# modification time says when its content last changed. LOG_FN prints progress.
go_build_stamped() {
  local log_fn="$1" out="$2" stamp="$3" dir="$4" started
  shift 4
  if [ "${FORCE:-0}" != 1 ] && [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
    "$log_fn" "go build skipped: $out is built from the same inputs"
    return
  fi
  started=$(date +%s)
  "$log_fn" "go build $* ($(go env GOVERSION), GOCACHE=$GOCACHE; a cold build takes minutes)"
  (cd "$dir" && CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$(go env GOARCH)}" \
    nice -n "${NICE:-10}" go build -o "$out.new" "$@") || return
  if cmp -s "$out.new" "$out"; then
    rm -f "$out.new"
  else
    chmod 0755 "$out.new"
    mv "$out.new" "$out"
  fi
  echo "$stamp" >"$out.stamp"
  "$log_fn" "go build done in $(( $(date +%s) - started ))s: $(( $(stat -c %s "$out") / 1000000 )) MB"
}

# go_module_verified LABEL MODULE VERSION SUM GOMOD_SUM
# `go mod download` of MODULE@VERSION (Go checks it against the checksum database), run from a
# fresh directory so no go.mod of the caller is touched; then its go.sum lines (printed as Sum and
# GoModSum) against the pins SUM and GOMOD_SUM. Prints the module's directory; on a mismatch says
# which sums differ (prefixed with LABEL) and fails.
go_module_verified() {
  local label="$1" module="$2" version="$3" want_sum="$4" want_gomod_sum="$5" json sum gomod_sum scratch
  scratch="$(mktemp -d)"
  json="$(cd "$scratch" && "${GO:-go}" mod download -modcacherw -json "$module@$version")" || {
    rm -rf "$scratch"; echo "$json" >&2; return 1; }
  rm -rf "$scratch"
  sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p' <<<"$json")"
  gomod_sum="$(sed -n 's/^[[:space:]]*"GoModSum": "\(.*\)",*$/\1/p' <<<"$json")"
  if [ "$sum" != "$want_sum" ] || [ "$gomod_sum" != "$want_gomod_sum" ]; then
    echo "$label: $module@$version sums $sum / $gomod_sum differ from the pinned $want_sum / $want_gomod_sum" >&2
    return 1
  fi
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$json"
}
