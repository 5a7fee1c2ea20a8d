# portrig — build, test, lab. `make test` and `make lab` work on a fresh Debian machine (as root):
# they install what they need first (scripts/install-deps).

BIN      := node_modules/.bin
BUN      := $(BIN)/bun
ENTRY    := controller/src/cli/main.ts
SOURCES  := $(shell find controller/src -name '*.ts' ! -name '*.test.ts' 2>/dev/null) package.json Makefile
# Not read at start: a .env or bunfig.toml in the working directory (Bun's default for --compile).
# docs/size.md: why the other size options are not taken.
COMPILE  := $(BUN) build --compile --minify --sourcemap=none --no-compile-autoload-dotenv \
	--no-compile-autoload-bunfig

VM_KERNELS ?= 6.1 6.12

.PHONY: all build dist deps lint test unit lab lab-down bench package clean arm64-check vm-test

all: build

deps:
	@scripts/install-deps

build: deps dist/portrig

dist/portrig: $(SOURCES)
	@mkdir -p dist
	$(COMPILE) $(ENTRY) --outfile $@

dist/portrig-linux-x64-musl: $(SOURCES)
	$(COMPILE) --target=bun-linux-x64-musl $(ENTRY) --outfile $@

dist/portrig-linux-arm64-musl: $(SOURCES)
	$(COMPILE) --target=bun-linux-arm64-musl $(ENTRY) --outfile $@

dist: build dist/portrig-linux-x64-musl dist/portrig-linux-arm64-musl

# glibc aarch64: the build that can run here under qemu (arm64-check); not packaged
dist/portrig-linux-arm64: $(SOURCES)
	$(COMPILE) --target=bun-linux-arm64 $(ENTRY) --outfile $@

# The aarch64 build on Cortex-A53/A72 (ARMv8.0, no LSE atomics) under qemu, doing real work
arm64-check: build dist/portrig-linux-arm64
	@scripts/arm64-check dist/portrig-linux-arm64 dist/portrig

lint: deps
	$(BIN)/tsc --noEmit -p tsconfig.json
	$(BIN)/biome check .
	$(BUN) run luci-app/tools/biome-luci.ts

# Every test: the aarch64 build under qemu, portrig in a QEMU VM on another kernel, then units
# beside the code and lab tests under test-vm/ (root: they create namespaces).
test: deps lint build arm64-check vm-test
	@scripts/run-tests

# The tests that need no root: every unit test but those that make namespaces or mounts.
ALL_UNITS  := $(shell find controller luci-app openwrt-feed -name '*.test.ts' 2>/dev/null | sort)
NEEDS_ROOT := $(shell grep -lE 'lib/(lab|flow-namespace)"|unshare|mount' $(ALL_UNITS) 2>/dev/null)
UNIT_TESTS := $(filter-out $(NEEDS_ROOT),$(ALL_UNITS))

unit: deps
	@scripts/run-tests $(addprefix ./,$(UNIT_TESTS))

# portrig in QEMU: the stand-in guest (Debian's kernels, an initramfs built here), with fw4's
# stock ruleset and with flow offloading. docs/vm.md; an OpenWrt image: test-vm/vm --image FILE.
vm-test: build
	@set -e; for k in $(VM_KERNELS); do test-vm/vm --kernel $$k; test-vm/vm --kernel $$k --offload; done

lab: build
	@test-vm/demo

lab-down:
	@test-vm/lab down

bench: build
	@$(BUN) run bench/main.ts

package: dist
	@$(BUN) run openwrt-feed/build.ts

clean:
	rm -rf dist
