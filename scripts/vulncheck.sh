#!/usr/bin/env bash
# Installs govulncheck (pinned) and checks the module against the Go
# vulnerability database: it fails when the code calls a vulnerable symbol
# (a vulnerable module that is required but not called is only reported).
# Needs network access to the module proxy and vuln.go.dev.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GOVULNCHECK_VERSION=v1.10.0
GO="${GO:-go}"
bin="${TRIGGERD_TOOLS_DIR:-$(go env GOPATH)/bin}"
gv="$bin/govulncheck"
if [[ ! -x "$gv" ]] || [[ "$("$gv" -version 2>/dev/null | grep -o 'govulncheck@v[0-9.]*' || true)" != "govulncheck@$GOVULNCHECK_VERSION" ]]; then
  echo "vulncheck: installing govulncheck $GOVULNCHECK_VERSION into $bin"
  GOBIN="$bin" "$GO" install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi
"$gv" ./...
