// Reading portrig's table from the kernel: the declarations of its sets and chains (`nft -j -t
// list table`), what a starting daemon reconciles with.
import { z } from "zod";
import type { KernelTable } from "./diff";
import { listIfPresent, type NftRunner, TABLE_REF } from "./runner";
import type { BaseChain, SetDecl } from "./spec";

const Type = z.union([z.string(), z.array(z.string())]);
const SetObject = z.object({
	name: z.string(),
	type: Type,
	map: z.string().optional(),
	flags: z.array(z.string()).optional(),
});
const ChainObject = z.object({
	name: z.string(),
	type: z.string().optional(),
	hook: z.string().optional(),
	prio: z.number().optional(),
});
const Listing = z.object({
	nftables: z.array(
		z.union([
			z.object({ set: SetObject }),
			z.object({ map: SetObject }),
			z.object({ chain: ChainObject }),
			z.record(z.string(), z.unknown()),
		]),
	),
});

const FLAGS = new Set(["interval", "timeout"]);

function decl(s: z.infer<typeof SetObject>): SetDecl {
	return {
		type: Array.isArray(s.type) ? s.type : [s.type],
		...(s.map ? { map: s.map } : {}),
		// "dynamic" (from packet-path updates) and "constant" are nft's own; portrig declares neither.
		flags: (s.flags ?? []).filter((f): f is SetDecl["flags"][number] => FLAGS.has(f)),
	};
}

/** Parses `nft -j -t list table inet portrig` output. */
export function parseTable(json: string): KernelTable {
	const table: KernelTable = { sets: new Map(), chains: new Map() };
	for (const item of Listing.parse(JSON.parse(json)).nftables) {
		if ("set" in item && SetObject.safeParse(item.set).success) {
			const s = SetObject.parse(item.set);
			table.sets.set(s.name, decl(s));
		} else if ("map" in item && SetObject.safeParse(item.map).success) {
			const s = SetObject.parse(item.map);
			table.sets.set(s.name, decl(s));
		} else if ("chain" in item) {
			const c = ChainObject.parse(item.chain);
			// A hook or type portrig does not use compares unequal to every chain it renders.
			const base =
				c.type && c.hook && c.prio !== undefined
					? ({ type: c.type, hook: c.hook, prio: c.prio } as BaseChain)
					: undefined;
			table.chains.set(c.name, base);
		}
	}
	return table;
}

/** portrig's table as the kernel holds it now, or undefined when there is none. */
export async function readTable(nft: NftRunner): Promise<KernelTable | undefined> {
	const json = await listIfPresent(nft, TABLE_REF, { terse: true });
	return json === undefined ? undefined : parseTable(json);
}
