import { describe, expect, test } from "bun:test";
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { AdbWriter, BLOCK, block, NULL_VALUE, SCHEMA, TYPE, valueOffset, valueType } from "./adb";
import { AdbReader, openAdb } from "./adb-reader";
import { FIXTURE_ENTRIES, FIXTURE_INFO, FIXTURE_MTIME, FIXTURE_SCRIPTS } from "./fixture";
import { sha256 } from "./hash";
import { indexFile, plainIndexFile } from "./index";
import { deflateData, layoutPackage, packageFile, plainPackageFile } from "./package";
import { readApk, readApkHead, readIndex } from "./read-apk";
import { keyId, verifySignature } from "./sign";

const GOLDEN = join(import.meta.dir, "golden");
const layout = () => layoutPackage(FIXTURE_INFO, FIXTURE_ENTRIES, FIXTURE_SCRIPTS, FIXTURE_MTIME);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("AdbWriter", () => {
	test("packs integers below 2^28 into the value word and larger ones as 32- and 64-bit values", () => {
		const w = new AdbWriter();
		expect(w.int(0)).toBe(0x10000000);
		expect(w.int(0x0fffffff)).toBe(0x1fffffff);
		const v32 = w.int(0x10000000);
		const v64 = w.int(2 ** 40);
		expect([valueType(v32), valueType(v64)]).toEqual([TYPE.int32, TYPE.int64]);
		const r = new AdbReader(w.finish(NULL_VALUE));
		expect([r.int(v32), r.int(v64)]).toEqual([0x10000000, 2 ** 40]);
	});

	test("writes blobs with an 8-, 16- or 32-bit length by size, each aligned to its length, and empty as null", () => {
		const w = new AdbWriter();
		expect(w.blob("")).toBe(NULL_VALUE);
		const small = w.blob("x");
		const medium = w.blob(new Uint8Array(300).fill(1));
		const large = w.blob(new Uint8Array(70_000).fill(2));
		expect([valueType(small), valueType(medium), valueType(large)]).toEqual([
			TYPE.blob8,
			TYPE.blob16,
			TYPE.blob32,
		]);
		expect([valueOffset(medium) % 2, valueOffset(large) % 4]).toEqual([0, 0]);
		const r = new AdbReader(w.finish(NULL_VALUE));
		expect(r.text(small)).toBe("x");
		expect(r.blob(medium)?.length).toBe(300);
		expect(r.blob(large)?.every((b) => b === 2)).toBe(true);
	});

	test("drops an object's trailing null fields, and an object of nulls is null", () => {
		const w = new AdbWriter();
		expect(w.object({ 1: NULL_VALUE, 2: NULL_VALUE })).toBe(NULL_VALUE);
		expect(w.array([NULL_VALUE])).toBe(NULL_VALUE);
		const o = w.object({ 1: w.int(7), 3: NULL_VALUE });
		const r = new AdbReader(w.finish(o));
		expect(r.slots(r.root())).toEqual([2, 0x10000007]);
	});

	test("pads a block to 8 bytes, its size word counting the 4-byte header", () => {
		const b = block(BLOCK.data, new Uint8Array(5));
		expect(b.length).toBe(16);
		expect(new DataView(b.buffer).getUint32(0, true)).toBe(0x80000000 + 9);
	});
});

describe("a package", () => {
	test("is byte for byte the golden package checked with apk-tools (uncompressed form)", () => {
		expect(hex(plainPackageFile(layout()))).toBe(hex(readFileSync(join(GOLDEN, "hello-1.2.3-r4.apk"))));
	});

	test("reads back with its info, directories, files, symlink, modes, scripts and data", () => {
		const apk = readApk(readFileSync(join(GOLDEN, "hello-1.2.3-r4.apk")));
		expect(apk.compressed).toBe(false);
		expect(apk.info).toMatchObject({
			name: "hello",
			version: "1.2.3-r4",
			arch: "x86_64",
			license: "GPL-2.0-only",
			origin: "feeds/test/hello",
			depends: ["busybox", "libc"],
			installedSize: 61,
		});
		expect(apk.dirs.map((d) => [d.path, d.mode, d.files.map((f) => f.path)])).toEqual([
			["", 0o755, []],
			["etc", 0o755, []],
			["etc/config", 0o755, ["etc/config/hello"]],
			["usr", 0o755, []],
			["usr/bin", 0o755, ["usr/bin/hello", "usr/bin/hi"]],
			["usr/share", 0o755, ["usr/share/hello.empty"]],
		]);
		const all = apk.dirs.flatMap((d) => d.files);
		const hi = all.find((f) => f.path === "usr/bin/hi");
		expect([hi?.target, hi?.mode]).toEqual(["hello", 0o777]);
		const hello = all.find((f) => f.path === "usr/bin/hello");
		expect([new TextDecoder().decode(hello?.data), hello?.mode, hello?.mtime, hello?.user]).toEqual([
			"#!/bin/sh\necho hello\n",
			0o755,
			FIXTURE_MTIME,
			"root",
		]);
		expect(all.find((f) => f.path === "usr/share/hello.empty")?.data?.length).toBe(0);
		expect(apk.scripts).toEqual(FIXTURE_SCRIPTS);
	});

	test("deflated behind ADBd inflates to the same bytes, also with data deflated once for several packages", () => {
		const l = layout();
		const shared = deflateData(l.data);
		for (const file of [packageFile(l), packageFile(l, shared)]) {
			expect(new TextDecoder().decode(file.subarray(0, 4))).toBe("ADBd");
			expect(hex(inflateRawSync(file.subarray(4)))).toBe(hex(plainPackageFile(l)));
			expect(readApk(file).compressed).toBe(true);
			expect(hex(readApkHead(file).adb)).toBe(hex(l.adb));
		}
	});

	test("refuses a version apk would not take, naming the field", () => {
		expect(() => layoutPackage({ ...FIXTURE_INFO, version: "1.0-1" }, FIXTURE_ENTRIES, {}, 0)).toThrow(
			"apk hello: version: not an apk version",
		);
		expect(() => layoutPackage({ ...FIXTURE_INFO, name: "-x" }, FIXTURE_ENTRIES, {}, 0)).toThrow(
			"apk -x: name:",
		);
	});

	test("a file whose bytes were changed fails its hash on reading", () => {
		const bytes = plainPackageFile(layout());
		const at = Buffer.from(bytes).lastIndexOf("echo hello");
		bytes[at] = "E".charCodeAt(0);
		expect(() => readApk(bytes)).toThrow("usr/bin/hello does not match its hash");
	});

	test("a changed ADB block no longer matches its unique id", () => {
		const bytes = plainPackageFile(layout());
		const at = Buffer.from(bytes).indexOf("A package for");
		bytes[at] = "B".charCodeAt(0);
		expect(() => readApk(bytes)).toThrow("unique id does not match");
	});

	test("a file that is no ADB is refused by its magic", () => {
		expect(() => openAdb(new TextEncoder().encode("PK\u0003\u0004 not an apk"))).toThrow("adb: bad magic");
	});
});

describe("an index", () => {
	const l = layout();
	const entry = { info: FIXTURE_INFO, installedSize: l.installedSize, fileSize: 1144, adb: l.adb };

	test("is byte for byte the golden index checked with apk-tools (uncompressed form)", () => {
		expect(hex(plainIndexFile("golden", [entry]))).toBe(hex(readFileSync(join(GOLDEN, "packages.adb"))));
	});

	test("names each package by the SHA-256 of its ADB block, with file size, sorted by name", () => {
		const other = { ...entry, info: { ...FIXTURE_INFO, name: "another" } };
		const index = readIndex(indexFile("two", [entry, other]));
		expect(index.description).toBe("two");
		expect(index.packages.map((p) => [p.name, p.hashes, p.fileSize])).toEqual([
			["another", hex(sha256(l.adb)), 1144],
			["hello", hex(sha256(l.adb)), 1144],
		]);
	});
});

describe("a signed index", () => {
	const l = layout();
	const entry = { info: FIXTURE_INFO, installedSize: l.installedSize, fileSize: 1144, adb: l.adb };

	test.each(["ec", "rsa"] as const)(
		"carries one SIG block that verifies with the %s key and no other",
		(type) => {
			const pair =
				type === "ec"
					? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
					: generateKeyPairSync("rsa", { modulusLength: 2048 });
			const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
			const index = readIndex(indexFile("signed", [entry], pair.privateKey));
			expect(index.signatures.length).toBe(1);
			const [sig] = index.signatures;
			if (!sig) throw new Error("no signature");
			expect(verifySignature(SCHEMA.index, index.adb, sig, pair.publicKey)).toBe(true);
			expect(verifySignature(SCHEMA.index, index.adb, sig, other.publicKey)).toBe(false);
			const changed = index.adb.slice();
			changed.set([(changed.at(-1) ?? 0) ^ 1], changed.length - 1);
			expect(verifySignature(SCHEMA.index, changed, sig, pair.publicKey)).toBe(false);
		},
	);

	test("names an EC key by the SHA-512 of its public point, the last 65 bytes of its DER form", () => {
		const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
		const der = publicKey.export({ type: "spki", format: "der" });
		expect(hex(keyId(publicKey))).toBe(
			hex(createHash("sha512").update(der.subarray(-65)).digest().subarray(0, 16)),
		);
	});

	test("an unsigned index has no SIG block", () => {
		expect(readIndex(indexFile("unsigned", [entry])).signatures).toEqual([]);
	});
});
