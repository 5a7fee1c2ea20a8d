// Forwards and IPv6 pinholes through the lab router with firewall4's stock ruleset loaded:
// real TCP and UDP connections from the WAN hosts (and a LAN host for NAT loopback).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DataPlane } from "../controller/src/ruleset/dataplane";
import { configFromSections } from "../controller/src/ruleset/golden/scenario";
import { ADDR, Lab, type Proto } from "./lib/lab";

const ROUTER = ADDR.router.v4;
const PROTOS: Proto[] = ["tcp", "udp"];

const config = configFromSections({
	forwards: [
		{ id: "single", src_dport: "8080", dest_ip: ADDR.lan1.v4, dest_port: "80" },
		{ id: "range", src_dport: "6000-6002", dest_ip: ADDR.lan2.v4 },
		{ id: "remap", src_dport: "7000-7002", dest_ip: ADDR.lan1.v4, dest_port: "17000-17002" },
		{ id: "restricted", src_dport: "2222", dest_ip: ADDR.lan1.v4, dest_port: "22", src_ip: ADDR.wan1.v4 },
		{ id: "disabled", enabled: "0", src_dport: "9090", dest_ip: ADDR.lan1.v4 },
		{ id: "no-loopback", src_dport: "8081", dest_ip: ADDR.lan1.v4, dest_port: "80", reflection: "0" },
		{ id: "pinhole", src_dport: "443", dest_ip: ADDR.lan1.v6 },
		{ id: "pinhole-from-wan1", src_dport: "22", dest_ip: ADDR.lan1.v6, src_ip: ADDR.wan1.v6 },
	],
});

let lab: Lab;
let dp: DataPlane;

beforeAll(async () => {
	lab = await Lab.up();
	for (const proto of PROTOS) {
		// 3306 and 9090 are served but named by no enabled entry.
		await lab.serve("lan1", proto, [80, 22, 443, 3306, 9090, 17000, 17001, 17002]);
		await lab.serve("lan2", proto, [6000, 6001, 6002]);
	}
	dp = new DataPlane({ prefix: lab.nsExec("router") });
	await dp.apply(config, { wanDevices: ["eth1"], lanDevices: ["br-lan"] });
});

afterAll(async () => {
	await lab?.down();
});

describe("the lab router runs firewall4's stock ruleset", () => {
	test("fw4's forward chain drops by policy and has no `ct status dnat accept`", async () => {
		const { stdout } = await lab.exec("router", ["nft", "list", "table", "inet", "fw4"]);
		expect(stdout).toContain("type filter hook forward priority filter; policy drop;");
		expect(stdout).not.toContain("ct status dnat accept");
		expect(stdout).toContain("!portrig: Accept portrig forwards and pinholes");
	});
});

for (const proto of PROTOS) {
	describe(`${proto} forwards from WAN`, () => {
		test("a single-port forward reaches the LAN host's port, with the WAN source kept", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 8080)).toEqual({
				node: "lan1",
				proto,
				port: 80,
				from: ADDR.wan1.v4,
			});
		});

		test("a range forward keeps each port", async () => {
			expect(await lab.probe("wan2", proto, ROUTER, 6000)).toMatchObject({ node: "lan2", port: 6000 });
			expect(await lab.probe("wan2", proto, ROUTER, 6002)).toMatchObject({ node: "lan2", port: 6002 });
		});

		test("a remapped range maps port for port (7000→17000, 7002→17002)", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 7000)).toMatchObject({ node: "lan1", port: 17000 });
			expect(await lab.probe("wan1", proto, ROUTER, 7001)).toMatchObject({ node: "lan1", port: 17001 });
			expect(await lab.probe("wan1", proto, ROUTER, 7002)).toMatchObject({ node: "lan1", port: 17002 });
		});

		test("a source-restricted forward lets the named WAN host in and refuses the other", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 2222)).toMatchObject({ node: "lan1", port: 22 });
			expect(await lab.probe("wan2", proto, ROUTER, 2222)).toBeNull();
		});

		test("a disabled forward stays closed", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 9090)).toBeNull();
		});

		test("a LAN port that no entry names stays closed (router address and IPv6 direct)", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 3306)).toBeNull();
			expect(await lab.probe("wan1", proto, ADDR.lan1.v6, 3306)).toBeNull();
			expect(await lab.probe("wan1", proto, ADDR.lan1.v6, 9090)).toBeNull();
		});

		test("NAT loopback: a LAN client using the router's WAN address reaches the LAN host", async () => {
			expect(await lab.probe("lan2", proto, ROUTER, 8080)).toEqual({
				node: "lan1",
				proto,
				port: 80,
				from: ADDR.router.lan4,
			});
			expect(await lab.probe("lan2", proto, ROUTER, 7001)).toMatchObject({ node: "lan1", port: 17001 });
		});

		test("no NAT loopback for a forward with reflection off (WAN still works)", async () => {
			expect(await lab.probe("wan1", proto, ROUTER, 8081)).toMatchObject({ node: "lan1", port: 80 });
			expect(await lab.probe("lan2", proto, ROUTER, 8081)).toBeNull();
		});

		test("an IPv6 entry opens a pinhole to the LAN host's address, without NAT", async () => {
			expect(await lab.probe("wan2", proto, ADDR.lan1.v6, 443)).toEqual({
				node: "lan1",
				proto,
				port: 443,
				from: ADDR.wan2.v6,
			});
		});

		test("a source-restricted IPv6 pinhole opens for the named host only", async () => {
			expect(await lab.probe("wan1", proto, ADDR.lan1.v6, 22)).toMatchObject({ node: "lan1", port: 22 });
			expect(await lab.probe("wan2", proto, ADDR.lan1.v6, 22)).toBeNull();
		});
	});
}

describe("fw4 coexistence", () => {
	test("without portrig's fw4 include, fw4 drops the forwarded connection", async () => {
		const fw4 = await lab.exec("router", ["nft", "-a", "list", "chain", "inet", "fw4", "forward"]);
		const handle = /!portrig: Accept portrig forwards and pinholes" # handle (\d+)/.exec(fw4.stdout)?.[1];
		expect(handle).toBeDefined();
		await lab.exec("router", ["nft", "delete", "rule", "inet", "fw4", "forward", "handle", String(handle)]);
		try {
			expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toBeNull();
			expect(await lab.probe("wan1", "tcp", ADDR.lan1.v6, 443)).toBeNull();
		} finally {
			await lab.reloadFw4();
		}
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
	});
});
