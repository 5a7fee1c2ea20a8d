// WAN/LAN devices resolved as firewall4 resolves its zones, on netifd dumps of a PPPoE router
// going through a reconnect (fixtures/README.md says where their shape comes from).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDump } from "./dump";
import { networkEnv, zoneDevices } from "./resolve";
import { firewallZones } from "./zones";

const fixture = (name: string) => readFileSync(join(import.meta.dir, "fixtures", name), "utf8");
const dump = (name: string) => parseDump(JSON.parse(fixture(name)));
const zones = firewallZones(fixture("firewall"));
const GLOBALS = { wan_zone: ["wan"], lan_zone: ["lan"], wan_device: [], lan_device: [] };

describe("fw4 zones", () => {
	test("enabled zones with their networks and devices; inverted entries and disabled zones add nothing", () => {
		expect(zones).toEqual([
			{ name: "lan", networks: ["lan"], devices: [] },
			{ name: "wan", networks: ["wan", "wan6"], devices: ["tun+"] },
			{ name: "guest", networks: ["guest"], devices: ["usb0"] },
		]);
	});
});

describe("zone devices from netifd", () => {
	test("a PPPoE WAN that is up is its l3_device; an interface tagged zone=wan joins; fw4 wildcards are set aside", () => {
		expect(zoneDevices(["wan"], zones, dump("dump-pppoe-up.json"))).toEqual({
			devices: ["pppoe-wan", "wg0"],
			addresses: ["10.99.0.2/24", "198.51.100.7/32", "2001:db8:ffff::2/64"],
			wildcards: ["tun+"],
		});
		expect(zoneDevices(["lan"], zones, dump("dump-pppoe-up.json")).devices).toEqual(["br-lan"]);
		expect(zoneDevices(["guest"], zones, dump("dump-pppoe-up.json")).devices).toEqual(["br-guest", "usb0"]);
	});

	test("while PPPoE is down the WAN falls back to the underlying device, with no address", () => {
		expect(zoneDevices(["wan"], zones, dump("dump-pppoe-down.json"))).toEqual({
			devices: ["eth1", "wg0"],
			addresses: ["10.99.0.2/24"],
			wildcards: ["tun+"],
		});
	});

	test("after the reconnect the WAN is pppoe-wan again, with its new address", () => {
		const env = networkEnv(GLOBALS, zones, dump("dump-pppoe-reconnected.json"));
		expect(env).toEqual({
			wanDevices: ["pppoe-wan", "wg0"],
			lanDevices: ["br-lan"],
			wanAddresses: ["10.99.0.2/24", "2001:db8:ffff::2/64", "203.0.113.45/32"],
			source: { wan: "netifd", lan: "netifd" },
		});
	});

	test("several zones may count as WAN (wan_zone is a list)", () => {
		expect(zoneDevices(["wan", "guest"], zones, dump("dump-pppoe-up.json")).devices).toEqual([
			"br-guest",
			"pppoe-wan",
			"usb0",
			"wg0",
		]);
	});
});

describe("globals and the lab", () => {
	test("wan_device / lan_device fix the devices even when netifd says otherwise", () => {
		const env = networkEnv({ ...GLOBALS, wan_device: ["eth1"] }, zones, dump("dump-pppoe-up.json"));
		expect([env.wanDevices, env.lanDevices, env.source]).toEqual([
			["eth1"],
			["br-lan"],
			{ wan: "globals", lan: "netifd" },
		]);
	});

	test("without ubus the globals are the answer, empty when not set", () => {
		expect(networkEnv({ ...GLOBALS, wan_device: ["eth1"], lan_device: ["br-lan"] }, [], undefined)).toEqual({
			wanDevices: ["eth1"],
			lanDevices: ["br-lan"],
			wanAddresses: [],
			source: { wan: "globals", lan: "globals" },
		});
		expect(networkEnv(GLOBALS, zones, undefined).wanDevices).toEqual([]);
	});

	test("a dump entry without a name is skipped; a reply that is no dump is an error", () => {
		expect(
			parseDump({ interface: [{ up: true }, { interface: "lan", up: true, l3_device: "br-lan" }] }),
		).toHaveLength(1);
		expect(() => parseDump({ nope: [] })).toThrow();
	});
});
