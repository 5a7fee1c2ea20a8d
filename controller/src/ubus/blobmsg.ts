// blobmsg (libubox blobmsg.h): typed, named values inside blob attributes, the payload of every
// ubus call, reply and event. An element is an *extended* attribute whose id is its type; its
// payload starts with a name header (16-bit length, the name, NUL, zero padding to 4 bytes),
// then the value. Tables and arrays are lists of elements (array elements have empty names).
//
// `Field` keeps everything the wire holds (type, name, order), so decoding then encoding gives
// the same bytes; plain.ts converts to and from JSON-like values.
import { type Attr, type BlobWriter, pad4, readAttrs, viewOf } from "./blob";
import { UbusDecodeError, UbusEncodeError } from "./errors";

/** Wire type ids, in libubox's enum blobmsg_type order (bool is int8). */
export const BLOBMSG_TYPES = [
	"unspec",
	"array",
	"table",
	"string",
	"int64",
	"int32",
	"int16",
	"int8",
	"double",
] as const;
export type BlobmsgType = (typeof BLOBMSG_TYPES)[number];

export type Typed =
	| { type: "array" | "table"; value: Field[] }
	| { type: "string"; value: string }
	| { type: "int8" | "int16" | "int32"; value: number }
	| { type: "int64"; value: bigint }
	| { type: "double"; value: number }
	| { type: "unspec"; value: Uint8Array };
export type Field = Typed & { name: string };

/** Deeper nesting than this is refused: json-c stops at 32, and recursion must stay bounded. */
export const MAX_DEPTH = 64;

const NAME_HEADER = 2;
const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/** The blobmsg elements that tile bytes[start, end). */
export function decodeFields(bytes: Uint8Array, start: number, end: number, depth = 0): Field[] {
	if (depth > MAX_DEPTH)
		throw new UbusDecodeError("too-deep", `containers nested deeper than ${MAX_DEPTH}`, start);
	return readAttrs(bytes, start, end).map((attr) => decodeField(bytes, attr, depth));
}

function decodeField(bytes: Uint8Array, attr: Attr, depth: number): Field {
	if (!attr.extended)
		throw new UbusDecodeError(
			"bad-name",
			"a plain blob attribute where a blobmsg element belongs",
			attr.start,
		);
	const view = viewOf(bytes);
	if (attr.end - attr.dataStart < NAME_HEADER)
		throw new UbusDecodeError("bad-name", "element too short for its name header", attr.start);
	const nameLen = view.getUint16(attr.dataStart);
	const nameStart = attr.dataStart + NAME_HEADER;
	const valueStart = attr.dataStart + pad4(NAME_HEADER + nameLen + 1);
	if (valueStart > attr.end)
		throw new UbusDecodeError("bad-name", `name of ${nameLen} bytes runs past its element`, attr.start);
	if (bytes[nameStart + nameLen] !== 0)
		throw new UbusDecodeError("bad-name", "element name is not NUL-terminated", nameStart + nameLen);
	const name = utf8.decode(bytes.subarray(nameStart, nameStart + nameLen));
	return { name, ...decodeValue(bytes, attr, valueStart, depth) };
}

function decodeValue(bytes: Uint8Array, attr: Attr, start: number, depth: number): Typed {
	const view = viewOf(bytes);
	const type = BLOBMSG_TYPES[attr.id];
	const size = attr.end - start;
	const expect = (n: number) => {
		if (size !== n)
			throw new UbusDecodeError("wrong-type", `${type} element holds ${size} bytes, not ${n}`, attr.start);
	};
	switch (type) {
		case "array":
		case "table":
			return { type, value: decodeFields(bytes, start, attr.end, depth + 1) };
		case "string":
			return { type, value: decodeString(bytes, start, attr.end, attr.start) };
		case "int8":
			expect(1);
			return { type, value: view.getInt8(start) };
		case "int16":
			expect(2);
			return { type, value: view.getInt16(start) };
		case "int32":
			expect(4);
			return { type, value: view.getInt32(start) };
		case "int64":
			expect(8);
			return { type, value: view.getBigInt64(start) };
		case "double":
			expect(8);
			return { type, value: view.getFloat64(start) };
		case "unspec":
			return { type, value: bytes.slice(start, attr.end) };
		default:
			throw new UbusDecodeError("wrong-type", `unknown blobmsg type ${attr.id}`, attr.start);
	}
}

/** A C string filling [start, end): one NUL, at the end. Invalid UTF-8 becomes U+FFFD. */
export function decodeString(bytes: Uint8Array, start: number, end: number, at: number): string {
	if (end <= start || bytes[end - 1] !== 0)
		throw new UbusDecodeError("wrong-type", "string is not NUL-terminated", at);
	const text = bytes.subarray(start, end - 1);
	if (text.includes(0)) throw new UbusDecodeError("wrong-type", "string holds a NUL before its end", at);
	return utf8.decode(text);
}

/** Writes elements the way libubox's blobmsg_add_* lays them out. */
export function encodeFields(writer: BlobWriter, fields: readonly Field[]): void {
	for (const field of fields) encodeField(writer, field);
}

function encodeField(writer: BlobWriter, field: Field): void {
	const start = writer.begin(BLOBMSG_TYPES.indexOf(field.type), true);
	const name = cString(field.name, "element name");
	if (name.length - 1 > 0xffff)
		throw new UbusEncodeError(`element name of ${name.length - 1} bytes is too long`);
	writer.u16(name.length - 1);
	writer.bytes(name);
	writer.zeros(pad4(writer.length) - writer.length);
	switch (field.type) {
		case "array":
		case "table":
			encodeFields(writer, field.value);
			break;
		case "string":
			writer.bytes(cString(field.value, `string '${field.name}'`));
			break;
		case "int8":
			writer.u8(integer(field, -0x80, 0xff) & 0xff);
			break;
		case "int16":
			writer.u16(integer(field, -0x8000, 0xffff) & 0xffff);
			break;
		case "int32":
			writer.u32(integer(field, -0x80000000, 0xffffffff));
			break;
		case "int64":
			if (field.value < -(2n ** 63n) || field.value >= 2n ** 64n)
				throw new UbusEncodeError(`int64 '${field.name}' is out of range`);
			writer.i64(BigInt.asIntN(64, field.value));
			break;
		case "double":
			writer.f64(field.value);
			break;
		case "unspec":
			writer.bytes(field.value);
			break;
	}
	writer.end(start);
}

/** UTF-8 with a terminating NUL; a NUL inside would cut the string short for every C reader. */
export function cString(text: string, what: string): Uint8Array {
	if (text.includes("\0")) throw new UbusEncodeError(`${what} contains a NUL character`);
	const encoded = utf8Encoder.encode(text);
	const out = new Uint8Array(encoded.length + 1);
	out.set(encoded);
	return out;
}

function integer(field: { name: string; type: string; value: number }, min: number, max: number): number {
	if (!Number.isInteger(field.value) || field.value < min || field.value > max)
		throw new UbusEncodeError(`${field.type} '${field.name}' = ${field.value} is out of range`);
	return field.value;
}
