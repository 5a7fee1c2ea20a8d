// What portrig wants in its nft table, in nft's own text syntax: sets with their elements, and
// chains with their rules. render.ts builds it from the config (pure); diff.ts turns two of them
// (or one and what the kernel holds) into a Transaction.

/** A set's declaration; `map` names the data type of a map. */
export type SetDecl = { type: string[]; map?: string; flags: ("interval" | "timeout")[] };

/** Elements by their text (`tcp . 80 : 192.168.1.10`) → the key that deletes them (`tcp . 80`). */
export type Elements = Map<string, string>;

export type SetSpec = {
	name: string;
	decl: SetDecl;
	/**
	 * What portrig renders into the set. Absent: the set's elements are not portrig's to decide
	 * (trigger openings, added from the packet path; device sets before netifd answered), so an
	 * apply never touches those present in the kernel.
	 */
	elements?: Elements;
};

export type BaseChain = {
	type: "filter" | "nat";
	hook: "prerouting" | "forward" | "postrouting";
	prio: number;
};

/** A chain and its rules, each the text after `add rule inet portrig CHAIN`. */
export type ChainSpec = { name: string; base?: BaseChain; rules: string[] };

/** One forward's elements: [set name, element text, key text]. */
export type ElementRef = readonly [set: string, text: string, key: string];

/**
 * The elements of one entry (a forward), with the object they were rendered from. Kept between
 * applies for every forward, so packed into one string, a line `SET TEXT` per element (the key
 * is the text before " : "): at 10,000 forwards an array of three strings per element held
 * 14 MB, one string per forward a fraction of it.
 */
export type Group = { source: object; elements: string };

/** Element references → a Group's packed elements. */
export const packElements = (refs: readonly ElementRef[]): string =>
	refs.map(([set, text]) => `${set} ${text}`).join("\n");

/** A Group's packed elements → [set, text, key] each. */
export function unpackElements(packed: string): ElementRef[] {
	if (!packed) return [];
	return packed.split("\n").map((line) => {
		const space = line.indexOf(" ");
		const text = line.slice(space + 1);
		const value = text.indexOf(" : ");
		return [line.slice(0, space), text, value < 0 ? text : text.slice(0, value)] as const;
	});
}

/** One forward's group replaced in a groups map in place: its group before, to diff or put back. */
export type GroupChange = { id: string; before?: Group };

export type RulesetSpec = {
	sets: SetSpec[];
	chains: ChainSpec[];
	/**
	 * Elements of `sets` kept per forward id, so that a change of one forward is diffed alone.
	 * The sets they go into hold no `elements` of their own (an empty Map).
	 */
	groups: Map<string, Group>;
};

export function declText(s: SetSpec): string {
	const flags = s.decl.flags.length ? ` flags ${s.decl.flags.join(",")};` : "";
	return `{ type ${s.decl.type.join(" . ")}${s.decl.map ? ` : ${s.decl.map}` : ""};${flags} }`;
}

export function sameDecl(a: SetDecl, b: SetDecl): boolean {
	const flags = (d: SetDecl) => [...d.flags].sort().join(",");
	return a.type.join(".") === b.type.join(".") && a.map === b.map && flags(a) === flags(b);
}

export function baseText(b: BaseChain): string {
	return `{ type ${b.type} hook ${b.hook} priority ${b.prio}; policy accept; }`;
}

export function sameBase(a: BaseChain | undefined, b: BaseChain | undefined): boolean {
	return a?.type === b?.type && a?.hook === b?.hook && a?.prio === b?.prio;
}

/** A Map of elements from [text, key] pairs. */
export const elements = (pairs: Iterable<readonly [string, string]>): Elements => new Map(pairs);
