// Address prefixes as numbers: normalising "198.51.100.7/24" to its network, testing whether two
// prefixes overlap, and printing them back in the canonical form nft prints.
import type { Family } from "../config/address";

export type Prefix = { family: Family; network: bigint; len: number };

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseIPv4(text: string): bigint {
	return text.split(".").reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);
}

function parseIPv6(text: string): bigint {
	let t = text;
	// An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
	const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
	if (v4?.[1]) {
		const n = parseIPv4(v4[1]);
		t = `${t.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
	}
	const [head = "", tail] = t.split("::");
	const left = head ? head.split(":") : [];
	const right = tail ? tail.split(":") : [];
	const groups =
		tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
	return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function formatIPv4(n: bigint): string {
	return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join(".");
}

/** RFC 5952: lower case, leading zeros dropped, the longest run (≥2) of zero groups as "::". */
function formatIPv6(n: bigint): string {
	const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
	let best = -1;
	let bestLen = 1;
	for (let i = 0; i < 8; ) {
		if (groups[i] !== 0) {
			i++;
			continue;
		}
		let j = i;
		while (j < 8 && groups[j] === 0) j++;
		if (j - i > bestLen) {
			best = i;
			bestLen = j - i;
		}
		i = j;
	}
	const hex = groups.map((g) => g.toString(16));
	if (best < 0) return hex.join(":");
	return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** "198.51.100.7/24" → 198.51.100.0/24; a bare address is a full-length prefix. Input is valid (zod). */
export function parsePrefix(text: string): Prefix {
	const [addr = "", lenText] = text.split("/");
	const family: Family = addr.includes(":") ? 6 : 4;
	const bits = BITS[family];
	const len = lenText === undefined ? bits : Number(lenText);
	const value = family === 4 ? parseIPv4(addr) : parseIPv6(addr);
	const hostBits = BigInt(bits - len);
	return { family, len, network: (value >> hostBits) << hostBits };
}

export function formatAddress(family: Family, n: bigint): string {
	return family === 4 ? formatIPv4(n) : formatIPv6(n);
}

/** Canonical text: "198.51.100.0/24", or the bare address for a full-length prefix. */
export function formatPrefix(p: Prefix): string {
	const addr = formatAddress(p.family, p.network);
	return p.len === BITS[p.family] ? addr : `${addr}/${p.len}`;
}

/** Two prefixes overlap when one contains the other. */
export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
	if (a.family !== b.family) return false;
	const shift = BigInt(BITS[a.family] - Math.min(a.len, b.len));
	return a.network >> shift === b.network >> shift;
}

export function canonicalAddress(text: string): string {
	return formatPrefix(parsePrefix(text));
}
