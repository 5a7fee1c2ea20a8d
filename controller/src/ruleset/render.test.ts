import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { configFromSections, loadScenario, scenarioNames } from "./golden/scenario";
import { buildRuleset, elementsBySet, renderRuleset } from "./render";

// Golden files, like firewall4's tests: each scenario's nft script is compared with the stored
// one. After an intended change, regenerate them with UPDATE_GOLDEN=1 and review the diff.
describe("renderRuleset golden scenarios", () => {
	for (const name of scenarioNames()) {
		test(`${name}: the script matches ${name}.out.nft`, () => {
			const s = loadScenario(name);
			const text = renderRuleset(s.config, s.env);
			if (process.env.UPDATE_GOLDEN || !existsSync(s.expectedFile)) writeFileSync(s.expectedFile, text);
			expect(text).toBe(readFileSync(s.expectedFile, "utf8"));
		});
	}
});

describe("renderRuleset", () => {
	test("is pure: the same input renders the same script", () => {
		const s = loadScenario("triggers-basic");
		expect(renderRuleset(s.config, s.env)).toBe(renderRuleset(s.config, s.env));
	});

	test("forwards overlapping an earlier one are left out, with the reason", () => {
		const config = configFromSections({
			forwards: [
				{
					id: "office",
					proto: "tcp",
					src_dport: "20-30",
					dest_ip: "192.168.1.10",
					src_ip: "198.51.100.0/24",
				},
				{ id: "public", proto: "tcp", src_dport: "22", dest_ip: "192.168.1.11" },
				{ id: "clash", proto: "tcp", src_dport: "22", dest_ip: "192.168.1.12", src_ip: "198.51.100.128/25" },
				{ id: "clash2", proto: "tcp udp", src_dport: "22", dest_ip: "192.168.1.12" },
				{
					id: "v6only",
					proto: "tcp",
					src_dport: "8443",
					dest_ip: "192.168.1.12",
					src_ip: "2001:db8:ffff::/48",
				},
			],
		});
		expect(buildRuleset(config, {}).skipped).toEqual([
			{ id: "clash", reason: "overlaps forward 'office' on tcp 22 from the same sources" },
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
		expect(elementsBySet(many).get("wan4_addr")).toHaveLength(10_000);
	});

	test("an unchanged forward object renders once: its group is the same object next time", () => {
		const s = loadScenario("forwards-single");
		const first = buildRuleset(s.config, s.env);
		const again = buildRuleset({ ...s.config, forwards: [...s.config.forwards] }, s.env, first.forwards);
		expect(again.spec.groups.size).toBe(first.spec.groups.size);
		for (const [id, g] of first.spec.groups) expect(again.spec.groups.get(id)).toBe(g);
	});

	test("device sets are left without elements while the devices are unknown", () => {
		const s = loadScenario("forwards-single");
		const spec = buildRuleset(s.config, {}).spec;
		expect(spec.sets.find((x) => x.name === "wan_devices")?.elements).toBeUndefined();
		expect(renderRuleset(s.config, {})).not.toContain("add element inet portrig wan_devices");
	});
});
