// packages.adb, the v3 repository index (schema "indx"), as `apk mkndx` writes it: each
// package's info plus its file size, and as its hash the SHA-256 of its ADB block (apk checks a
// downloaded package against it), sorted by name, version, hash. Signed with a private key, apk
// trusts it by the public key in /etc/apk/keys; unsigned, only with --allow-untrusted.
import type { KeyObject } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import { ADB_DEFLATE_MAGIC, AdbWriter, BLOCK, block, fileHeader, SCHEMA } from "./adb";
import { sha256 } from "./hash";
import { type ApkInfo, apkInfoSchema, infoFields } from "./package";
import { INDEX, PKGINFO } from "./schema";
import { signatureBlock } from "./sign";

export type IndexEntry = { info: ApkInfo; installedSize: number; fileSize: number; adb: Uint8Array };

/** apk's version order for the versions written here: dotted numbers, then the -r release. */
function compareVersions(a: string, b: string): number {
	const parts = (v: string) => v.split(/[.-]r?/).map(Number);
	const [pa, pb] = [parts(a), parts(b)];
	for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
		const d = (pa[i] ?? -1) - (pb[i] ?? -1);
		if (d !== 0) return d;
	}
	return 0;
}

/** The index uncompressed: header, ADB block and its signature (apk reads this form as well). */
export function plainIndexFile(description: string, entries: IndexEntry[], key?: KeyObject): Uint8Array {
	const hashed = entries.map((e) => {
		apkInfoSchema.parse(e.info);
		return { ...e, hash: sha256(e.adb) };
	});
	hashed.sort(
		(a, b) =>
			Buffer.compare(Buffer.from(a.info.name), Buffer.from(b.info.name)) ||
			compareVersions(a.info.version, b.info.version) ||
			Buffer.compare(a.hash, b.hash),
	);
	const w = new AdbWriter();
	const packages = hashed.map((e) =>
		w.object({
			...infoFields(w, e.info, e.installedSize),
			[PKGINFO.hashes]: w.blob(e.hash),
			[PKGINFO.fileSize]: w.int(e.fileSize),
		}),
	);
	const adb = w.finish(
		w.object({ [INDEX.description]: w.blob(description), [INDEX.packages]: w.array(packages) }),
	);
	const signature = key ? [signatureBlock(SCHEMA.index, adb, key)] : [];
	return Buffer.concat([fileHeader(SCHEMA.index), block(BLOCK.adb, adb), ...signature]);
}

/** packages.adb: the index deflated behind "ADBd", as apk mkndx writes it. */
export function indexFile(description: string, entries: IndexEntry[], key?: KeyObject): Uint8Array {
	const plain = plainIndexFile(description, entries, key);
	return Buffer.concat([Buffer.from(ADB_DEFLATE_MAGIC), deflateRawSync(plain, { level: 9 })]);
}
