import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
	type ConntrackEntry,
	CT_MSG,
	CT_STATUS,
	dumpRequest,
	isConntrackMessage,
	parseConntrack,
} from "./conntrack";
import { errorCode, NetlinkFormatError, NLM_F, NLMSG, parseAttributes, parseMessages } from "./message";

// Datagrams recorded from the kernel by controller/test/fixtures/netlink/capture.ts (see its
// README): the traffic it made is known, so every field can be checked against it.
const FIXTURE = join(import.meta.dir, "../../test/fixtures/netlink/ctnetlink.jsonl");
const records = readFileSync(FIXTURE, "utf8")
	.trim()
	.split("\n")
	.slice(1)
	.map((line) => JSON.parse(line) as { what: "event" | "dump"; hex: string });
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
const messagesOf = (what: "event" | "dump") =>
	records.filter((r) => r.what === what).flatMap((r) => parseMessages(bytes(r.hex)));
const events = messagesOf("event").map(parseConntrack);
const dump = messagesOf("dump");

const TCP4 = { src: "10.77.0.1", dst: "10.77.0.1", proto: 6, sport: 40001, dport: 5001 };
const DNAT4 = { src: "10.77.0.1", dst: "10.77.0.1", proto: 6, sport: 40002, dport: 7000 };
const UDP6 = { src: "2001:db8:77::1", dst: "2001:db8:77::1", proto: 17, sport: 40003, dport: 5002 };
const ofTuple = (t: typeof TCP4) => (e: ConntrackEntry) => e.orig.sport === t.sport;

describe("ctnetlink messages captured from the kernel", () => {
	test("every datagram splits into whole messages and every event parses", () => {
		expect(events.length).toBeGreaterThanOrEqual(9);
		expect(new Set(events.map((e) => e.kind))).toEqual(new Set(["new", "update", "destroy"]));
	});

	test("a NEW event gives both tuples, id, mark, status, timeout and the TCP state", () => {
		const created = events.filter((e) => e.kind === "new" && ofTuple(TCP4)(e));
		expect(created).toHaveLength(1);
		const e = created[0] as ConntrackEntry;
		expect(e.family).toBe("ipv4");
		expect(e.orig).toEqual(TCP4);
		expect(e.reply).toEqual({ src: "10.77.0.1", dst: "10.77.0.1", proto: 6, sport: 5001, dport: 40001 });
		expect(e.mark).toBe(0x4000);
		expect(e.tcpState).toBe("syn_sent");
		expect(e.id).toBeGreaterThan(0);
		expect(e.timeout).toBeGreaterThan(0);
		expect((e.status ?? 0) & CT_STATUS.CONFIRMED).toBe(CT_STATUS.CONFIRMED);
	});

	test("a DNAT'ed connection's reply tuple comes from the new destination", () => {
		const e = events.find((x) => x.kind === "new" && ofTuple(DNAT4)(x));
		expect(e?.orig).toEqual(DNAT4);
		expect(e?.reply).toEqual({ src: "127.0.0.1", dst: "10.77.0.1", proto: 6, sport: 7001, dport: 40002 });
		expect((e?.status ?? 0) & CT_STATUS.DST_NAT).toBe(CT_STATUS.DST_NAT);
	});

	test("IPv6 addresses come out in RFC 5952 form, UDP has ports and no TCP state", () => {
		const e = events.find((x) => x.kind === "new" && x.family === "ipv6");
		expect(e?.orig).toEqual(UDP6);
		expect(e?.tcpState).toBeUndefined();
	});

	test("updates follow the TCP handshake and close, with the id of the NEW event", () => {
		const tcp = events.filter(ofTuple(TCP4));
		expect(new Set(tcp.map((e) => e.id)).size).toBe(1);
		expect(tcp.map((e) => e.tcpState)).toEqual(
			expect.arrayContaining(["syn_sent", "syn_recv", "established", "time_wait"]),
		);
	});

	test("DESTROY events name each of the three connections", () => {
		const destroyed = events.filter((e) => e.kind === "destroy");
		expect(destroyed.map((e) => e.orig.sport).sort()).toEqual([40001, 40002, 40003]);
	});

	test("a dump reply is a multi-part answer to our sequence number, ended by NLMSG_DONE", () => {
		expect(dump.every((m) => m.seq === 4242 && (m.flags & NLM_F.MULTI) !== 0)).toBe(true);
		expect(dump.at(-1)?.type).toBe(NLMSG.DONE);
		const entries = dump.filter(isConntrackMessage).map(parseConntrack);
		expect(entries.map((e) => e.orig.sport).sort()).toEqual([40001, 40002, 40003]);
	});
});

describe("netlink framing", () => {
	test("the dump request is IPCTNL_MSG_CT_GET with NLM_F_REQUEST|NLM_F_DUMP, family AF_UNSPEC", () => {
		const [m] = parseMessages(dumpRequest(7));
		expect(m).toMatchObject({ type: CT_MSG.GET, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 7 });
		expect(Array.from(m?.payload ?? [])).toEqual([0, 0, 0, 0]);
	});

	test("a dump request with a mark filter carries CTA_MARK and CTA_MARK_MASK, big-endian", () => {
		const [m] = parseMessages(dumpRequest(8, { value: 0x4000, mask: 0xc000 }));
		expect(m).toMatchObject({ type: CT_MSG.GET, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 8 });
		const attrs = parseAttributes(m?.payload.subarray(4) ?? new Uint8Array());
		expect(Array.from(attrs.get(8) ?? [])).toEqual([0, 0, 0x40, 0]);
		expect(Array.from(attrs.get(21) ?? [])).toEqual([0, 0, 0xc0, 0]);
	});

	test("a truncated datagram is refused, not half-read", () => {
		const whole = bytes(records[0]?.hex ?? "");
		expect(() => parseMessages(whole.subarray(0, whole.byteLength - 10))).toThrow(NetlinkFormatError);
	});

	test("an attribute longer than its container is refused", () => {
		expect(() => parseAttributes(new Uint8Array([40, 0, 1, 0, 0, 0, 0, 0]))).toThrow(NetlinkFormatError);
	});

	test("NLMSG_ERROR carries a negative errno", () => {
		const m = {
			type: NLMSG.ERROR,
			flags: 0,
			seq: 1,
			pid: 0,
			payload: new Uint8Array([0xf3, 0xff, 0xff, 0xff]),
		};
		expect(errorCode(m)).toBe(13);
	});
});
