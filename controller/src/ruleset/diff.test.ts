import { describe, expect, test } from "bun:test";
import type { Config } from "../config/schema";
import { plan, reconcile, recreate } from "./diff";
import { loadScenario } from "./golden/scenario";
import { buildRuleset, type Env } from "./render";

const base = loadScenario("forwards-single");
const spec = (config: Config, env: Env = base.env) => buildRuleset(config, env).spec;
const lines = (p: { tx: { script(): string } }) => p.tx.script().split("\n").filter(Boolean);
const kinds = (p: { tx: { ops: { op: string }[] } }) => p.tx.ops.map((o) => o.op);
const withForward = (config: Config, id: string, port: number): Config => ({
	...config,
	forwards: [
		...config.forwards,
		{
			...(config.forwards[0] as Config["forwards"][number]),
			id,
			src_dport: { from: port, to: port },
			dest_port: undefined,
		},
	],
});

describe("plan: the transaction from the applied table to the wanted one", () => {
	test("nothing changed → an empty transaction", () => {
		expect(plan(spec(base.config), spec(base.config)).tx.empty).toBe(true);
	});

	test("adding a forward adds only its elements", () => {
		const p = plan(spec(base.config), spec(withForward(base.config, "new", 81)));
		expect(kinds(p).every((k) => k === "add element")).toBe(true);
		expect(lines(p)).toContain("add element inet portrig wan4_addr { tcp . 81 : 192.168.1.10 }");
	});

	test("with the hint, only the named forward's group is compared, with the same result", () => {
		const more = withForward(base.config, "new", 81);
		expect(plan(spec(base.config), spec(more), { id: "new" }).tx.script()).toBe(
			plan(spec(base.config), spec(more)).tx.script(),
		);
	});

	test("removing a forward deletes its elements by key", () => {
		const fewer: Config = { ...base.config, forwards: base.config.forwards.filter((f) => f.id !== "web") };
		const p = plan(spec(base.config), spec(fewer));
		expect(kinds(p).every((k) => k === "delete element")).toBe(true);
		expect(lines(p)).toContain("delete element inet portrig wan4_port { tcp . 8080 }");
	});

	test("changing a forward's LAN host deletes then re-adds that key", () => {
		const moved: Config = {
			...base.config,
			forwards: base.config.forwards.map((f) => (f.id === "dns" ? { ...f, dest_ip: "192.168.1.99" } : f)),
		};
		const wanAddr = lines(plan(spec(base.config), spec(moved))).filter((l) => l.includes(" wan4_addr "));
		expect(wanAddr.map((l) => l.split(" inet ")[0])).toEqual(["delete element", "add element"]);
	});

	test("enabling the DMZ rewrites only the DMZ chain", () => {
		const dmz: Config = { ...base.config, dmz: { enabled: true, dest_ip: "192.168.1.50", exclude_port: [] } };
		const p = plan(spec(base.config), spec(dmz));
		expect(kinds(p)).toEqual(["flush chain", "add rule", "add rule"]);
		expect(lines(p)[0]).toBe("flush chain inet portrig dstnat_dmz");
	});

	test("devices that become known replace whatever the kernel kept in their set", () => {
		const unknown = spec(base.config, {});
		const known = spec(base.config, { ...base.env });
		expect(lines(plan(unknown, known))).toEqual([
			"flush set inet portrig wan_devices",
			'add element inet portrig wan_devices { "eth1" }',
			"flush set inet portrig lan_devices",
			'add element inet portrig lan_devices { "br-lan" }',
		]);
		expect(plan(known, unknown).tx.empty).toBe(true);
	});

	test("recreate starts from a clean table whether or not one exists", () => {
		expect(kinds(recreate(spec(base.config))).slice(0, 3)).toEqual([
			"add table",
			"delete table",
			"add table",
		]);
	});
});

describe("reconcile: a starting daemon and the table it finds", () => {
	const triggers = loadScenario("triggers-basic");
	const next = spec(triggers.config, triggers.env);
	const kernelOf = () => ({
		sets: new Map(next.sets.map((s) => [s.name, s.decl])),
		chains: new Map(next.chains.map((c) => [c.name, c.base])),
	});

	test("no table: created whole, never deleted first", () => {
		const p = reconcile(undefined, next);
		expect(kinds(p)).not.toContain("delete table");
		expect(p.recreatedSets).toEqual(next.sets.map((s) => s.name));
	});

	test("the same table: never deleted; rendered sets refilled, openings' sets untouched, chains rewritten", () => {
		const p = reconcile(kernelOf(), next);
		expect(kinds(p)).not.toContain("delete table");
		expect(kinds(p)).not.toContain("add set");
		expect(p.recreatedSets).toEqual([]);
		const text = p.tx.script();
		expect(text).toContain("flush set inet portrig wan_devices");
		expect(text).not.toContain("element inet portrig tr_");
		expect(text).not.toMatch(/flush (set|map) inet portrig tr_/);
		expect(text).toContain("flush chain inet portrig trigger_irc_4");
	});

	test("unknown devices: the kernel's device sets are kept as they are", () => {
		const p = reconcile(kernelOf(), spec(triggers.config, {}));
		expect(p.tx.script()).not.toContain("wan_devices {");
		expect(p.tx.script()).not.toContain("flush set inet portrig wan_devices");
	});

	test("what the new render no longer has goes; a changed declaration re-creates that set only", () => {
		const kernel = kernelOf();
		kernel.chains.set("old_chain", undefined);
		kernel.sets.set("old_set", { type: ["ipv4_addr"], flags: [] });
		kernel.sets.set("tr_irc_4", { type: ["ipv4_addr"], map: "ipv4_addr", flags: ["timeout"] });
		const p = reconcile(kernel, next);
		const text = lines(p);
		expect(text).toContain("delete chain inet portrig old_chain");
		expect(text).toContain("delete set inet portrig old_set");
		expect(text).toContain("delete map inet portrig tr_irc_4");
		expect(p.recreatedSets).toEqual(["tr_irc_4"]);
	});
});
