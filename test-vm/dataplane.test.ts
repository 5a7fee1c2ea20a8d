// DataPlane against the real kernel in the lab router: changes without disruption, failing
// applies, restoring the table after `nft flush ruleset`, and every golden script loading.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Config } from "../controller/src/config/schema";
import { DataPlane } from "../controller/src/ruleset/dataplane";
import { configFromSections, loadScenario, scenarioNames } from "../controller/src/ruleset/golden/scenario";
import { NftError } from "../controller/src/ruleset/runner";
import { ADDR, Lab } from "./lib/lab";

const ROUTER = ADDR.router.v4;
const ENV = { wanDevices: ["eth1"], lanDevices: ["br-lan"] };

const base = configFromSections({
	forwards: [
		{ id: "web", src_dport: "8080", dest_ip: ADDR.lan1.v4, dest_port: "80" },
		{ id: "game", src_dport: "6000", dest_ip: ADDR.lan2.v4 },
	],
});
const withForward = (config: Config, id: string, port: number): Config => ({
	...config,
	forwards: [
		...config.forwards,
		...configFromSections({
			forwards: [{ id, src_dport: String(port), dest_ip: ADDR.lan2.v4, dest_port: "6000" }],
		}).forwards,
	],
});

let lab: Lab;
let dp: DataPlane;
let restoredSets: string[][] = [];

beforeAll(async () => {
	lab = await Lab.up();
	await lab.serve("lan1", "tcp", [80]);
	await lab.serve("lan2", "tcp", [6000]);
	await lab.serve("lan2", "udp", [6000]);
	dp = new DataPlane({
		prefix: lab.nsExec("router"),
		onRestored: (sets) => {
			restoredSets.push(sets);
		},
	});
	await dp.apply(base, ENV);
});

afterAll(async () => {
	await lab?.down();
});

describe("changes without disruption", () => {
	test("a long-lived connection through one forward survives adding, changing and removing others", async () => {
		const held = await lab.hold("wan1", ROUTER, 8080);
		expect(held.first).toMatchObject({ node: "lan1", port: 80 });
		const udpBefore = await lab.probe("wan2", "udp", ROUTER, 6000);
		expect(udpBefore).toMatchObject({ node: "lan2" });

		await dp.apply(withForward(base, "extra", 7000), ENV);
		expect(await held.roundTrip("after add")).toBe("after add");
		expect(await lab.probe("wan2", "tcp", ROUTER, 7000)).toMatchObject({ node: "lan2", port: 6000 });

		const changed = {
			...base,
			forwards: base.forwards.map((f) => (f.id === "game" ? { ...f, dest_ip: ADDR.lan1.v4 } : f)),
		};
		await dp.apply(changed, ENV);
		expect(await held.roundTrip("after change")).toBe("after change");

		// A chain rewrite (the DMZ rule appears) does not touch it either.
		await dp.apply({ ...base, dmz: { enabled: true, dest_ip: ADDR.lan2.v4, exclude_port: [] } }, ENV);
		expect(await held.roundTrip("after dmz")).toBe("after dmz");

		await dp.apply(base, ENV);
		expect(await held.roundTrip("after remove")).toBe("after remove");
		expect(await lab.probe("wan2", "tcp", ROUTER, 7000)).toBeNull();
		await held.close();
	});

	test("an apply sends only the changed elements, not the table", async () => {
		const before = await lab.exec("router", [
			"nft",
			"-a",
			"list",
			"chain",
			"inet",
			"portrig",
			"forward_wan4",
		]);
		await dp.apply(withForward(base, "extra", 7001), ENV);
		const after = await lab.exec("router", ["nft", "-a", "list", "chain", "inet", "portrig", "forward_wan4"]);
		// Same rule handles: the rules were not re-created.
		expect(after.stdout).toBe(before.stdout);
		const map = await lab.exec("router", ["nft", "list", "map", "inet", "portrig", "wan4_addr"]);
		expect(map.stdout).toContain("tcp . 7001 : 192.168.1.11");
		await dp.apply(base, ENV);
	});
});

describe("a failing apply", () => {
	test("throws NftError with nft's message and leaves the previous ruleset working", async () => {
		const before = (await lab.exec("router", ["nft", "list", "table", "inet", "portrig"])).stdout;
		// A device name longer than the kernel's IFNAMSIZ makes nft refuse the transaction.
		const error = await dp
			.apply(withForward(base, "extra", 7002), { ...ENV, wanDevices: ["eth1", "x".repeat(40)] })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NftError);
		expect((error as NftError).message).toMatch(/^nft failed: .+/);
		expect((await lab.exec("router", ["nft", "list", "table", "inet", "portrig"])).stdout).toBe(before);
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		expect(await lab.probe("wan1", "tcp", ROUTER, 7002)).toBeNull();
		// The next good apply works from the state that is really in force.
		await dp.apply(withForward(base, "extra", 7002), ENV);
		expect(await lab.probe("wan1", "tcp", ROUTER, 7002)).toMatchObject({ node: "lan2", port: 6000 });
		await dp.apply(base, ENV);
	});
});

describe("restore", () => {
	test("after `nft flush ruleset`, restoreIfMissing() brings the table back and forwards work with fw4", async () => {
		restoredSets = [];
		const held = await lab.hold("wan1", ROUTER, 8080);
		await lab.exec("router", ["nft", "flush", "ruleset"]);
		expect((await dp.status()).table).toBe(false);
		expect(await dp.restoreIfMissing()).toBe(true);
		expect(await dp.restoreIfMissing()).toBe(false);
		await lab.reloadFw4();
		expect(restoredSets).toHaveLength(1);
		expect(restoredSets[0]).toContain("wan4_addr");
		expect(await lab.probe("wan2", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		expect(await lab.probe("wan2", "udp", ROUTER, 6000)).toMatchObject({ node: "lan2", port: 6000 });
		// Conntrack kept the NAT binding: the connection opened before the flush still works.
		expect(await held.roundTrip("after flush")).toBe("after flush");
		await held.close();
		expect((await dp.status()).restores).toBe(1);
	});

	test("remove() deletes only portrig's table", async () => {
		await dp.remove();
		const tables = (await lab.exec("router", ["nft", "list", "tables"])).stdout;
		expect(tables).not.toContain("portrig");
		expect(tables).toContain("inet fw4");
		await dp.apply(base, ENV);
	});
});

describe("golden scripts", () => {
	beforeAll(async () => {
		await dp.remove();
	});
	for (const name of scenarioNames()) {
		test(`${name} loads into the kernel beside fw4`, async () => {
			const s = loadScenario(name);
			await lab.exec("router", ["nft", "delete", "table", "inet", "portrig"], { check: false });
			const r = await lab.exec("router", ["nft", "-f", "-"], {
				input: readFileSync(s.expectedFile, "utf8"),
			});
			expect(r.code).toBe(0);
		});
	}
});
