// Property tests of the codec: random nested values round-trip exactly; truncated, oversized,
// misaligned, wrong-type and randomly damaged frames come back as UbusDecodeError values, and
// nothing ever throws out of decoding.
import { describe, expect, test } from "bun:test";
import { BlobWriter } from "./blob";
import { type Field, MAX_DEPTH, type Typed } from "./blobmsg";
import { UbusDecodeError } from "./errors";
import { FrameReader } from "./frame-reader";
import { type DecodeResult, decodeMessage, encodeMessage, type Message, UBUS_MAX_MSGLEN } from "./message";
import { type Plain, plainFromTyped, tableFromPlain, tableToPlain } from "./plain";
import { capturedFrames } from "./testing/fixtures";
import { Random } from "./testing/random";

const SEEDS = [1, 2, 3, 42, 1234, 99991];

function randomTyped(r: Random, depth: number): Typed {
	const scalar = depth >= 4 || r.next() < 0.6;
	if (!scalar) {
		const type = r.pick(["array", "table"] as const);
		const value = Array.from({ length: r.int(0, 5) }, () => randomField(r, depth + 1, type === "array"));
		return { type, value };
	}
	switch (r.pick(["string", "int8", "int16", "int32", "int64", "double", "unspec"] as const)) {
		case "string":
			return { type: "string", value: r.text(12) };
		case "int8":
			return { type: "int8", value: r.int(-128, 127) };
		case "int16":
			return { type: "int16", value: r.int(-32768, 32767) };
		case "int32":
			return { type: "int32", value: r.int(-2147483648, 2147483647) };
		case "int64":
			return {
				type: "int64",
				value: BigInt.asIntN(64, (BigInt(r.int(0, 2 ** 32 - 1)) << 32n) | BigInt(r.int(0, 2 ** 32 - 1))),
			};
		case "double":
			return {
				type: "double",
				value: r.pick([0, -0, 1.5, -1e300, Number.NaN, Number.POSITIVE_INFINITY, r.next() * 1e6 - 5e5]),
			};
		default:
			return { type: "unspec", value: r.bytes(r.int(0, 9)) };
	}
}

function randomField(r: Random, depth: number, inArray: boolean): Field {
	return { name: inArray ? "" : r.text(8), ...randomTyped(r, depth) };
}

function randomPlain(r: Random, depth: number): Plain {
	if (depth < 4 && r.next() < 0.35) {
		if (r.bool()) return Array.from({ length: r.int(0, 4) }, () => randomPlain(r, depth + 1));
		return Object.fromEntries(
			Array.from({ length: r.int(0, 4) }, (_, i) => [`${r.text(6)}#${i}`, randomPlain(r, depth + 1)]),
		);
	}
	return r.pick([
		null,
		r.bool(),
		r.int(-2147483648, 2147483647),
		r.int(-(2 ** 52), 2 ** 52),
		r.next() * 1000 + 0.5,
		r.text(10),
		"",
		2n ** 63n - 1n,
		-(2n ** 63n),
	] satisfies Plain[]);
}

function invoke(data: Field[], seq = 7): Message {
	return { type: "INVOKE", seq, peer: 0x1234abcd, attrs: { objid: 0xdeadbeef, method: "call", data } };
}

/** Decoding returned a value: success, or a UbusDecodeError. */
function expectNoThrow(frame: Uint8Array): DecodeResult {
	let result: DecodeResult | undefined;
	expect(() => {
		result = decodeMessage(frame);
	}).not.toThrow();
	if (!result) throw new Error("unreachable");
	if (!result.ok) expect(result.error).toBeInstanceOf(UbusDecodeError);
	return result;
}

describe("blobmsg round trips", () => {
	for (const seed of SEEDS)
		test(`random nested typed values encode, decode and re-encode identically (seed ${seed})`, () => {
			const r = new Random(seed);
			for (let i = 0; i < 200; i++) {
				const data = Array.from({ length: r.int(0, 6) }, () => randomField(r, 0, false));
				const frame = encodeMessage(invoke(data, i));
				const result = decodeMessage(frame);
				if (!result.ok) throw result.error;
				expect(result.message.attrs.data).toEqual(data);
				expect(encodeMessage(result.message)).toEqual(frame);
				expect(frame.length % 4).toBe(0);
			}
		});

	for (const seed of SEEDS)
		test(`random JSON values survive the trip through blobmsg (seed ${seed})`, () => {
			const r = new Random(seed);
			for (let i = 0; i < 200; i++) {
				const value = randomPlain(r, 1);
				const table = { v: value };
				const result = decodeMessage(encodeMessage(invoke(tableFromPlain(table))));
				if (!result.ok) throw result.error;
				expect(tableToPlain(result.message.attrs.data ?? [])).toEqual(table);
			}
		});

	test("empty containers, empty strings and names, and multi-byte UTF-8 keep their exact form", () => {
		const data: Field[] = [
			{ name: "", type: "table", value: [] },
			{ name: "a", type: "array", value: [] },
			{ name: "ü✓😀", type: "string", value: "" },
			{
				name: "t",
				type: "table",
				value: [{ name: "x", type: "array", value: [{ name: "", type: "table", value: [] }] }],
			},
		];
		const result = decodeMessage(encodeMessage(invoke(data)));
		if (!result.ok) throw result.error;
		expect(result.message.attrs.data).toEqual(data);
		expect(plainFromTyped({ type: "table", value: data })).toEqual({
			"": {},
			a: [],
			"ü✓😀": "",
			t: { x: [{}] },
		});
	});
});

/** Writes an INVOKE whose DATA payload is exactly `payload` (raw bytes, not checked). */
function frameWithData(payload: (w: BlobWriter) => void): Uint8Array {
	const w = new BlobWriter();
	w.zeros(8);
	const outer = w.begin(0, false);
	const objid = w.begin(3, false);
	w.u32(0x1000);
	w.end(objid);
	const data = w.begin(7, false);
	payload(w);
	w.end(data);
	w.end(outer);
	const frame = w.finish().slice();
	frame[1] = 5; // INVOKE
	return frame;
}

function element(w: BlobWriter, type: number, name: string, value: () => void): void {
	const start = w.begin(type, true);
	w.u16(name.length);
	w.bytes(new TextEncoder().encode(`${name}\0`));
	w.zeros((4 - (w.length % 4)) % 4);
	value();
	w.end(start);
}

describe("hostile frames are rejected with a typed error", () => {
	const valid = capturedFrames().map((c) => c.frame);

	test("every truncation of every captured frame is an error value, not an exception", () => {
		for (const frame of valid)
			for (let cut = 0; cut < frame.length; cut++) {
				const result = expectNoThrow(frame.subarray(0, cut));
				expect(result.ok).toBe(false);
			}
	});

	for (const seed of SEEDS)
		test(`randomly damaged frames never throw out of decoding (seed ${seed})`, () => {
			const r = new Random(seed);
			for (let i = 0; i < 3000; i++) {
				const frame = valid[r.int(0, valid.length - 1)]?.slice() as Uint8Array;
				for (let flips = r.int(1, 4); flips > 0; flips--) frame[r.int(0, frame.length - 1)] = r.int(0, 255);
				expectNoThrow(frame);
			}
		});

	test("a wrong-sized int32 element is wrong-type, and the INVOKE's object id still decodes", () => {
		const frame = frameWithData((w) => element(w, 5, "id", () => w.u16(7)));
		const result = expectNoThrow(frame);
		expect(result.ok || result.error.code).toBe("wrong-type");
		expect(result.ok || result.attrs.objid).toBe(0x1000);
	});

	test("a message attribute of the wrong type (STATUS holding a string) is wrong-type", () => {
		const w = new BlobWriter();
		w.zeros(8);
		const outer = w.begin(0, false);
		const status = w.begin(1, false);
		w.bytes(new TextEncoder().encode("ok\0"));
		w.end(status);
		w.end(outer);
		const frame = w.finish().slice();
		frame[1] = 1;
		const result = expectNoThrow(frame);
		expect(result.ok || result.error.code).toBe("wrong-type");
	});

	test("a string without its NUL, and a name without its NUL, are rejected", () => {
		const noNul = frameWithData((w) => element(w, 3, "s", () => w.bytes(new TextEncoder().encode("abcd"))));
		expect(decodeMessage(noNul).ok || (decodeMessage(noNul) as { error: UbusDecodeError }).error.code).toBe(
			"wrong-type",
		);
		const badName = frameWithData((w) => {
			const start = w.begin(3, true);
			w.u16(8); // claims a longer name than the element holds
			w.bytes(new TextEncoder().encode("ab\0\0"));
			w.end(start);
		});
		const result = expectNoThrow(badName);
		expect(result.ok || result.error.code).toBe("bad-name");
	});

	test("padding that runs past its container, and stray bytes after the last element, are misaligned", () => {
		// an int8 element is 9 bytes; its container is cut to end right after it, before the padding
		const frame = frameWithData((w) => element(w, 7, "b", () => w.u8(1)));
		const view = new DataView(frame.buffer);
		// DATA is the second message attribute: header at 8 + 4 + 8
		const dataAt = 8 + 4 + 8;
		view.setUint32(dataAt, (view.getUint32(dataAt) & ~0xffffff) | (4 + 9));
		const outerLen = 4 + 8 + 4 + 9;
		view.setUint32(8, outerLen);
		const cut = frame.subarray(0, 8 + outerLen);
		const result = expectNoThrow(cut);
		expect(result.ok || result.error.code).toBe("misaligned");
		const stray = frameWithData((w) => {
			element(w, 5, "n", () => w.u32(1));
			w.u16(0xabcd); // 2 bytes that are no attribute
		});
		const strayResult = expectNoThrow(stray);
		expect(strayResult.ok || strayResult.error.code).toBe("misaligned");
	});

	test("a plain attribute inside blobmsg data is rejected", () => {
		const frame = frameWithData((w) => {
			const start = w.begin(5, false);
			w.u32(1);
			w.end(start);
		});
		const result = expectNoThrow(frame);
		expect(result.ok || result.error.code).toBe("bad-name");
	});

	test(`tables nested deeper than ${MAX_DEPTH} are too-deep, without exhausting the stack`, () => {
		const depth = 50_000;
		const frame = frameWithData((w) => {
			const open: number[] = [];
			for (let i = 0; i < depth; i++) {
				open.push(w.begin(2, true));
				w.u16(0);
				w.zeros(2);
			}
			for (let i = open.length - 1; i >= 0; i--) w.end(open[i] as number);
		});
		const result = expectNoThrow(frame);
		expect(result.ok || result.error.code).toBe("too-deep");
	});

	test("unknown versions and message types are bad-header", () => {
		const frame = valid[0]?.slice() as Uint8Array;
		frame[0] = 1;
		expect((expectNoThrow(frame) as { error: UbusDecodeError }).error.code).toBe("bad-header");
		frame[0] = 0;
		frame[1] = 200;
		expect((expectNoThrow(frame) as { error: UbusDecodeError }).error.code).toBe("bad-header");
	});
});

describe("framing", () => {
	const frames = capturedFrames().map((c) => c.frame);
	const stream = Buffer.concat(frames);

	function readAll(reader: FrameReader, chunks: Uint8Array[]) {
		return chunks.flatMap((chunk) => reader.push(chunk));
	}

	test("the captured stream split at every single byte gives back every frame", () => {
		const events = readAll(
			new FrameReader(),
			Array.from(stream, (b) => Uint8Array.of(b)),
		);
		expect(events.map((e) => (e.kind === "frame" ? Buffer.from(e.frame).toString("hex") : e.kind))).toEqual(
			frames.map((f) => Buffer.from(f).toString("hex")),
		);
	});

	for (const seed of SEEDS)
		test(`random read sizes give back every frame (seed ${seed})`, () => {
			const r = new Random(seed);
			const chunks: Uint8Array[] = [];
			for (let at = 0; at < stream.length; ) {
				const n = r.int(1, 300);
				chunks.push(stream.subarray(at, at + n));
				at += n;
			}
			const events = readAll(new FrameReader(), chunks);
			expect(events.length).toBe(frames.length);
		});

	test("a message just under ubusd's limit passes; one over it is skipped unbuffered and the next frame still arrives", () => {
		const big = (size: number) => invoke([{ name: "blob", type: "unspec", value: new Uint8Array(size) }]);
		const fits = encodeMessage(big(UBUS_MAX_MSGLEN - 64));
		expect(fits.length - 8).toBeLessThanOrEqual(UBUS_MAX_MSGLEN);
		// An oversize frame cannot be encoded; write its header by hand, then its body in pieces.
		const header = new Uint8Array(12);
		const view = new DataView(header.buffer);
		view.setUint8(1, 5);
		view.setUint16(2, 9);
		view.setUint32(4, 77);
		view.setUint32(8, UBUS_MAX_MSGLEN + 4);
		const reader = new FrameReader();
		const events = [
			...reader.push(fits.subarray(0, 1000)),
			...reader.push(fits.subarray(1000)),
			...reader.push(header),
			...reader.push(new Uint8Array(UBUS_MAX_MSGLEN / 2)),
			...reader.push(new Uint8Array(UBUS_MAX_MSGLEN / 2)),
			...reader.push(frames[3] as Uint8Array),
		];
		expect(events.map((e) => e.kind)).toEqual(["frame", "skipped", "frame"]);
		const skipped = events[1];
		expect(
			skipped?.kind === "skipped" && [skipped.error.code, skipped.header.seq, skipped.header.peer],
		).toEqual(["oversize", 9, 77]);
		expect(events[2]?.kind === "frame" && Buffer.from(events[2].frame)).toEqual(
			Buffer.from(frames[3] as Uint8Array),
		);
		expect(() => encodeMessage(big(UBUS_MAX_MSGLEN))).toThrow("exceeds ubusd's limit");
	});

	test("a length shorter than its own header breaks the stream (nothing after it can be found)", () => {
		const bad = Uint8Array.of(0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2);
		const events = new FrameReader().push(bad);
		expect(events.map((e) => e.kind)).toEqual(["broken"]);
	});
});
