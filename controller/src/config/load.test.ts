import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describeProblem, formatProblem, loadConfig } from "./load";

/** What a file without a globals section (or with only `enabled`) decodes to. */
const DEFAULT_GLOBALS = {
	enabled: true,
	wan_zone: ["wan"],
	lan_zone: ["lan"],
	wan_device: [],
	lan_device: [],
	trigger_timeout: 600,
	reflection: true,
};

const FILE = "/etc/config/portrig";
const fixture = readFileSync(join(import.meta.dir, "fixtures/portrig.uci"), "utf8");

/** The formatted problems of a config text. */
const problems = (text: string) => loadConfig(text, FILE).problems.map(formatProblem);

const forward = (lines: string) => `config forward 'f'\n\toption src_dport '80'\n${lines}`;

describe("a valid file", () => {
	const { config, problems: found } = loadConfig(fixture, FILE);

	test("decodes every section into typed values, ids being section names or libuci's", () => {
		expect(config?.globals).toEqual(DEFAULT_GLOBALS);
		expect(config?.forwards.map((f) => f.id)).toEqual(["minecraft", "cfg03465a", "cfg04465a"]);
		expect(config?.forwards[1]).toEqual({
			id: "cfg03465a",
			name: 'Bob\'s "NAS" web UI',
			enabled: true,
			proto: ["tcp"],
			src_dport: { from: 8443, to: 8443 },
			dest_ip: "192.168.1.20",
			dest_port: { from: 443, to: 443 },
			src_ip: ["198.51.100.0/24", "203.0.113.7"],
			reflection: false,
		});
		expect(config?.triggers.map((t) => [t.id, t.name, t.enabled])).toEqual([
			["irc", "IRC DCC", true],
			["cfg068819", "It's a game", false],
		]);
		expect(config?.triggers[0]?.open_port).toEqual([
			{ from: 113, to: 113 },
			{ from: 59000, to: 59010 },
		]);
		expect(config?.dmz).toEqual({
			enabled: false,
			dest_ip: "192.168.1.50",
			exclude_port: [
				{ proto: ["tcp"], port: { from: 22, to: 22 } },
				{ proto: ["udp"], port: { from: 5000, to: 5010 } },
			],
		});
	});

	test("an unknown option is a warning that does not make the file invalid", () => {
		expect(found.map(formatProblem)).toEqual([
			"/etc/config/portrig:34: section '@forward[2]' option 'installed_by': warning: unknown option for a forward section, ignored",
		]);
		expect(found[0]).toMatchObject({ id: "cfg04465a", severity: "warning" });
	});

	test("options named like an object's built-in keys are unknown options too", () => {
		const { config, problems: found } = loadConfig(
			forward(
				"\toption dest_ip '192.168.1.2'\n\toption toString 'x'\n\tlist __proto__ 'y'\n\toption constructor z\n",
			),
			FILE,
		);
		expect(config?.forwards[0]).toMatchObject({ id: "f", dest_ip: "192.168.1.2" });
		expect(found.map(formatProblem)).toEqual(
			["toString", "__proto__", "constructor"].map(
				(option, i) =>
					`/etc/config/portrig:${4 + i}: section 'f' option '${option}': warning: unknown option for a forward section, ignored`,
			),
		);
	});

	test("a forward without its own reflection takes the globals' default; its own wins", () => {
		const { config } = loadConfig(
			"config globals 'globals'\n\toption reflection '0'\n\n" +
				"config forward 'a'\n\toption src_dport '80'\n\toption dest_ip '192.168.1.2'\n\n" +
				"config forward 'b'\n\toption src_dport '81'\n\toption dest_ip '192.168.1.3'\n\toption reflection '1'\n",
			FILE,
		);
		expect(config?.globals.reflection).toBe(false);
		expect(config?.forwards.map((f) => [f.id, f.reflection])).toEqual([
			["a", false],
			["b", true],
		]);
	});

	test("globals and dmz take their defaults when the file has none", () => {
		const { config } = loadConfig("", FILE);
		expect(config).toEqual({
			globals: DEFAULT_GLOBALS,
			forwards: [],
			triggers: [],
			dmz: { enabled: false, exclude_port: [] },
		});
	});

	test("values read as libuci reads them: 'option x' replaced, an empty option ignored", () => {
		const { config } = loadConfig(
			forward("\toption dest_ip '192.168.1.2'\n\toption dest_ip '192.168.1.3'\n\toption name ''\n"),
			FILE,
		);
		expect(config?.forwards[0]?.dest_ip).toBe("192.168.1.3");
		expect(config?.forwards[0]?.name).toBeUndefined();
	});
});

describe("each problem names the file, line, section, option and why", () => {
	const cases: Array<[string, string, string]> = [
		[
			"port out of range",
			forward("\toption dest_ip '192.168.1.2'\n\toption dest_port 70000\n"),
			"/etc/config/portrig:4: section 'f' option 'dest_port': port 70000 is out of range (1-65535)",
		],
		[
			"reversed range",
			"config forward 'f'\n\toption src_dport '90-80'\n\toption dest_ip '192.168.1.2'\n",
			"/etc/config/portrig:2: section 'f' option 'src_dport': range 90-80 is reversed",
		],
		[
			"not a port",
			"config forward 'f'\n\toption src_dport 'http'\n\toption dest_ip '192.168.1.2'\n",
			"/etc/config/portrig:2: section 'f' option 'src_dport': 'http' is not a port or port range (e.g. 80 or 6660-6669)",
		],
		[
			"unknown protocol",
			forward("\toption dest_ip '192.168.1.2'\n\toption proto 'tcp icmp'\n"),
			"/etc/config/portrig:4: section 'f' option 'proto': unknown protocol 'icmp' (use tcp, udp or 'tcp udp')",
		],
		[
			"not an address",
			forward("\toption dest_ip '192.168.1.300'\n"),
			"/etc/config/portrig:3: section 'f' option 'dest_ip': '192.168.1.300' is not an IPv4 or IPv6 address",
		],
		[
			"not a LAN address",
			forward("\toption dest_ip '8.8.8.8'\n"),
			"/etc/config/portrig:3: section 'f' option 'dest_ip': 8.8.8.8 is not a LAN address (expected 10/8, 172.16/12 or 192.168/16)",
		],
		[
			"IPv6 that a LAN host cannot have",
			forward("\toption dest_ip 'fe80::1'\n"),
			"/etc/config/portrig:3: section 'f' option 'dest_ip': fe80::1 is not a global or unique-local IPv6 address",
		],
		[
			"bad list item, on the item's own line",
			forward("\toption dest_ip '192.168.1.2'\n\tlist src_ip '198.51.100.0/24'\n\tlist src_ip 'nowhere'\n"),
			"/etc/config/portrig:5: section 'f' option 'src_ip': 'nowhere' is not an address or prefix (e.g. 198.51.100.0/24)",
		],
		[
			"missing required option, on the config line",
			"config forward\n\toption src_dport '80'\n",
			"/etc/config/portrig:1: section '@forward[0]' option 'dest_ip': is required",
		],
		[
			"a list where one value is expected",
			forward("\tlist dest_ip '192.168.1.2'\n\tlist dest_ip '192.168.1.3'\n"),
			"/etc/config/portrig:3: section 'f' option 'dest_ip': takes one value, not a list",
		],
		[
			"not a boolean",
			forward("\toption dest_ip '192.168.1.2'\n\toption enabled 'maybe'\n"),
			"/etc/config/portrig:4: section 'f' option 'enabled': 'maybe' is not a boolean (use 1 or 0)",
		],
		[
			"bad timeout",
			"config globals\n\toption trigger_timeout '10m'\n",
			"/etc/config/portrig:2: section '@globals[0]' option 'trigger_timeout': '10m' is not a number of seconds from 1 to 604800",
		],
		[
			"trigger without ports to open",
			"config trigger 't'\n\toption name 'x'\n\toption trigger_port '1'\n",
			"/etc/config/portrig:1: section 't' option 'open_port': needs at least one port or range to open",
		],
		[
			"DMZ host that is not IPv4",
			"config dmz 'dmz'\n\toption dest_ip '2001:db8:1::5'\n",
			"/etc/config/portrig:2: section 'dmz' option 'dest_ip': '2001:db8:1::5' is not an IPv4 address",
		],
		[
			"bad DMZ exclusion",
			"config dmz 'dmz'\n\tlist exclude_port 'sctp 22'\n",
			"/etc/config/portrig:2: section 'dmz' option 'exclude_port': 'sctp 22' is not '[tcp|udp] PORT[-PORT]'",
		],
		[
			"unknown section type",
			"config globals 'globals'\n\nconfig redirect\n\toption src_dport 80\n",
			"/etc/config/portrig:3: section '@redirect[0]': unknown section type 'redirect' (expected globals, forward, trigger or dmz)",
		],
		[
			"section defined twice",
			`${forward("\toption dest_ip '192.168.1.2'\n")}config forward 'f'\n\toption name 'again'\n`,
			"/etc/config/portrig:4: section 'f': is defined again (first on line 1); uci would merge the two, give each its own name",
		],
		[
			"second globals section",
			"config globals 'globals'\nconfig globals 'more'\n",
			"/etc/config/portrig:2: section 'more': a second globals section (the first is on line 1); there can be only one",
		],
		[
			"value running over lines",
			"config forward 'f'\n\toption name 'Bob\n\toption src_dport '80\n",
			"/etc/config/portrig:2: section 'f' option 'name': value runs from line 2 to 3; is a closing quote missing?",
		],
		[
			"syntax error",
			"config forward 'f'\n\toption name Bob Smith\n",
			"/etc/config/portrig:2: unexpected 'Smith' after the value (quote a value that contains spaces)",
		],
	];
	for (const [what, text, expected] of cases)
		test(what, () => {
			const result = loadConfig(text, FILE);
			expect(result.config).toBeUndefined();
			expect(result.problems.map(formatProblem)).toContain(expected);
		});

	test("all problems of a file are reported at once, in line order", () => {
		expect(
			problems(
				"config forward 'a'\n\toption src_dport 0\n\toption dest_ip 1.1.1.1\nconfig trigger 'b'\n\toption trigger_port x\n",
			),
		).toEqual([
			"/etc/config/portrig:2: section 'a' option 'src_dport': port 0 is out of range (1-65535)",
			"/etc/config/portrig:3: section 'a' option 'dest_ip': 1.1.1.1 is not a LAN address (expected 10/8, 172.16/12 or 192.168/16)",
			"/etc/config/portrig:4: section 'b' option 'name': is required",
			"/etc/config/portrig:4: section 'b' option 'open_port': needs at least one port or range to open",
			"/etc/config/portrig:5: section 'b' option 'trigger_port': 'x' is not a port or port range (e.g. 80 or 6660-6669)",
		]);
	});

	test("a problem without a line or section is formatted without them", () => {
		expect(formatProblem({ file: "x", message: "why", severity: "error" })).toBe("x: why");
		expect(describeProblem({ file: "x", section: "s", option: "o", message: "why", severity: "error" })).toBe(
			"section 's' option 'o': why",
		);
	});
});
