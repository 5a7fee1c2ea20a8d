// Reading portrig's table from the kernel: the declarations of its sets and chains, what a
// starting daemon reconciles with. Never `list table`: that prints the rules, and nft 1.0.6
// writes a warning to stderr for every map update it cannot say in JSON.
import { z } from "../zod";
import type { KernelTable } from "./diff";
import { TABLE } from "./layout";
import type { NftRunner } from "./runner";
import type { BaseChain, SetDecl } from "./spec";

const Type = z.union([z.string(), z.array(z.string())]);
const SetObject = z.object({
	table: z.string(),
	name: z.string(),
	type: Type,
	map: z.optional(z.string()),
	flags: z.optional(z.array(z.string())),
});
const ChainObject = z.object({
	table: z.string(),
	name: z.string(),
	type: z.optional(z.string()),
	hook: z.optional(z.string()),
	prio: z.optional(z.number()),
});
const ChainRef = z.object({ table: z.string() });
/** nft's listing: one object per item, keyed by its kind (metainfo, table, set, map, chain). */
const Listing = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });
const items = (json: string) => Listing.parse(JSON.parse(json)).nftables;

const FLAGS = new Set(["interval", "timeout"]);

function decl(s: z.infer<typeof SetObject>): SetDecl {
	return {
		type: Array.isArray(s.type) ? s.type : [s.type],
		...(s.map ? { map: s.map } : {}),
		// "dynamic" (from packet-path updates) and "constant" are nft's own; portrig declares neither.
		flags: (s.flags ?? []).filter((f): f is SetDecl["flags"][number] => FLAGS.has(f)),
	};
}

/** Parses `nft -j -t list sets|maps|chains inet` output: portrig's objects among them. */
export function parseTable(listings: string[]): KernelTable {
	const table: KernelTable = { sets: new Map(), chains: new Map() };
	for (const item of listings.flatMap(items)) {
		const set = item.set ?? item.map;
		if (set !== undefined) {
			const s = SetObject.parse(set);
			if (s.table === TABLE.name) table.sets.set(s.name, decl(s));
		} else if (item.chain !== undefined) {
			const c = ChainObject.parse(item.chain);
			// A hook or type portrig does not use compares unequal to every chain it renders.
			const base =
				c.type && c.hook && c.prio !== undefined
					? ({ type: c.type, hook: c.hook, prio: c.prio } as BaseChain)
					: undefined;
			if (c.table === TABLE.name) table.chains.set(c.name, base);
		}
	}
	return table;
}

/**
 * Whether a table (portrig's unless named) exists now: whether it has chains, which portrig's
 * and fw4's always have. Not `list tables`: nft 1.0.6 fetches every set element for that (at
 * 10,000 forwards 0.2 s and 30 MB per call), `list chains` fetches only chains.
 */
export async function hasTable(
	nft: NftRunner,
	family: string = TABLE.family,
	name: string = TABLE.name,
): Promise<boolean> {
	return items(await nft.list(`chains ${family}`)).some(
		(item) => item.chain !== undefined && ChainRef.parse(item.chain).table === name,
	);
}

/** portrig's table as the kernel holds it now, or undefined when there is none. */
export async function readTable(nft: NftRunner): Promise<KernelTable | undefined> {
	if (!(await hasTable(nft))) return undefined;
	const terse = { terse: true };
	return parseTable([
		await nft.list(`sets ${TABLE.family}`, terse),
		await nft.list(`maps ${TABLE.family}`, terse),
		await nft.list(`chains ${TABLE.family}`),
	]);
}
