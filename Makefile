# portrig — build, test, lab. `make test` and `make lab` work on a fresh Debian machine (as root):
# they install what they need first (scripts/install-deps).

BIN      := node_modules/.bin
BUN      := $(BIN)/bun
ENTRY    := controller/src/cli/main.ts
SOURCES  := $(shell find controller/src -name '*.ts' ! -name '*.test.ts' 2>/dev/null) package.json
COMPILE  := $(BUN) build --compile --minify --sourcemap=none
VM_KERNEL ?= 6.12

.PHONY: all build dist deps lint test unit lab lab-down bench package clean vm-test

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

lint: deps
	$(BIN)/tsc --noEmit -p tsconfig.json
	$(BIN)/biome check .
	$(BUN) run luci-app/tools/biome-luci.ts

# Every test: units beside the code, lab tests under test-vm/ (root: they create namespaces).
test: deps lint build
	@scripts/run-tests

# portrig in QEMU: the stand-in guest (Debian's kernel, an initramfs built here), with fw4's
# stock ruleset and with flow offloading. docs/vm.md; an OpenWrt image: test-vm/vm --image FILE.
vm-test: build
	@test-vm/vm --kernel $(VM_KERNEL)
	@test-vm/vm --kernel $(VM_KERNEL) --offload

lab: build
	@test-vm/demo

lab-down:
	@test-vm/lab down

bench: build
	@$(BUN) run bench/main.ts

package: dist
	@$(BUN) run openwrt-feed/ipk/build.ts

clean:
	rm -rf dist
