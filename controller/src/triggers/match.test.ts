import { describe, expect, test } from "bun:test";
import { type ConntrackEntry, CT_STATUS } from "../netlink/conntrack";
import { configFromSections } from "../ruleset/golden/scenario";
import { matchingTriggers, triggerPorts } from "./match";

const config = configFromSections({
	triggers: [
		{ id: "irc", name: "IRC", proto: "tcp", trigger_port: "6660-6669", open_port: ["113"] },
		{ id: "game", name: "Game", proto: "udp", trigger_port: "27015", open_port: ["27100"] },
		{
			id: "only",
			name: "Only",
			proto: "tcp udp",
			trigger_port: "6667",
			open_port: ["7000"],
			src_ip: ["192.168.1.10"],
		},
	],
});

const MASQUERADED = CT_STATUS.CONFIRMED | CT_STATUS.SRC_NAT;

function entry(src: string, dst: string, proto: number, dport: number, status = MASQUERADED): ConntrackEntry {
	const family = src.includes(":") ? "ipv6" : "ipv4";
	return {
		kind: "new",
		family,
		orig: { src, dst, proto, sport: 40000, dport },
		reply: { src: dst, dst: src, proto, sport: dport, dport: 40000 },
		status,
	};
}

const ids = (e: ConntrackEntry) => matchingTriggers(e, config.triggers).map((t) => t.id);

describe("matchingTriggers", () => {
	test("a masqueraded TCP connection to a trigger port matches every trigger on that port the host may use", () => {
		expect(ids(entry("192.168.1.10", "203.0.113.2", 6, 6667))).toEqual(["irc", "only"]);
		expect(ids(entry("192.168.1.11", "203.0.113.2", 6, 6667))).toEqual(["irc"]);
	});

	test("protocol and port must both fit", () => {
		expect(ids(entry("192.168.1.11", "203.0.113.2", 17, 6665))).toEqual([]);
		expect(ids(entry("192.168.1.11", "203.0.113.2", 17, 27015))).toEqual(["game"]);
		expect(ids(entry("192.168.1.11", "203.0.113.2", 6, 6670))).toEqual([]);
	});

	test("IPv4 without source NAT did not leave through the WAN: not a trigger connection", () => {
		expect(ids(entry("192.168.1.10", "192.168.1.11", 6, 6667, CT_STATUS.CONFIRMED))).toEqual([]);
	});

	test("IPv6 has no NAT: an allowed source is enough; src_ip compares canonical addresses", () => {
		expect(ids(entry("2001:db8:1::10", "2001:db8:ffff::2", 6, 6667, CT_STATUS.CONFIRMED))).toEqual(["irc"]);
		const v6only = configFromSections({
			triggers: [{ id: "x", name: "x", trigger_port: "21", open_port: ["20"], src_ip: ["2001:DB8:1:0::10"] }],
		});
		expect(
			matchingTriggers(entry("2001:db8:1::10", "2001:db8:ffff::2", 6, 21, 0), v6only.triggers).map(
				(t) => t.id,
			),
		).toEqual(["x"]);
	});
});

describe("triggerPorts", () => {
	test("every protocol and trigger port range of the triggers, once each, as IP protocol numbers", () => {
		expect(triggerPorts(config.triggers)).toEqual([
			{ proto: 6, from: 6660, to: 6669 },
			{ proto: 17, from: 27015, to: 27015 },
			{ proto: 6, from: 6667, to: 6667 },
			{ proto: 17, from: 6667, to: 6667 },
		]);
		expect(triggerPorts([...config.triggers, ...config.triggers])).toHaveLength(4);
	});
});
