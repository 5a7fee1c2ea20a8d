// Blob attributes, the container format under every ubus message (libubox blob.h): a 32-bit
// big-endian header — bit 31 "extended" (a blobmsg name follows), bits 24–30 the id, bits 0–23
// the length including the header — then the payload, then zero padding to a multiple of 4.
// A container's length covers its children including their padding, so children tile it.
import { UbusDecodeError, UbusEncodeError } from "./errors";

export const ATTR_HEADER_SIZE = 4;
const EXTENDED = 0x80000000;
const ID_SHIFT = 24;
const ID_MASK = 0x7f;
export const MAX_ATTR_LEN = 0xffffff;

export const pad4 = (n: number): number => (n + 3) & ~3;

/** One attribute found inside a container: where its payload lies in the bytes. */
export type Attr = {
	id: number;
	extended: boolean;
	/** offset of the header */
	start: number;
	/** payload: [dataStart, end) */
	dataStart: number;
	end: number;
};

/**
 * The attributes that tile bytes[start, end) exactly. Lengths are checked against the
 * container, never trusted: a bad one is a UbusDecodeError naming the offset.
 */
export function readAttrs(bytes: Uint8Array, start: number, end: number): Attr[] {
	const view = viewOf(bytes);
	const found: Attr[] = [];
	let pos = start;
	while (pos < end) {
		if (end - pos < ATTR_HEADER_SIZE)
			throw new UbusDecodeError("misaligned", `${end - pos} stray bytes after the last attribute`, pos);
		const word = view.getUint32(pos);
		const len = word & MAX_ATTR_LEN;
		if (len < ATTR_HEADER_SIZE)
			throw new UbusDecodeError("bad-length", `attribute length ${len} is shorter than its header`, pos);
		if (pos + len > end)
			throw new UbusDecodeError("truncated", `attribute of ${len} bytes runs past its container`, pos);
		if (pos + pad4(len) > end)
			throw new UbusDecodeError(
				"misaligned",
				`padding of a ${len}-byte attribute runs past its container`,
				pos,
			);
		found.push({
			id: (word >>> ID_SHIFT) & ID_MASK,
			extended: (word & EXTENDED) !== 0,
			start: pos,
			dataStart: pos + ATTR_HEADER_SIZE,
			end: pos + len,
		});
		pos += pad4(len);
	}
	return found;
}

export function viewOf(bytes: Uint8Array): DataView {
	return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Builds blob attributes into one growing buffer, the way libubox's blob_buf lays them out. */
export class BlobWriter {
	private buf = new Uint8Array(256);
	private view = viewOf(this.buf);
	length = 0;

	/** Starts an attribute; returns the cookie for end(). Its length is set when it ends. */
	begin(id: number, extended: boolean): number {
		const start = this.length;
		this.reserve(ATTR_HEADER_SIZE);
		this.view.setUint32(start, ((extended ? EXTENDED : 0) | ((id & ID_MASK) << ID_SHIFT)) >>> 0);
		this.length += ATTR_HEADER_SIZE;
		return start;
	}

	/** Ends the attribute begun at `start`: writes its length (unpadded), then pads with zeros. */
	end(start: number): void {
		const len = this.length - start;
		if (len > MAX_ATTR_LEN) throw new UbusEncodeError(`attribute of ${len} bytes exceeds the blob limit`);
		this.view.setUint32(start, (this.view.getUint32(start) | len) >>> 0);
		this.zeros(pad4(this.length) - this.length);
	}

	bytes(data: Uint8Array): void {
		this.reserve(data.length);
		this.buf.set(data, this.length);
		this.length += data.length;
	}

	zeros(n: number): void {
		this.reserve(n);
		this.buf.fill(0, this.length, this.length + n);
		this.length += n;
	}

	u8(v: number): void {
		this.reserve(1);
		this.view.setUint8(this.length, v);
		this.length += 1;
	}

	u16(v: number): void {
		this.reserve(2);
		this.view.setUint16(this.length, v);
		this.length += 2;
	}

	u32(v: number): void {
		this.reserve(4);
		this.view.setUint32(this.length, v >>> 0);
		this.length += 4;
	}

	i64(v: bigint): void {
		this.reserve(8);
		this.view.setBigInt64(this.length, v);
		this.length += 8;
	}

	f64(v: number): void {
		this.reserve(8);
		this.view.setFloat64(this.length, v);
		this.length += 8;
	}

	/** The bytes written so far (a copy-free view). */
	finish(): Uint8Array {
		return this.buf.subarray(0, this.length);
	}

	private reserve(n: number): void {
		if (this.length + n <= this.buf.length) return;
		let size = this.buf.length * 2;
		while (size < this.length + n) size *= 2;
		const grown = new Uint8Array(size);
		grown.set(this.buf.subarray(0, this.length));
		this.buf = grown;
		this.view = viewOf(grown);
	}
}
