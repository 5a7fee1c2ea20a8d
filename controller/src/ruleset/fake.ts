// An in-memory nft for unit tests: keeps a model of portrig's table and applies a Transaction
// to it the way the kernel does — all or nothing, refusing what nft refuses (an object that
// exists or is missing, an element key already holding another value, a rule naming a set or
// chain that is not there, a set or chain still used by a rule). The lab tests (test-vm/) run
// the real thing; this lets the data plane and the trigger manager be tested without root.
import { TABLE } from "./layout";
import { NftError, type NftRunner } from "./runner";
import { type BaseChain, declText, type SetDecl } from "./spec";
import type { Op, Transaction } from "./transaction";

type FakeSet = { decl: SetDecl; elements: Map<string, string> };
type FakeChain = { base?: BaseChain; rules: string[] };
export type FakeTable = { sets: Map<string, FakeSet>; chains: Map<string, FakeChain> };

/** An element's key: the text before ` : ` (maps), without its timeout and expiry. */
export function elementKey(text: string): string {
	return (text.split(" : ")[0] ?? text).replace(/ timeout \S+| expires \S+/g, "");
}
const elementValue = (text: string) => text.split(" : ")[1];

const fail = (message: string): never => {
	throw new NftError("fake nft", `Error: Could not process rule: ${message}`, 1);
};

function clone(t: FakeTable): FakeTable {
	return {
		sets: new Map([...t.sets].map(([n, s]) => [n, { decl: s.decl, elements: new Map(s.elements) }])),
		chains: new Map([...t.chains].map(([n, c]) => [n, { ...c, rules: [...c.rules] }])),
	};
}

/** Names a rule refers to: `@set` and jump/goto targets. */
function references(rule: string): { sets: string[]; chains: string[] } {
	const words = rule.split(/[\s,{}]+/);
	return {
		sets: words.filter((w) => w.startsWith("@")).map((w) => w.slice(1)),
		chains: words.flatMap((w, i) => (w === "jump" || w === "goto" ? [words[i + 1] ?? ""] : [])),
	};
}

function apply(t: FakeTable | undefined, o: Op): FakeTable | undefined {
	if (o.op === "add table") return t ?? { sets: new Map(), chains: new Map() };
	if (!t) return fail("No such file or directory");
	switch (o.op) {
		case "delete table":
			return undefined;
		case "add set": {
			const old = t.sets.get(o.set.name);
			if (old && declText({ name: "", decl: old.decl }) !== declText(o.set)) fail("File exists");
			if (!old) t.sets.set(o.set.name, { decl: o.set.decl, elements: new Map() });
			return t;
		}
		case "delete set":
		case "flush set": {
			const s = t.sets.get(o.name) ?? fail("No such file or directory");
			if (o.op === "flush set") s.elements.clear();
			else t.sets.delete(o.name);
			return t;
		}
		case "add element":
		case "delete element": {
			const s = t.sets.get(o.name) ?? fail("No such file or directory");
			for (const item of o.items) {
				const key = elementKey(item);
				const had = s.elements.get(key);
				if (o.op === "delete element") {
					if (had === undefined) fail("No such file or directory");
					s.elements.delete(key);
				} else if (had === undefined) s.elements.set(key, item);
				else if (elementValue(had) !== elementValue(item)) fail("File exists");
			}
			return t;
		}
		case "add chain": {
			const old = t.chains.get(o.name);
			if (!old) t.chains.set(o.name, { ...(o.base ? { base: o.base } : {}), rules: [] });
			return t;
		}
		case "flush chain":
		case "delete chain": {
			const c = t.chains.get(o.name) ?? fail("No such file or directory");
			if (o.op === "flush chain") c.rules = [];
			else t.chains.delete(o.name);
			return t;
		}
		case "add rule": {
			const c = t.chains.get(o.chain) ?? fail("No such file or directory");
			c.rules.push(o.rule);
			return t;
		}
	}
}

/** What the kernel checks at commit: every name a rule uses exists. */
function checkReferences(t: FakeTable | undefined): void {
	for (const c of t?.chains.values() ?? [])
		for (const r of c.rules) {
			const refs = references(r);
			if (refs.sets.some((s) => !t?.sets.has(s)) || refs.chains.some((n) => !t?.chains.has(n)))
				fail(`No such file or directory (${r})`);
		}
}

const jsonValue = (v: string) => (/^\d+$/.test(v) ? Number(v) : v);
function jsonElement(text: string): unknown {
	const key = elementKey(text);
	const parts = key.split(" . ").map(jsonValue);
	const val = parts.length > 1 ? { concat: parts } : parts[0];
	const timeout = / timeout (\d+)s/.exec(text)?.[1];
	const expires = / expires (\d+)s/.exec(text)?.[1];
	const elem = timeout
		? { elem: { val, timeout: Number(timeout), ...(expires ? { expires: Number(expires) } : {}) } }
		: val;
	const value = elementValue(text);
	return value === undefined ? elem : [elem, jsonValue(value)];
}

export class FakeNft implements NftRunner {
	readonly kind = "fake";
	table: FakeTable | undefined;
	/** The scripts of the transactions run, in order (refused ones included). */
	readonly scripts: string[] = [];
	/** What was listed, in order (`list WHAT`'s WHAT). */
	readonly listings: string[] = [];
	/** nft's message for refusing the next transaction (once). */
	failNext: string | undefined;

	async run(tx: Transaction): Promise<void> {
		if (tx.empty) return;
		this.scripts.push(tx.script());
		if (this.failNext) {
			const message = this.failNext;
			this.failNext = undefined;
			fail(message);
		}
		let t = this.table && clone(this.table);
		for (const o of tx.ops) t = apply(t, o);
		checkReferences(t);
		this.table = t;
	}

	/** Answers the listings portrig uses: `sets|maps|chains inet`, and one set or map. */
	async list(what: string, opts: { terse?: boolean } = {}): Promise<string> {
		this.listings.push(what);
		const t = this.table;
		const ref = { family: TABLE.family, table: TABLE.name };
		const set = (name: string, s: FakeSet, withElements: boolean) => ({
			[s.decl.map ? "map" : "set"]: {
				...ref,
				name,
				type: s.decl.type.length === 1 ? s.decl.type[0] : s.decl.type,
				...(s.decl.map ? { map: s.decl.map } : {}),
				...(s.decl.flags.length ? { flags: s.decl.flags } : {}),
				...(withElements && s.elements.size ? { elem: [...s.elements.values()].map(jsonElement) } : {}),
			},
		});
		const sets = [...(t?.sets ?? [])];
		const listing = (items: unknown[]) => JSON.stringify({ nftables: items });
		switch (what) {
			case `sets ${TABLE.family}`:
			case `maps ${TABLE.family}`:
				return listing(
					sets
						.filter(([, s]) => !!s.decl.map === what.startsWith("maps"))
						.map(([n, s]) => set(n, s, !opts.terse)),
				);
			case `chains ${TABLE.family}`:
				return listing(
					[...(t?.chains ?? [])].map(([name, c]) => ({ chain: { ...ref, name, ...(c.base ?? {}) } })),
				);
		}
		const name = / (\S+)$/.exec(what)?.[1] ?? "";
		const s = t?.sets.get(name) ?? fail("No such file or directory");
		return listing([set(name, s, true)]);
	}

	/** The table as a comparable value: declarations, sorted elements, rules. */
	snapshot(): unknown {
		const t = this.table;
		if (!t) return null;
		return {
			sets: Object.fromEntries(
				[...t.sets]
					.sort(([a], [b]) => a.localeCompare(b))
					.map(([n, s]) => [n, { decl: s.decl, elements: [...s.elements.values()].sort() }]),
			),
			chains: Object.fromEntries([...t.chains].sort(([a], [b]) => a.localeCompare(b))),
		};
	}
}
