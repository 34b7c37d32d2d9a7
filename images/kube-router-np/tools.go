//go:build tools

// Package tools makes kube-router's command a dependency of this wrapper module, so that
// `go mod tidy` keeps its requirements; prepare.sh builds that command from here.
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
