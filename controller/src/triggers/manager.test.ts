import { afterEach, describe, expect, test } from "bun:test";
import { DataPlane } from "../ruleset/dataplane";
import { FakeNft } from "../ruleset/fake";
import { loadScenario } from "../ruleset/golden/scenario";
import { Transaction } from "../ruleset/transaction";
import { type OpeningEvent, TriggerManager } from "./manager";

// The manager against an in-memory nft holding the rendered table; openings are put into the
// trigger maps the way the kernel's packet path does. (The lab tests run real trigger traffic.)
const { config, env } = loadScenario("triggers-basic");
const OPENING = new Transaction()
	.addElements("tr_irc_4", ["ipv4 timeout 600s expires 500s : 192.168.1.10"])
	.addElements("tr_irc_4k", ["ipv4 timeout 600s expires 500s"])
	.addElements("tr_irc_4o", ["ipv4 . 192.168.1.10 timeout 600s expires 500s"]);

let manager: TriggerManager | undefined;
afterEach(async () => {
	await manager?.stop();
	manager = undefined;
});

async function kernelWithOpening() {
	const nft = new FakeNft();
	await new DataPlane({ runner: nft }).apply(config, env);
	await nft.run(OPENING);
	return nft;
}
const elementsOf = (nft: FakeNft, set: string) =>
	(nft.snapshot() as { sets: Record<string, { elements: string[] }> }).sets[set]?.elements;

describe("TriggerManager with an in-memory nft", () => {
	test("an opening the kernel holds is listed, and close() deletes its elements", async () => {
		const nft = await kernelWithOpening();
		const events: OpeningEvent[] = [];
		manager = new TriggerManager({ nft, onEvent: (e) => events.push(e) });
		await manager.start(config);
		expect(manager.openings()).toMatchObject([
			{ trigger: "irc", host: "192.168.1.10", ports: ["113", "59000-59010"] },
		]);
		expect(events.map((e) => e.action)).toEqual(["open"]);
		expect(await manager.close("irc")).toBe(1);
		for (const set of ["tr_irc_4", "tr_irc_4k", "tr_irc_4o"]) expect(elementsOf(nft, set)).toEqual([]);
		expect(events.at(-1)).toMatchObject({ action: "close", reason: "closed", host: "192.168.1.10" });
	});

	test("adopted openings are known without an 'open', and go back only into re-created sets", async () => {
		const nft = await kernelWithOpening();
		const events: OpeningEvent[] = [];
		manager = new TriggerManager({ nft, onEvent: (e) => events.push(e) });
		const before = nft.scripts.length;
		expect(await manager.adopt(config)).toBe(1);
		await manager.start(config, []);
		expect(nft.scripts.slice(before).join("")).not.toContain("add element");
		expect(manager.openings()).toHaveLength(1);
		expect(events).toEqual([]);
	});

	test("an adopted opening whose set the first apply re-created is put back with its time left", async () => {
		const nft = await kernelWithOpening();
		manager = new TriggerManager({ nft });
		await manager.adopt(config);
		await nft.run(new Transaction().flushSet("tr_irc_4", true));
		await manager.start(config, ["tr_irc_4"]);
		expect(elementsOf(nft, "tr_irc_4")).toHaveLength(1);
		expect(elementsOf(nft, "tr_irc_4")?.[0]).toMatch(/^ipv4 timeout 600s expires \d+s : 192\.168\.1\.10$/);
		expect(manager.stats().readded).toBe(3);
	});
});

describe("following config changes", () => {
	test("a config with the same triggers and globals (a forward's change) reads nothing from the kernel", async () => {
		const nft = await kernelWithOpening();
		manager = new TriggerManager({ nft });
		await manager.start(config);
		const before = nft.listings.length;
		await manager.update({ ...config, forwards: [] });
		expect(nft.listings.length).toBe(before);
		// New trigger objects (a trigger's change, a reload) are read again, and the opening stays.
		await manager.update({ ...config, triggers: [...config.triggers] });
		expect(nft.listings.length).toBeGreaterThan(before);
		expect(manager.openings()).toMatchObject([{ trigger: "irc", host: "192.168.1.10" }]);
	});
});

describe("taking over a table from before the key sets", () => {
	test("adopt() gives a live opening its key set before the first apply, which then re-creates nothing", async () => {
		// The previous version's table: no tr_irc_4k (its rules did not use one), an opening held.
		const nft = new FakeNft();
		await new DataPlane({ runner: nft }).apply(config, env);
		await nft.run(new Transaction().flushChain("trigger_irc_4").deleteSet("tr_irc_4k", false));
		await nft.run(
			new Transaction().addElements("tr_irc_4", ["ipv4 timeout 600s expires 500s : 192.168.1.10"]),
		);
		await nft.run(
			new Transaction().addElements("tr_irc_4o", ["ipv4 . 192.168.1.10 timeout 600s expires 500s"]),
		);
		manager = new TriggerManager({ nft });
		expect(await manager.adopt(config)).toBe(1);
		expect(elementsOf(nft, "tr_irc_4k")).toEqual(["ipv4 timeout 600s expires 500s"]);
		const { recreatedSets } = await new DataPlane({ runner: nft }).apply(config, env);
		expect(recreatedSets).toEqual([]);
		await manager.start(config, recreatedSets);
		expect(manager.openings()).toMatchObject([{ trigger: "irc", host: "192.168.1.10" }]);
		expect(elementsOf(nft, "tr_irc_4k")).toEqual(["ipv4 timeout 600s expires 500s"]);
		expect(elementsOf(nft, "tr_irc_4")).toEqual(["ipv4 timeout 600s expires 500s : 192.168.1.10"]);
	});
});
