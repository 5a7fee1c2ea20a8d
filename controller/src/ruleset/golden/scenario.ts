// Golden scenarios: NAME.in.json (config sections in their UCI form, plus the Env) → the nft
// script renderRuleset must produce, NAME.out.nft. Shared by the unit test beside render.ts and
// the lab test that loads every golden script into a real kernel. A scenario passes the same
// checks as a real config (the schemas and every cross-section rule): a golden is never a
// config that `check` would refuse.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkRules } from "../../config/rules";
import { type Config, DmzSection, ForwardSection, GlobalsSection, TriggerSection } from "../../config/schema";
import { z } from "../../zod";
import type { Env } from "../render";

export const GOLDEN_DIR = import.meta.dir;

/** Config sections in their UCI (encoded) form, as the API and the golden inputs write them. */
export type RawSections = {
	globals?: Record<string, unknown>;
	forwards?: Array<Record<string, unknown> & { id: string }>;
	triggers?: Array<Record<string, unknown> & { id: string }>;
	dmz?: Record<string, unknown>;
};

/** Decodes sections with the config schemas (throws on invalid input: scenarios are valid). */
export function configFromSections(raw: RawSections): Config {
	return {
		globals: z.decode(GlobalsSection, raw.globals ?? {}),
		forwards: (raw.forwards ?? []).map(({ id, ...f }) => ({ id, ...z.decode(ForwardSection, f as never) })),
		triggers: (raw.triggers ?? []).map(({ id, ...t }) => ({ id, ...z.decode(TriggerSection, t as never) })),
		dmz: z.decode(DmzSection, raw.dmz ?? {}),
	};
}

type Raw = RawSections & { about: string; env: Env };

export type Scenario = { name: string; about: string; config: Config; env: Env; expectedFile: string };

/** Throws what `check` would say about `config`. */
export function assertValid(config: Config, what: string): void {
	const findings = checkRules({ config, label: (id) => id });
	if (findings.length)
		throw new Error(`${what} is not a valid config: ${findings.map((f) => `${f.id}: ${f.message}`).join("; ")}`);
}

export function loadScenario(name: string): Scenario {
	const raw = JSON.parse(readFileSync(join(GOLDEN_DIR, `${name}.in.json`), "utf8")) as Raw;
	const config = configFromSections(raw);
	assertValid(config, `golden input ${name}`);
	return { name, about: raw.about, config, env: raw.env, expectedFile: join(GOLDEN_DIR, `${name}.out.nft`) };
}

export function scenarioNames(): string[] {
	return readdirSync(GOLDEN_DIR)
		.filter((f) => f.endsWith(".in.json"))
		.map((f) => f.slice(0, -".in.json".length))
		.sort();
}
