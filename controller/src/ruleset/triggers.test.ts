import { describe, expect, test } from "bun:test";
import { loadScenario } from "./golden/scenario";
import { renderRuleset } from "./render";
import { triggerPart, triggerSets } from "./triggers";

describe("triggerPart", () => {
	const basic = loadScenario("triggers-basic");
	const restricted = loadScenario("triggers-restricted");
	const names = (config = basic.config) => {
		const p = triggerPart(config);
		return { sets: p.sets.map((s) => s.name), chains: p.chains.map((c) => c.name) };
	};

	test("is pure: the same config renders the same part", () => {
		expect(triggerPart(basic.config)).toEqual(triggerPart(basic.config));
	});

	test("no trigger in force, no trigger objects at all (the rest of the table is unchanged)", () => {
		expect(triggerPart({ ...basic.config, triggers: [] })).toEqual({ sets: [], chains: [] });
		const off = { ...basic.config, globals: { ...basic.config.globals, enabled: false } };
		expect(triggerPart(off)).toEqual({ sets: [], chains: [] });
	});

	test("each trigger gets an IPv4 map with its key and owner sets, an IPv6 set, and chains named after them", () => {
		const n = names();
		expect(n.sets).toEqual([
			"tr_irc_4",
			"tr_irc_4k",
			"tr_irc_4o",
			"tr_irc_6",
			"tr_game_4",
			"tr_game_4k",
			"tr_game_4o",
			"tr_game_6",
		]);
		expect(n.chains).toEqual([
			"trigger_filter",
			"trigger_dnat",
			"trigger_wan4",
			"trigger_irc_4",
			"trigger_irc",
			"trigger_game_4",
			"trigger_game",
		]);
	});

	test("remote_only renames the structures (their key changes), src_ip decides the families", () => {
		const n = names(restricted.config);
		// ftp: IPv4 sources only → no IPv6 set; v6only: an IPv6 source only → no IPv4 map or chain.
		expect(n.sets).toEqual(["tr_ftp_4r", "tr_ftp_4rk", "tr_ftp_4ro", "tr_v6only_6r"]);
		expect(n.chains).toContain("trigger_ftp_4r");
		expect(n.chains).not.toContain("trigger_off");
	});

	test("the timeout is the trigger's own, else the global trigger_timeout", () => {
		const [irc, game] = basic.config.triggers;
		if (!irc || !game) throw new Error("scenario changed");
		expect(triggerSets(irc, basic.config.globals.trigger_timeout).timeout).toBe(600);
		expect(triggerSets(game, basic.config.globals.trigger_timeout).timeout).toBe(30);
		expect(renderRuleset(basic.config, basic.env)).toContain(
			"update @tr_game_4 { meta nfproto timeout 30s : ip saddr }",
		);
	});

	test("the openings' sets are declared without elements: an apply never touches the kernel's", () => {
		for (const set of triggerPart(basic.config).sets) expect(set.elements).toBeUndefined();
	});

	test("a second host cannot take a live IPv4 opening: it is created with `add` only when its key is absent", () => {
		const rules = triggerPart(basic.config).chains.find((c) => c.name === "trigger_irc_4")?.rules ?? [];
		const open = rules.filter((r) => r.includes("add @tr_irc_4 "));
		expect(open).toHaveLength(1);
		expect(open[0]).toContain("meta nfproto != @tr_irc_4k add @tr_irc_4 ");
		expect(open[0]).toContain("add @tr_irc_4k { meta nfproto timeout 600s }");
		// Every timer restart is guarded by the owner set and restarts all three.
		const restarts = rules.filter((x) => x.includes("update @tr_irc_4 "));
		expect(restarts).toHaveLength(4);
		for (const r of restarts) {
			expect(r).toMatch(/\. ip [sd]addr @tr_irc_4o update/);
			expect(r).toContain("update @tr_irc_4k { meta nfproto timeout 600s }");
		}
	});

	test("no rule looks a trigger map up without loading its value (kernels before 6.5 refuse that)", () => {
		for (const config of [basic.config, restricted.config]) {
			// The word before each use of a map (tr_<id>_4 or _4r, not the sets _4k, _4o …).
			const uses = triggerPart(config).chains.flatMap((c) =>
				c.rules.flatMap((r) => [...r.matchAll(/(\S+) @tr_\w+_4r?(?=\s|$)/g)].map((m) => m[1])),
			);
			expect([...new Set(uses)].sort()).toEqual(["add", "map", "update"]);
		}
	});
});
