# portrig — build, test, lab. `make test` and `make lab` work on a fresh Debian machine (as root):
# they install what they need first (scripts/install-deps).

BIN      := node_modules/.bin
BUN      := $(BIN)/bun
ENTRY    := controller/src/cli/main.ts
SOURCES  := $(shell find controller/src -name '*.ts' ! -name '*.test.ts' 2>/dev/null) package.json
COMPILE  := $(BUN) build --compile --minify --sourcemap=none

.PHONY: all build dist deps lint test unit lab lab-down bench package clean

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

# The tests that need no root: every unit test but those that create a network namespace.
NEEDS_ROOT := controller/src/netlink/events.test.ts openwrt-feed/ipk/packages.test.ts
UNIT_TESTS := $(filter-out $(NEEDS_ROOT),$(shell find controller luci-app openwrt-feed -name '*.test.ts' 2>/dev/null | sort))

unit: deps
	@scripts/run-tests $(addprefix ./,$(UNIT_TESTS))

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
