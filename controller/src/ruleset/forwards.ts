// Forwards → elements of portrig's forward maps and pinhole sets (pure).
//
// Each enabled forward becomes a handful of map elements, never rules, so the number of
// forwards does not change how many lookups a new connection costs. IPv4 forwards:
//
//   map (key → value)                               holds
//   wan4_addr   proto . dport → LAN address         single ports, ports of remapped ranges
//   wan4_port   proto . dport → LAN port            remapped ports (one element per port: 1:1)
//   wan4_range  proto . dport-range → LAN address   ranges kept as they are (one interval element)
//   wan4_src_addr / wan4_src_port                   the same, keyed proto . source prefix . dport,
//                                                   for forwards restricted to remote sources
//   lan4_addr / lan4_port / lan4_range              NAT loopback copies (reflection on)
//
// IPv6 forwards open pinholes: pin6 holds proto . LAN address . dport(-range), pin6_src adds
// the source prefix. The kernel refuses overlapping interval elements, and two forwards on the
// same port could not both win, so forwards that overlap an earlier one are left out and
// reported (first in config order wins). A forward restricted to sources may share its port
// with an unrestricted one: the restricted maps are looked up first.
import { familyOf } from "../config/address";
import type { Config, Forward, PortRange, Protocol } from "../config/schema";
import { concat, type Expr, range } from "./nft-json";
import { formatPrefix, type Prefix, parsePrefix, prefixesOverlap } from "./prefix";

type MapDecl = { type: string[]; map?: string; interval: boolean };

export const FORWARD_SETS = {
	wan4_addr: { type: ["inet_proto", "inet_service"], map: "ipv4_addr", interval: false },
	wan4_port: { type: ["inet_proto", "inet_service"], map: "inet_service", interval: false },
	wan4_range: { type: ["inet_proto", "inet_service"], map: "ipv4_addr", interval: true },
	wan4_src_addr: { type: ["inet_proto", "ipv4_addr", "inet_service"], map: "ipv4_addr", interval: true },
	wan4_src_port: { type: ["inet_proto", "ipv4_addr", "inet_service"], map: "inet_service", interval: true },
	lan4_addr: { type: ["inet_proto", "inet_service"], map: "ipv4_addr", interval: false },
	lan4_port: { type: ["inet_proto", "inet_service"], map: "inet_service", interval: false },
	lan4_range: { type: ["inet_proto", "inet_service"], map: "ipv4_addr", interval: true },
	pin6: { type: ["inet_proto", "ipv6_addr", "inet_service"], interval: true },
	pin6_src: { type: ["inet_proto", "ipv6_addr", "ipv6_addr", "inet_service"], interval: true },
} as const satisfies Record<string, MapDecl>;

export type ForwardSetName = keyof typeof FORWARD_SETS;
export type ForwardElements = Record<ForwardSetName, Expr[]>;

/** A forward that is not in the ruleset, and why. */
export type SkippedForward = { id: string; reason: string };

/** What a forward claims: a protocol's ports, from some sources (undefined: any), to a family. */
type Claim = {
	id: string;
	bucket: string;
	proto: Protocol;
	ports: PortRange;
	sources?: Prefix[];
};

/** Accepted claims, indexed so that 10,000 single-port forwards check in linear time. */
class ClaimIndex {
	private readonly singles = new Map<string, Map<number, Claim[]>>();
	private readonly ranges = new Map<string, Claim[]>();

	/** The first accepted claim that `c` overlaps, if any. */
	conflict(c: Claim): Claim | undefined {
		const overlaps = (other: Claim) => sourcesOverlap(c.sources, other.sources);
		const ranged = this.ranges
			.get(c.bucket)
			?.find((r) => r.ports.from <= c.ports.to && c.ports.from <= r.ports.to && overlaps(r));
		if (ranged) return ranged;
		const singles = this.singles.get(c.bucket);
		if (!singles) return undefined;
		for (let p = c.ports.from; p <= c.ports.to; p++) {
			const hit = singles.get(p)?.find(overlaps);
			if (hit) return hit;
		}
		return undefined;
	}

	add(c: Claim): void {
		if (c.ports.from === c.ports.to) {
			const singles = this.singles.get(c.bucket) ?? new Map<number, Claim[]>();
			this.singles.set(c.bucket, singles);
			const list = singles.get(c.ports.from);
			if (list) list.push(c);
			else singles.set(c.ports.from, [c]);
		} else {
			const list = this.ranges.get(c.bucket);
			if (list) list.push(c);
			else this.ranges.set(c.bucket, [c]);
		}
	}
}

/** Unrestricted claims conflict with each other; restricted ones when their sources overlap. */
function sourcesOverlap(a: Prefix[] | undefined, b: Prefix[] | undefined): boolean {
	if (!a || !b) return !a && !b;
	return a.some((x) => b.some((y) => prefixesOverlap(x, y)));
}

const portLabel = (c: Claim) =>
	`${c.proto} ${c.ports.from === c.ports.to ? c.ports.from : `${c.ports.from}-${c.ports.to}`}`;

/** The LAN port that WAN port `p` of a forward goes to (1:1 for ranges, or all to one port). */
export function destPort(f: Forward, p: number): number | undefined {
	const dest = f.dest_port;
	if (!dest) return p;
	if (dest.from === dest.to) return dest.from;
	const q = dest.from + (p - f.src_dport.from);
	return q <= dest.to ? q : undefined;
}

function keepsPorts(f: Forward): boolean {
	const d = f.dest_port;
	return !d || (d.from === f.src_dport.from && d.to === f.src_dport.to);
}

function emptyElements(): ForwardElements {
	const out = {} as ForwardElements;
	for (const name of Object.keys(FORWARD_SETS) as ForwardSetName[]) out[name] = [];
	return out;
}

/**
 * Elements for `wanAddr`/`wanPort`/`wanRange` (or the LAN copies) of one unrestricted IPv4
 * forward on one protocol.
 */
function unrestrictedElements(
	f: Forward,
	proto: Protocol,
	out: ForwardElements,
	maps: { addr: ForwardSetName; port: ForwardSetName; range: ForwardSetName },
) {
	const { from, to } = f.src_dport;
	if (from !== to && keepsPorts(f)) {
		out[maps.range].push([concat(proto, range(from, to)), f.dest_ip]);
		return;
	}
	for (let p = from; p <= to; p++) {
		const q = destPort(f, p);
		if (q === undefined) continue;
		out[maps.addr].push([concat(proto, p), f.dest_ip]);
		if (q !== p) out[maps.port].push([concat(proto, p), q]);
	}
}

function restrictedElements(f: Forward, proto: Protocol, sources: Prefix[], out: ForwardElements) {
	const { from, to } = f.src_dport;
	const dest = f.dest_port;
	for (const s of sources) {
		const src = formatPrefixExpr(s);
		out.wan4_src_addr.push([concat(proto, src, range(from, to)), f.dest_ip]);
		if (keepsPorts(f)) continue;
		if (dest && dest.from === dest.to) {
			out.wan4_src_port.push([concat(proto, src, range(from, to)), dest.from]);
			continue;
		}
		for (let p = from; p <= to; p++) {
			const q = destPort(f, p);
			if (q !== undefined) out.wan4_src_port.push([concat(proto, src, p), q]);
		}
	}
}

/** nft JSON for a prefix: a bare address, or {"prefix": {addr, len}}. */
export function formatPrefixExpr(p: Prefix): Expr {
	const text = formatPrefix(p);
	const [addr, len] = text.split("/");
	return len === undefined ? addr : { prefix: { addr, len: Number(len) } };
}

export function forwardElements(config: Config): { elements: ForwardElements; skipped: SkippedForward[] } {
	const out = emptyElements();
	const skipped: SkippedForward[] = [];
	const wan = new ClaimIndex();
	const lan = new ClaimIndex();
	if (!config.globals.enabled) return { elements: out, skipped };

	for (const f of config.forwards) {
		if (!f.enabled) continue;
		const family = familyOf(f.dest_ip);
		const host = family === 6 ? formatPrefix(parsePrefix(f.dest_ip)) : f.dest_ip;
		const allSources = f.src_ip.map(parsePrefix);
		const sources = allSources.filter((s) => s.family === family);
		if (allSources.length && !sources.length) {
			skipped.push({ id: f.id, reason: `no src_ip of the IPv${family} family of dest_ip ${f.dest_ip}` });
			continue;
		}
		const restricted = sources.length ? sources : undefined;
		const claims: Claim[] = f.proto.map((proto) => ({
			id: f.id,
			proto,
			ports: f.src_dport,
			sources: restricted,
			bucket: `${family} ${proto} ${family === 6 ? host : ""} ${restricted ? "src" : "any"}`,
		}));
		const clash = claims.map((c) => [c, wan.conflict(c)] as const).find(([, other]) => other);
		if (clash?.[1]) {
			skipped.push({
				id: f.id,
				reason: `overlaps forward '${clash[1].id}' on ${portLabel(clash[0])}${restricted ? " from the same sources" : ""}`,
			});
			continue;
		}
		for (const c of claims) wan.add(c);

		for (const proto of f.proto) {
			if (family === 6) {
				const dport = range(f.src_dport.from, f.src_dport.to);
				if (restricted)
					for (const s of restricted) out.pin6_src.push(concat(proto, formatPrefixExpr(s), host, dport));
				else out.pin6.push(concat(proto, host, dport));
				continue;
			}
			if (restricted) restrictedElements(f, proto, restricted, out);
			else unrestrictedElements(f, proto, out, { addr: "wan4_addr", port: "wan4_port", range: "wan4_range" });
		}
	}

	// NAT loopback: LAN clients are not the remote sources a restriction names, so every
	// reflecting IPv4 forward gets LAN elements; unrestricted forwards first, then the first of
	// several restricted forwards sharing a port.
	const reflecting = config.forwards.filter(
		(f) => f.enabled && f.reflection && familyOf(f.dest_ip) === 4 && !skipped.some((s) => s.id === f.id),
	);
	const ordered = [
		...reflecting.filter((f) => !f.src_ip.length),
		...reflecting.filter((f) => f.src_ip.length),
	];
	for (const f of ordered) {
		for (const proto of f.proto) {
			const claim: Claim = { id: f.id, proto, ports: f.src_dport, bucket: `4 ${proto}` };
			if (lan.conflict(claim)) continue;
			lan.add(claim);
			unrestrictedElements(f, proto, out, { addr: "lan4_addr", port: "lan4_port", range: "lan4_range" });
		}
	}
	return { elements: out, skipped };
}
