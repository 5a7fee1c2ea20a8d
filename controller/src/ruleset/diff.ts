// The transaction that turns the table portrig applied last into the one it wants now (pure).
//
// Elements change one by one: adding or removing a forward touches only its own elements, and
// chains, sets and their other elements stay as they are. A chain is rewritten (flush + rules)
// only when its rules changed; a set is re-created only when its declaration changed (then the
// chains that use it are rewritten too). Elements added by someone else — trigger openings from
// the packet path or the trigger manager — are not in `prev`, so they are never deleted here.
// NAT bindings and marks live in conntrack, so none of this disturbs established connections.

import { TABLE } from "./layout";
import type { Expr, NftBatch, NftCommand, NftRef, NftSet } from "./nft-json";
import { addSet, type ChainSpec, creationBatch, type RulesetSpec } from "./render";

export type Plan = {
	batch: NftBatch;
	/** Sets that lost their elements (re-created), e.g. so the trigger manager can re-add openings. */
	recreatedSets: string[];
};

const key = (x: unknown) => JSON.stringify(x);

function declaration(s: NftSet): string {
	const { elem: _elem, ...decl } = s;
	return key(decl);
}

/**
 * A set's elements by their JSON text. Remembered per set object: the spec applied last was the
 * `next` of the previous plan, so with 10,000 forwards each plan serialises only the new side.
 */
const elementTexts = new WeakMap<NftSet, Map<string, Expr>>();
function elementsOf(s: NftSet): Map<string, Expr> {
	let texts = elementTexts.get(s);
	if (!texts) {
		texts = new Map((s.elem ?? []).map((e) => [key(e), e]));
		elementTexts.set(s, texts);
	}
	return texts;
}

/** An element's key: maps hold [key, value] pairs, sets hold keys. */
function elementKey(s: NftSet, e: Expr): Expr {
	return s.map && Array.isArray(e) ? e[0] : e;
}

/** Full re-creation: used on the first apply and after the table vanished (`nft flush ruleset`). */
export function recreate(next: RulesetSpec): Plan {
	const table = { family: TABLE.family, name: TABLE.name };
	// "add table" makes the following "delete table" valid whether the table exists or not.
	return {
		batch: { nftables: [{ add: { table } }, { delete: { table } }, ...creationBatch(next).nftables] },
		recreatedSets: next.sets.map((s) => s.name),
	};
}

export function plan(prev: RulesetSpec, next: RulesetSpec): Plan {
	const prevSets = new Map(prev.sets.map((s) => [s.name, s]));
	const nextSets = new Map(next.sets.map((s) => [s.name, s]));
	const prevChains = new Map(prev.chains.map((c) => [c.chain.name, c]));
	const nextChains = new Map(next.chains.map((c) => [c.chain.name, c]));

	const newSets = next.sets.filter((s) => !prevSets.has(s.name));
	const goneSets = prev.sets.filter((s) => !nextSets.has(s.name));
	const changedSets = next.sets.filter((s) => {
		const p = prevSets.get(s.name);
		return p !== undefined && declaration(p) !== declaration(s);
	});
	const replacedSets = new Set([...goneSets, ...changedSets].map((s) => s.name));

	const newChains = next.chains.filter((c) => !prevChains.has(c.chain.name));
	const goneChains = prev.chains.filter((c) => !nextChains.has(c.chain.name));
	const redeclared = next.chains.filter((c) => {
		const p = prevChains.get(c.chain.name);
		return p !== undefined && key(p.chain) !== key(c.chain);
	});
	const removedChains = new Set([...goneChains, ...redeclared].map((c) => c.chain.name));
	const uses = (c: ChainSpec, names: Set<string>) =>
		c.rules.some((r) => {
			const text = key(r.expr);
			return [...names].some((n) => text.includes(`"@${n}"`) || text.includes(`"target":"${n}"`));
		});
	// Chains to rewrite: rules changed, or a rule uses a set being replaced or a chain being removed.
	const rewritten = next.chains.filter((c) => {
		const p = prevChains.get(c.chain.name);
		if (!p || removedChains.has(c.chain.name)) return false;
		return key(p.rules) !== key(c.rules) || uses(p, replacedSets) || uses(p, removedChains);
	});

	const cmds: NftCommand[] = [];
	const ref = (name: string): NftRef => ({ family: TABLE.family, table: TABLE.name, name });
	// 1. Drop the rules that will change or that reference what goes away.
	for (const c of [...rewritten, ...goneChains, ...redeclared])
		cmds.push({ flush: { chain: ref(c.chain.name) } });
	for (const c of [...goneChains, ...redeclared]) cmds.push({ delete: { chain: ref(c.chain.name) } });
	// 2. Sets: remove the gone and re-declared ones, add the new and re-declared ones.
	for (const s of [...goneSets, ...changedSets])
		cmds.push(s.map ? { delete: { map: ref(s.name) } } : { delete: { set: ref(s.name) } });
	for (const s of [...newSets, ...changedSets]) cmds.push(addSet(s));
	// 3. Elements of kept sets: deletions first, so that a key whose value changed can be re-added.
	for (const s of next.sets) {
		const p = prevSets.get(s.name);
		if (!p || replacedSets.has(s.name)) continue;
		const before = elementsOf(p);
		const after = elementsOf(s);
		const removed = [...before].filter(([k]) => !after.has(k)).map(([, e]) => elementKey(p, e));
		const added = [...after].filter(([k]) => !before.has(k)).map(([, e]) => e);
		if (removed.length) cmds.push({ delete: { element: { ...ref(s.name), elem: removed } } });
		if (added.length) cmds.push({ add: { element: { ...ref(s.name), elem: added } } });
	}
	// 4. Chains: new and re-declared ones, then the rules of every chain that needs them.
	for (const c of [...newChains, ...redeclared]) cmds.push({ add: { chain: c.chain } });
	for (const c of [...newChains, ...redeclared, ...rewritten])
		for (const r of c.rules) cmds.push({ add: { rule: r } });

	return { batch: { nftables: cmds }, recreatedSets: [...changedSets, ...newSets].map((s) => s.name) };
}
