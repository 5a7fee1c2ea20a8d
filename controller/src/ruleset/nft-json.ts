// The subset of nftables' JSON schema (libnftables-json(5), nft 1.0.6) that portrig writes,
// and small builders for its expressions, so the ruleset reads close to nft's own syntax.
import type { TABLE } from "./layout";

export type Expr = unknown;

/** A set or a map (`map` names the data type). `elem` holds keys, or [key, value] pairs for maps. */
export type NftSet = {
	family: typeof TABLE.family;
	table: typeof TABLE.name;
	name: string;
	type: string | string[];
	map?: string;
	flags?: string[];
	timeout?: number;
	comment?: string;
	elem?: Expr[];
};

export type NftChain = {
	family: typeof TABLE.family;
	table: typeof TABLE.name;
	name: string;
	type?: "filter" | "nat";
	hook?: "prerouting" | "input" | "forward" | "output" | "postrouting";
	prio?: number;
	policy?: "accept" | "drop";
};

export type NftRule = {
	family: typeof TABLE.family;
	table: typeof TABLE.name;
	chain: string;
	expr: Expr[];
	comment?: string;
};

export type NftElement = {
	family: typeof TABLE.family;
	table: typeof TABLE.name;
	name: string;
	elem: Expr[];
};
export type NftTable = { family: typeof TABLE.family; name: typeof TABLE.name };

export type NftObject =
	| { table: NftTable }
	| { set: NftSet }
	| { map: NftSet }
	| { chain: NftChain }
	| { rule: NftRule }
	| { element: NftElement };

/** Names one object of portrig's table (what delete and flush need). */
export type NftRef = { family: typeof TABLE.family; table: typeof TABLE.name; name: string };

export type NftCommand =
	| { add: NftObject }
	| {
			delete:
				| { table: NftTable }
				| { set: NftRef }
				| { map: NftRef }
				| { chain: NftRef }
				| { element: NftElement };
	  }
	| { flush: { chain: NftRef } };

/** What `nft -j -f -` reads: one transaction. */
export type NftBatch = { nftables: NftCommand[] };

// ---- expression builders ---------------------------------------------------------------------

export const meta = (key: string): Expr => ({ meta: { key } });
export const payload = (protocol: string, field: string): Expr => ({ payload: { protocol, field } });
export const ct = (key: string): Expr => ({ ct: { key } });
export const concat = (...parts: Expr[]): Expr => ({ concat: parts });
export const range = (from: number, to: number): Expr => (from === to ? from : { range: [from, to] });
export const setRef = (name: string): string => `@${name}`;
export const anonSet = (...items: Expr[]): Expr => ({ set: items });

export const match = (left: Expr, right: Expr, op: "==" | "!=" | "in" = "=="): Expr => ({
	match: { op, left, right },
});

/** `fib daddr type local` (flags "iif" adds `. iif`: local on the incoming interface itself). */
export const fibDaddrType = (flags: string[] = []): Expr => ({
	fib: { result: "type", flags: ["daddr", ...flags] },
});

export const ctMarkOr = (bits: number): Expr => ({
	mangle: { key: ct("mark"), value: { "|": [ct("mark"), bits] } },
});
export const ctMarkClear = (bits: number): Expr => ({
	mangle: { key: ct("mark"), value: { "&": [ct("mark"), ~bits >>> 0] } },
});
export const ctMarkHas = (bits: number): Expr => match({ "&": [ct("mark"), bits] }, bits);

export const jump = (target: string): Expr => ({ jump: { target } });
export const accept = (): Expr => ({ accept: null });

export const mapLookup = (key: Expr, map: string): Expr => ({ map: { key, data: setRef(map) } });

/** `dnat ip to <addr>[:<port>]`; addr/port are expressions (often map lookups). */
export const dnat = (family: "ip" | "ip6", addr: Expr, port?: Expr): Expr => ({
	dnat: port === undefined ? { family, addr } : { family, addr, port },
});
export const masquerade = (): Expr => ({ masquerade: null });

export const tcpUdp = (): Expr => match(meta("l4proto"), anonSet("tcp", "udp"));
