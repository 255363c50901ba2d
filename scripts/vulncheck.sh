#!/usr/bin/env bash
# Installs govulncheck (pinned) and checks the module against the Go
# vulnerability database: it fails when the code calls a vulnerable
# function of a module, unless scripts/vulncheck-exceptions.txt names it
# with a reason (a vulnerable module that is required but not called is
# only counted). A called vulnerable function of the standard library is
# printed with the Go release that fixes it but does not fail: it belongs
# to the Go that builds the binary (deploy/Dockerfile builds with the
# newest 1.26 release), not to the code; one without a fix fails.
# Where vuln.go.dev cannot be reached, the database is built from the
# newest golang.org/x/vulndb module (its OSV files, indexed by its own
# indexdb command), which the Go module proxy serves; the build is cached
# per vulndb version.
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
report="$(mktemp)"
trap 'rm -f "$report"; rm -rf "${tmp:-}"' EXIT
# Exit status 3 means "vulnerabilities found": the filter below decides.
"$gv" "${db[@]}" -format json ./... >"$report" || [[ $? == 3 ]]
python3 - "$report" scripts/vulncheck-exceptions.txt <<'PY'
import json, sys

report, exceptions_file = sys.argv[1], sys.argv[2]
allowed = {}
for line in open(exceptions_file):
    line = line.strip()
    if line and not line.startswith("#"):
        vid, _, reason = line.partition(" ")
        allowed[vid] = reason.strip()

raw, dec, i, osv, called, imported = open(report).read(), json.JSONDecoder(), 0, {}, {}, set()
while i < len(raw):
    while i < len(raw) and raw[i].isspace():
        i += 1
    if i >= len(raw):
        break
    obj, i = dec.raw_decode(raw, i)
    if "osv" in obj:
        osv[obj["osv"]["id"]] = obj["osv"]
    f = obj.get("finding")
    if f:
        top = (f.get("trace") or [{}])[0]
        if top.get("function"):
            called.setdefault(f["osv"], (top.get("module", "?"), f.get("fixed_version", "")))
        else:
            imported.add(f["osv"])

failed = 0
for vid, (module, fixed) in sorted(called.items()):
    summary = osv.get(vid, {}).get("summary", "")
    if module == "stdlib" and fixed:
        print(f"vulncheck: toolchain {vid} (standard library, fixed in Go {fixed.lstrip('v')}): {summary}")
    elif vid in allowed:
        print(f"vulncheck: known {vid} {module}: {allowed[vid]}")
    else:
        print(f"vulncheck: CALLED {vid} {module} (fixed in {fixed or 'no release yet'}): {summary}")
        failed += 1
for vid in sorted(set(allowed) - set(called)):
    print(f"vulncheck: exception {vid} no longer occurs: remove it from {exceptions_file}")
print(f"vulncheck: {len(called)} called vulnerable function(s), {failed} failing; "
      f"{len(imported - set(called))} more in imported or required code that is not called")
sys.exit(1 if failed else 0)
PY
