// Every frame captured between a real ubusd and real clients decodes to the fixture's reference
// decoding and encodes back to the same bytes.
import { describe, expect, test } from "bun:test";
import type { Field, Typed } from "./blobmsg";
import { decodeMessage, encodeMessage, type Message, type MessageAttrs } from "./message";
import { type Plain, plainFromTyped } from "./plain";
import { type CapturedFrame, capturedFrames, type ReferenceTyped } from "./testing/fixtures";

/** Our typed value in the fixture's notation (int64 as a number, which all captured ones fit). */
function asReference(typed: Typed, name?: string): ReferenceTyped {
	const value =
		typed.type === "array" || typed.type === "table"
			? typed.value.map((f: Field) => asReference(f, f.name))
			: typed.type === "int64"
				? Number(typed.value)
				: typed.value;
	return name === undefined ? { type: typed.type, value } : { type: typed.type, value, name };
}

/** libubox prints int8 as a JSON boolean; the fixture's reference decoder prints the number. */
function int8AsNumber(plain: Plain, typed: Typed): Plain {
	if (typed.type === "int8") return typed.value;
	if (typed.type === "table")
		return Object.fromEntries(
			typed.value.map((f) => [f.name, int8AsNumber((plain as Record<string, Plain>)[f.name] ?? null, f)]),
		);
	if (typed.type === "array")
		return typed.value.map((f, i) => int8AsNumber((plain as Plain[])[i] ?? null, f));
	return plain;
}

function referenceAttrs(message: Message, captured: CapturedFrame): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [name, value] of Object.entries(message.attrs) as [keyof MessageAttrs, unknown][]) {
		const key = name.toUpperCase();
		if (name === "data" || name === "signature") {
			const table: Typed = { type: "table", value: value as Field[] };
			out[key] = { typed: asReference(table), json: int8AsNumber(plainFromTyped(table), table) };
		} else if (name === "subscribers") {
			// The reference decoder shows the first word of the nested list (the header of the
			// first id: id 0, length 8); the ids themselves are checked in their own test below.
			out[key] = captured.decoded.attrs[key];
		} else out[key] = value;
	}
	return out;
}

const frames = capturedFrames();

describe("captured ubusd frames", () => {
	test("the fixture holds frames of every scenario in both directions", () => {
		expect(frames.length).toBe(159);
		expect(new Set(frames.map((f) => f.scenario)).size).toBe(11);
		expect(frames.every((f) => f.frame.length === f.bytes)).toBe(true);
	});

	for (const captured of frames) {
		const label = `#${captured.index} ${captured.scenario} ${captured.dir} ${captured.decoded.type} seq ${captured.decoded.seq}`;
		test(`${label} decodes to the reference decoding and encodes back to the same bytes`, () => {
			const result = decodeMessage(captured.frame);
			if (!result.ok) throw result.error;
			const { message } = result;
			const header: Record<string, unknown> = {
				version: 0,
				type: message.type,
				seq: message.seq,
				peer: message.peer,
			};
			expect(header).toEqual({
				version: captured.decoded.version,
				type: captured.decoded.type,
				seq: captured.decoded.seq,
				peer: captured.decoded.peer,
			});
			expect(referenceAttrs(message, captured)).toEqual(captured.decoded.attrs);
			expect(Object.keys(message.attrs).map((k) => k.toUpperCase())).toEqual(
				Object.keys(captured.decoded.attrs),
			);
			expect(Buffer.from(encodeMessage(message)).toString("hex")).toBe(captured.hex);
		});
	}

	test("SUBSCRIBERS in a NOTIFY status lists the subscriber object ids ubusd knows", () => {
		const notifyStatus = frames.filter((f) => f.decoded.attrs.SUBSCRIBERS !== undefined);
		expect(notifyStatus.length).toBeGreaterThan(0);
		// The example server's subscriber object got this id in its ADD_OBJECT reply (frame #5).
		const subscriberId = frames[5]?.decoded.attrs.OBJID;
		expect(subscriberId).toBe(876866515);
		for (const captured of notifyStatus) {
			const result = decodeMessage(captured.frame);
			if (!result.ok) throw result.error;
			expect(result.message.attrs.subscribers).toEqual([subscriberId as number]);
		}
	});
});
