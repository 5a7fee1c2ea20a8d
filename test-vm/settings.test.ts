// Settings and shared ports through `portrig daemon` in the lab router (fw4's stock ruleset
// loaded): set_settings changes the data plane (WAN devices, the NAT loopback default), and
// forwards on one port split by source send each WAN host to its own LAN host. Real
// connections throughout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab } from "./lib/lab";

const ROUTER = ADDR.router.v4;

const CONFIG = `config globals 'globals'
	list wan_device 'eth1'
	list lan_device 'br-lan'

config forward 'web'
	option proto 'tcp'
	option src_dport '8080'
	option dest_ip '${ADDR.lan1.v4}'
	option dest_port '80'

config forward 'ssh_wan1'
	option proto 'tcp'
	option src_dport '2222'
	option dest_ip '${ADDR.lan1.v4}'
	option dest_port '22'
	list src_ip '${ADDR.wan1.v4}'

config forward 'ssh_others'
	option proto 'tcp'
	option src_dport '2222'
	option dest_ip '${ADDR.lan2.v4}'
	option dest_port '22'
`;

let lab: Lab;
let daemon: RunningDaemon;

beforeAll(async () => {
	lab = await Lab.up();
	await lab.serve("lan1", "tcp", [80, 22, 3000]);
	await lab.serve("lan2", "tcp", [22, 3000]);
	daemon = await startDaemon(lab, CONFIG);
});

afterAll(async () => {
	await daemon?.stop();
	await lab?.down();
});

describe("settings over the API", () => {
	test("get_settings replies with the globals as JSON values", async () => {
		expect(await daemon.call("get_settings")).toMatchObject({
			code: 0,
			reply: {
				enabled: true,
				wan_zone: ["wan"],
				lan_zone: ["lan"],
				wan_device: ["eth1"],
				lan_device: ["br-lan"],
				trigger_timeout: 600,
				reflection: true,
			},
		});
	});

	test("set_settings wan_device moves the forwards to the new WAN device and back", async () => {
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		const moved = await daemon.call("set_settings", { wan_device: ["eth9"] });
		expect(moved).toMatchObject({ code: 0, reply: { wan_device: ["eth9"], lan_device: ["br-lan"] } });
		expect(readFileSync(daemon.configFile, "utf8")).toContain("\tlist wan_device 'eth9'\n");
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toBeNull();
		expect((await daemon.call("set_settings", { wan_device: ["eth1"] })).code).toBe(0);
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
	});

	test("set_settings reflection off ends NAT loopback of forwards without their own, and on restores it", async () => {
		expect(await lab.probe("lan2", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		expect(await daemon.call("set_settings", { reflection: false })).toMatchObject({
			code: 0,
			reply: { reflection: false },
		});
		expect(await lab.probe("lan2", "tcp", ROUTER, 8080)).toBeNull();
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		expect((await daemon.call("set_settings", { reflection: null })).code).toBe(0);
		expect(await lab.probe("lan2", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
	});

	test("an invalid setting is refused naming the field, and the file and traffic stay", async () => {
		const before = readFileSync(daemon.configFile, "utf8");
		const r = await daemon.call("set_settings", { lan_device: ["eth1"] });
		expect(r.code).not.toBe(0);
		expect(r.reply).toMatchObject({ field: "lan_device" });
		expect(readFileSync(daemon.configFile, "utf8")).toBe(before);
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
	});
});

describe("forwards that share a port by source", () => {
	test("the allowed source reaches the restricted forward's host; any other WAN host the catch-all's", async () => {
		expect(await lab.probe("wan1", "tcp", ROUTER, 2222)).toMatchObject({ node: "lan1", port: 22 });
		expect(await lab.probe("wan2", "tcp", ROUTER, 2222)).toMatchObject({ node: "lan2", port: 22 });
	});

	test("two restricted forwards with disjoint sources split one port; an overlapping third is refused naming the other", async () => {
		const only = (source: string, host: string) => ({
			proto: "tcp",
			src_dport: "3000",
			dest_ip: host,
			src_ip: [source],
		});
		const a = await daemon.call("add_forward", only(ADDR.wan1.v4, ADDR.lan1.v4));
		const b = await daemon.call("add_forward", only(ADDR.wan2.v4, ADDR.lan2.v4));
		expect([a.code, b.code]).toEqual([0, 0]);
		expect(await lab.probe("wan1", "tcp", ROUTER, 3000)).toMatchObject({ node: "lan1", port: 3000 });
		expect(await lab.probe("wan2", "tcp", ROUTER, 3000)).toMatchObject({ node: "lan2", port: 3000 });
		const clash = await daemon.call("add_forward", only("203.0.113.0/24", ADDR.lan2.v4));
		expect(clash.code).not.toBe(0);
		expect(clash.reply).toMatchObject({ field: "src_dport" });
		expect(JSON.stringify(clash.reply)).toContain((a.reply as { id: string }).id);
	});
});
