import { describe, expect, test } from "bun:test";
import { type ConntrackEntry, CT_STATUS } from "../netlink/conntrack";
import { configFromSections } from "../ruleset/golden/scenario";
import { triggerSets } from "../ruleset/triggers";
import { belongsTo, busyOpenings, type LiveOpening, lookQueries } from "./activity";
import { refreshTransaction, sweepInterval } from "./keepalive";

const config = configFromSections({
	triggers: [
		{ id: "irc", name: "IRC", proto: "tcp", trigger_port: "6660-6669", open_port: ["113", "59000-59010"] },
		{
			id: "peer",
			name: "Peer",
			proto: "udp",
			trigger_port: "27015",
			open_proto: "udp",
			open_port: ["27100"],
			remote_only: "1",
		},
	],
});
const [irc, peer] = config.triggers;
if (!irc || !peer) throw new Error("the test config has two triggers");

const HOST = "192.168.1.10";
const REMOTE = "203.0.113.2";
const WAN = "203.0.113.1";

const held = (t: typeof irc, host: string, extra: Partial<LiveOpening["opening"]> = {}): LiveOpening => ({
	trigger: t,
	sets: triggerSets(t, 600),
	opening: { family: 4, host, timeout: 600, expires: 300, ...extra },
});
const ircOpening = held(irc, HOST);
const peerOpening = held(peer, HOST, { remote: REMOTE, timeout: 30 });

type Bytes = { orig: bigint; reply: bigint };
/** An outbound (masqueraded) connection of a LAN host. */
function outbound(
	src: string,
	dst: string,
	proto: number,
	dport: number,
	bytes?: Bytes,
	id = 1,
): ConntrackEntry {
	return {
		kind: "update",
		family: "ipv4",
		id,
		orig: { src, dst, proto, sport: 40000, dport },
		reply: { src: dst, dst: WAN, proto, sport: dport, dport: 40000 },
		status: CT_STATUS.CONFIRMED | CT_STATUS.SRC_NAT,
		...(bytes ? { bytes } : {}),
	};
}
/** An inbound connection to the router's WAN address, DNAT'ed to `host`. */
function inbound(
	src: string,
	host: string,
	proto: number,
	dport: number,
	status = 0,
	bytes?: Bytes,
	id = 2,
): ConntrackEntry {
	return {
		kind: "update",
		family: "ipv4",
		id,
		orig: { src, dst: WAN, proto, sport: 50000, dport },
		reply: { src: host, dst: src, proto, sport: dport, dport: 50000 },
		status: CT_STATUS.CONFIRMED | CT_STATUS.DST_NAT | status,
		...(bytes ? { bytes } : {}),
	};
}

describe("belongsTo", () => {
	test("the LAN host's trigger connection and the connections DNAT'ed to it through an open port", () => {
		expect(belongsTo(outbound(HOST, REMOTE, 6, 6667), ircOpening)).toBe(true);
		expect(belongsTo(inbound(REMOTE, HOST, 6, 59005), ircOpening)).toBe(true);
		expect(belongsTo(inbound(REMOTE, HOST, 6, 113), ircOpening)).toBe(true);
	});

	test("not another host's trigger connection, another port, another protocol, or an un-NATed inbound one", () => {
		expect(belongsTo(outbound("192.168.1.11", REMOTE, 6, 6667), ircOpening)).toBe(false);
		expect(belongsTo(outbound(HOST, REMOTE, 6, 6670), ircOpening)).toBe(false);
		expect(belongsTo(outbound(HOST, REMOTE, 17, 6667), ircOpening)).toBe(false);
		expect(belongsTo(inbound(REMOTE, "192.168.1.11", 6, 113), ircOpening)).toBe(false);
		const direct = { ...inbound(REMOTE, HOST, 6, 113), status: CT_STATUS.CONFIRMED };
		expect(belongsTo(direct, ircOpening)).toBe(false);
	});

	test("remote_only: only connections with the remote peer the opening is for", () => {
		expect(belongsTo(outbound(HOST, REMOTE, 17, 27015), peerOpening)).toBe(true);
		expect(belongsTo(outbound(HOST, "203.0.113.3", 17, 27015), peerOpening)).toBe(false);
		expect(belongsTo(inbound(REMOTE, HOST, 17, 27100), peerOpening)).toBe(true);
		expect(belongsTo(inbound("203.0.113.3", HOST, 17, 27100), peerOpening)).toBe(false);
	});
});

describe("busyOpenings", () => {
	const b = (orig: number, reply: number): Bytes => ({ orig: BigInt(orig), reply: BigInt(reply) });

	test("a connection whose bytes grew since the last look keeps its opening busy; unchanged bytes do not", () => {
		const first = busyOpenings([inbound(REMOTE, HOST, 6, 113, 0, b(100, 100))], [ircOpening], new Map());
		// Seen for the first time: no earlier count to compare with.
		expect(first.busy).toEqual([]);
		const grew = busyOpenings([inbound(REMOTE, HOST, 6, 113, 0, b(100, 160))], [ircOpening], first.counts);
		expect(grew.busy).toEqual([ircOpening]);
		const idle = busyOpenings([inbound(REMOTE, HOST, 6, 113, 0, b(100, 160))], [ircOpening], grew.counts);
		expect(idle.busy).toEqual([]);
	});

	test("an offloaded connection is busy at first sight, with or without byte counters", () => {
		const offloaded = outbound(HOST, REMOTE, 6, 6667);
		offloaded.status = (offloaded.status ?? 0) | CT_STATUS.OFFLOAD;
		expect(busyOpenings([offloaded], [ircOpening, peerOpening], new Map()).busy).toEqual([ircOpening]);
	});

	test("connections of nobody's opening are neither busy nor remembered", () => {
		const other = outbound("192.168.1.99", REMOTE, 6, 443, b(1, 1));
		expect(busyOpenings([other], [ircOpening], new Map()).counts.size).toBe(0);
	});
});

describe("lookQueries", () => {
	test("one dump of portrig-marked connections, one per LAN host and trigger protocol; none without openings", () => {
		const udpAndTcp = held({ ...irc, proto: ["tcp", "udp"] }, HOST);
		expect(lookQueries([ircOpening, udpAndTcp, held(irc, "192.168.1.11")])).toEqual([
			{ mark: { value: 0x4000, mask: 0x4000 } },
			{ origin: { family: "ipv4", src: HOST, proto: 6 } },
			{ origin: { family: "ipv4", src: HOST, proto: 17 } },
			{ origin: { family: "ipv4", src: "192.168.1.11", proto: 6 } },
		]);
		expect(lookQueries([])).toEqual([]);
	});
});

describe("keep-alive", () => {
	test("looks every third of the shortest timeout, at least every second; never without openings", () => {
		expect(sweepInterval([ircOpening, peerOpening])).toBe(10_000);
		expect(sweepInterval([held(irc, HOST, { timeout: 2 })])).toBe(1000);
		expect(sweepInterval([])).toBe(0);
	});

	test("re-arming deletes and re-adds map, key and owner elements with the full timeout, in that order", () => {
		expect(refreshTransaction([ircOpening]).script().trimEnd().split("\n")).toEqual([
			"delete element inet portrig tr_irc_4 { ipv4 }",
			"delete element inet portrig tr_irc_4k { ipv4 }",
			`delete element inet portrig tr_irc_4o { ipv4 . ${HOST} }`,
			`add element inet portrig tr_irc_4 { ipv4 timeout 600s expires 600s : ${HOST} }`,
			"add element inet portrig tr_irc_4k { ipv4 timeout 600s expires 600s }",
			`add element inet portrig tr_irc_4o { ipv4 . ${HOST} timeout 600s expires 600s }`,
		]);
	});
});
