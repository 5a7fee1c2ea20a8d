// The feed Makefiles, read two ways: by the ipk builder's parser, and by GNU make itself with the
// SDK's includes (rules.mk, package.mk, luci.mk) replaced by minimal ones that set what the SDK
// would set before our lines run (STRIP and RSTRIP to real strippers).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readTree } from "../stage";
import { defineAssignments, parseMakefile, shellText } from "./makefile";
import { neededKib, preinstScript } from "./packages";

const ROOT = resolve(import.meta.dir, "../..");
const PORTRIG_DIR = join(ROOT, "openwrt-feed/portrig");
const LUCI_DIR = join(ROOT, "openwrt-feed/luci-app-portrig");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

let topdir = "";

beforeAll(() => {
	topdir = mkdtempSync(join(tmpdir(), "portrig-sdk-"));
	mkdirSync(join(topdir, "include"));
	mkdirSync(join(topdir, "feeds/luci"), { recursive: true });
	writeFileSync(join(topdir, "rules.mk"), "INCLUDE_DIR:=$(TOPDIR)/include\n");
	writeFileSync(
		join(topdir, "include/package.mk"),
		"STRIP:=x86_64-openwrt-linux-musl-strip\nRSTRIP=$(SCRIPT_DIR)/rstrip.sh\nBuildPackage=\n",
	);
	writeFileSync(join(topdir, "feeds/luci/luci.mk"), "");
	writeFileSync(
		join(topdir, "print.mk"),
		"print-%:\n\t@echo '$($*)'\nwrite-var:\n\t$(file >$(OUT),$($(VAR)))\ncompile:\n\t$(Build/Compile)\n",
	);
});

afterAll(() => rmSync(topdir, { recursive: true, force: true }));

function make(dir: string, args: string[]): { code: number; out: string; err: string } {
	const r = Bun.spawnSync(
		[
			"make",
			"-s",
			"--no-print-directory",
			"-C",
			dir,
			"-f",
			"Makefile",
			"-f",
			join(topdir, "print.mk"),
		].concat(`TOPDIR=${topdir}`, args),
		{ stdout: "pipe", stderr: "pipe" },
	);
	return { code: r.exitCode, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
}

describe("openwrt-feed/portrig/Makefile under GNU make", () => {
	test("takes PKG_VERSION from package.json", () => {
		expect(make(PORTRIG_DIR, ["print-PKG_VERSION"]).out).toBe(VERSION);
	});

	test("finds the repository two levels up as the source", () => {
		expect(make(PORTRIG_DIR, ["print-PORTRIG_SRC"]).out).toBe(ROOT);
	});

	test("turns stripping off after package.mk set it, so the .bun section survives", () => {
		expect(make(PORTRIG_DIR, ["print-STRIP"]).out).toBe(":");
		expect(make(PORTRIG_DIR, ["print-RSTRIP"]).out).toBe(":");
	});

	test("picks Bun's musl target from the SDK's ARCH", () => {
		expect(make(PORTRIG_DIR, ["ARCH=x86_64", "print-BUN_TARGET"]).out).toBe("bun-linux-x64-musl");
		expect(make(PORTRIG_DIR, ["ARCH=aarch64", "print-BUN_TARGET"]).out).toBe("bun-linux-arm64-musl");
	});

	test("writes the preinst from check-space.sh with the KiB the built binary and files/ take", () => {
		const build = join(topdir, "build");
		mkdirSync(build, { recursive: true });
		writeFileSync(join(build, "portrig"), new Uint8Array(10_000));
		const out = join(topdir, "preinst");
		const r = make(PORTRIG_DIR, [
			`PKG_BUILD_DIR=${build}`,
			`OUT=${out}`,
			"VAR=Package/portrig/preinst",
			"write-var",
		]);
		expect([r.code, r.err]).toEqual([0, ""]);
		// find -L lists the binary, files/ itself and everything under it.
		const kib = 12 + 4 + neededKib(readTree(join(PORTRIG_DIR, "files")));
		const spaceCheck = readFileSync(join(PORTRIG_DIR, "check-space.sh"), "utf8");
		expect(readFileSync(out, "utf8")).toBe(preinstScript(spaceCheck, kib));
	});

	test("refuses to compile for a CPU Bun has no runtime for, and says why", () => {
		const r = make(PORTRIG_DIR, ["ARCH=mipsel", "compile"]);
		expect(r.code).not.toBe(0);
		expect(r.err).toContain("portrig: Bun has no runtime for mipsel; only x86_64 and aarch64 are supported");
	});
});

test("luci-app-portrig's htdocs, root and po are relative links into luci-app/, as luci.mk reads them", () => {
	for (const dir of ["htdocs", "root", "po"]) {
		const link = join(LUCI_DIR, dir);
		expect([dir, readlinkSync(link)]).toEqual([dir, `../../luci-app/${dir}`]);
		expect(statSync(link).isDirectory()).toBe(true);
	}
});

describe("openwrt-feed/luci-app-portrig/Makefile under GNU make", () => {
	test("takes PKG_VERSION from package.json and depends on portrig", () => {
		expect(make(LUCI_DIR, ["print-PKG_VERSION"]).out).toBe(VERSION);
		expect(make(LUCI_DIR, ["print-LUCI_DEPENDS"]).out).toBe("+portrig +luci-base");
	});
});

describe("parseMakefile", () => {
	const mk = parseMakefile(readFileSync(join(PORTRIG_DIR, "Makefile"), "utf8"));

	test("reads the package definition's assignments, DEPENDS limited to x86_64 and aarch64", () => {
		const pkg = defineAssignments(mk.defines.get("Package/portrig") ?? "");
		expect(pkg.get("SECTION")).toBe("net");
		expect(pkg.get("DEPENDS")?.split(" ")).toEqual([
			"@(x86_64||aarch64)",
			"+firewall4",
			"+nftables-json",
			"+libstdcpp",
			"+kmod-nft-core",
			"+kmod-nft-nat",
			"+kmod-nft-socket",
			"+kmod-nf-conntrack-netlink",
		]);
	});

	test("lists /etc/config/portrig as the conffile", () => {
		expect(mk.defines.get("Package/portrig/conffiles")?.trim()).toBe("/etc/config/portrig");
	});

	test("joins continued lines and keeps top-level assignments", () => {
		const parsed = parseMakefile("A:=one \\\n\ttwo\nB?=x\ndefine D\nC:=inside\nendef\n");
		expect(parsed.vars.get("A")).toBe("one two");
		expect(parsed.vars.get("B")).toBe("x");
		expect(parsed.vars.has("C")).toBe(false);
		expect(parsed.defines.get("D")).toBe("C:=inside");
	});

	test("a define used as a script has make's $$ turned into $", () => {
		expect(shellText('[ -n "$${IPKG_INSTROOT}" ] || [ "$$1" = upgrade ]')).toBe(
			`[ -n "\${IPKG_INSTROOT}" ] || [ "$1" = upgrade ]\n`,
		);
	});

	test("a define without endef is an error naming it", () => {
		expect(() => parseMakefile("define Package/x\nA:=1\n")).toThrow("'define Package/x' has no 'endef'");
	});
});
