// The .apk side of `make package`, read back with the project's own ADB reader (apk-tools v3 is
// not in Debian's packages): every label directory is a repository of portrig and
// luci-app-portrig with its packages.adb, and each package carries what OpenWrt 25.12's own
// packages carry.
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
import { sha256 } from "./apk/hash";
import { type ReadApk, type ReadIndex, readApk, readIndex } from "./apk/read-apk";
import { controlFields, entryText, type Ipk, readIpk } from "./ipk/read-ipk";
import { run } from "./run";
import { neededKib, TARGETS } from "./spec/packages";

const ROOT = resolve(import.meta.dir, "..");
const VERSION = `${(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version}-r1`;
const LABELS = TARGETS.map((t) => t.architecture);
const PORTRIG_DEPENDS = [
	"firewall4",
	"kmod-nf-conntrack-netlink",
	"kmod-nft-core",
	"kmod-nft-nat",
	"kmod-nft-socket",
	"libc",
	"libstdcpp6",
	"nftables-json",
];

let scratch = "";
const apks = new Map<string, { bytes: Uint8Array; apk: ReadApk }>();
const indexes = new Map<string, ReadIndex>();

function opened(label: string, name: string): ReadApk {
	const found = apks.get(`${label}/${name}`);
	if (!found) throw new Error(`${label}/${name} was not read`);
	return found.apk;
}

const ipks = new Map<string, Ipk>();
function ipkOf(label: string): Ipk {
	const ipk = ipks.get(label) ?? readIpk(readFileSync(join(ROOT, "dist", `portrig_${VERSION}_${label}.ipk`)));
	ipks.set(label, ipk);
	return ipk;
}

function files(apk: ReadApk): Array<{ path: string; mode: number; data?: Uint8Array; target?: string }> {
	return apk.dirs.flatMap((d) => d.files);
}

function text(apk: ReadApk, path: string): string {
	const f = files(apk).find((x) => x.path === path);
	if (!f?.data) throw new Error(`no ${path} in ${apk.info.name}`);
	return new TextDecoder().decode(f.data);
}

beforeAll(() => {
	scratch = mkdtempSync(join(tmpdir(), "portrig-apk-test-"));
	const make = run(["make", "-s", "package"]);
	if (make.code !== 0) throw new Error(`make package failed:\n${make.out}\n${make.err}`);
	for (const label of LABELS) {
		const dir = join(ROOT, "dist/apk", label);
		for (const name of ["portrig", "luci-app-portrig"]) {
			const bytes = readFileSync(join(dir, `${name}-${VERSION}.apk`));
			apks.set(`${label}/${name}`, { bytes, apk: readApk(bytes) });
		}
		indexes.set(label, readIndex(readFileSync(join(dir, "packages.adb"))));
	}
}, 900_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("every label directory", () => {
	test("holds portrig, luci-app-portrig and packages.adb, named NAME-VERSION.apk as apk looks them up", () => {
		for (const label of LABELS)
			expect([label, readdirSync(join(ROOT, "dist/apk", label)).sort()]).toEqual([
				label,
				["luci-app-portrig-0.1.0-r1.apk", "packages.adb", "portrig-0.1.0-r1.apk"].map((f) =>
					f.replace("0.1.0-r1", VERSION),
				),
			]);
	});

	test("has an index naming each package by the SHA-256 of its ADB block, with its file size", () => {
		for (const label of LABELS) {
			const index = indexes.get(label);
			expect(index?.packages.map((p) => [p.name, p.version, p.arch])).toEqual([
				["luci-app-portrig", VERSION, "noarch"],
				["portrig", VERSION, label],
			]);
			for (const p of index?.packages ?? []) {
				const { bytes, apk } = apks.get(`${label}/${p.name}`) ?? {};
				if (!bytes || !apk) throw new Error(`${label}/${p.name} missing`);
				expect(p.hashes).toBe(Buffer.from(sha256(apk.adb)).toString("hex"));
				expect(p.fileSize).toBe(bytes.length);
				expect(p.depends).toEqual(apk.info.depends);
				expect(p.installedSize).toBe(apk.info.installedSize);
			}
		}
	});
});

describe.each(LABELS)("portrig for %s", (label) => {
	test("is deflated ADB with name, apk version, the exact label, license, origin and a one-line description", () => {
		const { compressed, info } = opened(label, "portrig");
		expect(compressed).toBe(true);
		expect([info.name, info.version, info.arch, info.license, info.origin]).toEqual([
			"portrig",
			VERSION,
			label,
			"GPL-2.0-only",
			"feeds/portrig/portrig",
		]);
		expect(info.description).toContain("inet portrig");
		expect(info.description).not.toContain("\n");
	});

	test("depends on the run-time packages of the ipk, under OpenWrt 25.12's names", () => {
		expect(opened(label, "portrig").info.depends).toEqual(PORTRIG_DEPENDS);
		const control = controlFields(entryText(ipkOf(label).control, "control"))
			.get("Depends")
			?.split(", ");
		expect(opened(label, "portrig").info.depends).toEqual([...(control ?? [])].sort());
	});

	test("holds the ipk's files, byte for byte and mode for mode, plus /lib/apk/packages", () => {
		const apk = opened(label, "portrig");
		const ipkFiles = ipkOf(label)
			.data.filter((e) => e.type === "file")
			.map((e) => [e.name.slice(2), e.mode, Bun.hash(e.data)])
			.sort();
		const apkFiles = files(apk)
			.filter((f) => !f.path.startsWith("lib/apk/packages/"))
			.map((f) => [f.path, f.mode, Bun.hash(f.data ?? new Uint8Array())])
			.sort();
		expect(apkFiles).toEqual(ipkFiles);
		expect(
			files(apk)
				.filter((f) => f.path.startsWith("lib/apk/packages/"))
				.map((f) => f.path),
		).toEqual(["conffiles", "conffiles_static", "list"].map((x) => `lib/apk/packages/portrig.${x}`));
		for (const f of files(apk)) expect([f.path, f.mode & 0o7777]).toEqual([f.path, f.mode]);
		for (const d of apk.dirs)
			expect([d.path, d.mode, d.user, d.group]).toEqual([d.path, 0o755, "root", "root"]);
	});

	test("ships the musl binary of its CPU unchanged", () => {
		const binary = files(opened(label, "portrig")).find((f) => f.path === "usr/sbin/portrig");
		const target = TARGETS.find((t) => t.architecture === label);
		if (!binary?.data || !target) throw new Error("no binary");
		expect(binary.mode).toBe(0o755);
		expect(Bun.hash(binary.data)).toBe(Bun.hash(readFileSync(join(ROOT, target.binary))));
	});

	test("lists its files and keeps /etc/config/portrig as a conffile with its checksum, as package-pack.mk does", () => {
		const apk = opened(label, "portrig");
		const listed = text(apk, "lib/apk/packages/portrig.list").trim().split("\n");
		expect(listed).toEqual(
			files(apk)
				.filter((f) => !f.path.startsWith("lib/apk/packages/"))
				.map((f) => `/${f.path}`)
				.sort(),
		);
		expect(text(apk, "lib/apk/packages/portrig.conffiles")).toBe("/etc/config/portrig\n");
		const config = files(apk).find((f) => f.path === "etc/config/portrig")?.data ?? new Uint8Array();
		expect(text(apk, "lib/apk/packages/portrig.conffiles_static")).toBe(
			`/etc/config/portrig ${Buffer.from(sha256(config)).toString("hex")}\n`,
		);
	});

	test("counts as installed size the bytes of its files", () => {
		const apk = opened(label, "portrig");
		expect(apk.info.installedSize).toBe(files(apk).reduce((n, f) => n + (f.data?.length ?? 0), 0));
	});

	test("checks the space its files need before unpacking (pre-install, pre-upgrade) and runs OpenWrt's install scripts", () => {
		const { scripts, dirs } = opened(label, "portrig");
		expect(Object.keys(scripts).sort()).toEqual([
			"post-deinstall",
			"post-install",
			"post-upgrade",
			"pre-deinstall",
			"pre-install",
			"pre-upgrade",
		]);
		const entries = dirs.flatMap((d) => [
			{ type: "dir" },
			...d.files.map((f) => ({ type: "file", data: f.data })),
		]);
		// The root directory is no entry of the staged tree.
		expect(scripts["pre-install"]).toEndWith(`\ncheck_space ${neededKib(entries) - 4}\n`);
		expect(scripts["pre-upgrade"]).toContain("export PKG_UPGRADE=1\n");
		expect(scripts["pre-upgrade"]).toEndWith(`\ncheck_space ${neededKib(entries) - 4}\n`);
		expect(scripts["post-install"]).toContain(
			'export pkgname="portrig"\nadd_group_and_user\ndefault_postinst\n',
		);
		expect(scripts["post-install"]).toContain("/etc/init.d/firewall reload");
		expect(scripts["post-upgrade"]).toStartWith("#!/bin/sh\nexport PKG_UPGRADE=1\n");
		expect(scripts["pre-deinstall"]).toContain("default_prerm");
		expect(scripts["post-deinstall"]).toContain("/etc/init.d/firewall reload");
	});
});

describe("luci-app-portrig", () => {
	test("is one noarch package, the same in every label directory, depending on portrig and luci-base", () => {
		const first = apks.get(`${LABELS[0]}/luci-app-portrig`);
		for (const label of LABELS)
			expect(Bun.hash(apks.get(`${label}/luci-app-portrig`)?.bytes ?? new Uint8Array())).toBe(
				Bun.hash(first?.bytes ?? new Uint8Array(1)),
			);
		const { info, scripts } = opened(LABELS[0] ?? "", "luci-app-portrig");
		expect([info.name, info.version, info.arch]).toEqual(["luci-app-portrig", VERSION, "noarch"]);
		expect(info.depends).toEqual(["libc", "luci-base", "portrig"]);
		expect(Object.keys(scripts).sort()).toEqual(["post-install", "post-upgrade", "pre-deinstall"]);
		expect(scripts["post-install"]).toContain("/etc/init.d/rpcd reload");
	});

	test("puts the views under /www and the ACL and menu under /usr/share", () => {
		const paths = files(opened(LABELS[0] ?? "", "luci-app-portrig")).map((f) => f.path);
		expect(paths).toContain("usr/share/rpcd/acl.d/luci-app-portrig.json");
		expect(paths).toContain("usr/share/luci/menu.d/luci-app-portrig.json");
		expect(paths.some((p) => /^www\/luci-static\/resources\/view\/portrig\/[^/]+\.js$/.test(p))).toBe(true);
	});
});

describe("every install script", () => {
	test("passes sh -n and shellcheck", () => {
		for (const [key, { apk }] of apks) {
			for (const [type, script] of Object.entries(apk.scripts)) {
				const path = join(scratch, `${key.replace("/", "-")}-${type}`);
				writeFileSync(path, script);
				expect([key, type, run(["sh", "-n", path]).code]).toEqual([key, type, 0]);
				expect([key, type, run(["shellcheck", "-s", "sh", path]).out]).toEqual([key, type, ""]);
			}
		}
	});
});

describe("installed into an empty root from the files the reader gives", () => {
	let rootfs = "";

	beforeAll(() => {
		rootfs = join(scratch, "rootfs");
		for (const name of ["portrig", "luci-app-portrig"]) {
			for (const d of opened("x86_64", name).dirs) mkdirSync(join(rootfs, d.path), { recursive: true });
			for (const f of files(opened("x86_64", name))) {
				const path = join(rootfs, f.path);
				mkdirSync(dirname(path), { recursive: true });
				writeFileSync(path, f.data ?? new Uint8Array());
				chmodSync(path, f.mode);
			}
		}
	});

	test("every script of an image build (IPKG_INSTROOT set) exits 0 and changes nothing", () => {
		const snapshot = () =>
			readdirSync(rootfs, { recursive: true, encoding: "utf8" })
				.sort()
				.map((p) => `${p} ${statSync(join(rootfs, p)).mtimeMs}`);
		const before = snapshot();
		for (const name of ["portrig", "luci-app-portrig"])
			for (const [type, script] of Object.entries(opened("x86_64", name).scripts)) {
				const path = join(scratch, `run-${name}-${type}`);
				writeFileSync(path, script);
				const r = run(["sh", path, VERSION], { IPKG_INSTROOT: rootfs });
				expect([name, type, r.code, r.err]).toEqual([name, type, 0, ""]);
			}
		expect(snapshot()).toEqual(before);
	});

	test("the installed config is valid for portrig check", () => {
		const r = run([join(ROOT, "dist/portrig"), "check", join(rootfs, "etc/config/portrig")]);
		expect([r.code, r.err]).toEqual([0, ""]);
	});
});
