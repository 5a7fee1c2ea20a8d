// Reads a tar archive the way opkg-lede's get_header_tar() does (libbb/unarchive.c): 512-byte
// headers with the "ustar" magic (or GNU's old all-zero one), a checked header sum, octal
// fields, GNU long names ('L'). The tests read the ipks with it, so a package that this reader
// takes is one opkg takes, independently of how lenient GNU tar is.

export type TarEntry = {
	name: string;
	mode: number;
	uid: number;
	gid: number;
	/** "file" | "dir" | "symlink" | other type flags as the character. */
	type: string;
	linkname: string;
	data: Uint8Array<ArrayBuffer>;
};

const BLOCK = 512;
const TYPES: Record<string, string> = { "0": "file", "\0": "file", "5": "dir", "2": "symlink" };

function text(bytes: Uint8Array): string {
	const end = bytes.indexOf(0);
	return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octal(bytes: Uint8Array, field: string): number {
	const s = text(bytes).trim();
	if (!/^[0-7]*$/.test(s)) throw new Error(`tar: header field ${field} '${s}' is not octal`);
	return s === "" ? 0 : Number.parseInt(s, 8);
}

export function readTar(archive: Uint8Array<ArrayBuffer>): TarEntry[] {
	const entries: TarEntry[] = [];
	let longName: string | undefined;
	for (let offset = 0; offset + BLOCK <= archive.length; ) {
		const header = archive.subarray(offset, offset + BLOCK);
		if (header.every((b) => b === 0)) break; // end of archive
		const magic = text(header.subarray(257, 262));
		if (magic !== "ustar" && header.subarray(257, 262).some((b) => b !== 0))
			throw new Error(`tar: bad magic at offset ${offset}`);
		let sum = 0;
		for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
		if (sum !== octal(header.subarray(148, 156), "chksum"))
			throw new Error(`tar: bad header checksum at offset ${offset}`);
		const size = octal(header.subarray(124, 136), "size");
		const flag = String.fromCharCode(header[156] ?? 0);
		const data = archive.subarray(offset + BLOCK, offset + BLOCK + size);
		if (data.length !== size) throw new Error(`tar: member at offset ${offset} is truncated`);
		offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
		if (flag === "L") {
			longName = text(data);
			continue;
		}
		const prefix = text(header.subarray(345, 500));
		const name = longName ?? (prefix ? `${prefix}/` : "") + text(header.subarray(0, 100));
		longName = undefined;
		entries.push({
			name,
			mode: octal(header.subarray(100, 108), "mode") & 0o7777,
			uid: octal(header.subarray(108, 116), "uid"),
			gid: octal(header.subarray(116, 124), "gid"),
			type: TYPES[flag] ?? flag,
			linkname: text(header.subarray(157, 257)),
			data,
		});
	}
	return entries;
}
