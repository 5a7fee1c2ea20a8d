// ubus messages (ubusmsg.h): an 8-byte header — version (0), type, seq (16 bit), peer (32 bit),
// big-endian — then one blob attribute (id 0) whose children are the message attributes
// (UBUS_ATTR_*). Those are plain blob attributes; DATA and SIGNATURE hold blobmsg elements,
// SUBSCRIBERS a list of plain int32 attributes.
import { BlobWriter, readAttrs, viewOf } from "./blob";
import { cString, decodeFields, decodeString, encodeFields, type Field } from "./blobmsg";
import { UbusDecodeError, UbusEncodeError } from "./errors";

export const HEADER_SIZE = 8;
/** ubusd's build default (CMakeLists: UBUS_MAX_MSGLEN 1048576): the largest padded blob it accepts. */
export const UBUS_MAX_MSGLEN = 1048576;

/** Message types in ubusmsg.h order. */
export const MESSAGE_TYPES = [
	"HELLO",
	"STATUS",
	"DATA",
	"PING",
	"LOOKUP",
	"INVOKE",
	"ADD_OBJECT",
	"REMOVE_OBJECT",
	"SUBSCRIBE",
	"UNSUBSCRIBE",
	"NOTIFY",
	"MONITOR",
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

type AttrKind = "u32" | "u8" | "string" | "blobmsg" | "u32-list";

/** Message attributes by UBUS_ATTR_* id (index), with the payload each carries. */
const ATTRS = [
	undefined,
	["status", "u32"],
	["objpath", "string"],
	["objid", "u32"],
	["method", "string"],
	["objtype", "u32"],
	["signature", "blobmsg"],
	["data", "blobmsg"],
	["target", "u32"],
	["active", "u8"],
	["no_reply", "u8"],
	["subscribers", "u32-list"],
	["user", "string"],
	["group", "string"],
] as const satisfies ReadonlyArray<readonly [string, AttrKind] | undefined>;

export type MessageAttrs = {
	status?: number;
	objpath?: string;
	objid?: number;
	method?: string;
	objtype?: number;
	signature?: Field[];
	data?: Field[];
	target?: number;
	active?: number;
	no_reply?: number;
	subscribers?: number[];
	user?: string;
	group?: string;
};
export type AttrName = keyof MessageAttrs;

/** Attribute order in `attrs` is wire order, both ways. */
export type Message = { type: MessageType; seq: number; peer: number; attrs: MessageAttrs };

export type Header = { version: number; type: number; seq: number; peer: number };

export type DecodeResult =
	| { ok: true; message: Message }
	/** `attrs` holds what did decode, so a caller can still answer the request it belongs to. */
	| { ok: false; error: UbusDecodeError; header?: Header; attrs: MessageAttrs };

export function readHeader(frame: Uint8Array): Header {
	const view = viewOf(frame);
	return {
		version: view.getUint8(0),
		type: view.getUint8(1),
		seq: view.getUint16(2),
		peer: view.getUint32(4),
	};
}

/** One whole frame → a message, or the reason it is not one. Never throws. */
export function decodeMessage(frame: Uint8Array): DecodeResult {
	const attrs: MessageAttrs = {};
	if (frame.length < HEADER_SIZE + 4)
		return { ok: false, error: new UbusDecodeError("truncated", `frame of ${frame.length} bytes`, 0), attrs };
	const header = readHeader(frame);
	const fail = (error: UbusDecodeError) => ({ ok: false as const, error, header, attrs });
	try {
		const outerLen = viewOf(frame).getUint32(HEADER_SIZE) & 0xffffff;
		if (HEADER_SIZE + outerLen !== frame.length)
			return fail(
				new UbusDecodeError(
					HEADER_SIZE + outerLen > frame.length ? "truncated" : "bad-length",
					`message says ${outerLen} bytes, frame holds ${frame.length - HEADER_SIZE}`,
					HEADER_SIZE,
				),
			);
		// Read what the attributes say before judging the header, so an answer can still be routed.
		let firstError: UbusDecodeError | undefined;
		for (const attr of readAttrs(frame, HEADER_SIZE + 4, frame.length)) {
			const spec = ATTRS[attr.id];
			if (!spec) continue; // an attribute newer than this code: ignored, as libubus does
			const [name, kind] = spec;
			if (name in attrs) {
				firstError ??= new UbusDecodeError("duplicate", `attribute ${name} appears twice`, attr.start);
				continue;
			}
			try {
				Object.assign(attrs, { [name]: decodeAttr(frame, kind, attr.dataStart, attr.end, attr.start) });
			} catch (e) {
				if (!(e instanceof UbusDecodeError)) throw e;
				firstError ??= e;
			}
		}
		if (firstError) return fail(firstError);
		const type = MESSAGE_TYPES[header.type];
		if (header.version !== 0 || !type)
			return fail(
				new UbusDecodeError("bad-header", `version ${header.version}, message type ${header.type}`, 0),
			);
		return { ok: true, message: { type, seq: header.seq, peer: header.peer, attrs } };
	} catch (e) {
		if (e instanceof UbusDecodeError) return fail(e);
		throw e;
	}
}

function decodeAttr(bytes: Uint8Array, kind: AttrKind, start: number, end: number, at: number) {
	const view = viewOf(bytes);
	const size = end - start;
	const expect = (n: number) => {
		if (size !== n) throw new UbusDecodeError("wrong-type", `attribute holds ${size} bytes, not ${n}`, at);
	};
	switch (kind) {
		case "u32":
			expect(4);
			return view.getUint32(start);
		case "u8":
			expect(1);
			return view.getUint8(start);
		case "string":
			return decodeString(bytes, start, end, at);
		case "blobmsg":
			return decodeFields(bytes, start, end);
		case "u32-list":
			return readAttrs(bytes, start, end).map((item) => {
				if (item.end - item.dataStart !== 4)
					throw new UbusDecodeError("wrong-type", "subscriber id is not 4 bytes", item.start);
				return view.getUint32(item.dataStart);
			});
	}
}

/** A message → its frame, attributes in the order `attrs` lists them. */
export function encodeMessage(message: Message): Uint8Array {
	const writer = new BlobWriter();
	writer.zeros(HEADER_SIZE);
	const outer = writer.begin(0, false);
	for (const [name, value] of Object.entries(message.attrs)) {
		if (value === undefined) continue;
		const id = ATTRS.findIndex((spec) => spec?.[0] === name);
		const spec = ATTRS[id];
		if (!spec) throw new UbusEncodeError(`unknown message attribute '${name}'`);
		const start = writer.begin(id, false);
		encodeAttr(writer, spec[1], value);
		writer.end(start);
	}
	writer.end(outer);
	const frame = writer.finish();
	if (frame.length - HEADER_SIZE > UBUS_MAX_MSGLEN)
		throw new UbusEncodeError(`message of ${frame.length} bytes exceeds ubusd's limit of ${UBUS_MAX_MSGLEN}`);
	const view = viewOf(frame);
	view.setUint8(1, MESSAGE_TYPES.indexOf(message.type));
	view.setUint16(2, message.seq);
	view.setUint32(4, message.peer >>> 0);
	return frame;
}

function encodeAttr(writer: BlobWriter, kind: AttrKind, value: MessageAttrs[AttrName]): void {
	switch (kind) {
		case "u32":
			writer.u32(value as number);
			return;
		case "u8":
			writer.u8(value as number);
			return;
		case "string":
			writer.bytes(cString(value as string, "message attribute"));
			return;
		case "blobmsg":
			encodeFields(writer, value as Field[]);
			return;
		case "u32-list":
			for (const id of value as number[]) {
				const start = writer.begin(0, false);
				writer.u32(id);
				writer.end(start);
			}
			return;
	}
}
