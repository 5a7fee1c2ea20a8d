import { describe, expect, test } from "bun:test";
import type { Config } from "../config/schema";
import type { ChangeHint } from "../config/store";
import { DataPlane } from "./dataplane";
import { FakeNft } from "./fake";
import { configFromSections, loadScenario } from "./golden/scenario";
import type { Env } from "./render";
import { Transaction } from "./transaction";

const ENV: Env = { wanDevices: ["eth1"], lanDevices: ["br-lan"] };
const triggers = loadScenario("triggers-basic");
const forward = (id: string, port: number, extra: Record<string, unknown> = {}) =>
	configFromSections({ forwards: [{ id, src_dport: String(port), dest_ip: "192.168.1.10", ...extra }] })
		.forwards[0] as Config["forwards"][number];

/** The hint the config store gives for a change of forward `id` that left `config`. */
const forwardHint = (config: Config, id: string): ChangeHint => ({
	type: "forward",
	id,
	entry: config.forwards.find((f) => f.id === id),
});

/** The table a fresh daemon would create for `config`. */
async function fresh(config: Config, env: Env = ENV) {
	const nft = new FakeNft();
	await new DataPlane({ runner: nft }).apply(config, env);
	return nft.snapshot();
}

describe("DataPlane with an in-memory nft", () => {
	test("every apply is one transaction, and incremental changes end where a fresh start would", async () => {
		const nft = new FakeNft();
		const dp = new DataPlane({ runner: nft });
		let config: Config = {
			...triggers.config,
			forwards: [forward("a", 1000), forward("b", 2000, { dest_port: "80" })],
		};
		await dp.apply(config, ENV);
		const steps: [string, Config, ChangeHint | undefined][] = [];
		const step = (what: string, next: Config, hint?: (next: Config) => ChangeHint) => {
			steps.push([what, next, hint?.(next)]);
			config = next;
		};
		const forwardChange = (id: string) => (next: Config) => forwardHint(next, id);
		step("add c", { ...config, forwards: [...config.forwards, forward("c", 3000)] }, forwardChange("c"));
		step(
			"move b",
			{
				...config,
				forwards: config.forwards.map((f) => (f.id === "b" ? forward("b", 2001, { dest_port: "81" }) : f)),
			},
			forwardChange("b"),
		);
		step(
			"delete a",
			{ ...config, forwards: config.forwards.filter((f) => f.id !== "a") },
			forwardChange("a"),
		);
		step(
			"disable c",
			{ ...config, forwards: config.forwards.map((f) => (f.id === "c" ? { ...f, enabled: false } : f)) },
			forwardChange("c"),
		);
		step("drop a trigger", { ...config, triggers: config.triggers.slice(1) }, () => ({
			type: "trigger",
			id: "irc",
			entry: undefined,
		}));
		step("DMZ on", { ...config, dmz: { enabled: true, dest_ip: "192.168.1.50", exclude_port: [] } }, () => ({
			type: "dmz",
		}));
		step("reload", config);
		for (const [what, next, hint] of steps) {
			const before = nft.scripts.length;
			await dp.apply(next, ENV, hint);
			expect(nft.scripts.length - before, what).toBeLessThanOrEqual(1);
			expect(nft.snapshot(), what).toEqual(await fresh(next));
		}
	});

	test("a change of one forward among 10,000 sends only that forward's elements", async () => {
		const nft = new FakeNft();
		const dp = new DataPlane({ runner: nft });
		const many = Array.from({ length: 10_000 }, (_, i) => forward(`f${i}`, 10_000 + i));
		const config: Config = { ...configFromSections({}), forwards: many };
		await dp.apply(config, ENV);
		const added = { ...config, forwards: [...many, forward("new", 40_000)] };
		await dp.apply(added, ENV, forwardHint(added, "new"));
		expect(nft.scripts.at(-1)).toBe(
			"add element inet portrig wan4_addr { tcp . 40000 : 192.168.1.10, udp . 40000 : 192.168.1.10 }\n" +
				"add element inet portrig lan4_addr { tcp . 40000 : 192.168.1.10, udp . 40000 : 192.168.1.10 }\n",
		);
		await dp.apply(config, ENV, forwardHint(config, "new"));
		expect(nft.scripts.at(-1)).toContain(
			"delete element inet portrig wan4_addr { tcp . 40000, udp . 40000 }",
		);
	});

	test("new WAN devices among 10,000 forwards change only the device sets", async () => {
		const nft = new FakeNft();
		const dp = new DataPlane({ runner: nft });
		const many = Array.from({ length: 10_000 }, (_, i) => forward(`f${i}`, 10_000 + i));
		const config: Config = { ...configFromSections({}), forwards: many };
		await dp.apply(config, ENV);
		await dp.apply(config, { ...ENV, wanDevices: ["pppoe-wan"] });
		expect(nft.scripts.at(-1)).toBe(
			'delete element inet portrig wan_devices { "eth1" }\n' +
				'add element inet portrig wan_devices { "pppoe-wan" }\n',
		);
		expect(nft.snapshot()).toEqual(await fresh(config, { ...ENV, wanDevices: ["pppoe-wan"] }));
	});

	test("a refused transaction changes nothing, and the next apply starts from what is in force", async () => {
		const nft = new FakeNft();
		const dp = new DataPlane({ runner: nft });
		const config: Config = { ...configFromSections({}), forwards: [forward("a", 1000)] };
		await dp.apply(config, ENV);
		const before = nft.snapshot();
		nft.failNext = "Operation not supported";
		const more = { ...config, forwards: [...config.forwards, forward("b", 2000)] };
		await expect(dp.apply(more, ENV, forwardHint(more, "b"))).rejects.toThrow(
			/nft failed: .*Operation not supported/,
		);
		expect(nft.snapshot()).toEqual(before);
		await dp.apply(more, ENV, forwardHint(more, "b"));
		expect(nft.snapshot()).toEqual(await fresh(more));
		// A refused update: the forward's applied elements are the old ones again.
		const moved = { ...more, forwards: [forward("a", 1001), forward("b", 2000)] };
		nft.failNext = "Operation not supported";
		await expect(dp.apply(moved, ENV, forwardHint(moved, "a"))).rejects.toThrow(/nft failed/);
		expect(nft.snapshot()).toEqual(await fresh(more));
		await dp.apply(moved, ENV, forwardHint(moved, "a"));
		expect(nft.snapshot()).toEqual(await fresh(moved));
	});
});

describe("starting on a table a previous daemon left", () => {
	async function leftBehind(config: Config) {
		const nft = new FakeNft();
		await new DataPlane({ runner: nft }).apply(config, ENV);
		// An opening the kernel made from the packet path while that daemon ran.
		await nft.run(
			new Transaction().addElements("tr_irc_4", ["ipv4 timeout 600s expires 500s : 192.168.1.10"]),
		);
		nft.scripts.length = 0;
		return nft;
	}

	test("the table is taken over in one transaction, never deleted, and live openings stay", async () => {
		const nft = await leftBehind(triggers.config);
		const changed: Config = { ...triggers.config, forwards: [forward("late", 5000)] };
		const { recreatedSets } = await new DataPlane({ runner: nft }).apply(changed, ENV);
		expect(nft.scripts).toHaveLength(1);
		expect(nft.scripts[0]).not.toContain("delete table");
		expect(recreatedSets).toEqual([]);
		const snapshot = nft.snapshot() as { sets: Record<string, { elements: string[] }> };
		expect(snapshot.sets.tr_irc_4?.elements).toEqual(["ipv4 timeout 600s expires 500s : 192.168.1.10"]);
		expect(snapshot.sets.wan4_addr?.elements).toContain("tcp . 5000 : 192.168.1.10");
	});

	test("device sets keep what the kernel has until the devices are known", async () => {
		const nft = await leftBehind(triggers.config);
		const dp = new DataPlane({ runner: nft });
		await dp.apply(triggers.config, {});
		const devices = () => (nft.snapshot() as { sets: Record<string, { elements: string[] }> }).sets;
		expect(devices().wan_devices?.elements).toEqual(['"eth1"']);
		await dp.apply(triggers.config, { ...ENV, wanDevices: ["pppoe-wan"] });
		expect(devices().wan_devices?.elements).toEqual(['"pppoe-wan"']);
	});
});
