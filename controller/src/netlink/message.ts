// Netlink framing (pure): nlmsghdr and nlattr, as the kernel lays them out (host byte order for
// the headers, 4-byte alignment). A datagram holds one or more messages; a message's payload
// holds a family header and then attributes, which may nest.

export const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;

/** nlmsg_type values below 16 are netlink's own control messages. */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

export const NLM_F = {
	REQUEST: 0x1,
	MULTI: 0x2,
	ACK: 0x4,
	/** With a NEW message: the kernel created the object (an event for a new conntrack entry). */
	EXCL: 0x200,
	CREATE: 0x400,
	/** ROOT | MATCH: dump the whole table. */
	DUMP: 0x300,
} as const;

const NLA_F_NESTED = 0x8000;
const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export type NetlinkMessage = {
	type: number;
	flags: number;
	seq: number;
	pid: number;
	/** The bytes after the 16-byte header (nlmsg_len - 16 of them). */
	payload: Uint8Array;
};

/** A datagram's bytes did not hold whole messages (a truncated read, or not netlink at all). */
export class NetlinkFormatError extends Error {
	override name = "NetlinkFormatError";
}

const align4 = (n: number) => (n + 3) & ~3;

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Splits a datagram (or several read back to back) into its messages. */
export function parseMessages(bytes: Uint8Array): NetlinkMessage[] {
	const out: NetlinkMessage[] = [];
	const dv = view(bytes);
	let offset = 0;
	while (offset + NLMSG_HDRLEN <= bytes.byteLength) {
		const len = dv.getUint32(offset, true);
		if (len < NLMSG_HDRLEN || offset + len > bytes.byteLength)
			throw new NetlinkFormatError(
				`message at byte ${offset} claims ${len} bytes, ${bytes.byteLength - offset} are there`,
			);
		out.push({
			type: dv.getUint16(offset + 4, true),
			flags: dv.getUint16(offset + 6, true),
			seq: dv.getUint32(offset + 8, true),
			pid: dv.getUint32(offset + 12, true),
			payload: bytes.subarray(offset + NLMSG_HDRLEN, offset + len),
		});
		offset += align4(len);
	}
	if (offset < bytes.byteLength && bytes.byteLength - offset >= NLMSG_HDRLEN)
		throw new NetlinkFormatError(`${bytes.byteLength - offset} bytes left after the last message`);
	return out;
}

/** The errno of an NLMSG_ERROR message (0 is an acknowledgement), as a positive number. */
export function errorCode(message: NetlinkMessage): number {
	if (message.payload.byteLength < 4) throw new NetlinkFormatError("NLMSG_ERROR without an error code");
	return -view(message.payload).getInt32(0, true);
}

/** Attributes by type (flags stripped); a type that repeats keeps its first value. */
export type Attributes = Map<number, Uint8Array>;

export function parseAttributes(bytes: Uint8Array): Attributes {
	const out: Attributes = new Map();
	const dv = view(bytes);
	let offset = 0;
	while (offset + NLA_HDRLEN <= bytes.byteLength) {
		const len = dv.getUint16(offset, true);
		if (len < NLA_HDRLEN || offset + len > bytes.byteLength)
			throw new NetlinkFormatError(`attribute at byte ${offset} claims ${len} bytes`);
		const type = dv.getUint16(offset + 2, true) & NLA_TYPE_MASK;
		if (!out.has(type)) out.set(type, bytes.subarray(offset + NLA_HDRLEN, offset + len));
		offset += align4(len);
	}
	return out;
}

/** Big-endian (network order) integers: ctnetlink sends its numbers that way. */
export const be16 = (b: Uint8Array) => view(b).getUint16(0, false);
export const be32 = (b: Uint8Array) => view(b).getUint32(0, false);
export const be64 = (b: Uint8Array) => view(b).getBigUint64(0, false);

/** One attribute (header + value, padded to 4 bytes) for a request's payload. */
export function encodeAttribute(type: number, value: Uint8Array): Uint8Array {
	const out = new Uint8Array(align4(NLA_HDRLEN + value.byteLength));
	const dv = view(out);
	dv.setUint16(0, NLA_HDRLEN + value.byteLength, true);
	dv.setUint16(2, type, true);
	out.set(value, NLA_HDRLEN);
	return out;
}

/** One request message: header + `payload` (already aligned by the caller's builder). */
export function encodeMessage(type: number, flags: number, seq: number, payload: Uint8Array): Uint8Array {
	const out = new Uint8Array(NLMSG_HDRLEN + payload.byteLength);
	const dv = view(out);
	dv.setUint32(0, out.byteLength, true);
	dv.setUint16(4, type, true);
	dv.setUint16(6, flags, true);
	dv.setUint32(8, seq, true);
	dv.setUint32(12, 0, true);
	out.set(payload, NLMSG_HDRLEN);
	return out;
}
