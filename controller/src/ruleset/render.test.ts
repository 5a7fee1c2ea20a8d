import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadScenario, scenarioNames } from "./golden/scenario";
import { buildRuleset, renderRuleset } from "./render";

// Golden files, like firewall4's tests: each scenario's batch is compared with the stored one.
// After an intended change, regenerate them with UPDATE_GOLDEN=1 and review the diff.
describe("renderRuleset golden scenarios", () => {
	for (const name of scenarioNames()) {
		const s = loadScenario(name);
		test(`${name}: ${s.about}`, () => {
			const text = `${JSON.stringify(renderRuleset(s.config, s.env), null, "\t")}\n`;
			if (process.env.UPDATE_GOLDEN || !existsSync(s.expectedFile)) writeFileSync(s.expectedFile, text);
			expect(text).toBe(readFileSync(s.expectedFile, "utf8"));
		});
	}
});

describe("renderRuleset", () => {
	test("is pure: the same input renders the same batch", () => {
		const s = loadScenario("forwards-sources");
		expect(renderRuleset(s.config, s.env)).toEqual(renderRuleset(s.config, s.env));
	});

	test("forwards overlapping an earlier one are left out, with the reason", () => {
		const s = loadScenario("forwards-sources");
		expect(buildRuleset(s.config, s.env).skipped).toEqual([
			{ id: "clash", reason: "overlaps forward 'office' on tcp 20-30 from the same sources" },
			{ id: "clash2", reason: "overlaps forward 'public' on tcp 22" },
			{ id: "v6only", reason: "no src_ip of the IPv4 family of dest_ip 192.168.1.12" },
		]);
	});

	test("10,000 forwards render as elements of the same few maps, not as rules", () => {
		const s = loadScenario("forwards-single");
		const forwards = Array.from({ length: 10_000 }, (_, i) => ({
			...s.config.forwards[0],
			id: `f${i}`,
			src_dport: { from: 10_000 + i, to: 10_000 + i },
			dest_port: undefined,
			proto: ["tcp" as const],
		})) as typeof s.config.forwards;
		const few = buildRuleset(s.config, s.env).spec;
		const many = buildRuleset({ ...s.config, forwards }, s.env).spec;
		expect(many.chains).toEqual(few.chains);
		expect(many.sets.find((m) => m.name === "wan4_addr")?.elem).toHaveLength(10_000);
	});
});
