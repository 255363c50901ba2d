# triggerd — common tasks. Tests: `make test` (starts the local services itself).
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -count=1 -timeout 30m
PKGS ?= ./...

.PHONY: test services services-down build dev

test: services
	. scripts/services/env.sh && $(GO) test $(GOTEST_FLAGS) $(PKGS)

services:
	bash scripts/services/up.sh

services-down:
	bash scripts/services/down.sh

build:
	$(GO) build -o bin/triggerd ./cmd/triggerd

dev:
	$(GO) run ./cmd/triggerd dev
