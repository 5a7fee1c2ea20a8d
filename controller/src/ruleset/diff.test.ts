import { describe, expect, test } from "bun:test";
import type { Config } from "../config/schema";
import { plan, recreate } from "./diff";
import { loadScenario } from "./golden/scenario";
import { buildRuleset } from "./render";

const base = loadScenario("forwards-single");
const spec = (config: Config) => buildRuleset(config, base.env).spec;
const kinds = (cmds: object[]) =>
	cmds.map((c) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0])[0]}`);

describe("plan: the transaction from the applied table to the wanted one", () => {
	test("nothing changed → an empty transaction", () => {
		expect(plan(spec(base.config), spec(base.config)).batch.nftables).toEqual([]);
	});

	test("adding a forward adds only its elements", () => {
		const more: Config = {
			...base.config,
			forwards: [
				...base.config.forwards,
				{
					...(base.config.forwards[0] as Config["forwards"][number]),
					id: "new",
					src_dport: { from: 81, to: 81 },
				},
			],
		};
		const { batch } = plan(spec(base.config), spec(more));
		expect(kinds(batch.nftables)).toEqual(["add element", "add element", "add element", "add element"]);
		expect(JSON.stringify(batch)).toContain(
			'"name":"wan4_addr","elem":[[{"concat":["tcp",81]},"192.168.1.10"]]',
		);
	});

	test("removing a forward deletes its elements by key", () => {
		const fewer: Config = { ...base.config, forwards: base.config.forwards.filter((f) => f.id !== "web") };
		const { batch } = plan(spec(base.config), spec(fewer));
		expect(kinds(batch.nftables).every((k) => k === "delete element")).toBe(true);
		expect(batch.nftables).toContainEqual({
			delete: {
				element: { family: "inet", table: "portrig", name: "wan4_port", elem: [{ concat: ["tcp", 8080] }] },
			},
		});
	});

	test("changing a forward's LAN host deletes then re-adds that key", () => {
		const moved: Config = {
			...base.config,
			forwards: base.config.forwards.map((f) => (f.id === "dns" ? { ...f, dest_ip: "192.168.1.99" } : f)),
		};
		const cmds = plan(spec(base.config), spec(moved)).batch.nftables;
		const wanAddr = cmds.filter((c) => JSON.stringify(c).includes('"name":"wan4_addr"'));
		expect(kinds(wanAddr)).toEqual(["delete element", "add element"]);
	});

	test("enabling the DMZ rewrites only the DMZ chain", () => {
		const dmz: Config = { ...base.config, dmz: { enabled: true, dest_ip: "192.168.1.50", exclude_port: [] } };
		const cmds = plan(spec(base.config), spec(dmz)).batch.nftables;
		expect(kinds(cmds)).toEqual(["flush chain", "add rule"]);
		expect(JSON.stringify(cmds[0])).toContain('"name":"dstnat_dmz"');
	});

	test("recreate starts from a clean table whether or not one exists", () => {
		const cmds = recreate(spec(base.config)).batch.nftables;
		expect(kinds(cmds.slice(0, 3))).toEqual(["add table", "delete table", "add table"]);
	});
});
