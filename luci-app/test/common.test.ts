// portrig.common, the logic the views share, loaded as LuCI loads it.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../controller/src/config/load";
import { loadCommon } from "./app";
import { installFormat, requiresOf } from "./luci-loader";

const uninstall = installFormat();
afterAll(uninstall);
const common = loadCommon();

describe("field rules", () => {
	test("optional() accepts an empty value and still checks anything else", () => {
		const port = common.optional(common.validatePortRange);
		expect(port("")).toBe(true);
		expect(port("  ")).toBe(true);
		expect(port("80")).toBe(true);
		expect(port("0")).toBe("port 0 is out of range (1-65535)");
	});

	test("a trigger's name must differ from the other triggers' names, not from its own", () => {
		const others = {
			triggers: [
				{ id: "irc", name: "IRC DCC" },
				{ id: "game", name: "Game" },
			],
		};
		const nameProblem = (values: Record<string, string>) =>
			common.problemOf(common.triggerProblems(values, others), "name");
		expect(nameProblem({ id: "irc", name: "IRC DCC" })).toBe(true);
		expect(nameProblem({ id: "game", name: " IRC DCC " })).toBe("a trigger named 'IRC DCC' exists already");
		expect(nameProblem({ name: "IRC DCC" })).toBe("a trigger named 'IRC DCC' exists already");
		expect(nameProblem({ name: "Voice" })).toBe(true);
	});
});

describe("rules across entries", () => {
	const others = {
		forwards: [
			{ id: "web", name: "Web", enabled: "1", proto: "tcp", src_dport: "80", dest_ip: "192.168.1.10" },
			{ id: "games", enabled: "1", proto: "tcp udp", src_dport: "27000-27015", dest_ip: "192.168.1.11" },
		],
		triggers: [{ id: "irc", name: "IRC DCC", open_proto: "tcp", open_port: ["113", "59000-59010"] }],
	};

	test("a clash names the ports both share and the entry that has them", () => {
		expect(
			common.forwardProblems({ proto: "tcp udp", src_dport: "70-90", dest_ip: "192.168.1.20" }, others),
		).toEqual([{ field: "src_dport", message: "TCP 80 is already forwarded by Web" }]);
		expect(
			common.forwardProblems({ proto: "udp", src_dport: "27010", dest_ip: "192.168.1.20" }, others),
		).toEqual([{ field: "src_dport", message: "UDP 27010 is already forwarded by TCP+UDP 27000-27015" }]);
		expect(
			common.forwardProblems({ proto: "tcp", src_dport: "100-200", dest_ip: "192.168.1.20" }, others),
		).toEqual([
			{
				field: "src_dport",
				message: "TCP 113 is opened by trigger IRC DCC: a forward cannot take a port a trigger opens",
			},
		]);
	});

	test("a remapped range must be as long as the WAN range", () => {
		const problems = common.forwardProblems(
			{ src_dport: "6000-6010", dest_ip: "192.168.1.20", dest_port: "7000-7005" },
			others,
		);
		expect(common.problemOf(problems, "dest_port")).toBe(
			"7000-7005 holds 6 port(s) but the WAN port(s) 6000-6010 hold 11: a remapped range maps port by port",
		);
	});

	test("a source of the other address family is named with its list position", () => {
		expect(
			common.forwardProblems(
				{ src_dport: "22", dest_ip: "192.168.1.20", src_ip: ["10.0.0.0/8", "2001:db8::/32"] },
				others,
			),
		).toEqual([
			{
				field: "src_ip",
				item: 1,
				message: "2001:db8::/32 is IPv6 but the LAN host is IPv4: it could never connect",
			},
		]);
	});

	test("fields that do not parse are left to their own validators", () => {
		expect(
			common.forwardProblems({ proto: "tcp", src_dport: "eighty", dest_ip: "192.168.1.20" }, others),
		).toEqual([]);
		expect(
			common.forwardProblems({ src_dport: "22", dest_ip: "nowhere", src_ip: ["2001:db8::1"] }, others),
		).toEqual([]);
	});

	test("a trigger's open ports may not overlap each other", () => {
		expect(common.triggerProblems({ name: "X", open_port: ["7001", "7000-7005"] }, others)).toEqual([
			{ field: "open_port", item: 1, message: "7000-7005 overlaps 7001, which this trigger opens already" },
		]);
	});

	test("a field validator gives the value's own problem first, else the first problem across entries that names the field", () => {
		const validate = common.fieldValidator(
			common.validatePortRange,
			() => [
				{ field: "name", message: "not this one" },
				{ field: "src_dport", message: "TCP 80 is already forwarded by Web" },
				{ field: "src_dport", message: "not the second either" },
			],
			"src_dport",
		);
		expect(validate("cfg01", "eighty")).toBe("'eighty' is not a port or port range (e.g. 80 or 6660-6669)");
		expect(validate("cfg01", "80")).toBe("TCP 80 is already forwarded by Web");
		const clean = common.fieldValidator(
			common.validatePortRange,
			() => [{ field: "name", message: "x" }],
			"src_dport",
		);
		expect(clean("cfg01", "80")).toBe(true);
	});

	test("an enabled DMZ needs a host", () => {
		expect(common.problemOf(common.dmzProblems({ enabled: "1", dest_ip: "" }), "dest_ip")).toBe(
			"is required when the DMZ is enabled",
		);
		expect(common.dmzProblems({ enabled: "0" })).toEqual([]);
	});

	test("a forward is called by its name, else by protocol and WAN port", () => {
		expect(common.forwardTitle(others.forwards[0] ?? {})).toBe("Web");
		expect(common.forwardTitle(others.forwards[1] ?? {})).toBe("TCP+UDP 27000-27015");
	});
});

describe("API arguments", () => {
	const values = {
		name: " Web ",
		enabled: "1",
		proto: "tcp",
		src_dport: "80",
		dest_ip: "192.168.1.10",
		dest_port: "",
		src_ip: ["198.51.100.0/24", " ", ""],
		reflection: "0",
	};

	test("an add sends the given fields trimmed and leaves empty ones out", () => {
		expect(common.sectionArgs(common.FORWARD_FIELDS, values, false)).toEqual({
			name: "Web",
			enabled: "1",
			proto: "tcp",
			src_dport: "80",
			dest_ip: "192.168.1.10",
			src_ip: ["198.51.100.0/24"],
			reflection: "0",
		});
	});

	test("an update sends empty fields as null, which removes the option", () => {
		const args = common.sectionArgs(common.FORWARD_FIELDS, { ...values, src_ip: [] }, true);
		expect(args.dest_port).toBeNull();
		expect(args.src_ip).toBeNull();
		expect(args.src_dport).toBe("80");
	});

	test("fields the form does not know are never sent", () => {
		expect(
			common.sectionArgs(["name"], { name: "x", ".name": "forward", ".type": "forward" }, false),
		).toEqual({
			name: "x",
		});
	});
});

describe("daemon errors", () => {
	test("the message shown on a field drops the field name the daemon put in front", () => {
		expect(
			common.fieldMessage({ message: "src_dport: port 0 is out of range (1-65535)", field: "src_dport" }),
		).toBe("port 0 is out of range (1-65535)");
		expect(common.fieldMessage({ message: "src_ip[1]: '1.2.3' is not an address", field: "src_ip" })).toBe(
			"'1.2.3' is not an address",
		);
		expect(common.fieldMessage({ message: "no forward with id 'x'", field: "id" })).toBe(
			"no forward with id 'x'",
		);
	});
});

describe("display", () => {
	test("protocols, ports and endpoints read as people write them", () => {
		expect(common.formatProtocols("tcp udp")).toBe("TCP+UDP");
		expect(common.formatProtocols("udp")).toBe("UDP");
		expect(common.formatList(["113", "59000-59010"])).toBe("113, 59000-59010");
		expect(common.formatList("80")).toBe("80");
		expect(common.formatList(undefined)).toBe("");
		expect(common.formatEndpoint("192.168.1.10", "8080")).toBe("192.168.1.10:8080");
		expect(common.formatEndpoint("2001:db8:1::10", ["80"])).toBe("[2001:db8:1::10]:80");
		expect(common.formatEndpoint("192.168.1.10", undefined)).toBe("192.168.1.10");
	});

	test("seconds read as seconds, minutes or hours", () => {
		expect(common.formatSeconds(45)).toBe("45s");
		expect(common.formatSeconds(545)).toBe("9m 05s");
		expect(common.formatSeconds("600")).toBe("10m 00s");
		expect(common.formatSeconds(7380)).toBe("2h 03m");
		expect(common.formatSeconds(-3)).toBe("0s");
		expect(common.formatSeconds(undefined)).toBe("0s");
	});

	const hints = {
		"aa:bb:cc:00:00:01": {
			name: "laptop",
			ipaddrs: ["192.168.1.10"],
			ip6addrs: ["2001:db8:1::10", "fe80::1"],
		},
		"aa:bb:cc:00:00:02": { ipaddrs: ["192.168.1.9", "203.0.113.5"] },
		"aa:bb:cc:00:00:03": { name: "printer", ipv4: "10.0.0.3" },
	};

	test("the host picker offers LAN addresses from host hints, IPv4 in numeric order, with names", () => {
		expect(common.hostChoices(hints, false)).toEqual([
			{ address: "10.0.0.3", label: "10.0.0.3 (printer)" },
			{ address: "192.168.1.9", label: "192.168.1.9 (aa:bb:cc:00:00:02)" },
			{ address: "192.168.1.10", label: "192.168.1.10 (laptop)" },
		]);
	});

	test("the host picker adds reachable IPv6 addresses on request, never link-local ones", () => {
		const addresses = common.hostChoices(hints, true).map((c) => c.address);
		expect(addresses).toContain("2001:db8:1::10");
		expect(addresses).not.toContain("fe80::1");
		expect(addresses).not.toContain("203.0.113.5");
	});

	test("an address is labelled with the host's name when the hints know it", () => {
		expect(common.hostName(hints, "2001:db8:1::10")).toBe("laptop");
		expect(common.hostLabel(hints, "192.168.1.10")).toBe("192.168.1.10 (laptop)");
		expect(common.hostLabel(hints, "192.168.1.99")).toBe("192.168.1.99");
		expect(common.hostLabel(undefined, "192.168.1.99")).toBe("192.168.1.99");
	});
});

describe("status", () => {
	test("entry counters are read from status.counters, as numbers or objects", () => {
		const status = {
			counters: {
				forwards: { web: 12, games: { connections: 3 } },
				triggers: { irc: { connections: 2, openings: 1 } },
			},
		};
		expect(common.entryCounters(status, "forwards", "web")).toEqual({ connections: 12, openings: null });
		expect(common.entryCounters(status, "forwards", "games")).toEqual({ connections: 3, openings: null });
		expect(common.entryCounters(status, "triggers", "irc")).toEqual({ connections: 2, openings: 1 });
		expect(common.entryCounters(status, "forwards", "nope")).toEqual({ connections: null, openings: null });
		expect(common.entryCounters(null, "forwards", "web")).toEqual({ connections: null, openings: null });
	});

	test("the daemon state says running only for a real status reply, and reports what the daemon reports", () => {
		expect(common.daemonState({ version: "0.1.0", ubus: { connected: true }, table: false })).toEqual({
			running: true,
			ubus: true,
			table: false,
		});
		expect(common.daemonState({ version: "0.1.0" })).toEqual({ running: true, ubus: null, table: null });
		expect(common.daemonState(null)).toEqual({ running: false, ubus: null, table: null });
	});
});

describe("the loader stand-in", () => {
	test("reads requires as LuCI does: leading strings only, aliases, and a stop at the first other string", () => {
		const source = [
			"'use strict';",
			"'require view';",
			'"require portrig.common as common";',
			"'require tools.widgets';",
			"const x = 'anything else';",
			"'require form';",
		].join("\n");
		expect(requiresOf(source)).toEqual([
			{ module: "view", as: "view" },
			{ module: "portrig.common", as: "common" },
			{ module: "tools.widgets", as: "tools_widgets" },
		]);
	});
});

describe("the file's entries while the daemon is not running", () => {
	const text = readFileSync(join(import.meta.dir, "fixtures/portrig.uci"), "utf8");
	// rpcd's answer to `uci get {config: "portrig"}` for that file, captured from the real rpcd
	const stored = JSON.parse(
		readFileSync(join(import.meta.dir, "fixtures/rpcd-uci-get-portrig.json"), "utf8"),
	);

	test("rpcd's uci reply becomes the list reply's shape: sections in file order, each entry with its section name as id, options as the file holds them", () => {
		expect(common.configFromUci(stored.values)).toEqual({
			globals: { enabled: "1", trigger_timeout: "300" },
			forwards: [
				{ id: "cfg02465a", name: "Stored web", proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.10" },
				{
					id: "camera",
					name: "Camera",
					src_dport: "554",
					dest_ip: "2001:db8:1::30",
					src_ip: ["2001:db8:ffff::/64"],
				},
			],
			triggers: [
				{ id: "irc", name: "IRC DCC", trigger_port: "6660-6669", open_port: ["113", "59000-59010"] },
			],
			dmz: { enabled: "1", dest_ip: "192.168.1.50", exclude_port: ["tcp 22"] },
		});
	});

	test("the ids are the daemon's: rpcd names an anonymous section as the daemon does", () => {
		const daemon = loadConfig(text, "portrig").config;
		const shown = common.configFromUci(stored.values);
		expect(shown.forwards.map((f) => f.id)).toEqual(daemon?.forwards.map((f) => f.id) ?? []);
		expect(shown.triggers.map((t) => t.id)).toEqual(daemon?.triggers.map((t) => t.id) ?? []);
	});
});

describe("settings", () => {
	test("get_settings' JSON types become the form's UCI values, and the form's values set_settings' types", () => {
		const reply = {
			enabled: false,
			wan_zone: ["wan", "wan6"],
			lan_zone: ["lan"],
			lan_device: ["br-lan"],
			trigger_timeout: 300,
			reflection: true,
		};
		const form = common.settingsForm(reply);
		expect(form).toEqual({
			enabled: "0",
			wan_zone: ["wan", "wan6"],
			lan_zone: ["lan"],
			lan_device: ["br-lan"],
			trigger_timeout: "300",
			reflection: "1",
		});
		expect(common.settingsArgs(form)).toEqual({ ...reply, wan_device: null });
	});

	test("an emptied timeout is left out (the daemon keeps its value), an emptied device list removes the option", () => {
		expect(
			common.settingsArgs({
				enabled: "1",
				wan_zone: "wan",
				lan_zone: ["lan"],
				wan_device: [""],
				trigger_timeout: " ",
				reflection: "0",
			}),
		).toEqual({
			enabled: true,
			wan_zone: ["wan"],
			lan_zone: ["lan"],
			wan_device: null,
			lan_device: null,
			reflection: false,
		});
	});
});
