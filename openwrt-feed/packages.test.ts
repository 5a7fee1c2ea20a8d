// `make package` end to end: builds the ipks (the musl cross-compiles download Bun's target
// runtime from the npm registry the first time; later runs reuse dist/ when it is newer than
// the sources), then opens each as opkg would and checks what a router would get.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
	chmodSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { procdEnv } from "../test-vm/lib/daemon";
import { writeIpk } from "./ipk/build";
import { ipkFileName } from "./ipk/control";
import { controlFields, entryText, type Ipk, readIpk } from "./ipk/read-ipk";
import type { TarEntry } from "./ipk/tar-reader";
import { run } from "./run";
import { luciSpec, portrigSpec, TARGETS } from "./spec/packages";
import { readTree, stageData } from "./stage";

const ROOT = resolve(import.meta.dir, "..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const PORTRIG_VERSION = `${VERSION}-r1`;
const ARCHES = TARGETS.map((t) =>
	t.architecture === "x86_64"
		? { ...t, interpreter: "/lib/ld-musl-x86_64.so.1", libc: "libc.musl-x86_64.so.1" }
		: { ...t, interpreter: "/lib/ld-musl-aarch64.so.1", libc: "libc.musl-aarch64.so.1" },
);
const LUCI_FILE = `luci-app-portrig_${VERSION}-r1_all.ipk`;

let scratch = "";
const ipks = new Map<string, { bytes: Uint8Array; ipk: Ipk }>();

function opened(file: string): Ipk {
	const found = ipks.get(file);
	if (!found) throw new Error(`${file} was not built`);
	return found.ipk;
}

function files(entries: TarEntry[]): Array<[string, string, string]> {
	return entries.map((e) => [e.name, e.type, e.mode.toString(8)]);
}

beforeAll(() => {
	scratch = mkdtempSync(join(tmpdir(), "portrig-ipk-test-"));
	const make = run(["make", "-s", "package"]);
	if (make.code !== 0) throw new Error(`make package failed:\n${make.out}\n${make.err}`);
	for (const file of [...ARCHES.map((a) => `portrig_${PORTRIG_VERSION}_${a.architecture}.ipk`), LUCI_FILE]) {
		const bytes = readFileSync(join(ROOT, "dist", file));
		ipks.set(file, { bytes, ipk: readIpk(bytes) });
	}
}, 900_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("every ipk", () => {
	test("is a gzipped tar of ./debian-binary, ./data.tar.gz, ./control.tar.gz, the container opkg-lede reads", () => {
		for (const [file, { bytes, ipk }] of ipks) {
			expect([file, bytes[0], bytes[1]]).toEqual([file, 0x1f, 0x8b]);
			expect(ipk.members).toEqual(["./debian-binary", "./data.tar.gz", "./control.tar.gz"]);
			expect(ipk.debianBinary).toBe("2.0\n");
		}
	});

	test("owns every file and directory by root (uid and gid 0)", () => {
		for (const { ipk } of ipks.values())
			for (const e of [...ipk.data, ...ipk.control]) expect([e.name, e.uid, e.gid]).toEqual([e.name, 0, 0]);
	});

	test("states Installed-Size as the bytes of its uncompressed data.tar, as ipkg-build does", () => {
		for (const { ipk } of ipks.values())
			expect(controlFields(entryText(ipk.control, "control")).get("Installed-Size")).toBe(
				String(ipk.dataTarSize),
			);
	});

	test("has OpenWrt's postinst and prerm (default_postinst/default_prerm), executable", () => {
		for (const { ipk } of ipks.values()) {
			for (const script of ["postinst", "prerm"]) {
				expect(entryText(ipk.control, script)).toBe(
					readFileSync(join(import.meta.dir, "ipk/scripts", script), "utf8"),
				);
				expect(ipk.control.find((e) => e.name === `./${script}`)?.mode).toBe(0o755);
			}
			expect(entryText(ipk.control, "postinst")).toContain('default_postinst "$0" "$@"');
			expect(entryText(ipk.control, "prerm")).toContain('default_prerm "$0" "$@"');
		}
	});

	test("has maintainer scripts that pass sh -n and shellcheck", () => {
		for (const [file, { ipk }] of ipks) {
			const scripts = ipk.control.filter((e) => e.mode === 0o755 && e.type === "file");
			expect(scripts.length).toBeGreaterThanOrEqual(3);
			for (const s of scripts) {
				const path = join(scratch, `${file}-${s.name.slice(2)}`);
				writeFileSync(path, s.data);
				expect([file, s.name, run(["sh", "-n", path]).code]).toEqual([file, s.name, 0]);
				const lint = run(["shellcheck", "-s", "sh", path]);
				expect([file, s.name, lint.out]).toEqual([file, s.name, ""]);
			}
		}
	});

	test("builds byte for byte the same twice from the same inputs", () => {
		const spec = luciSpec(ROOT);
		const data = join(scratch, "luci-data");
		mkdirSync(data);
		stageData(ROOT, spec, data);
		const a = writeIpk(spec, data, readTree(data), join(scratch, "a"), 1_700_000_000);
		const b = writeIpk(spec, data, readTree(data), join(scratch, "b"), 1_700_000_000);
		expect(Bun.hash(readFileSync(a))).toBe(Bun.hash(readFileSync(b)));
	});
});

describe.each(ARCHES)("portrig for $architecture", (arch) => {
	const file = `portrig_${PORTRIG_VERSION}_${arch.architecture}.ipk`;

	test("is named and described as the SDK would: version from package.json, release 1, real dependencies", () => {
		expect(ipkFileName(portrigSpec(ROOT, arch))).toBe(file);
		const c = controlFields(entryText(opened(file).control, "control"));
		expect(c.get("Package")).toBe("portrig");
		expect(c.get("Version")).toBe(PORTRIG_VERSION);
		expect(c.get("Architecture")).toBe(arch.architecture);
		expect(c.get("Depends")).toBe(
			"libc, firewall4, nftables-json, libstdcpp6, kmod-nft-core, kmod-nft-nat, kmod-nft-socket, kmod-nf-conntrack-netlink",
		);
		expect(c.get("Source")).toBe("feeds/portrig/portrig");
		expect(c.get("License")).toBe("GPL-2.0-only");
		expect(c.get("Section")).toBe("net");
		expect(c.get("Description")).toContain("inet portrig");
	});

	test("keeps /etc/config/portrig as a conffile", () => {
		expect(entryText(opened(file).control, "conffiles")).toBe("/etc/config/portrig\n");
	});

	test("installs the binary, init script, config and fw4 include with their modes, and nothing else", () => {
		const includes = readdirSync(
			join(ROOT, "openwrt-feed/portrig/files/usr/share/nftables.d/chain-post/forward"),
		);
		expect(includes.length).toBeGreaterThan(0);
		const expected: Array<[string, string, string]> = [
			["./", "dir", "755"],
			["./etc/", "dir", "755"],
			["./etc/config/", "dir", "755"],
			["./etc/config/portrig", "file", "644"],
			["./etc/init.d/", "dir", "755"],
			["./etc/init.d/portrig", "file", "755"],
			["./usr/", "dir", "755"],
			["./usr/sbin/", "dir", "755"],
			["./usr/sbin/portrig", "file", "755"],
			["./usr/share/", "dir", "755"],
			["./usr/share/nftables.d/", "dir", "755"],
			["./usr/share/nftables.d/chain-post/", "dir", "755"],
			["./usr/share/nftables.d/chain-post/forward/", "dir", "755"],
			...includes
				.sort()
				.map((f): [string, string, string] => [
					`./usr/share/nftables.d/chain-post/forward/${f}`,
					"file",
					"644",
				]),
		];
		expect(files(opened(file).data)).toEqual(expected);
	});

	test("ships the musl build unstripped: its interpreter, libstdc++ and musl's libc name, and the .bun section", () => {
		const binary = opened(file).data.find((e) => e.name === "./usr/sbin/portrig");
		if (!binary) throw new Error("no ./usr/sbin/portrig");
		expect(Bun.hash(binary.data)).toBe(Bun.hash(readFileSync(join(ROOT, arch.binary))));
		const path = join(scratch, `portrig-${arch.architecture}`);
		writeFileSync(path, binary.data);
		const program = run(["readelf", "-lW", path]).out;
		expect(program).toContain(`[Requesting program interpreter: ${arch.interpreter}]`);
		const needed = [
			...run(["readelf", "-dW", path]).out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g),
		];
		expect(needed.map((m) => m[1]).sort()).toEqual([arch.libc, "libstdc++.so.6"].sort());
		expect(run(["readelf", "-SW", path]).out).toMatch(/\s\.bun\s+PROGBITS/);
	});
});

describe("luci-app-portrig", () => {
	test("is an 'all' package of the LuCI section that depends on portrig and luci-base", () => {
		const c = controlFields(entryText(opened(LUCI_FILE).control, "control"));
		expect(c.get("Package")).toBe("luci-app-portrig");
		expect(c.get("Version")).toBe(`${VERSION}-r1`);
		expect(c.get("Architecture")).toBe("all");
		expect(c.get("Depends")).toBe("libc, portrig, luci-base");
		expect(c.get("Section")).toBe("luci");
		expect(c.get("License")).toBe("GPL-2.0-only");
	});

	test("puts htdocs under /www and root/ at /, as luci.mk installs them", () => {
		const data = opened(LUCI_FILE).data.filter((e) => e.type === "file");
		const names = data.map((e) => e.name);
		expect(names).toContain("./usr/share/rpcd/acl.d/luci-app-portrig.json");
		expect(names).toContain("./usr/share/luci/menu.d/luci-app-portrig.json");
		expect(names.some((n) => /^\.\/www\/luci-static\/resources\/view\/portrig\/[^/]+\.js$/.test(n))).toBe(
			true,
		);
		for (const e of data) {
			expect(e.name).toMatch(
				/^\.\/(www\/luci-static\/resources\/|usr\/share\/(rpcd\/acl\.d|luci\/menu\.d)\/)/,
			);
			expect([e.name, e.mode]).toEqual([e.name, 0o644]);
			if (e.name.endsWith(".json")) expect(() => JSON.parse(new TextDecoder().decode(e.data))).not.toThrow();
		}
	});
});

describe("installed into an empty root as opkg does", () => {
	let rootfs = "";

	/** Writes the data entries, then the control files as /usr/lib/opkg/info/PKG.* with PKG.list. */
	function install(ipk: Ipk): void {
		const name = controlFields(entryText(ipk.control, "control")).get("Package") ?? "";
		for (const e of ipk.data) {
			const path = join(rootfs, e.name);
			if (e.type === "dir") mkdirSync(path, { recursive: true });
			else {
				expect([e.name, e.type]).toEqual([e.name, "file"]);
				mkdirSync(dirname(path), { recursive: true });
				writeFileSync(path, e.data);
			}
			chmodSync(path, e.mode);
		}
		const info = join(rootfs, "usr/lib/opkg/info");
		mkdirSync(info, { recursive: true });
		for (const e of ipk.control.filter((c) => c.type === "file")) {
			writeFileSync(join(info, `${name}.${e.name.slice(2)}`), e.data);
			chmodSync(join(info, `${name}.${e.name.slice(2)}`), e.mode);
		}
		const list = ipk.data.filter((e) => e.type === "file").map((e) => e.name.slice(1));
		writeFileSync(join(info, `${name}.list`), `${list.join("\n")}\n`);
	}

	function snapshot(dir: string): string[] {
		return readdirSync(dir, { recursive: true, encoding: "utf8" })
			.sort()
			.map((p) => {
				const st = statSync(join(dir, p));
				return `${p} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`;
			});
	}

	beforeAll(() => {
		rootfs = join(scratch, "rootfs");
		mkdirSync(rootfs);
		install(opened(`portrig_${PORTRIG_VERSION}_x86_64.ipk`));
		install(opened(LUCI_FILE));
	});

	test("puts every file where the router expects it", () => {
		const want: Array<[string, number]> = [
			["usr/sbin/portrig", 0o755],
			["etc/init.d/portrig", 0o755],
			["etc/config/portrig", 0o644],
			["usr/share/rpcd/acl.d/luci-app-portrig.json", 0o644],
			["usr/share/luci/menu.d/luci-app-portrig.json", 0o644],
		];
		for (const [path, mode] of want)
			expect([path, statSync(join(rootfs, path)).mode & 0o7777]).toEqual([path, mode]);
		expect(readdirSync(join(rootfs, "usr/share/nftables.d/chain-post/forward")).length).toBeGreaterThan(0);
		expect(readdirSync(join(rootfs, "www/luci-static/resources/view/portrig")).length).toBeGreaterThan(0);
	});

	test("maintainer scripts run with IPKG_INSTROOT set (an image build) exit 0 and change nothing", () => {
		const before = snapshot(rootfs);
		for (const script of [
			"portrig.preinst",
			"portrig.postinst",
			"portrig.postinst-pkg",
			"luci-app-portrig.postinst",
			"luci-app-portrig.postinst-pkg",
			"portrig.prerm",
			"portrig.postrm",
		]) {
			const r = run(["sh", join(rootfs, "usr/lib/opkg/info", script)], {
				IPKG_INSTROOT: rootfs,
				PKG_UPGRADE: "0",
			});
			expect([script, r.code, r.err]).toEqual([script, 0, ""]);
		}
		expect(snapshot(rootfs)).toEqual(before);
	});

	test("the installed config is valid for portrig check", () => {
		const r = run([join(ROOT, "dist/portrig"), "check", join(rootfs, "etc/config/portrig")]);
		expect([r.code, r.out, r.err]).toEqual([0, expect.any(String), ""]);
	});
});

describe("the init script", () => {
	const script = join(ROOT, "openwrt-feed/portrig/files/etc/init.d/portrig");

	test("passes sh -n and shellcheck", () => {
		expect(run(["sh", "-n", script]).code).toBe(0);
		const lint = run(["shellcheck", "-s", "sh", script]);
		expect([lint.code, lint.out]).toEqual([0, ""]);
	});

	// rc.common sources the script and calls these functions; procd.sh's procd_* helpers are
	// replaced by ones that print their arguments, to see what the script asks procd for.
	test("asks procd for the daemon with late JIT thresholds, respawn, a reload trigger on portrig and SIGHUP on reload", () => {
		const harness = [
			'procd_open_instance() { echo "open"; }',
			'procd_set_param() { echo "param $*"; }',
			'procd_close_instance() { echo "close"; }',
			'procd_add_reload_trigger() { echo "trigger $*"; }',
			'procd_send_signal() { echo "signal $*"; }',
			`. "${script}"`,
			"start_service",
			"service_triggers",
			"reload_service",
			'echo "order $START $STOP $USE_PROCD"',
		].join("\n");
		const r = run(["sh", "-c", harness]);
		expect(r.err).toBe("");
		expect(r.out.trim().split("\n")).toEqual([
			"open",
			"param command /usr/sbin/portrig daemon --config /etc/config/portrig --log syslog",
			"param env BUN_JSC_thresholdForJITAfterWarmUp=20000 BUN_JSC_thresholdForJITSoon=20000",
			"param respawn 3600 5 5",
			"param term_timeout 10",
			"param stdout 1",
			"param stderr 1",
			"close",
			"trigger portrig",
			"signal portrig * HUP",
			"order 21 10 1",
		]);
	});

	test("the lab starts its daemons with the variables procd gives the daemon", () => {
		expect(procdEnv(readFileSync(script, "utf8"))).toEqual({
			BUN_JSC_thresholdForJITAfterWarmUp: "20000",
			BUN_JSC_thresholdForJITSoon: "20000",
		});
	});

	test("restart asks the running daemon to leave its table for the next one, then stops and starts", () => {
		const harness = (running: boolean) =>
			[
				`pidof() { ${running ? "return 0" : "return 1"}; }`,
				'touch() { echo "touch $*"; }',
				'stop() { echo "stop"; }',
				'start() { echo "start"; }',
				`. "${script}"`,
				"restart",
			].join("\n");
		expect(
			run(["sh", "-c", harness(true)])
				.out.trim()
				.split("\n"),
		).toEqual(["touch /var/run/portrig.keep-table", "stop", "start"]);
		expect(
			run(["sh", "-c", harness(false)])
				.out.trim()
				.split("\n"),
		).toEqual(["stop", "start"]);
	});

	test("starts after the firewall (START 19) so fw4's include is in place", () => {
		const start = /^START=(\d+)$/m.exec(readFileSync(script, "utf8"))?.[1];
		expect(Number(start)).toBeGreaterThan(19);
	});

	test("runs a command line the binary accepts", () => {
		const help = run([join(ROOT, "dist/portrig"), "help"]);
		expect(help.out).toContain("daemon [--config FILE]");
	});
});

describe("the fw4 include", () => {
	const fixture = join(ROOT, "test-vm/fw4/default.nft");
	let includeRoot = "";

	// The include files as the package ships them, under a directory shaped like
	// /usr/share/nftables.d.
	beforeAll(() => {
		includeRoot = join(scratch, "nftables.d");
		const prefix = "./usr/share/nftables.d/";
		for (const e of opened(`portrig_${PORTRIG_VERSION}_x86_64.ipk`).data) {
			if (!e.name.startsWith(prefix) || e.type !== "file") continue;
			const path = join(includeRoot, e.name.slice(prefix.length));
			mkdirSync(dirname(path), { recursive: true });
			writeFileSync(path, e.data);
		}
	});

	/**
	 * fw4's rendering of /usr/share/nftables.d (ruleset.uc + fw4.uc includes()): chain-pre/CHAIN
	 * files right after the chain's hook line, chain-post/CHAIN files at its end (before a final
	 * `jump handle_reject`), table-pre/-post inside `table inet fw4`, ruleset-pre/-post around it.
	 */
	function withIncludes(ruleset: string, dir: string): string {
		const lines = ruleset.split("\n");
		const inc = (path: string, pad: string) => `${pad}include "${path}"`;
		const ls = (sub: string) =>
			readdirSync(join(dir, sub), { withFileTypes: true }).filter(
				(d) => d.isFile() && d.name.endsWith(".nft"),
			);
		const positions = readdirSync(dir);
		for (const position of positions) {
			if (
				!["chain-pre", "chain-post", "table-pre", "table-post", "ruleset-pre", "ruleset-post"].includes(
					position,
				)
			)
				throw new Error(`fw4 has no include position '${position}'`);
			const chains = position.startsWith("chain-") ? readdirSync(join(dir, position)) : [""];
			for (const chain of chains) {
				for (const f of ls(join(position, chain))) {
					const path = join(dir, position, chain, f.name);
					if (position === "ruleset-pre") lines.unshift(inc(path, ""));
					else if (position === "ruleset-post") lines.push(inc(path, ""));
					else if (position === "table-pre")
						lines.splice(lines.indexOf("table inet fw4 {") + 1, 0, inc(path, "\t"));
					else if (position === "table-post") lines.splice(lines.lastIndexOf("}"), 0, inc(path, "\t"));
					else {
						const start = lines.indexOf(`\tchain ${chain} {`);
						if (start === -1) throw new Error(`fw4's ruleset has no chain ${chain}`);
						const end = lines.indexOf("\t}", start);
						if (position === "chain-pre") lines.splice(start + 2, 0, inc(path, "\t\t"));
						else
							lines.splice(lines[end - 1] === "\t\tjump handle_reject" ? end - 1 : end, 0, inc(path, "\t\t"));
					}
				}
			}
		}
		return lines.join("\n");
	}

	function nftCheck(text: string): { code: number; err: string } {
		const file = join(scratch, `fw4-${Bun.hash(text)}.nft`);
		writeFileSync(file, text);
		// A fresh network namespace of its own: nothing on this machine is touched.
		const r = run(["unshare", "--net", "nft", "-c", "-f", file]);
		return { code: r.code, err: r.err };
	}

	test("loads with fw4's stock ruleset (nft -c in a fresh network namespace)", () => {
		const rendered = withIncludes(readFileSync(fixture, "utf8"), includeRoot);
		expect(rendered).toContain(`include "${includeRoot}/chain-post/forward/`);
		expect(nftCheck(rendered)).toEqual({ code: 0, err: "" });
	});

	test("the same check rejects an include that fw4 could not load", () => {
		const bad = join(scratch, "bad-includes/chain-post/forward");
		mkdirSync(bad, { recursive: true });
		writeFileSync(join(bad, "30-bad.nft"), "ct mark & 0x4000 == 0x4000 jump no_such_chain\n");
		const r = nftCheck(withIncludes(readFileSync(fixture, "utf8"), join(scratch, "bad-includes")));
		expect(r.code).not.toBe(0);
		expect(r.err).toContain("no_such_chain");
	});
});
