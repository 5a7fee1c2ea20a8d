import { describe, expect, test } from "bun:test";
import { type Config, ForwardSection, GlobalsSection, TriggerSection } from "../config/schema";
import { type ConntrackEntry, CT_STATUS } from "../netlink/conntrack";
import { forwardElements } from "../ruleset/forwards";
import { CT_MARK } from "../ruleset/layout";
import { z } from "../zod";
import { countConnections, type OpeningKey } from "./counters";

// Entries are shaped as netlink/conntrack.ts parses the kernel's (its tests check that against
// captured messages): what matters here is which connections the ruleset's choices produce.

const REMOTE = "198.51.100.7";
const ROUTER = "203.0.113.1";
const PROTO = { tcp: 6, udp: 17 } as const;
const FORWARDED = CT_STATUS.CONFIRMED | CT_STATUS.SEEN_REPLY | CT_STATUS.ASSURED;

type Inbound = {
	proto?: keyof typeof PROTO;
	from?: string;
	sport?: number;
	/** The WAN port (IPv4) or the LAN host's port (IPv6). */
	port: number;
	/** Where the connection went: LAN host and port. */
	to: [string, number];
	mark?: number;
	status?: number;
	tcpState?: ConntrackEntry["tcpState"];
	kind?: ConntrackEntry["kind"];
};

/** A connection from the WAN to the router's address, DNAT'ed to `to` (IPv4). */
function dnat(c: Inbound): ConntrackEntry {
	const proto = PROTO[c.proto ?? "tcp"];
	const from = c.from ?? REMOTE;
	const sport = c.sport ?? 40000;
	const loopback = ((c.mark ?? 0) & CT_MARK.LOOPBACK) !== 0;
	return {
		kind: c.kind ?? "update",
		family: "ipv4",
		orig: { src: from, dst: ROUTER, proto, sport, dport: c.port },
		// NAT loopback is masqueraded too: the LAN host answers the router.
		reply: { src: c.to[0], dst: loopback ? "192.168.1.1" : from, proto, sport: c.to[1], dport: sport },
		status: c.status ?? FORWARDED | CT_STATUS.DST_NAT | (loopback ? CT_STATUS.SRC_NAT : 0),
		mark: c.mark ?? CT_MARK.ACCEPT,
		...(proto === 6 ? { tcpState: c.tcpState ?? "established" } : {}),
	};
}

/** An IPv6 connection from the WAN straight to the LAN host (no NAT). */
function direct6(c: Omit<Inbound, "to"> & { to: string }): ConntrackEntry {
	const proto = PROTO[c.proto ?? "tcp"];
	const from = c.from ?? "2001:db8:ffff::2";
	const sport = c.sport ?? 40000;
	return {
		kind: c.kind ?? "update",
		family: "ipv6",
		orig: { src: from, dst: c.to, proto, sport, dport: c.port },
		reply: { src: c.to, dst: from, proto, sport: c.port, dport: sport },
		status: c.status ?? FORWARDED,
		mark: c.mark ?? CT_MARK.ACCEPT,
		...(proto === 6 ? { tcpState: c.tcpState ?? "established" } : {}),
	};
}

type Sections = Record<string, Record<string, unknown>>;

function configOf(
	forwards: Sections,
	triggers: Sections = {},
	globals: Record<string, unknown> = {},
): Config {
	return {
		globals: z.decode(GlobalsSection, globals as never),
		forwards: Object.entries(forwards).map(([id, f]) => ({ id, ...z.decode(ForwardSection, f as never) })),
		triggers: Object.entries(triggers).map(([id, t]) => ({ id, ...z.decode(TriggerSection, t as never) })),
		dmz: { enabled: false, exclude_port: [] },
	};
}

/** Counts as the daemon does: the ruleset's own list of left-out forwards. */
function count(config: Config, entries: ConntrackEntry[], openings: OpeningKey[] = []) {
	const skipped = forwardElements(config).skipped.map((s) => s.id);
	return countConnections(entries, { config, skipped, openings });
}

const many = (n: number, make: (i: number) => ConntrackEntry) => Array.from({ length: n }, (_, i) => make(i));

describe("forwards", () => {
	const config = configOf({
		web: { proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.10", dest_port: "80" },
		game: { proto: "tcp udp", src_dport: "27015", dest_ip: "192.168.1.11" },
		idle: { proto: "tcp", src_dport: "2222", dest_ip: "192.168.1.10", dest_port: "22" },
	});

	test("each live connection DNAT'ed to a forward's LAN host and port counts for it; idle forwards show 0", () => {
		const entries = [
			...many(5, (i) => dnat({ port: 8080, sport: 40000 + i, to: ["192.168.1.10", 80] })),
			dnat({ proto: "udp", port: 27015, to: ["192.168.1.11", 27015] }),
			dnat({ proto: "tcp", port: 27015, to: ["192.168.1.11", 27015] }),
		];
		expect(count(config, entries)).toEqual({ forwards: { web: 5, game: 2, idle: 0 }, triggers: {} });
	});

	test("the same config asked again, then a changed one, and other left-out forwards: each counted as it is", () => {
		const web = [dnat({ port: 8080, to: ["192.168.1.10", 80] })];
		const input = { config, skipped: [], openings: [] };
		expect(countConnections(web, input).forwards.web).toBe(1);
		expect(countConnections(web, input).forwards.web).toBe(1);
		expect(countConnections(web, { ...input, skipped: ["web"] }).forwards.web).toBe(0);
		const moved = configOf({
			web: { proto: "tcp", src_dport: "8081", dest_ip: "192.168.1.10", dest_port: "80" },
		});
		expect(countConnections(web, { ...input, config: moved }).forwards.web).toBe(0);
		const there = [dnat({ port: 8081, to: ["192.168.1.10", 80] })];
		expect(countConnections(there, { ...input, config: moved }).forwards.web).toBe(1);
	});

	test("connections that ended (TIME_WAIT, CLOSE, dying, destroyed) are not live", () => {
		const entries = [
			dnat({ port: 8080, to: ["192.168.1.10", 80], tcpState: "time_wait" }),
			dnat({ port: 8080, to: ["192.168.1.10", 80], tcpState: "close" }),
			dnat({ port: 8080, to: ["192.168.1.10", 80], status: FORWARDED | CT_STATUS.DST_NAT | CT_STATUS.DYING }),
			dnat({ port: 8080, to: ["192.168.1.10", 80], kind: "destroy" }),
			dnat({ port: 8080, to: ["192.168.1.10", 80], tcpState: "syn_sent" }),
			dnat({ port: 8080, to: ["192.168.1.10", 80], tcpState: "close_wait" }),
		];
		expect(count(config, entries).forwards.web).toBe(2);
	});

	test("only what portrig forwarded counts: without its mark (an fw4 redirect) or to another host, nothing", () => {
		const entries = [
			dnat({ port: 8080, to: ["192.168.1.10", 80], mark: 0 }),
			dnat({ port: 8080, to: ["192.168.1.10", 80], mark: 0x00ff0000 }),
			// the port of the forward, but sent elsewhere (e.g. before the forward changed)
			dnat({ port: 8080, to: ["192.168.1.12", 80] }),
			dnat({ port: 8080, to: ["192.168.1.10", 8080] }),
			// to the router itself: not DNAT'ed
			dnat({ port: 8080, to: [ROUTER, 8080], status: FORWARDED }),
		];
		expect(count(config, entries).forwards).toEqual({ web: 0, game: 0, idle: 0 });
	});

	test("a remapped range counts a connection only at the LAN port its WAN port maps to", () => {
		const c = configOf({
			range: { proto: "tcp", src_dport: "5000-5010", dest_ip: "192.168.1.12", dest_port: "6000-6010" },
			kept: { proto: "udp", src_dport: "7000-7100", dest_ip: "192.168.1.13" },
		});
		const entries = [
			dnat({ port: 5003, to: ["192.168.1.12", 6003] }),
			dnat({ port: 5010, to: ["192.168.1.12", 6010] }),
			dnat({ port: 5003, to: ["192.168.1.12", 6004] }),
			dnat({ proto: "udp", port: 7042, to: ["192.168.1.13", 7042] }),
			dnat({ proto: "tcp", port: 7042, to: ["192.168.1.13", 7042] }),
		];
		expect(count(c, entries).forwards).toEqual({ range: 2, kept: 1 });
	});

	const office = {
		proto: "tcp",
		src_dport: "8443",
		dest_ip: "192.168.1.13",
		dest_port: "443",
		src_ip: ["198.51.100.0/24"],
	};
	const publicToo = { proto: "tcp", src_dport: "8443", dest_ip: "192.168.1.13", dest_port: "443" };

	test("a source-restricted forward counts its sources' connections; the unrestricted one on its port the rest", () => {
		const c = configOf({ office, public: publicToo });
		const entries = [
			dnat({ from: "198.51.100.7", port: 8443, to: ["192.168.1.13", 443] }),
			dnat({ from: "198.51.100.200", port: 8443, to: ["192.168.1.13", 443] }),
			dnat({ from: "192.0.2.1", port: 8443, to: ["192.168.1.13", 443] }),
		];
		expect(count(c, entries).forwards).toEqual({ office: 2, public: 1 });
		// alone, the restricted forward does not get connections from elsewhere (e.g. the DMZ's)
		expect(count(configOf({ office }), entries).forwards).toEqual({ office: 2 });
	});

	test("NAT loopback connections count for a reflecting forward, unrestricted ones first", () => {
		const c = configOf({
			office,
			public: publicToo,
			noloop: { proto: "tcp", src_dport: "9000", dest_ip: "192.168.1.10", reflection: "0" },
		});
		const loopback = CT_MARK.ACCEPT | CT_MARK.LOOPBACK;
		const entries = [
			dnat({ from: "192.168.1.20", port: 8443, to: ["192.168.1.13", 443], mark: loopback }),
			dnat({ from: "192.168.1.20", port: 9000, to: ["192.168.1.10", 9000], mark: loopback }),
		];
		expect(count(c, entries).forwards).toEqual({ office: 0, public: 1, noloop: 0 });
	});

	test("an IPv6 forward counts connections to its LAN host's address and port, however the address is written", () => {
		const c = configOf({
			cam: { proto: "tcp", src_dport: "554", dest_ip: "2001:DB8:1:0:0:0:0:30" },
			other: { proto: "tcp", src_dport: "554", dest_ip: "2001:db8:1::31" },
		});
		const entries = [
			...many(3, (i) => direct6({ port: 554, sport: 41000 + i, to: "2001:db8:1::30" })),
			direct6({ port: 554, to: "2001:db8:1::31" }),
			direct6({ port: 555, to: "2001:db8:1::30" }),
			direct6({ port: 554, to: "2001:db8:1::30", mark: 0 }),
		];
		expect(count(c, entries).forwards).toEqual({ cam: 3, other: 1 });
	});

	test("a forward that is disabled, left out for an overlap, or under a disabled portrig counts nothing", () => {
		const c = configOf({
			web: { proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.10", dest_port: "80" },
			clash: { proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.10", dest_port: "80" },
			off: { proto: "tcp", src_dport: "7777", dest_ip: "192.168.1.10", enabled: "0" },
		});
		const entries = [
			dnat({ port: 8080, to: ["192.168.1.10", 80] }),
			dnat({ port: 7777, to: ["192.168.1.10", 7777] }),
		];
		expect(count(c, entries).forwards).toEqual({ web: 1, clash: 0, off: 0 });
		const disabled = { ...c, globals: { ...c.globals, enabled: false } };
		expect(count(disabled, entries).forwards).toEqual({ web: 0, clash: 0, off: 0 });
	});
});

describe("triggers", () => {
	const config = configOf(
		{ web: { proto: "tcp", src_dport: "7000", dest_ip: "192.168.1.12" } },
		{
			irc: { name: "IRC", trigger_port: "6667", open_port: ["7000", "59000-59002"] },
			game: { name: "Game", trigger_port: "27015", open_proto: "udp", open_port: ["27100"] },
			peer: { name: "Peer", trigger_port: "6700", open_port: ["7100"], remote_only: "1" },
			quiet: { name: "Quiet", trigger_port: "6800", open_port: ["7200"] },
		},
	);
	const openings: OpeningKey[] = [
		{ trigger: "irc", host: "192.168.1.10" },
		{ trigger: "irc", host: "2001:db8:1::10" },
		{ trigger: "game", host: "192.168.1.11" },
		{ trigger: "peer", host: "192.168.1.10", remote: "198.51.100.9" },
	];

	test("inbound connections through a trigger's openings count as its connections, beside its openings", () => {
		const entries = [
			dnat({ port: 59001, to: ["192.168.1.10", 59001] }),
			dnat({ port: 59002, sport: 40001, to: ["192.168.1.10", 59002] }),
			direct6({ port: 59000, to: "2001:db8:1::10" }),
			dnat({ proto: "udp", port: 27100, to: ["192.168.1.11", 27100] }),
		];
		expect(count(config, entries, openings).triggers).toEqual({
			irc: { connections: 3, openings: 2 },
			game: { connections: 1, openings: 1 },
			peer: { connections: 0, openings: 1 },
			quiet: { connections: 0, openings: 0 },
		});
	});

	test("a connection not sent to the opening's host, without an opening, or of another protocol is not the trigger's", () => {
		const entries = [
			dnat({ port: 59001, to: ["192.168.1.11", 59001] }),
			direct6({ port: 59000, to: "2001:db8:1::11" }),
			dnat({ port: 7200, to: ["192.168.1.10", 7200] }),
			dnat({ proto: "tcp", port: 27100, to: ["192.168.1.11", 27100] }),
			dnat({ port: 59001, to: ["192.168.1.10", 59001], mark: CT_MARK.ACCEPT | CT_MARK.LOOPBACK }),
		];
		const { triggers } = count(config, entries, openings);
		expect(Object.values(triggers).map((t) => t.connections)).toEqual([0, 0, 0, 0]);
	});

	test("a remote-only opening counts only connections from its remote", () => {
		const entries = [
			dnat({ from: "198.51.100.9", port: 7100, to: ["192.168.1.10", 7100] }),
			dnat({ from: "198.51.100.10", port: 7100, to: ["192.168.1.10", 7100] }),
		];
		expect(count(config, entries, openings).triggers.peer).toEqual({ connections: 1, openings: 1 });
	});

	test("a port a forward takes counts for the forward, never for a trigger that opens it too", () => {
		const entries = [dnat({ port: 7000, to: ["192.168.1.12", 7000] })];
		const counters = count(config, entries, openings);
		expect(counters.forwards.web).toBe(1);
		expect(counters.triggers.irc?.connections).toBe(0);
	});
});

test("is pure: the same dump and config give the same counters", () => {
	const config = configOf({ web: { proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.10" } });
	const entries = [dnat({ port: 8080, to: ["192.168.1.10", 8080] })];
	expect(count(config, entries)).toEqual(count(config, entries));
	expect(count(config, [])).toEqual({ forwards: { web: 0 }, triggers: {} });
});
