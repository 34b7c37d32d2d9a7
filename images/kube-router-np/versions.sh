# shellcheck shell=bash disable=SC2034  # sourced by image.sh and prepare.sh; they use the variables
# Pins and cache layout of images/kube-router-np/ (sourced, not run). Everything downloaded or
# built lives outside the clone, under ${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline/.

# kube-router: the only version of the module the Go module proxy serves here (README.md).
KUBE_ROUTER_MODULE=github.com/cloudnativelabs/kube-router/v2
KUBE_ROUTER_VERSION=v2.1.0
# go.sum hash of the module zip (`go mod download -json` "Sum"), the zip's sha256, and the tag's
# time (the proxy's .info; commit a7d7ac5d), stamped into the binary like upstream's Makefile.
KUBE_ROUTER_MODULE_SUM="h1:xWsptKtmZ44L+NjwFKoFAFlVdxCz8fka9A/eYJe95Ok="
KUBE_ROUTER_ZIP_SHA256=074f5e8bf9145ac535b194488bfe5e674780b2f23ab011eed5eb8dd27a4d1733
KUBE_ROUTER_BUILD_DATE=2024-03-02T21:45:54Z

ARTICLE_PIPELINE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
# Go caches shared with the project's other Go builds (kind node, Spark Operator).
export GOMODCACHE="${GOMODCACHE:-$ARTICLE_PIPELINE_CACHE/go/mod}"
export GOCACHE="${GOCACHE:-$ARTICLE_PIPELINE_CACHE/go/build}"
export GOTOOLCHAIN=local
KUBE_ROUTER_CACHE="$ARTICLE_PIPELINE_CACHE/kube-router-np/$KUBE_ROUTER_VERSION"

# kr_log MSG: progress on stderr with seconds since the script started.
kr_log() { echo "[$(basename "$0") +$(( $(date +%s) - ${kr_t0:-$(date +%s)} ))s] $*" >&2; }
