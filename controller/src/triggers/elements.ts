// Trigger openings as nft elements (pure): reading them from `nft -j list map|set` output, and
// the transactions that put them back (after a restore or a daemon restart) or delete them.
// Names and keys are those of ruleset/triggers.ts.
import { Transaction } from "../ruleset/transaction";
import type { TriggerSets } from "../ruleset/triggers";
import { z } from "../zod";

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
	elem: z.object({ val: z.unknown(), timeout: z.number(), expires: z.optional(z.number()) }),
});
const Concat = z.object({ concat: z.array(z.string()) });
const Listed = z.object({
	nftables: z.array(
		z.union([
			z.object({
				map: z.object({ name: z.string(), elem: z.optional(z.array(z.tuple([Elem, z.string()]))) }),
			}),
			z.object({ set: z.object({ name: z.string(), elem: z.optional(z.array(Elem)) }) }),
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

/** The IPv4 key of an opening: the family, or the remote with remote_only. */
const ipv4Key = (o: KernelOpening): string => o.remote ?? "ipv4";
const ipv6Key = (sets: TriggerSets, o: KernelOpening): string =>
	sets.remote ? `${o.remote} . ${o.host}` : o.host;

/** An element with its timeout and time left (the kernel refuses more left than the timeout). */
const timed = (key: string, o: KernelOpening) =>
	`${key} timeout ${o.timeout}s expires ${Math.min(o.timeout, Math.max(1, o.expires))}s`;

/** The nft structures that hold an opening of `family`. */
export function structuresOf(sets: TriggerSets, family: 4 | 6): string[] {
	if (family === 6) return sets.v6 ? [sets.v6.set] : [];
	return sets.v4 ? [sets.v4.map, sets.v4.keys, sets.v4.owners] : [];
}

/** Adds to `tx` the key-set elements of the IPv4 `openings`, with their remaining time. */
export function addKeys(tx: Transaction, sets: TriggerSets, openings: KernelOpening[]): Transaction {
	const v4 = openings.filter((o) => o.family === 4);
	if (sets.v4 && v4.length)
		tx.addElements(
			sets.v4.keys,
			v4.map((o) => timed(ipv4Key(o), o)),
		);
	return tx;
}

/** Adds to `tx` what puts `openings` back with their remaining time. */
export function addOpenings(tx: Transaction, sets: TriggerSets, openings: KernelOpening[]): Transaction {
	const v4 = openings.filter((o) => o.family === 4);
	const v6 = openings.filter((o) => o.family === 6);
	if (sets.v4 && v4.length) {
		tx.addElements(
			sets.v4.map,
			v4.map((o) => `${timed(ipv4Key(o), o)} : ${o.host}`),
		);
		addKeys(tx, sets, v4);
		tx.addElements(
			sets.v4.owners,
			v4.map((o) => timed(`${ipv4Key(o)} . ${o.host}`, o)),
		);
	}
	if (sets.v6 && v6.length)
		tx.addElements(
			sets.v6.set,
			v6.map((o) => timed(ipv6Key(sets, o), o)),
		);
	return tx;
}

/** Adds to `tx` the deletion of `openings` now (by key). */
export function deleteOpenings(tx: Transaction, sets: TriggerSets, openings: KernelOpening[]): Transaction {
	const v4 = openings.filter((o) => o.family === 4);
	const v6 = openings.filter((o) => o.family === 6);
	if (sets.v4 && v4.length) {
		tx.deleteElements(sets.v4.map, v4.map(ipv4Key));
		tx.deleteElements(sets.v4.keys, v4.map(ipv4Key));
		tx.deleteElements(
			sets.v4.owners,
			v4.map((o) => `${ipv4Key(o)} . ${o.host}`),
		);
	}
	if (sets.v6 && v6.length)
		tx.deleteElements(
			sets.v6.set,
			v6.map((o) => ipv6Key(sets, o)),
		);
	return tx;
}

/** Owner-set entries with no map element of theirs (two hosts' first packets in the same instant). */
export function strayOwners(
	sets: TriggerSets,
	openings: KernelOpening[],
	owners: { key: string; host: string }[],
): Transaction {
	const tx = new Transaction();
	if (!sets.v4) return tx;
	const held = new Set(openings.filter((o) => o.family === 4).map((o) => `${ipv4Key(o)} ${o.host}`));
	const stray = owners.filter((o) => !held.has(`${o.key} ${o.host}`));
	return tx.deleteElements(
		sets.v4.owners,
		stray.map((o) => `${o.key} . ${o.host}`),
	);
}
