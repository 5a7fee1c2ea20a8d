// The ADB container of apk-tools v3 (doc/apk-v3.5.scd, src/adb.h), the parts a package and an
// index need. A file is "ADB." + a 32-bit schema id, then blocks: one ADB block (a tree of
// values), optional SIG blocks, then DATA blocks. Every number is little-endian.
//
// A value is a 32-bit word: 4 bits of type, 28 bits of either the value itself (small ints,
// null) or the offset of the value inside the ADB block. Objects and arrays are runs of value
// words whose first word is their own length (the count word included).

export const ADB_MAGIC = "ADB.";
/** The whole file deflated after these four bytes (raw deflate, what apk writes by default). */
export const ADB_DEFLATE_MAGIC = "ADBd";

export const SCHEMA = { package: 0x676b6370 /* pckg */, index: 0x78646e69 /* indx */ } as const;

export const TYPE = {
	special: 0x0,
	int: 0x1,
	int32: 0x2,
	int64: 0x3,
	blob8: 0x8,
	blob16: 0x9,
	blob32: 0xa,
	array: 0xd,
	object: 0xe,
} as const;

export const BLOCK = { adb: 0, sig: 1, data: 2 } as const;
const BLOCK_ALIGNMENT = 8;
/** Past this a block needs the 16-byte extended header, which nothing here writes. */
const BLOCK_MAX = 0x3fffffff - 4;
const VALUE_MAX = 0x0fffffff;

export const NULL_VALUE = 0;

/** The fixed header at the start of the ADB block: compat version, version, reserved, root. */
const ADB_HEADER_SIZE = 8;

export type Value = number;

/** Builds the ADB block: values are appended, each aligned to its size, and returned as words. */
export class AdbWriter {
	private buf = new Uint8Array(4096);
	private view = new DataView(this.buf.buffer);
	private len = ADB_HEADER_SIZE;

	private reserve(size: number, alignment: number): number {
		this.len = Math.ceil(this.len / alignment) * alignment;
		if (this.len + size > this.buf.length) {
			let cap = this.buf.length;
			while (this.len + size > cap) cap *= 2;
			const next = new Uint8Array(cap);
			next.set(this.buf);
			this.buf = next;
			this.view = new DataView(next.buffer);
		}
		const offset = this.len;
		if (offset > VALUE_MAX) throw new Error("adb: block larger than 256 MiB");
		this.len += size;
		return offset;
	}

	int(n: number): Value {
		if (!Number.isSafeInteger(n) || n < 0) throw new Error(`adb: ${n} is not an unsigned integer`);
		if (n <= VALUE_MAX) return word(TYPE.int, n);
		if (n <= 0xffffffff) {
			const at = this.reserve(4, 4);
			this.view.setUint32(at, n, true);
			return word(TYPE.int32, at);
		}
		const at = this.reserve(8, 4);
		this.view.setBigUint64(at, BigInt(n), true);
		return word(TYPE.int64, at);
	}

	/** A byte string; the empty one is null, as apk writes it. */
	blob(data: Uint8Array | string): Value {
		const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
		if (bytes.length === 0) return NULL_VALUE;
		const [type, width] =
			bytes.length > 0xffff ? [TYPE.blob32, 4] : bytes.length > 0xff ? [TYPE.blob16, 2] : [TYPE.blob8, 1];
		const at = this.reserve(width + bytes.length, width);
		if (width === 4) this.view.setUint32(at, bytes.length, true);
		else if (width === 2) this.view.setUint16(at, bytes.length, true);
		else this.view.setUint8(at, bytes.length);
		this.buf.set(bytes, at + width);
		return word(type, at);
	}

	/** Fields by index (1-based, as in the schema); trailing nulls are dropped; all null → null. */
	object(fields: Record<number, Value | undefined>): Value {
		const slots: Value[] = [];
		for (const [key, value] of Object.entries(fields)) slots[Number(key)] = value ?? NULL_VALUE;
		return this.slots(TYPE.object, slots);
	}

	/** Items in the order given; nulls are skipped, as apk's array append does. */
	array(items: Value[]): Value {
		return this.slots(TYPE.array, [0, ...items.filter((v) => v !== NULL_VALUE)]);
	}

	private slots(type: number, slots: Value[]): Value {
		let n = slots.length;
		while (n > 1 && (slots[n - 1] ?? NULL_VALUE) === NULL_VALUE) n--;
		if (n <= 1) return NULL_VALUE;
		const at = this.reserve(4 * n, 4);
		this.view.setUint32(at, n, true);
		for (let i = 1; i < n; i++) this.view.setUint32(at + 4 * i, slots[i] ?? NULL_VALUE, true);
		return word(type, at);
	}

	/** The ADB block's bytes with `root` as its root value. */
	finish(root: Value): Uint8Array<ArrayBuffer> {
		const out = this.buf.slice(0, this.len);
		new DataView(out.buffer).setUint32(4, root, true);
		return out;
	}
}

function word(type: number, value: number): Value {
	return ((type << 28) | value) >>> 0;
}

export function valueType(v: Value): number {
	return v >>> 28;
}

export function valueOffset(v: Value): number {
	return v & VALUE_MAX;
}

/** One block: a 32-bit word of type (2 bits) and raw size (header included), payload, padding to 8. */
export function block(type: number, payload: Uint8Array): Uint8Array<ArrayBuffer> {
	if (payload.length > BLOCK_MAX)
		throw new Error(`adb: a block of ${payload.length} bytes needs the extended header`);
	const raw = 4 + payload.length;
	const out = new Uint8Array(Math.ceil(raw / BLOCK_ALIGNMENT) * BLOCK_ALIGNMENT);
	new DataView(out.buffer).setUint32(0, ((type << 30) >>> 0) + raw, true);
	out.set(payload, 4);
	return out;
}

/** "ADB." and the schema id. */
export function fileHeader(schema: number): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(8);
	out.set(new TextEncoder().encode(ADB_MAGIC));
	new DataView(out.buffer).setUint32(4, schema, true);
	return out;
}
