import { describe, expect, test } from "bun:test";
import { formatProblem, loadConfig } from "./load";
import { RULES } from "./rules";

const FILE = "/etc/config/portrig";
const problems = (text: string) => loadConfig(text, FILE).problems.map(formatProblem);
const valid = (text: string) =>
	expect(loadConfig(text, FILE)).toMatchObject({ config: expect.anything(), problems: [] });

const fwd = (name: string, proto: string, port: string, dest: string, extra = "") =>
	`config forward '${name}'\n\toption proto '${proto}'\n\toption src_dport '${port}'\n\toption dest_ip '${dest}'\n${extra}\n`;
const trg = (name: string, openProto: string, ports: string[], extra = "") =>
	`config trigger '${name}'\n\toption name '${name.toUpperCase()}'\n\toption trigger_port '6660-6669'\n\toption open_proto '${openProto}'\n${ports.map((p) => `\tlist open_port '${p}'\n`).join("")}${extra}\n`;

describe("rules across sections", () => {
	test("every rule has a name that says what it keeps true", () => {
		expect(RULES.map((r) => r.name)).toEqual([
			"remapped range as long as src_dport",
			"IPv6 forwards keep their port",
			"forward sources in dest_ip's family",
			"one forward per WAN protocol, port and source",
			"triggers do not open forwarded ports",
			"one trigger per opened port",
			"unique trigger names",
			"enabled DMZ has a host",
			"WAN and LAN are distinct",
		]);
	});

	test("a remapped range must be as long as src_dport", () => {
		expect(problems(fwd("web", "tcp", "8000-8009", "192.168.1.2", "\toption dest_port '80-85'"))).toEqual([
			"/etc/config/portrig:5: section 'web' option 'dest_port': 80-85 (6 ports) is not as long as src_dport 8000-8009 (10 ports); a remapped range maps port by port",
		]);
		expect(problems(fwd("web", "tcp", "8000-8009", "192.168.1.2", "\toption dest_port '80'"))).toEqual([
			"/etc/config/portrig:5: section 'web' option 'dest_port': 80 (1 port) is not as long as src_dport 8000-8009 (10 ports); a remapped range maps port by port",
		]);
		valid(fwd("web", "tcp", "8000-8009", "192.168.1.2", "\toption dest_port '9000-9009'"));
	});

	test("an IPv6 forward cannot change the port", () => {
		expect(problems(fwd("cam", "tcp", "8554", "2001:db8:1::30", "\toption dest_port '554'"))).toEqual([
			"/etc/config/portrig:5: section 'cam' option 'dest_port': an IPv6 forward cannot change the port (IPv6 has no NAT); remove dest_port or make it 8554 like src_dport",
		]);
		valid(fwd("cam", "tcp", "554", "2001:db8:1::30", "\toption dest_port '554'"));
	});

	test("a forward's sources must be of dest_ip's address family", () => {
		expect(
			problems(
				fwd(
					"cam",
					"tcp",
					"554",
					"2001:db8:1::30",
					"\tlist src_ip '2001:db8:ffff::/64'\n\tlist src_ip '198.51.100.0/24'",
				),
			),
		).toEqual([
			"/etc/config/portrig:6: section 'cam' option 'src_ip': 198.51.100.0/24 is IPv4 but dest_ip 2001:db8:1::30 is IPv6; this source could never reach it",
		]);
		expect(problems(fwd("web", "tcp", "80", "192.168.1.2", "\tlist src_ip '2001:db8:ffff::2'"))).toEqual([
			"/etc/config/portrig:5: section 'web' option 'src_ip': 2001:db8:ffff::2 is IPv6 but dest_ip 192.168.1.2 is IPv4; this source could never reach it",
		]);
	});

	test("two enabled forwards cannot claim the same WAN protocol and port", () => {
		expect(
			problems(fwd("a", "tcp udp", "8000-8010", "192.168.1.2") + fwd("b", "tcp", "8005-8020", "192.168.1.3")),
		).toEqual([
			"/etc/config/portrig:8: section 'b' option 'src_dport': tcp ports 8005-8010 are already forwarded by section 'a'",
		]);
		expect(problems(fwd("a", "udp", "53", "192.168.1.2") + fwd("b", "tcp udp", "53", "192.168.1.3"))).toEqual(
			[
				"/etc/config/portrig:8: section 'b' option 'src_dport': udp port 53 is already forwarded by section 'a'",
			],
		);
		valid(fwd("a", "tcp", "53", "192.168.1.2") + fwd("b", "udp", "53", "192.168.1.3"));
		valid(
			fwd("a", "tcp", "80", "192.168.1.2") + fwd("b", "tcp", "80", "192.168.1.3", "\toption enabled '0'"),
		);
		// IPv6 forwards are pinholes to their own address: they cannot collide with anything.
		valid(fwd("a", "tcp", "80", "192.168.1.2") + fwd("b", "tcp", "80", "2001:db8:1::10"));
	});

	test("forwards share a port when one is restricted by source and the other is the catch-all", () => {
		const office = "\tlist src_ip '198.51.100.0/24'";
		valid(fwd("a", "tcp", "22", "192.168.1.2", office) + fwd("b", "tcp", "22", "192.168.1.3"));
		valid(fwd("a", "tcp", "22", "192.168.1.2") + fwd("b", "tcp", "20-30", "192.168.1.3", office));
	});

	test("restricted forwards share a port when their sources are disjoint, not when they overlap", () => {
		const from = (...sources: string[]) => sources.map((s) => `\tlist src_ip '${s}'`).join("\n");
		valid(
			fwd("a", "tcp", "22", "192.168.1.2", from("198.51.100.0/25")) +
				fwd("b", "tcp", "22", "192.168.1.3", from("198.51.100.128/25", "203.0.113.7")),
		);
		expect(
			problems(
				fwd("a", "tcp", "22", "192.168.1.2", from("198.51.100.0/24")) +
					fwd("b", "tcp udp", "22", "192.168.1.3", from("203.0.113.7", "198.51.100.9")),
			),
		).toEqual([
			"/etc/config/portrig:8: section 'b' option 'src_dport': tcp port 22 is already forwarded by section 'a' for sources overlapping 198.51.100.0/24 (restricted forwards may share a port only when their src_ip are disjoint)",
		]);
	});

	test("a trigger cannot open a port that a forward takes", () => {
		expect(
			problems(fwd("ident", "tcp", "100-113", "192.168.1.2") + trg("irc", "tcp", ["59000", "110-120"])),
		).toEqual([
			"/etc/config/portrig:11: section 'irc' option 'open_port': tcp ports 110-113 are forwarded by section 'ident'; a trigger cannot open a port that a forward takes",
		]);
		valid(fwd("ident", "udp", "113", "192.168.1.2") + trg("irc", "tcp", ["113"]));
		valid(fwd("ident", "tcp", "113", "192.168.1.2") + trg("irc", "tcp", ["113"], "\toption enabled '0'"));
	});

	test("two enabled triggers cannot open the same port, nor one trigger a port twice", () => {
		expect(problems(trg("irc", "tcp", ["113"]) + trg("game", "tcp udp", ["100-200"]))).toEqual([
			"/etc/config/portrig:11: section 'game' option 'open_port': tcp port 113 is also opened by trigger 'IRC' (section 'irc'); an inbound connection could not tell which trigger it answers",
		]);
		expect(problems(trg("irc", "udp", ["5000-5010", "5010"]))).toEqual([
			"/etc/config/portrig:6: section 'irc' option 'open_port': udp port 5010 is already in this trigger's open_port 5000-5010",
		]);
		valid(trg("irc", "tcp", ["113"]) + trg("game", "udp", ["113"]));
		valid(trg("irc", "tcp", ["113"]) + trg("game", "tcp", ["113"], "\toption enabled '0'"));
	});

	test("trigger names are unique, disabled triggers included", () => {
		const text = `${trg("a", "tcp", ["1"])}config trigger 'b'\n\toption name 'A'\n\toption enabled '0'\n\toption trigger_port '1'\n\tlist open_port '2'\n`;
		expect(problems(text)).toEqual([
			"/etc/config/portrig:8: section 'b' option 'name': 'A' is already the name of section 'a'; trigger names must be unique",
		]);
	});

	test("an enabled DMZ needs a host", () => {
		expect(problems("config dmz 'dmz'\n\toption enabled '1'\n")).toEqual([
			"/etc/config/portrig:1: section 'dmz' option 'dest_ip': is required when the DMZ is enabled",
		]);
		valid("config dmz 'dmz'\n\toption enabled '0'\n");
	});

	test("a zone or device is WAN or LAN, not both", () => {
		expect(
			problems(
				"config globals 'globals'\n\tlist wan_zone 'wan'\n\tlist lan_zone 'lan'\n\tlist lan_zone 'wan'\n\tlist wan_device 'eth1'\n\tlist lan_device 'eth1'\n",
			),
		).toEqual([
			"/etc/config/portrig:4: section 'globals' option 'lan_zone': zone 'wan' is also listed as WAN; it can be WAN or LAN, not both",
			"/etc/config/portrig:6: section 'globals' option 'lan_device': device 'eth1' is also listed as WAN; it can be WAN or LAN, not both",
		]);
	});

	test("rules also check the sections that decoded when others did not", () => {
		expect(
			problems(
				fwd("a", "tcp", "80", "192.168.1.2") +
					fwd("b", "tcp", "80", "192.168.1.3") +
					fwd("c", "tcp", "x", "192.168.1.4"),
			),
		).toEqual([
			"/etc/config/portrig:8: section 'b' option 'src_dport': tcp port 80 is already forwarded by section 'a'",
			"/etc/config/portrig:13: section 'c' option 'src_dport': 'x' is not a port or port range (e.g. 80 or 6660-6669)",
		]);
	});
});
