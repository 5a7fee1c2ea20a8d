import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadScenario, scenarioNames } from "./golden/scenario";
import { buildRuleset } from "./render";
import { triggerPart, triggerSets, triggerText } from "./triggers";

// The JSON half of the trigger part is in each scenario's NAME.out.json (render.test.ts); the
// nft text half (IPv4 map updates) is golden here as NAME.out.nft. Regenerate both with
// UPDATE_GOLDEN=1 after an intended change and review the diff.
const TRIGGER_SCENARIOS = scenarioNames().filter((n) => n.startsWith("triggers-"));

describe("trigger text golden scenarios", () => {
	for (const name of TRIGGER_SCENARIOS) {
		const s = loadScenario(name);
		const file = s.expectedFile.replace(/\.out\.json$/, ".out.nft");
		test(`${name}: ${s.about}`, () => {
			const text = triggerText(buildRuleset(s.config, s.env).spec);
			if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, text);
			expect(text).toBe(readFileSync(file, "utf8"));
		});
	}
});

describe("triggerPart", () => {
	const basic = loadScenario("triggers-basic");
	const restricted = loadScenario("triggers-restricted");
	const names = (config = basic.config) => {
		const p = triggerPart(config);
		return { sets: p.sets.map((s) => s.name), chains: p.chains.map((c) => c.chain.name), text: p.text };
	};

	test("is pure: the same config renders the same part", () => {
		expect(triggerPart(basic.config)).toEqual(triggerPart(basic.config));
	});

	test("no trigger in force, no trigger objects at all (the rest of the table is unchanged)", () => {
		expect(triggerPart({ ...basic.config, triggers: [] })).toEqual({ sets: [], chains: [], text: [] });
		const off = { ...basic.config, globals: { ...basic.config.globals, enabled: false } };
		expect(triggerPart(off)).toEqual({ sets: [], chains: [], text: [] });
	});

	test("each trigger gets an IPv4 map with its owner set, an IPv6 set, and chains named after them", () => {
		const n = names();
		expect(n.sets).toEqual(["tr_irc_4", "tr_irc_4o", "tr_irc_6", "tr_game_4", "tr_game_4o", "tr_game_6"]);
		expect(n.chains).toEqual([
			"trigger_filter",
			"trigger_dnat",
			"trigger_wan4",
			"trigger_irc_4",
			"trigger_irc",
			"trigger_game_4",
			"trigger_game",
		]);
		expect(n.text.map((c) => c.name)).toEqual(["trigger_irc_4", "trigger_game_4"]);
	});

	test("remote_only renames the structures (their key changes), src_ip decides the families", () => {
		const n = names(restricted.config);
		// ftp: IPv4 sources only → no IPv6 set; v6only: an IPv6 source only → no IPv4 map or chain.
		expect(n.sets).toEqual(["tr_ftp_4r", "tr_ftp_4ro", "tr_v6only_6r"]);
		expect(n.text.map((c) => c.name)).toEqual(["trigger_ftp_4r"]);
		expect(n.chains).not.toContain("trigger_off");
	});

	test("the timeout is the trigger's own, else the global trigger_timeout", () => {
		const [irc, game] = basic.config.triggers;
		if (!irc || !game) throw new Error("scenario changed");
		expect(triggerSets(irc, basic.config.globals.trigger_timeout).timeout).toBe(600);
		expect(triggerSets(game, basic.config.globals.trigger_timeout).timeout).toBe(30);
		expect(triggerText(triggerPart(basic.config))).toContain("timeout 30s");
	});

	test("the text declares only what its rules use, so `add` finds identical declarations", () => {
		const text = triggerText(triggerPart(basic.config));
		expect(text).toContain("add map inet portrig tr_irc_4 { type nf_proto : ipv4_addr; flags timeout; }");
		expect(text).toContain("add set inet portrig tr_irc_4o { type nf_proto . ipv4_addr; flags timeout; }");
		// tr_irc_6 is updated by JSON rules (the kernel marks it dynamic): never re-declared here.
		expect(text).not.toContain("tr_irc_6");
	});

	test("a second host cannot take a live IPv4 opening: it is created with `add` only when absent", () => {
		const rules = triggerPart(basic.config).text[0]?.rules ?? [];
		const open = rules.filter((r) => r.includes("add @tr_irc_4 "));
		expect(open).toHaveLength(1);
		expect(open[0]).toContain("meta nfproto != @tr_irc_4 ");
		// Every timer restart is guarded by the owner set.
		for (const r of rules.filter((x) => x.includes("update @tr_irc_4 ")))
			expect(r).toMatch(/\. ip [sd]addr @tr_irc_4o update/);
	});
});
