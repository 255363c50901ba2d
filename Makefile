# triggerd — common tasks. Tests: `make test` (starts the local services itself).
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -count=1 -timeout 30m
PKGS ?= ./...

.PHONY: test services services-down build dev bench fuzz vulncheck lint

test: services
	. scripts/services/env.sh && $(GO) test $(GOTEST_FLAGS) $(PKGS)

# Every fuzz target for FUZZTIME (default 10s) each; a crasher fails.
fuzz:
	bash scripts/fuzz.sh

# govulncheck ./... (pinned, installed by the script): fails on a called
# vulnerable function.
vulncheck:
	bash scripts/vulncheck.sh

# go vet ./... and staticcheck ./... (pinned, installed by the script;
# checks configured in staticcheck.conf): fails on any finding.
lint:
	bash scripts/lint.sh

services:
	bash scripts/services/up.sh

# The benchmark suite (docs/performance.md): a table on stdout, results.json
# and SVG charts in bench-out/. BENCH_FLAGS=-quick for a one-minute smoke run.
bench: services
	. scripts/services/env.sh && $(GO) run ./cmd/triggerd-bench $(BENCH_FLAGS)

services-down:
	bash scripts/services/down.sh

build:
	$(GO) build -o bin/triggerd ./cmd/triggerd

dev:
	$(GO) run ./cmd/triggerd dev
