// Reads ADB files independently of the writer, as apk-tools' adb.c reads them: the optional
// "ADBd" deflate wrapper, the "ADB." header and schema, blocks with their 8-byte padding, and
// values by type. The tests read every package and index back with it.
import { constants, inflateRawSync } from "node:zlib";
import {
	ADB_DEFLATE_MAGIC,
	ADB_MAGIC,
	BLOCK,
	NULL_VALUE,
	TYPE,
	type Value,
	valueOffset,
	valueType,
} from "./adb";

export type AdbBlock = { type: number; payload: Uint8Array<ArrayBuffer> };
export type AdbFile = { schema: number; compressed: boolean; blocks: AdbBlock[] };

const decoder = new TextDecoder();

/**
 * The first `length` bytes of the plain file, inflating no more of it than that (a truncated
 * deflate stream, flushed, yields what it has).
 */
function plainPrefix(bytes: Uint8Array, length: number): Uint8Array {
	if (decoder.decode(bytes.subarray(0, 4)) !== ADB_DEFLATE_MAGIC) return bytes.subarray(0, length);
	for (let take = 65536; ; take *= 4) {
		const out = inflateRawSync(bytes.subarray(4, 4 + take), { finishFlush: constants.Z_SYNC_FLUSH });
		if (out.length >= length || take >= bytes.length)
			return new Uint8Array(out.buffer, out.byteOffset, Math.min(length, out.length));
	}
}

/** Only the header and the ADB block: what an index needs, without inflating the data. */
export function openAdbHead(bytes: Uint8Array): AdbFile {
	const head = plainPrefix(bytes, 12);
	const size = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(8, true) & 0x3fffffff;
	const plain = plainPrefix(bytes, 8 + Math.ceil(size / 8) * 8);
	return parse(plain, decoder.decode(bytes.subarray(0, 4)) === ADB_DEFLATE_MAGIC);
}

export function openAdb(bytes: Uint8Array): AdbFile {
	const compressed = decoder.decode(bytes.subarray(0, 4)) === ADB_DEFLATE_MAGIC;
	return parse(
		compressed ? new Uint8Array(inflateRawSync(bytes.subarray(4))) : new Uint8Array(bytes),
		compressed,
	);
}

function parse(plain: Uint8Array, compressed: boolean): AdbFile {
	const magic = decoder.decode(plain.subarray(0, 4));
	if (decoder.decode(plain.subarray(0, 4)) !== ADB_MAGIC) throw new Error(`adb: bad magic '${magic}'`);
	const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
	const schema = view.getUint32(4, true);
	const blocks: AdbBlock[] = [];
	for (let at = 8; at < plain.length; ) {
		if (at + 4 > plain.length) throw new Error(`adb: truncated block header at ${at}`);
		const word = view.getUint32(at, true);
		const type = word >>> 30;
		const raw = word & 0x3fffffff;
		if (type === 3) throw new Error(`adb: extended block at ${at} (not used by these packages)`);
		if (raw < 4 || at + raw > plain.length) throw new Error(`adb: block at ${at} overruns the file`);
		blocks.push({ type, payload: plain.slice(at + 4, at + raw) });
		at += Math.ceil(raw / 8) * 8;
	}
	if (blocks[0]?.type !== BLOCK.adb) throw new Error("adb: the first block is not an ADB block");
	return { schema, compressed, blocks };
}

/** Values inside one ADB block (offsets count from the block's first byte). */
export class AdbReader {
	private readonly view: DataView;

	constructor(readonly adb: Uint8Array<ArrayBuffer>) {
		if (adb.length < 8) throw new Error("adb: ADB block shorter than its header");
		if (adb[0] !== 0) throw new Error(`adb: compat version ${adb[0]} is not 0`);
		this.view = new DataView(adb.buffer, adb.byteOffset, adb.byteLength);
	}

	root(): Value {
		return this.view.getUint32(4, true);
	}

	private at(v: Value, size: number): number {
		const offset = valueOffset(v);
		if (offset + size > this.adb.length)
			throw new Error(`adb: value ${v.toString(16)} points past the block`);
		return offset;
	}

	int(v: Value): number | undefined {
		switch (valueType(v)) {
			case TYPE.special:
				return undefined;
			case TYPE.int:
				return valueOffset(v);
			case TYPE.int32:
				return this.view.getUint32(this.at(v, 4), true);
			case TYPE.int64:
				return Number(this.view.getBigUint64(this.at(v, 8), true));
			default:
				throw new Error(`adb: value ${v.toString(16)} is not an integer`);
		}
	}

	blob(v: Value): Uint8Array<ArrayBuffer> | undefined {
		if (v === NULL_VALUE) return undefined;
		const width = { [TYPE.blob8]: 1, [TYPE.blob16]: 2, [TYPE.blob32]: 4 }[valueType(v)];
		if (width === undefined) throw new Error(`adb: value ${v.toString(16)} is not a blob`);
		const offset = this.at(v, width);
		const length =
			width === 1
				? this.view.getUint8(offset)
				: width === 2
					? this.view.getUint16(offset, true)
					: this.view.getUint32(offset, true);
		const start = this.at(v, width + length) + width;
		return this.adb.slice(start, start + length);
	}

	text(v: Value): string | undefined {
		const b = this.blob(v);
		return b === undefined ? undefined : decoder.decode(b);
	}

	/** An object's slots by field number (slot 0, the count, included); null → []. */
	slots(v: Value, type: number = TYPE.object): Value[] {
		if (v === NULL_VALUE) return [];
		if (valueType(v) !== type) throw new Error(`adb: value ${v.toString(16)} is not of type ${type}`);
		const offset = this.at(v, 4);
		const n = this.view.getUint32(offset, true);
		if (n === 0) throw new Error(`adb: empty slot run at ${offset}`);
		this.at(v, 4 * n);
		return Array.from({ length: n }, (_, i) => this.view.getUint32(offset + 4 * i, true));
	}

	field(object: Value[], index: number): Value {
		return object[index] ?? NULL_VALUE;
	}

	/** An array's items. */
	items(v: Value): Value[] {
		return this.slots(v, TYPE.array).slice(1);
	}
}
