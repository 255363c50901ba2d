#!/usr/bin/env bash
# Runs every Go fuzz target for a bounded time (FUZZTIME, default 10s each),
# so that a crasher fails CI. Seeds come from the targets and from each
# package's testdata/fuzz/<target> (a crasher found here is written there:
# fix it and commit the file, it then runs as a regression test in every
# `go test`). The targets run one after another: each one already uses the
# cores (FUZZ_PARALLEL workers, default: GOMAXPROCS).
#   scripts/fuzz.sh                 # all targets
#   FUZZTIME=2m scripts/fuzz.sh FuzzWhenCEL
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME="${FUZZTIME:-10s}"
GO="${GO:-go}"
parallel=()
[[ -n "${FUZZ_PARALLEL:-}" ]] && parallel=(-parallel "$FUZZ_PARALLEL")

# package:target, one per fuzz function of the module (checked below).
targets=(
  ./ingest:FuzzDecode
  ./ingest/jsonvalue:FuzzParse
  ./trigger:FuzzParseYAML
  ./trigger:FuzzParseJSON
  ./trigger/template:FuzzTemplate
  ./trigger:FuzzCondition
  ./trigger:FuzzWhenCEL
  ./api:FuzzGateRequest
  ./egress:FuzzPolicy
)

# Every FuzzXxx in the tree must be listed, so a new target cannot be
# forgotten by CI.
listed=$(printf '%s\n' "${targets[@]}" | sed 's/.*://' | sort)
found=$(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)\(' --include='*_test.go' . | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort)
if [[ "$listed" != "$found" ]]; then
  echo "fuzz: scripts/fuzz.sh lists other targets than the tree has:" >&2
  diff <(echo "$listed") <(echo "$found") >&2 || true
  exit 1
fi

only=("$@")
start=$SECONDS
failed=()
for t in "${targets[@]}"; do
  pkg="${t%%:*}" name="${t##*:}"
  if (( ${#only[@]} )) && [[ ! " ${only[*]} " == *" $name "* ]]; then
    continue
  fi
  t0=$SECONDS
  if "$GO" test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" >"${TMPDIR:-/tmp}/fuzz-$name.log" 2>&1; then
    echo "fuzz: $name ok ($((SECONDS - t0))s)"
  else
    echo "fuzz: $name FAILED ($((SECONDS - t0))s):"
    tail -n 40 "${TMPDIR:-/tmp}/fuzz-$name.log"
    failed+=("$name")
  fi
done
echo "fuzz: ${#targets[@]} target(s) in $((SECONDS - start))s"
if (( ${#failed[@]} )); then
  echo "fuzz: FAILED: ${failed[*]} (a crasher is saved under the package's testdata/fuzz/<target>)" >&2
  exit 1
fi
