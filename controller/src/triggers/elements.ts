// Trigger openings as nft elements (pure): reading them from `nft -j list map|set` output, and
// the JSON batches that put them back (after a restore or a daemon restart) or delete them.
// Names and keys are those of ruleset/triggers.ts.
import { z } from "zod";
import { TABLE } from "../ruleset/layout";
import type { Expr, NftBatch, NftCommand } from "../ruleset/nft-json";
import type { TriggerSets } from "../ruleset/triggers";

/** One opening as the kernel holds it. */
export type KernelOpening = {
	family: 4 | 6;
	/** The LAN host the opening belongs to. */
	host: string;
	/** The remote peer it is limited to (remote_only). */
	remote?: string;
	/** The element's idle timeout, seconds. */
	timeout: number;
	/** Seconds until the kernel removes it (nft lists whole seconds, rounded down). */
	expires: number;
};

const Elem = z.object({
	elem: z.object({ val: z.unknown(), timeout: z.number(), expires: z.number().optional() }),
});
const Concat = z.object({ concat: z.array(z.string()) });
const Listed = z.object({
	nftables: z.array(
		z.union([
			z.object({
				map: z.object({ name: z.string(), elem: z.array(z.tuple([Elem, z.string()])).optional() }),
			}),
			z.object({ set: z.object({ name: z.string(), elem: z.array(Elem).optional() }) }),
			z.object({ metainfo: z.unknown() }),
		]),
	),
});

const expiresOf = (e: z.infer<typeof Elem>) => e.elem.expires ?? e.elem.timeout;

/** The IPv4 openings in `nft -j list map <tr_…_4[r]>` output. */
export function parseIPv4Map(json: string, sets: TriggerSets): KernelOpening[] {
	const out: KernelOpening[] = [];
	for (const item of Listed.parse(JSON.parse(json)).nftables) {
		if (!("map" in item)) continue;
		for (const [key, host] of item.map.elem ?? []) {
			const remote = sets.remote ? z.string().parse(key.elem.val) : undefined;
			out.push({
				family: 4,
				host,
				...(remote ? { remote } : {}),
				timeout: key.elem.timeout,
				expires: expiresOf(key),
			});
		}
	}
	return out;
}

/** The owner-set entries (key . host) in `nft -j list set <tr_…_4[r]o>` output. */
export function parseIPv4Owners(json: string): { key: string; host: string }[] {
	const out: { key: string; host: string }[] = [];
	for (const item of Listed.parse(JSON.parse(json)).nftables) {
		if (!("set" in item)) continue;
		for (const e of item.set.elem ?? []) {
			const [key, host] = Concat.parse(e.elem.val).concat;
			if (key && host) out.push({ key, host });
		}
	}
	return out;
}

/** The IPv6 pinholes in `nft -j list set <tr_…_6[r]>` output. */
export function parseIPv6Set(json: string, sets: TriggerSets): KernelOpening[] {
	const out: KernelOpening[] = [];
	for (const item of Listed.parse(JSON.parse(json)).nftables) {
		if (!("set" in item)) continue;
		for (const e of item.set.elem ?? []) {
			const [remote, host] = sets.remote
				? Concat.parse(e.elem.val).concat
				: [undefined, z.string().parse(e.elem.val)];
			if (!host) continue;
			out.push({
				family: 6,
				host,
				...(remote ? { remote } : {}),
				timeout: e.elem.timeout,
				expires: expiresOf(e),
			});
		}
	}
	return out;
}

const ref = (name: string) => ({ family: TABLE.family, table: TABLE.name, name });

/** The IPv4 key of an opening: the family, or the remote with remote_only. */
const ipv4Key = (o: KernelOpening): string => o.remote ?? "ipv4";

/** An element with its timeout and time left (the kernel refuses more left than the timeout). */
function timed(val: Expr, o: KernelOpening): Expr {
	return { elem: { val, timeout: o.timeout, expires: Math.min(o.timeout, Math.max(1, o.expires)) } };
}

/** The commands that put `openings` back with their remaining time. */
export function addOpenings(sets: TriggerSets, openings: KernelOpening[]): NftCommand[] {
	const cmds: NftCommand[] = [];
	const v4 = openings.filter((o) => o.family === 4);
	const v6 = openings.filter((o) => o.family === 6);
	if (sets.v4 && v4.length) {
		cmds.push(
			{
				add: { element: { ...ref(sets.v4.map), elem: v4.map((o) => [timed(ipv4Key(o), o), o.host]) } },
			},
			{
				add: {
					element: {
						...ref(sets.v4.owners),
						elem: v4.map((o) => timed({ concat: [ipv4Key(o), o.host] }, o)),
					},
				},
			},
		);
	}
	if (sets.v6 && v6.length) {
		const key = (o: KernelOpening) => (sets.remote ? { concat: [o.remote, o.host] } : o.host);
		cmds.push({ add: { element: { ...ref(sets.v6.set), elem: v6.map((o) => timed(key(o), o)) } } });
	}
	return cmds;
}

/** The commands that delete `openings` now (the element keys; values are not needed). */
export function deleteOpenings(sets: TriggerSets, openings: KernelOpening[]): NftCommand[] {
	const cmds: NftCommand[] = [];
	const v4 = openings.filter((o) => o.family === 4);
	const v6 = openings.filter((o) => o.family === 6);
	if (sets.v4 && v4.length) {
		cmds.push(
			{ delete: { element: { ...ref(sets.v4.map), elem: v4.map(ipv4Key) } } },
			{
				delete: {
					element: { ...ref(sets.v4.owners), elem: v4.map((o) => ({ concat: [ipv4Key(o), o.host] })) },
				},
			},
		);
	}
	if (sets.v6 && v6.length) {
		const key = (o: KernelOpening) => (sets.remote ? { concat: [o.remote, o.host] } : o.host);
		cmds.push({ delete: { element: { ...ref(sets.v6.set), elem: v6.map(key) } } });
	}
	return cmds;
}

/** Owner-set entries with no map element of theirs (two hosts' first packets in the same instant). */
export function strayOwners(
	sets: TriggerSets,
	openings: KernelOpening[],
	owners: { key: string; host: string }[],
): NftCommand[] {
	if (!sets.v4) return [];
	const held = new Set(openings.filter((o) => o.family === 4).map((o) => `${ipv4Key(o)} ${o.host}`));
	const stray = owners.filter((o) => !held.has(`${o.key} ${o.host}`));
	return stray.length
		? [
				{
					delete: {
						element: { ...ref(sets.v4.owners), elem: stray.map((o) => ({ concat: [o.key, o.host] })) },
					},
				},
			]
		: [];
}

export const batch = (nftables: NftCommand[]): NftBatch => ({ nftables });
