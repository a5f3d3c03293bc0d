# netprobe build. CGO is always off: one static binary for every platform. The one exception
# is `make race`, a test-only instrument: the race detector needs cgo, so that target alone
# builds its test binaries with CGO_ENABLED=1 (gcc and libc6-dev; .ci/run installs them).
# Nothing it builds is shipped: build, cross and release stay cgo-free.
export CGO_ENABLED := 0

GO        ?= go
BIN       ?= bin/netprobe
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Count-based, not a duration: go1.26's fuzz coordinator can fail a healthy target with
# "context deadline exceeded" when a duration -fuzztime ends mid-input (go.dev/issue/75804).
# 40000 inputs take a few seconds per target here.
FUZZTIME  ?= 40000x
# make fuzz-long: wall-clock time per target, spent as count-based runs (tools/fuzzlong);
# FUZZPARALLEL workers per target (0: GOMAXPROCS).
FUZZLONG     ?= 10m
FUZZPARALLEL ?= 0
# Every decoder and loader of untrusted bytes has a fuzz target (package:function).
FUZZ_TARGETS := ./internal/topology:FuzzLoad ./internal/agent:FuzzDecodeRequest \
	./internal/agent:FuzzProbeRequest ./internal/history:FuzzHistoryLines \
	./internal/probes:FuzzResponderWire ./internal/bwtest:FuzzControl

# Platforms the agent must build for (docs/install.md).
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 windows/arm64
# The concurrent packages, tested under the race detector by make race (docs: style, gates).
RACE_PKGS := ./internal/engine ./internal/agent ./internal/probes ./internal/bwtest ./internal/tui
# staticcheck, pinned by go.mod's tool directive, built for this machine so that it can also
# analyse the Windows build (GOOS=windows `go tool` would build a Windows binary).
STATICCHECK := bin/staticcheck

.PHONY: all build demo test vet race cross fuzz fuzz-long lab-up lab-down bench release clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/netprobe

## demo: the main job on the embedded default: a built-in estate, local agents on loopback, the TUI.
demo: build
	./$(BIN) demo

## test: vet, unit and lab tests, the race detector on the concurrent packages, cross-builds,
## and short fuzz runs. Lab tests need root; as non-root they skip with a reason (CI sets
## NETPROBE_LAB_REQUIRED=1 to make that a failure).
test: vet cross
	$(GO) test -count=1 -timeout 8m ./...
	$(MAKE) race
	$(MAKE) fuzz

## race: the concurrent packages (RACE_PKGS) under the race detector. A test-only instrument
## run with cgo on, which -race requires; the binaries netprobe ships never are (see the top).
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 8m $(RACE_PKGS)

## vet: gofmt, go vet and staticcheck on Linux and Windows, the size limits (tools/sizes: no
## Go file under internal/ or cmd/ over 600 lines, no function over 100, tests excluded), and
## go.mod/go.sum exactly what the code imports: `go mod tidy -diff` prints what tidy would
## change and fails then (a module listed but never imported claims something the code does
## not do).
vet:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed (gofmt -w .):"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result"; exit 1; }
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	$(GO) build -o $(STATICCHECK) honnef.co/go/tools/cmd/staticcheck
	./$(STATICCHECK) ./...
	GOOS=windows ./$(STATICCHECK) ./...
	$(GO) run ./tools/sizes internal cmd

cross:
	@for p in $(PLATFORMS); do \
		echo "build $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o /dev/null ./... || exit 1; \
	done

# Each fuzz target runs briefly: long enough to catch a panic on odd input, short enough for CI.
# FUZZTIME is a count of inputs (see above); make fuzz FUZZTIME=1000000x explores longer.
# Crash inputs ever found stay in each package's testdata/fuzz and run in every go test.
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; \
	done

## fuzz-long: each fuzz target for FUZZLONG of wall-clock time (10m: an hour in all), then a
## table of what ran (docs/performance.md records one).
fuzz-long:
	$(GO) run ./tools/fuzzlong -for $(FUZZLONG) -parallel $(FUZZPARALLEL) $(FUZZ_TARGETS)

## lab-up / lab-down: build the example failback lab in network namespaces (root) to poke at.
lab-up:
	$(GO) run ./cmd/netprobe-lab up

lab-down:
	$(GO) run ./cmd/netprobe-lab down

## bench: side-by-side comparisons with iperf3, nmap and ping in the lab (root; not part of test;
## a few minutes; docs/performance.md). Flags: make bench BENCHFLAGS='-rounds 5 -idle 30s'.
bench:
	$(GO) run ./bench $(BENCHFLAGS)
	@echo "TUI frame with 1,000 and 10,000 checks (target < 10 ms/frame):"
	$(GO) test -run '^$$' -bench '^Benchmark(View|Result)$$' -benchtime 100x ./internal/tui

## release: static binaries for every platform, packed with the docs and service files into
## dist/*.tar.gz (linux) and dist/*.zip (windows), with dist/SHA256SUMS (tools/release).
release:
	@rm -rf dist && mkdir -p dist
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "build $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/netprobe-$(VERSION)-$$os-$$arch/netprobe$$ext ./cmd/netprobe || exit 1; \
	done
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) $(GO) run ./tools/release -dist dist

clean:
	rm -rf bin dist
