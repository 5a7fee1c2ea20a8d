// The edit dialogs check a forward or trigger against the other entries with the rules the
// daemon applies to the whole config (controller/src/config/rules.ts): for each candidate entry,
// the daemon's rules run on the config with the candidate added, and portrig.common's checks run
// on the candidate beside the others; both must find a problem in the same cases, on the same
// fields of the candidate.
import { afterAll, describe, expect, test } from "bun:test";
import { checkRules } from "../../controller/src/config/rules";
import {
	type Config,
	DmzSection,
	ForwardSection,
	GlobalsSection,
	TriggerSection,
} from "../../controller/src/config/schema";
import { z } from "../../controller/src/zod";
import { type Entry, loadCommon } from "./app";
import { installFormat } from "./luci-loader";

const uninstall = installFormat();
afterAll(uninstall);
const common = loadCommon();

const FORWARDS: Entry[] = [
	{ id: "web", name: "Web", enabled: "1", proto: "tcp", src_dport: "80", dest_ip: "192.168.1.10" },
	{ id: "games", enabled: "1", proto: "tcp udp", src_dport: "27000-27015", dest_ip: "192.168.1.11" },
	{ id: "off", enabled: "0", proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.12" },
	{ id: "v6web", enabled: "1", proto: "tcp", src_dport: "443", dest_ip: "2001:db8:1::10" },
];

const TRIGGERS: Entry[] = [
	{
		id: "irc",
		name: "IRC DCC",
		proto: "tcp",
		trigger_port: "6660-6669",
		open_proto: "tcp",
		open_port: ["113", "59000-59010"],
	},
	{
		id: "voip",
		name: "VoIP",
		enabled: "0",
		trigger_port: "5060",
		open_proto: "udp",
		open_port: ["16384-16482"],
	},
];

function decode<T>(schema: z.core.$ZodType<T>, entry: Entry): T & { id: string } {
	const { id, ...values } = entry;
	return { ...z.decode(schema, values), id: id ?? "cand" };
}

function configOf(forwards: Entry[], triggers: Entry[]): Config {
	return {
		globals: z.decode(GlobalsSection, {}),
		forwards: forwards.map((f) => decode(ForwardSection, f)),
		triggers: triggers.map((t) => decode(TriggerSection, t)),
		dmz: z.decode(DmzSection, {}),
	};
}

/** The fields of the candidate the daemon objects to (a clash it reports on the other entry counts on `clashField`). */
function daemonFields(
	forwards: Entry[],
	triggers: Entry[],
	candidateId: string,
	clashField: string,
): string[] {
	const findings = checkRules({ config: configOf(forwards, triggers), label: (id) => id });
	return [...new Set(findings.map((f) => (f.id === candidateId ? (f.option ?? "") : clashField)))].sort();
}

const pageFields = (problems: { field: string }[]) => [...new Set(problems.map((p) => p.field))].sort();

test("the entries the candidates are checked against are themselves a valid config", () => {
	expect(checkRules({ config: configOf(FORWARDS, TRIGGERS), label: (id) => id })).toEqual([]);
});

const FORWARD_CANDIDATES: [string, Entry][] = [
	[
		"a WAN range over another forward's port",
		{ proto: "tcp udp", src_dport: "70-90", dest_ip: "192.168.1.20" },
	],
	["the same port for another protocol", { proto: "udp", src_dport: "80", dest_ip: "192.168.1.20" }],
	["the port of a disabled forward", { proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.20" }],
	["an IPv4 port an IPv6 pinhole also opens", { proto: "tcp", src_dport: "443", dest_ip: "192.168.1.20" }],
	["two IPv6 pinholes on one port", { proto: "tcp", src_dport: "443", dest_ip: "fd00::5" }],
	[
		"a disabled forward on a taken port",
		{ enabled: "0", proto: "tcp", src_dport: "80", dest_ip: "192.168.1.20" },
	],
	[
		"a LAN range shorter than the WAN range",
		{ src_dport: "6000-6010", dest_ip: "192.168.1.20", dest_port: "7000-7005" },
	],
	["one LAN port for a WAN range", { src_dport: "6000-6010", dest_ip: "192.168.1.20", dest_port: "22" }],
	[
		"a LAN range as long as the WAN range",
		{ src_dport: "6000-6010", dest_ip: "192.168.1.20", dest_port: "7000-7010" },
	],
	["an IPv6 forward changing the port", { src_dport: "8443", dest_ip: "2001:db8:1::20", dest_port: "443" }],
	["an IPv6 forward keeping the port", { src_dport: "8443", dest_ip: "2001:db8:1::20", dest_port: "8443" }],
	[
		"an IPv6 source for an IPv4 host",
		{ src_dport: "2222", dest_ip: "192.168.1.20", src_ip: ["198.51.100.0/24", "2001:db8::/32"] },
	],
	[
		"an IPv4 source for an IPv6 host",
		{ src_dport: "2222", dest_ip: "2001:db8:1::20", src_ip: ["198.51.100.7"] },
	],
	["a port a trigger opens", { proto: "tcp", src_dport: "113", dest_ip: "192.168.1.20" }],
	[
		"a port a trigger opens, for another protocol",
		{ proto: "udp", src_dport: "113", dest_ip: "192.168.1.20" },
	],
	[
		"a range over a trigger's open range",
		{ proto: "tcp", src_dport: "59005-60000", dest_ip: "192.168.1.20" },
	],
	["a port a disabled trigger opens", { proto: "udp", src_dport: "16400", dest_ip: "192.168.1.20" }],
	["an existing forward saved unchanged", { ...FORWARDS[0], id: "web" }],
	["an existing forward moved onto another's port", { ...FORWARDS[0], id: "web", src_dport: "27001" }],
];

describe("a forward: the dialog's checks and the daemon's rules agree", () => {
	test.each(FORWARD_CANDIDATES)("%s", (_label, candidate) => {
		const id = candidate.id ?? "cand";
		const forwards = [...FORWARDS.filter((f) => f.id !== id), { ...candidate, id }];
		const expected = daemonFields(forwards, TRIGGERS, id, "src_dport");
		const others = { forwards: FORWARDS, triggers: TRIGGERS };
		expect(pageFields(common.forwardProblems({ ...candidate, id: candidate.id }, others))).toEqual(expected);
	});

	test("the samples include accepted and refused candidates", () => {
		const refused = FORWARD_CANDIDATES.filter(([, c]) => {
			const id = c.id ?? "cand";
			return daemonFields([...FORWARDS.filter((f) => f.id !== id), { ...c, id }], TRIGGERS, id, "src_dport")
				.length;
		});
		expect(refused.length).toBeGreaterThan(3);
		expect(refused.length).toBeLessThan(FORWARD_CANDIDATES.length - 3);
	});
});

const TRIGGER_CANDIDATES: [string, Entry][] = [
	["a name another trigger has", { name: "IRC DCC", trigger_port: "7000", open_port: ["7001"] }],
	["a fresh name", { name: "Game", trigger_port: "7000", open_port: ["7001"] }],
	["open ports listed twice", { name: "Game", trigger_port: "7000", open_port: ["7001", "7000-7005"] }],
	[
		"an open port a forward takes",
		{ name: "Game", trigger_port: "7000", open_proto: "tcp", open_port: ["80"] },
	],
	[
		"an open port a forward takes for another protocol",
		{ name: "Game", trigger_port: "7000", open_proto: "udp", open_port: ["80"] },
	],
	[
		"an open range over a forward's range",
		{ name: "Game", trigger_port: "7000", open_proto: "udp", open_port: ["27010-27100"] },
	],
	["an open port a disabled forward has", { name: "Game", trigger_port: "7000", open_port: ["8080"] }],
	["an open port of an IPv6 pinhole", { name: "Game", trigger_port: "7000", open_port: ["443"] }],
	["an open port another trigger opens", { name: "Game", trigger_port: "7000", open_port: ["59005"] }],
	[
		"an open port another trigger opens, for another protocol",
		{ name: "Game", trigger_port: "7000", open_proto: "udp", open_port: ["59005"] },
	],
	[
		"an open port a disabled trigger opens",
		{ name: "Game", trigger_port: "7000", open_proto: "udp", open_port: ["16400"] },
	],
	[
		"a disabled trigger on taken ports",
		{ name: "Game", enabled: "0", trigger_port: "7000", open_port: ["80", "59005"] },
	],
	["an existing trigger saved unchanged", { ...TRIGGERS[0], id: "irc" }],
	["an existing trigger renamed to another's name", { ...TRIGGERS[0], id: "irc", name: "VoIP" }],
];

describe("a trigger: the dialog's checks and the daemon's rules agree", () => {
	test.each(TRIGGER_CANDIDATES)("%s", (_label, candidate) => {
		const id = candidate.id ?? "cand";
		const triggers = [...TRIGGERS.filter((t) => t.id !== id), { ...candidate, id }];
		const expected = daemonFields(FORWARDS, triggers, id, "open_port");
		const others = { forwards: FORWARDS, triggers: TRIGGERS };
		expect(pageFields(common.triggerProblems({ ...candidate, id: candidate.id }, others))).toEqual(expected);
	});
});

describe("the DMZ: the page and the daemon agree", () => {
	test.each([
		["enabled without a host", { enabled: "1" }],
		["enabled with a host", { enabled: "1", dest_ip: "192.168.1.50" }],
		["disabled without a host", { enabled: "0" }],
	] as [string, Record<string, string>][])("%s", (_label, dmz) => {
		const config = { ...configOf(FORWARDS, TRIGGERS), dmz: z.decode(DmzSection, dmz) };
		const expected = checkRules({ config, label: (id) => id, dmzId: "dmz" }).map((f) => f.option);
		expect(common.dmzProblems(dmz).map((p) => p.field)).toEqual(expected as string[]);
	});
});
