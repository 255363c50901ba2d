#!/usr/bin/env bash
# `make lint`: go vet ./... and staticcheck ./... (pinned, installed by this
# script into TRIGGERD_TOOLS_DIR, default $(go env GOPATH)/bin). Checks are
# configured in staticcheck.conf. Fails on any finding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned; 0.8.x understands the Go 1.26 that go.mod names.
STATICCHECK_VERSION=v0.8.2
GO="${GO:-go}"
bin="${TRIGGERD_TOOLS_DIR:-$("$GO" env GOPATH)/bin}"
sc="$bin/staticcheck"
log() { printf 'lint: %s\n' "$*" >&2; }

if [[ ! -x "$sc" ]] || ! "$sc" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
  log "installing staticcheck $STATICCHECK_VERSION into $bin"
  # Outside the module, so go.mod is left alone.
  (cd / && GOBIN="$bin" GOFLAGS='' GOWORK=off "$GO" install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION")
fi

log "go vet ./..."
"$GO" vet ./...
log "staticcheck ./..."
"$sc" ./...
log "clean"
