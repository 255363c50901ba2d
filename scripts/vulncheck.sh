#!/usr/bin/env bash
# Installs govulncheck (pinned) and checks the module against the Go
# vulnerability database: it fails when the code calls a vulnerable
# function (a vulnerable module that is required but not called is only
# reported). Where vuln.go.dev cannot be reached, the database is built
# from the newest golang.org/x/vulndb module (its OSV files, indexed by its
# own indexdb command), which the Go module proxy serves; the build is
# cached per vulndb version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GOVULNCHECK_VERSION=v1.10.0
GO="${GO:-go}"
bin="${TRIGGERD_TOOLS_DIR:-$("$GO" env GOPATH)/bin}"
cache="${TRIGGERD_VULNDB_CACHE:-$("$GO" env GOCACHE)/triggerd-vulndb}"
gv="$bin/govulncheck"
log() { printf 'vulncheck: %s\n' "$*" >&2; }

if [[ ! -x "$gv" ]] || ! "$gv" -version 2>/dev/null | grep -q "govulncheck@$GOVULNCHECK_VERSION"; then
  log "installing govulncheck $GOVULNCHECK_VERSION into $bin"
  GOBIN="$bin" "$GO" install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi

db=()
if ! timeout 10 bash -c 'exec 3<>/dev/tcp/vuln.go.dev/443' 2>/dev/null; then
  # Outside any module, so the project's go.mod is left alone.
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  info="$(cd "$tmp" && GOFLAGS=-mod=mod "$GO" mod download -json golang.org/x/vulndb@latest)"
  version="$(sed -n 's/^[[:space:]]*"Version": "\(.*\)",$/\1/p' <<<"$info")"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")"
  [[ -n "$version" && -d "$dir/data/osv" ]] || { log "cannot reach vuln.go.dev nor read golang.org/x/vulndb"; exit 1; }
  out="$cache/$version"
  if [[ ! -s "$out/index/db.json" ]]; then
    log "vuln.go.dev is unreachable: building the database from golang.org/x/vulndb@$version"
    rm -rf "$out.tmp"; mkdir -p "$cache"
    (cd "$tmp" && GOFLAGS=-mod=mod "$GO" run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$dir/data/osv" -out "$out.tmp")
    rm -rf "$out"; mv "$out.tmp" "$out"
  fi
  db=(-db "file://$out")
  log "database golang.org/x/vulndb@$version"
fi
"$gv" "${db[@]}" ./...
