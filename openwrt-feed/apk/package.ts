// An apk-tools v3 package (schema "pckg"), laid out as `apk mkpkg` lays it out: the ADB block
// holds the package info, every directory (the root too) with its files, and the scripts; then
// one DATA block per non-empty regular file, in path order, each starting with its directory and
// file numbers. The whole file is deflated behind "ADBd".
import { constants, deflateRawSync } from "node:zlib";
import { z } from "zod";
import { ADB_DEFLATE_MAGIC, AdbWriter, BLOCK, block, fileHeader, SCHEMA, type Value } from "./adb";
import { sha256 } from "./hash";
import {
	ACL,
	DEPENDENCY,
	DIR,
	FILE,
	PACKAGE,
	PKGINFO,
	SCRIPTS,
	type ScriptType,
	UNIQUE_ID_LENGTH,
} from "./schema";

// apk-package(5): names of [a-zA-Z0-9.+_-] starting alphanumeric; versions
// number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}.
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9._+-]*$/;
const VERSION = /^\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(~[0-9a-f]+)?(-r\d+)?$/;

export const apkInfoSchema = z.object({
	name: z.string().regex(NAME, "a package name is [a-zA-Z0-9._+-], starting with a letter or digit"),
	version: z.string().regex(VERSION, "not an apk version (number{.number}{letter}{_suffix{n}}{~hash}{-r#})"),
	arch: z.string().regex(/^[a-z0-9_-]+$/, "an architecture label is [a-z0-9_-]"),
	description: z.string().refine((s) => !s.includes("\n"), "a description is one line"),
	license: z.string(),
	origin: z.string(),
	depends: z.array(z.string().regex(NAME, "a dependency is a plain package name")),
});
export type ApkInfo = z.infer<typeof apkInfoSchema>;

export type ApkEntry =
	| { path: string; type: "dir"; mode: number }
	| { path: string; type: "file"; mode: number; data: Uint8Array }
	| { path: string; type: "symlink"; mode: number; target: string };

export type ApkScripts = Partial<Record<ScriptType, string>>;

/** The parts of a package before compression: the ADB block and the data blocks. */
export type ApkLayout = {
	adb: Uint8Array<ArrayBuffer>;
	data: Uint8Array<ArrayBuffer>[];
	installedSize: number;
};

const S_IFLNK = 0o120000;
const encoder = new TextEncoder();

function compareBytes(a: string, b: string): number {
	return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const fileHashes = new WeakMap<Uint8Array, Uint8Array<ArrayBuffer>>();
/** The same bytes (one binary under several labels) are hashed once. */
function fileHash(data: Uint8Array): Uint8Array<ArrayBuffer> {
	let hash = fileHashes.get(data);
	if (!hash) {
		hash = sha256(data);
		fileHashes.set(data, hash);
	}
	return hash;
}

function parentOf(path: string): string {
	const slash = path.lastIndexOf("/");
	return slash === -1 ? "" : path.slice(0, slash);
}

function baseName(path: string): string {
	return path.slice(path.lastIndexOf("/") + 1);
}

/** Directories (the root as "") each with its files and symlinks, both sorted bytewise as apk sorts. */
function directories(entries: ApkEntry[]): Array<{ dir: ApkEntry & { type: "dir" }; files: ApkEntry[] }> {
	const dirs = new Map<string, { dir: ApkEntry & { type: "dir" }; files: ApkEntry[] }>();
	dirs.set("", { dir: { path: "", type: "dir", mode: 0o755 }, files: [] });
	for (const e of entries) if (e.type === "dir" && e.path !== "") dirs.set(e.path, { dir: e, files: [] });
	for (const e of entries) {
		if (e.type === "dir") continue;
		const parent = dirs.get(parentOf(e.path));
		if (!parent) throw new Error(`apk: ${e.path} has no directory entry for ${parentOf(e.path)}`);
		parent.files.push(e);
	}
	const sorted = [...dirs.values()].sort((a, b) => compareBytes(a.dir.path, b.dir.path));
	for (const d of sorted) d.files.sort((a, b) => compareBytes(baseName(a.path), baseName(b.path)));
	return sorted;
}

function acl(w: AdbWriter, mode: number): Value {
	return w.object({
		[ACL.mode]: w.int(mode & 0o7777),
		[ACL.user]: w.blob("root"),
		[ACL.group]: w.blob("root"),
	});
}

/** Dependencies as apk keeps them: objects sorted by name, each name once. */
function dependencyArray(w: AdbWriter, names: string[]): Value {
	const unique = [...new Set(names)].sort(compareBytes);
	return w.array(unique.map((name) => w.object({ [DEPENDENCY.name]: w.blob(name) })));
}

/** The info fields both the package and an index entry carry. */
export function infoFields(w: AdbWriter, info: ApkInfo, installedSize: number): Record<number, Value> {
	return {
		[PKGINFO.name]: w.blob(info.name),
		[PKGINFO.version]: w.blob(info.version),
		[PKGINFO.description]: w.blob(info.description),
		[PKGINFO.arch]: w.blob(info.arch),
		[PKGINFO.license]: w.blob(info.license),
		[PKGINFO.origin]: w.blob(info.origin),
		[PKGINFO.installedSize]: w.int(installedSize),
		[PKGINFO.depends]: dependencyArray(w, info.depends),
	};
}

export function layoutPackage(
	info: ApkInfo,
	entries: ApkEntry[],
	scripts: ApkScripts,
	mtime: number,
): ApkLayout {
	const valid = apkInfoSchema.safeParse(info);
	if (!valid.success) {
		const issue = valid.error.issues[0];
		throw new Error(`apk ${info.name}: ${issue?.path.join(".")}: ${issue?.message}`);
	}
	const w = new AdbWriter();
	const dirs = directories(entries);
	let installedSize = 0;
	const data: Uint8Array<ArrayBuffer>[] = [];

	const paths = dirs.map(({ dir, files }, i) => {
		const fileValues = files.map((f, j) => {
			const fields: Record<number, Value> = {
				[FILE.name]: w.blob(baseName(f.path)),
				[FILE.acl]: acl(w, f.mode),
				[FILE.mtime]: w.int(mtime),
			};
			if (f.type === "file") {
				installedSize += f.data.length;
				fields[FILE.size] = w.int(f.data.length);
				fields[FILE.hash] = w.blob(fileHash(f.data));
				if (f.data.length > 0) data.push(dataBlock(i + 1, j + 1, f.data));
			} else if (f.type === "symlink") {
				const target = encoder.encode(f.target);
				const value = new Uint8Array(2 + target.length);
				new DataView(value.buffer).setUint16(0, S_IFLNK, true);
				value.set(target, 2);
				fields[FILE.size] = w.int(target.length);
				fields[FILE.target] = w.blob(value);
			}
			return w.object(fields);
		});
		return w.object({
			[DIR.name]: w.blob(dir.path),
			[DIR.acl]: acl(w, dir.mode),
			[DIR.files]: w.array(fileValues),
		});
	});

	// apk counts a package with scripts but no bytes as 1, so it is not taken for a meta package.
	installedSize = Math.max(installedSize, 1);
	// The unique id: zeros while the block is hashed, then the first bytes of that hash.
	const uniqueId = w.blob(new Uint8Array(UNIQUE_ID_LENGTH));
	const pkginfo = w.object({ ...infoFields(w, info, installedSize), [PKGINFO.hashes]: uniqueId });
	const scriptValues: Record<number, Value> = {};
	for (const [type, text] of Object.entries(scripts))
		scriptValues[SCRIPTS[type as ScriptType]] = w.blob(text);
	const root = w.object({
		[PACKAGE.info]: pkginfo,
		[PACKAGE.paths]: w.array(paths),
		[PACKAGE.scripts]: w.object(scriptValues),
	});
	const adb = w.finish(root);
	const idAt = (uniqueId & 0x0fffffff) + 1; // after the blob's one-byte length
	adb.set(sha256(adb).subarray(0, UNIQUE_ID_LENGTH), idAt);
	return { adb, data, installedSize };
}

function dataBlock(pathIndex: number, fileIndex: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
	const payload = new Uint8Array(8 + content.length);
	const view = new DataView(payload.buffer);
	view.setUint32(0, pathIndex, true);
	view.setUint32(4, fileIndex, true);
	payload.set(content, 8);
	return block(BLOCK.data, payload);
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.length;
	}
	return out;
}

/**
 * Deflated data blocks, to share between packages whose data is the same (one binary under
 * several architecture labels): the head of the file is deflated separately and ends on a sync
 * flush, so a fresh deflate stream can follow it byte-aligned.
 */
export function deflateData(data: Uint8Array[]): Uint8Array<ArrayBuffer> {
	return new Uint8Array(deflateRawSync(concat(data), { level: 9 }));
}

function packageHead(layout: ApkLayout): Uint8Array<ArrayBuffer> {
	return concat([fileHeader(SCHEMA.package), block(BLOCK.adb, layout.adb)]);
}

/** The package uncompressed: header, ADB block, data blocks (apk reads this form as well). */
export function plainPackageFile(layout: ApkLayout): Uint8Array<ArrayBuffer> {
	return concat([packageHead(layout), ...layout.data]);
}

/** The .apk file: "ADBd", then the deflated header, ADB block and data blocks. */
export function packageFile(
	layout: ApkLayout,
	deflatedData: Uint8Array = deflateData(layout.data),
): Uint8Array {
	const head = packageHead(layout);
	const deflatedHead = deflateRawSync(head, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
	return concat([encoder.encode(ADB_DEFLATE_MAGIC), deflatedHead, deflatedData]);
}

/** apk's default file name: NAME-VERSION.apk. */
export function apkFileName(info: Pick<ApkInfo, "name" | "version">): string {
	return `${info.name}-${info.version}.apk`;
}
