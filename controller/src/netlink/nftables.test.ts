import { expect, test } from "bun:test";
import { encodeAttribute, parseMessages } from "./message";
import { parseNftChange } from "./nftables";

/** A notification as the kernel sends it: nlmsghdr, nfgenmsg {family, version, genid}, attributes. */
function notification(type: number, family: number, table: string): Uint8Array {
	const payload = Buffer.concat([
		Buffer.from([family, 0, 0, 7]),
		encodeAttribute(1, Buffer.from(`${table}\0`)),
		encodeAttribute(2, Buffer.from("ft\0")),
	]);
	const header = Buffer.alloc(16);
	header.writeUInt32LE(16 + payload.byteLength, 0);
	header.writeUInt16LE(type, 4);
	return Buffer.concat([header, payload]);
}

const change = (bytes: Uint8Array) => parseMessages(bytes).map(parseNftChange);

test("NEWTABLE, DELTABLE and flowtable notifications name the change, the family and the table", () => {
	expect(change(notification((10 << 8) | 0, 1, "fw4"))).toEqual([
		{ op: "new", object: "table", family: "inet", table: "fw4" },
	]);
	expect(change(notification((10 << 8) | 2, 1, "portrig"))).toEqual([
		{ op: "delete", object: "table", family: "inet", table: "portrig" },
	]);
	expect(change(notification((10 << 8) | 24, 1, "fw4"))).toEqual([
		{ op: "delete", object: "flowtable", family: "inet", table: "fw4" },
	]);
	expect(change(notification((10 << 8) | 0, 10, "x"))).toEqual([
		{ op: "new", object: "table", family: "ip6", table: "x" },
	]);
});

test("other nf_tables messages (rules, sets, generations) and other subsystems are no change", () => {
	expect(change(notification((10 << 8) | 6, 1, "fw4"))).toEqual([undefined]); // NEWRULE
	expect(change(notification((10 << 8) | 16, 1, "fw4"))).toEqual([undefined]); // NEWGEN
	expect(change(notification((1 << 8) | 0, 2, "fw4"))).toEqual([undefined]); // ctnetlink
});
