import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { reconcile } from "./diff";
import { loadScenario } from "./golden/scenario";
import { parseTable } from "./kernel";
import { buildRuleset } from "./render";

const listing = (what: string) =>
	readFileSync(join(import.meta.dir, "fixtures", `list-${what}.json`), "utf8");

describe("reading the table the kernel holds", () => {
	const s = loadScenario("triggers-restricted");
	const spec = buildRuleset(s.config, s.env).spec;
	const kernel = parseTable([listing("sets"), listing("maps"), listing("chains")]);

	test("every set and chain as nft 1.0.6 lists them, declared as portrig renders them", () => {
		expect(Object.fromEntries(kernel.sets)).toEqual(
			Object.fromEntries(spec.sets.map((x) => [x.name, x.decl])),
		);
		expect(Object.fromEntries(kernel.chains)).toEqual(
			Object.fromEntries(spec.chains.map((c) => [c.name, c.base])),
		);
	});

	test("so taking that table over re-creates nothing and keeps the openings' sets", () => {
		const p = reconcile(kernel, spec);
		expect(p.recreatedSets).toEqual([]);
		expect(p.tx.ops.map((o) => o.op)).not.toContain("delete set");
		expect(p.tx.ops.map((o) => o.op)).not.toContain("add chain");
	});
});
