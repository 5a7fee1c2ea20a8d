// The transaction that turns one table into another (pure): from the table portrig applied last
// (plan), or from the table a previous daemon left in the kernel (reconcile).
//
// Elements change one by one: adding or removing a forward touches only its own elements, and
// chains, sets and their other elements stay as they are. A chain is rewritten (flush + rules)
// only when its rules changed; a set is re-created only when its declaration changed (then the
// chains that use it are rewritten too). Sets without rendered elements (trigger openings, the
// device sets while unknown) are never flushed: the kernel's elements stay. NAT bindings and
// marks live in conntrack, so none of this disturbs established connections.
import { addCreation, elementsBySet } from "./render";
import {
	type BaseChain,
	type ChainSpec,
	type Group,
	type GroupChange,
	type RulesetSpec,
	type SetDecl,
	type SetSpec,
	sameBase,
	sameDecl,
	unpackElements,
} from "./spec";
import { Transaction } from "./transaction";

export type Plan = {
	tx: Transaction;
	/** Sets created or re-created empty of the kernel's own elements (the trigger manager re-adds openings). */
	recreatedSets: string[];
};

/** The table as the kernel holds it: declarations only (`nft -j -t list table`). */
export type KernelTable = {
	sets: Map<string, SetDecl>;
	chains: Map<string, BaseChain | undefined>;
};

/** Chains whose rules use any of `names` (a set `@name`, or a chain as jump/goto target). */
function usesAny(c: ChainSpec, names: Set<string>): boolean {
	if (names.size === 0) return false;
	return c.rules.some((r) => r.split(/[\s,{}]+/).some((w) => names.has(w.startsWith("@") ? w.slice(1) : w)));
}

/** Group changes: element texts to delete (by key, per set) and to add, per set. */
function groupChanges(prev: Map<string, Group>, next: Map<string, Group>, only?: GroupChange) {
	const removed = new Map<string, string[]>();
	const added = new Map<string, string[]>();
	const push = (m: Map<string, string[]>, set: string, item: string) => {
		const list = m.get(set);
		if (list) list.push(item);
		else m.set(set, [item]);
	};
	const compare = (before: Group | undefined, after: Group | undefined) => {
		if (before === after) return;
		const was = new Map(unpackElements(before?.elements ?? "").map((e) => [`${e[0]} ${e[1]}`, e]));
		const now = unpackElements(after?.elements ?? "");
		const is = new Set(now.map((e) => `${e[0]} ${e[1]}`));
		for (const [k, e] of was) if (!is.has(k)) push(removed, e[0], e[2]);
		for (const e of now) if (!was.has(`${e[0]} ${e[1]}`)) push(added, e[0], e[1]);
	};
	if (only) compare(only.before, next.get(only.id));
	// The same groups on both sides (only the devices changed): nothing to compare.
	else if (prev !== next) {
		for (const [id, g] of next) compare(prev.get(id), g);
		for (const [id, g] of prev) if (!next.has(id)) compare(g, undefined);
	}
	return { removed, added };
}

/**
 * prev → next. `onlyGroup`: the one forward that changed and its group before (a hint: the
 * other groups are the same in both, possibly the same map changed in place, so they need not
 * be compared).
 */
export function plan(prev: RulesetSpec, next: RulesetSpec, onlyGroup?: GroupChange): Plan {
	const prevSets = new Map(prev.sets.map((s) => [s.name, s]));
	const nextSets = new Map(next.sets.map((s) => [s.name, s]));
	const prevChains = new Map(prev.chains.map((c) => [c.name, c]));
	const nextChains = new Map(next.chains.map((c) => [c.name, c]));

	const newSets = next.sets.filter((s) => !prevSets.has(s.name));
	const goneSets = prev.sets.filter((s) => !nextSets.has(s.name));
	const changedSets = next.sets.filter((s) => {
		const p = prevSets.get(s.name);
		return p !== undefined && !sameDecl(p.decl, s.decl);
	});
	const replacedSets = new Set([...goneSets, ...changedSets].map((s) => s.name));

	const newChains = next.chains.filter((c) => !prevChains.has(c.name));
	const goneChains = prev.chains.filter((c) => !nextChains.has(c.name));
	const redeclared = next.chains.filter((c) => {
		const p = prevChains.get(c.name);
		return p !== undefined && !sameBase(p.base, c.base);
	});
	const removedChains = new Set([...goneChains, ...redeclared].map((c) => c.name));
	// Chains to rewrite: rules changed, or a rule uses a set being replaced or a chain being removed.
	const rewritten = next.chains.filter((c) => {
		const p = prevChains.get(c.name);
		if (!p || removedChains.has(c.name)) return false;
		return p.rules.join("\n") !== c.rules.join("\n") || usesAny(p, replacedSets) || usesAny(p, removedChains);
	});

	const tx = new Transaction();
	// 1. Drop the rules that will change or that reference what goes away.
	for (const c of [...rewritten, ...goneChains, ...redeclared]) tx.flushChain(c.name);
	for (const c of [...goneChains, ...redeclared]) tx.deleteChain(c.name);
	// 2. Sets: remove the gone and re-declared ones, add the new and re-declared ones.
	for (const s of [...goneSets, ...changedSets]) tx.deleteSet(s.name, !!s.decl.map);
	const created = [...newSets, ...changedSets];
	addCreation(tx, next, created, []);
	// 3. Elements of kept sets: deletions first, so that a key whose value changed can be re-added.
	const groups = groupChanges(prev.groups, next.groups, onlyGroup);
	for (const s of next.sets) {
		const p = prevSets.get(s.name);
		if (!p || replacedSets.has(s.name)) continue;
		const own = setChanges(p, s);
		if (own.flush) tx.flushSet(s.name, !!s.decl.map);
		tx.deleteElements(s.name, own.removed);
		tx.addElements(s.name, own.added);
		tx.deleteElements(s.name, groups.removed.get(s.name) ?? []);
		tx.addElements(s.name, groups.added.get(s.name) ?? []);
	}
	// 4. Chains: new and re-declared ones, then the rules of every chain that needs them.
	for (const c of [...newChains, ...redeclared]) tx.addChain(c.name, c.base);
	for (const c of [...newChains, ...redeclared, ...rewritten]) for (const r of c.rules) tx.addRule(c.name, r);

	return { tx, recreatedSets: created.map((s) => s.name) };
}

/**
 * A kept set's own elements: what to delete (keys) and add. Not rendered now: keep the kernel's;
 * rendered now but not before (devices became known): replace whatever the kernel has.
 */
function setChanges(prev: SetSpec, next: SetSpec): { flush: boolean; removed: string[]; added: string[] } {
	if (!next.elements) return { flush: false, removed: [], added: [] };
	if (!prev.elements) return { flush: true, removed: [], added: [...next.elements.keys()] };
	const before = prev.elements;
	const after = next.elements;
	return {
		flush: false,
		removed: [...before].filter(([text]) => !after.has(text)).map(([, key]) => key),
		added: [...after.keys()].filter((text) => !before.has(text)),
	};
}

/**
 * The table a previous daemon left (or none) → `next`, in one transaction, without ever
 * deleting the table: chains are rewritten (atomically: a packet sees the old rules or the new),
 * rendered sets flushed and refilled, sets whose elements are not portrig's kept as they are,
 * what the new render no longer has deleted. When the device sets are not known yet (`next`
 * has no elements for them), a flush there is replaced by keeping what the kernel has; if the
 * kernel has none either, the set is created empty.
 */
export function reconcile(kernel: KernelTable | undefined, next: RulesetSpec): Plan {
	const tx = new Transaction().addTable();
	if (!kernel) {
		addCreation(tx, next);
		return { tx, recreatedSets: next.sets.map((s) => s.name) };
	}
	const nextSets = new Map(next.sets.map((s) => [s.name, s]));
	const nextChains = new Map(next.chains.map((c) => [c.name, c]));
	const keptChain = (name: string) => {
		const c = nextChains.get(name);
		return c !== undefined && kernel.chains.has(name) && sameBase(c.base, kernel.chains.get(name));
	};
	const keptSet = (name: string, decl: SetDecl) => {
		const s = nextSets.get(name);
		return s !== undefined && sameDecl(s.decl, decl);
	};
	for (const name of kernel.chains.keys()) tx.flushChain(name);
	for (const name of kernel.chains.keys()) if (!keptChain(name)) tx.deleteChain(name);
	for (const [name, decl] of kernel.sets) if (!keptSet(name, decl)) tx.deleteSet(name, !!decl.map);
	const created = next.sets.filter((s) => {
		const decl = kernel.sets.get(s.name);
		return !decl || !sameDecl(decl, s.decl);
	});
	const bySet = elementsBySet(next);
	for (const s of created) tx.addSet(s);
	for (const s of next.sets) {
		if (!created.includes(s) && s.elements) tx.flushSet(s.name, !!s.decl.map);
		tx.addElements(s.name, bySet.get(s.name) ?? []);
	}
	for (const c of next.chains) if (!keptChain(c.name)) tx.addChain(c.name, c.base);
	for (const c of next.chains) for (const r of c.rules) tx.addRule(c.name, r);
	return { tx, recreatedSets: created.map((s) => s.name) };
}

/** The table from scratch, deleting whatever was there (after `nft flush ruleset` it is gone anyway). */
export function recreate(next: RulesetSpec): Plan {
	// "add table" makes the following "delete table" valid whether the table exists or not.
	const tx = new Transaction().addTable().deleteTable().addTable();
	addCreation(tx, next);
	return { tx, recreatedSets: next.sets.map((s) => s.name) };
}
