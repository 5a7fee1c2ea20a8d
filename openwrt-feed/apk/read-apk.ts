// Opens a .apk or packages.adb into plain objects, checking what apk checks on install: the
// schema, the data blocks' directory/file numbers and sizes against the paths, every file's
// SHA-256, and the package's unique id (the first 20 bytes of the SHA-256 of its ADB block with
// the id zeroed).
import { BLOCK, SCHEMA, type Value } from "./adb";
import { AdbReader, openAdb, openAdbHead } from "./adb-reader";
import { sha256 } from "./hash";
import {
	ACL,
	DEPENDENCY,
	DIR,
	FILE,
	INDEX,
	PACKAGE,
	PKGINFO,
	SCRIPTS,
	type ScriptType,
	UNIQUE_ID_LENGTH,
} from "./schema";

export type ReadInfo = {
	name: string;
	version: string;
	arch: string;
	description: string;
	license: string;
	origin: string;
	installedSize: number;
	fileSize?: number;
	depends: string[];
	hashes: string;
};

export type ReadFile = {
	path: string;
	mode: number;
	user: string;
	group: string;
	size: number;
	mtime: number;
	/** Regular files: content; symlinks: target. */
	data?: Uint8Array;
	target?: string;
};

export type ReadDir = { path: string; mode: number; user: string; group: string; files: ReadFile[] };

export type ReadApk = {
	compressed: boolean;
	info: ReadInfo;
	dirs: ReadDir[];
	scripts: Partial<Record<ScriptType, string>>;
	/** The ADB block, whose SHA-256 an index names the package by. */
	adb: Uint8Array<ArrayBuffer>;
};

export type ReadIndex = {
	description: string;
	packages: ReadInfo[];
	/** Payloads of the SIG blocks, and the ADB block they sign. */
	signatures: Uint8Array[];
	adb: Uint8Array<ArrayBuffer>;
};

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString("hex");

function readInfo(r: AdbReader, v: Value): ReadInfo {
	const o = r.slots(v);
	const text = (i: number) => r.text(r.field(o, i)) ?? "";
	const fileSize = r.int(r.field(o, PKGINFO.fileSize));
	return {
		name: text(PKGINFO.name),
		version: text(PKGINFO.version),
		arch: text(PKGINFO.arch),
		description: text(PKGINFO.description),
		license: text(PKGINFO.license),
		origin: text(PKGINFO.origin),
		installedSize: r.int(r.field(o, PKGINFO.installedSize)) ?? 0,
		...(fileSize === undefined ? {} : { fileSize }),
		depends: r
			.items(r.field(o, PKGINFO.depends))
			.map((d) => r.text(r.field(r.slots(d), DEPENDENCY.name)) ?? ""),
		hashes: hex(r.blob(r.field(o, PKGINFO.hashes))),
	};
}

function readAcl(r: AdbReader, v: Value): { mode: number; user: string; group: string } {
	const o = r.slots(v);
	return {
		mode: r.int(r.field(o, ACL.mode)) ?? 0,
		user: r.text(r.field(o, ACL.user)) ?? "",
		group: r.text(r.field(o, ACL.group)) ?? "",
	};
}

export function readApk(bytes: Uint8Array): ReadApk {
	const file = openAdb(bytes);
	if (file.schema !== SCHEMA.package)
		throw new Error(`apk: schema ${file.schema.toString(16)} is not a package`);
	const [adbBlock, ...rest] = file.blocks;
	if (!adbBlock) throw new Error("apk: no ADB block");
	const r = new AdbReader(adbBlock.payload);
	const root = r.slots(r.root());
	const info = readInfo(r, r.field(root, PACKAGE.info));

	// The unique id is computed over the block with the id bytes zeroed.
	const infoSlots = r.slots(r.field(root, PACKAGE.info));
	const idValue = r.field(infoSlots, PKGINFO.hashes);
	const zeroed = adbBlock.payload.slice();
	zeroed.fill(0, (idValue & 0x0fffffff) + 1, (idValue & 0x0fffffff) + 1 + UNIQUE_ID_LENGTH);
	if (info.hashes !== hex(sha256(zeroed).subarray(0, UNIQUE_ID_LENGTH)))
		throw new Error(`apk ${info.name}: unique id does not match the ADB block`);

	const dirs: ReadDir[] = r.items(r.field(root, PACKAGE.paths)).map((d) => {
		const o = r.slots(d);
		const dirPath = r.text(r.field(o, DIR.name)) ?? "";
		const files = r.items(r.field(o, DIR.files)).map((f): ReadFile => {
			const fo = r.slots(f);
			const name = r.text(r.field(fo, FILE.name)) ?? "";
			const target = r.blob(r.field(fo, FILE.target));
			return {
				path: dirPath ? `${dirPath}/${name}` : name,
				...readAcl(r, r.field(fo, FILE.acl)),
				size: r.int(r.field(fo, FILE.size)) ?? 0,
				mtime: r.int(r.field(fo, FILE.mtime)) ?? 0,
				...(target ? { target: new TextDecoder().decode(target.subarray(2)) } : {}),
				...(target ? {} : { data: new Uint8Array(0) }),
				hash: hex(r.blob(r.field(fo, FILE.hash))),
			} as ReadFile & { hash: string };
		});
		return { path: dirPath, ...readAcl(r, r.field(o, DIR.acl)), files };
	});

	// DATA blocks: one per non-empty regular file, in path order.
	const expected = dirs.flatMap((d, i) =>
		d.files
			.map((f, j) => ({ f, i: i + 1, j: j + 1 }))
			.filter(({ f }) => f.target === undefined && f.size > 0),
	);
	const dataBlocks = rest.filter((b) => b.type === BLOCK.data);
	if (dataBlocks.length !== expected.length)
		throw new Error(`apk ${info.name}: ${dataBlocks.length} data blocks for ${expected.length} files`);
	dataBlocks.forEach((b, k) => {
		const want = expected[k];
		if (!want) return;
		const view = new DataView(b.payload.buffer, b.payload.byteOffset, b.payload.byteLength);
		const [pi, fi] = [view.getUint32(0, true), view.getUint32(4, true)];
		const content = b.payload.subarray(8);
		if (pi !== want.i || fi !== want.j || content.length !== want.f.size)
			throw new Error(`apk ${info.name}: data block ${k} is not ${want.f.path}`);
		if (hex(sha256(content)) !== (want.f as ReadFile & { hash: string }).hash)
			throw new Error(`apk ${info.name}: ${want.f.path} does not match its hash`);
		want.f.data = content;
	});

	const scriptSlots = r.slots(r.field(root, PACKAGE.scripts));
	const scripts: Partial<Record<ScriptType, string>> = {};
	for (const [type, index] of Object.entries(SCRIPTS)) {
		const text = r.text(r.field(scriptSlots, index));
		if (text !== undefined) scripts[type as ScriptType] = text;
	}
	return { compressed: file.compressed, info, dirs, scripts, adb: adbBlock.payload };
}

export function readIndex(bytes: Uint8Array): ReadIndex {
	const file = openAdb(bytes);
	if (file.schema !== SCHEMA.index)
		throw new Error(`adb: schema ${file.schema.toString(16)} is not an index`);
	const block = file.blocks[0];
	if (!block) throw new Error("index: no ADB block");
	const r = new AdbReader(block.payload);
	const root = r.slots(r.root());
	return {
		description: r.text(r.field(root, INDEX.description)) ?? "",
		packages: r.items(r.field(root, INDEX.packages)).map((p) => readInfo(r, p)),
		signatures: file.blocks.filter((b) => b.type === BLOCK.sig).map((b) => b.payload),
		adb: block.payload,
	};
}

/** A package's info and ADB block, without inflating its data. */
export function readApkHead(bytes: Uint8Array): { info: ReadInfo; adb: Uint8Array<ArrayBuffer> } {
	const file = openAdbHead(bytes);
	const block = file.blocks[0];
	if (file.schema !== SCHEMA.package || !block) throw new Error("apk: not a package");
	const r = new AdbReader(block.payload);
	return { info: readInfo(r, r.field(r.slots(r.root()), PACKAGE.info)), adb: block.payload };
}
