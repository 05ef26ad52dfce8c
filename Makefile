# LiveChat. `make run` starts the server on 127.0.0.1:8000 with its data in
# ./data; `make test` runs every test. See README.md.
GO ?= go
BIN := livechat
# The version `livechat version` prints: the commit, with the nearest tag
# when there is one, and -dirty for uncommitted changes.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCHBASE ?= bench/results/gotest-2026-11-26.txt
FUZZTIME ?= 30s
BENCHTIME ?= 1s
BENCHCOUNT ?= 6

.PHONY: build run test lint fuzz bench benchstat bench-smoke chaos generate clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/livechat

run: build
	./$(BIN) serve

# go test alone prints results in package order, so one slow package hides
# every other result for minutes; .ci/testfmt prints each package as it
# finishes, says what is still compiling or running when nothing finishes
# for 20 s, and ends with every skipped test and its reason.
# TESTFLAGS adds go test flags (make test TESTFLAGS='-run Browser').
test: SHELL := /bin/bash
test:
	set -o pipefail; $(GO) test -race -count=1 -timeout 20m -json $(TESTFLAGS) ./... ./.ci/testfmt 2>&1 | $(GO) run ./.ci/testfmt

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	bash .ci/check-imports.sh
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target for FUZZTIME (make fuzz FUZZTIME=5m for a long run).
fuzz:
	bash .ci/fuzz.sh $(FUZZTIME)

# The engine's benchmarks, BENCHCOUNT runs each, saved for benchstat.
bench:
	mkdir -p bench/results
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./... | tee bench/results/latest.txt

# Compare the last `make bench` with the committed baseline.
benchstat:
	$(GO) run $(BENCHSTAT) $(BENCHBASE) bench/results/latest.txt

# One iteration of every benchmark: proves they run (CI).
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

# The cluster's fault matrix (leader and follower SIGKILL, a kill and a
# restart, a 10 s pause, a rolling restart, and, when run as root, network
# partitions with ip netns), each under traffic on three node processes;
# several minutes.
chaos:
	$(GO) test -tags chaos -count=1 -v -timeout 30m -run 'Chaos|Smoke' ./cluster/clustertest

generate:
	protoc --proto_path=. --go_out=. --go_opt=module=livechat persistence/pb/records.proto persistence/pb/commands.proto actors/pb/messages.proto

clean:
	rm -f $(BIN)
