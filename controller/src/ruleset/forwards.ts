// Forwards → elements of portrig's forward maps and pinhole sets, as nft text (pure).
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
//
// The elements are kept per forward (a Group, packed into one string), and a render reuses the
// previous render's group of a forward that is the same object: the config store hands over the
// same object for a forward that did not change, so a change among 10,000 forwards renders one
// forward and diffs one group.
import { familyOf } from "../config/address";
import type { Config, Forward, ForwardEntry, PortRange, Protocol } from "../config/schema";
import { formatPrefix, type Prefix, parsePrefix, prefixesOverlap } from "./prefix";
import { type ElementRef, type Group, type GroupChange, packElements, type SetDecl } from "./spec";

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
} as const satisfies Record<string, { type: string[]; map?: string; interval: boolean }>;

export type ForwardSetName = keyof typeof FORWARD_SETS;

export function forwardSetDecl(name: ForwardSetName): SetDecl {
	const d: { type: readonly string[]; map?: string; interval: boolean } = FORWARD_SETS[name];
	return { type: [...d.type], ...(d.map ? { map: d.map } : {}), flags: d.interval ? ["interval"] : [] };
}

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

/**
 * Accepted claims, indexed so that 10,000 single-port forwards check in linear time. Kept
 * between applies, so kept small: a port with one claim holds it without an array, and the
 * bucket strings are shared.
 */
class ClaimIndex {
	private readonly singles = new Map<string, Map<number, Claim | Claim[]>>();
	private readonly ranges = new Map<string, Claim[]>();
	private readonly buckets = new Map<string, string>();

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
			const at = singles.get(p);
			const hit = Array.isArray(at) ? at.find(overlaps) : at && overlaps(at) ? at : undefined;
			if (hit) return hit;
		}
		return undefined;
	}

	add(c: Claim): void {
		const bucket = this.buckets.get(c.bucket) ?? c.bucket;
		this.buckets.set(bucket, bucket);
		c.bucket = bucket;
		if (c.ports.from === c.ports.to) {
			const singles = this.singles.get(bucket) ?? new Map<number, Claim | Claim[]>();
			this.singles.set(bucket, singles);
			const at = singles.get(c.ports.from);
			if (Array.isArray(at)) at.push(c);
			else singles.set(c.ports.from, at ? [at, c] : c);
		} else {
			const list = this.ranges.get(bucket);
			if (list) list.push(c);
			else this.ranges.set(bucket, [c]);
		}
	}

	/** Takes out the claims of `c.id` where `c` would be (none there: nothing changes). */
	remove(c: Claim): void {
		const other = (x: Claim) => x.id !== c.id;
		if (c.ports.from === c.ports.to) {
			const singles = this.singles.get(c.bucket);
			const at = singles?.get(c.ports.from);
			const rest = Array.isArray(at) ? at.filter(other) : at && other(at) ? [at] : [];
			if (rest.length > 1) singles?.set(c.ports.from, rest);
			else if (rest[0]) singles?.set(c.ports.from, rest[0]);
			else singles?.delete(c.ports.from);
		} else {
			const list = this.ranges.get(c.bucket);
			if (list) this.ranges.set(c.bucket, list.filter(other));
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

/** nft text of a port or a port range. */
export const portText = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);

const element = (set: ForwardSetName, key: string, value?: string | number): ElementRef =>
	value === undefined ? [set, key, key] : [set, `${key} : ${value}`, key];

type Maps = { addr: ForwardSetName; port: ForwardSetName; range: ForwardSetName };
const WAN_MAPS: Maps = { addr: "wan4_addr", port: "wan4_port", range: "wan4_range" };
const LAN_MAPS: Maps = { addr: "lan4_addr", port: "lan4_port", range: "lan4_range" };

/** Elements of one unrestricted IPv4 forward on one protocol (the WAN maps, or the LAN copies). */
function unrestrictedElements(f: Forward, proto: Protocol, maps: Maps): ElementRef[] {
	const { from, to } = f.src_dport;
	if (from !== to && keepsPorts(f)) return [element(maps.range, `${proto} . ${from}-${to}`, f.dest_ip)];
	const out: ElementRef[] = [];
	for (let p = from; p <= to; p++) {
		const q = destPort(f, p);
		if (q === undefined) continue;
		out.push(element(maps.addr, `${proto} . ${p}`, f.dest_ip));
		if (q !== p) out.push(element(maps.port, `${proto} . ${p}`, q));
	}
	return out;
}

function restrictedElements(f: Forward, proto: Protocol, sources: Prefix[]): ElementRef[] {
	const { from, to } = f.src_dport;
	const dest = f.dest_port;
	const out: ElementRef[] = [];
	for (const s of sources) {
		const src = formatPrefix(s);
		out.push(element("wan4_src_addr", `${proto} . ${src} . ${portText(from, to)}`, f.dest_ip));
		if (keepsPorts(f)) continue;
		if (dest && dest.from === dest.to) {
			out.push(element("wan4_src_port", `${proto} . ${src} . ${portText(from, to)}`, dest.from));
			continue;
		}
		for (let p = from; p <= to; p++) {
			const q = destPort(f, p);
			if (q !== undefined) out.push(element("wan4_src_port", `${proto} . ${src} . ${p}`, q));
		}
	}
	return out;
}

/** What one forward is, for the checks: its family, LAN host, and source restriction. */
function shape(f: Forward) {
	const family = familyOf(f.dest_ip);
	const host = family === 6 ? formatPrefix(parsePrefix(f.dest_ip)) : f.dest_ip;
	const allSources = f.src_ip.map(parsePrefix);
	const sources = allSources.filter((s) => s.family === family);
	return { family, host, allSources, restricted: sources.length ? sources : undefined };
}

/** A forward's WAN-side elements (maps or pinholes); pure in the forward. */
function wanElements(f: Forward): ElementRef[] {
	const { family, host, restricted } = shape(f);
	const out: ElementRef[] = [];
	for (const proto of f.proto) {
		if (family === 6) {
			const dport = portText(f.src_dport.from, f.src_dport.to);
			if (restricted)
				for (const s of restricted)
					out.push(element("pin6_src", `${proto} . ${formatPrefix(s)} . ${host} . ${dport}`));
			else out.push(element("pin6", `${proto} . ${host} . ${dport}`));
		} else if (restricted) out.push(...restrictedElements(f, proto, restricted));
		else out.push(...unrestrictedElements(f, proto, WAN_MAPS));
	}
	return out;
}

/** A forward's group, with the protocols it has NAT-loopback elements for. */
type ForwardGroup = Group & { reflected: string };

/** Forward `f`'s group: `before` (its group in the previous render) when that still fits. */
function groupOf(f: Forward, reflected: Protocol[], before?: Group): Group {
	const key = reflected.join(" ");
	const old = before as ForwardGroup | undefined;
	if (old?.source === f && old.reflected === key) return old;
	const lan = reflected.flatMap((proto) => unrestrictedElements(f, proto, LAN_MAPS));
	const group: ForwardGroup = {
		source: f,
		elements: packElements([...wanElements(f), ...lan]),
		reflected: key,
	};
	return group;
}

/**
 * The claim indexes behind a render, for the next change of one forward. `lanBlocked`: some
 * forward lost its NAT-loopback claim to another (then order decides, and only a whole render
 * is right).
 */
type Claims = { wan: ClaimIndex; lan: ClaimIndex; lanBlocked: boolean };

export type ForwardRender = {
	groups: Map<string, Group>;
	skipped: SkippedForward[];
	/** Absent once used up by a change (the indexes are updated in place by forwardChanged). */
	claims?: Claims;
	/** Set by forwardChanged, which changes `groups` in place: the forward and its group before. */
	changed?: GroupChange;
};

/** A forward's WAN claims (undefined with the reason when it cannot be in the ruleset). */
function wanClaims(f: Config["forwards"][number]): Claim[] | SkippedForward {
	const { family, host, allSources, restricted } = shape(f);
	if (allSources.length && !restricted)
		return { id: f.id, reason: `no src_ip of the IPv${family} family of dest_ip ${f.dest_ip}` };
	return f.proto.map((proto) => ({
		id: f.id,
		proto,
		ports: f.src_dport,
		sources: restricted,
		bucket: `${family} ${proto} ${family === 6 ? host : ""} ${restricted ? "src" : "any"}`,
	}));
}

const lanClaim = (f: Forward & { id: string }, proto: Protocol): Claim => ({
	id: f.id,
	proto,
	ports: f.src_dport,
	bucket: `4 ${proto}`,
});

/**
 * Every forward's group. `previous`: the groups of the last render, kept for forwards that are
 * the same objects (the config store hands over the same object for a forward that did not
 * change), so 10,000 unchanged forwards cost a lookup each.
 */
export function forwardElements(config: Config, previous?: Map<string, Group>): ForwardRender {
	const groups = new Map<string, Group>();
	const skipped: SkippedForward[] = [];
	const wan = new ClaimIndex();
	const lan = new ClaimIndex();
	if (!config.globals.enabled) return { groups, skipped };

	const accepted: Config["forwards"] = [];
	for (const f of config.forwards) {
		if (!f.enabled) continue;
		const claims = wanClaims(f);
		if (!Array.isArray(claims)) {
			skipped.push(claims);
			continue;
		}
		const clash = claims.map((c) => [c, wan.conflict(c)] as const).find(([, other]) => other);
		if (clash?.[1]) {
			skipped.push({
				id: f.id,
				reason: `overlaps forward '${clash[1].id}' on ${portLabel(clash[0])}${clash[0].sources ? " from the same sources" : ""}`,
			});
			continue;
		}
		for (const c of claims) wan.add(c);
		accepted.push(f);
	}

	// NAT loopback: LAN clients are not the remote sources a restriction names, so every
	// reflecting IPv4 forward gets LAN elements; unrestricted forwards first, then the first of
	// several restricted forwards sharing a port.
	const reflected = new Map<Forward, Protocol[]>();
	const reflecting = accepted.filter((f) => f.reflection && familyOf(f.dest_ip) === 4);
	const ordered = [
		...reflecting.filter((f) => !f.src_ip.length),
		...reflecting.filter((f) => f.src_ip.length),
	];
	let lanBlocked = false;
	for (const f of ordered) {
		for (const proto of f.proto) {
			const claim = lanClaim(f, proto);
			if (lan.conflict(claim)) {
				lanBlocked = true;
				continue;
			}
			lan.add(claim);
			reflected.set(f, [...(reflected.get(f) ?? []), proto]);
		}
	}
	for (const f of accepted) groups.set(f.id, groupOf(f, reflected.get(f) ?? [], previous?.get(f.id)));
	return { groups, skipped, claims: { wan, lan, lanBlocked } };
}

/**
 * The render after forward `id` alone changed (added or updated to `f`, or deleted: no `f`),
 * from the previous render: its claims are swapped in the indexes, its group rendered, the others kept. Costs one
 * forward, not 10,000. Undefined when only a whole render is right: something was left out or
 * lost its loopback claim before, or the changed forward clashes now (first in config order
 * wins). Uses up `prev.claims` either way.
 */
export function forwardChanged(
	prev: ForwardRender,
	config: Config,
	id: string,
	f: ForwardEntry | undefined,
): ForwardRender | undefined {
	const claims = prev.claims;
	prev.claims = undefined;
	if (!claims || claims.lanBlocked || prev.skipped.length || !config.globals.enabled) return undefined;
	// Its claims before, from the forward it was rendered from (no group: it claimed nothing).
	const old = prev.groups.get(id)?.source as (Forward & { id: string }) | undefined;
	if (old) {
		const wan = wanClaims(old);
		if (Array.isArray(wan)) for (const c of wan) claims.wan.remove(c);
		for (const proto of old.proto) claims.lan.remove(lanClaim(old, proto));
	}
	let group: Group | undefined;
	if (f?.enabled) {
		const wan = wanClaims(f);
		if (!Array.isArray(wan) || wan.some((c) => claims.wan.conflict(c))) return undefined;
		const reflects = f.reflection && familyOf(f.dest_ip) === 4;
		const lan = reflects ? f.proto.map((proto) => lanClaim(f, proto)) : [];
		if (lan.some((c) => claims.lan.conflict(c))) return undefined;
		for (const c of wan) claims.wan.add(c);
		for (const c of lan) claims.lan.add(c);
		group = groupOf(f, reflects ? f.proto : []);
	}
	// In place: a copy of 10,000 groups per change would cost more than the change itself.
	const groups = prev.groups;
	const changed = { id, before: groups.get(id) };
	replaceGroup(groups, id, group);
	return { groups, skipped: [], claims, changed };
}

/** Puts `group` (none: removes) as forward `id`'s, last in order as a new one would be. */
export function replaceGroup(groups: Map<string, Group>, id: string, group: Group | undefined): void {
	groups.delete(id);
	if (group) groups.set(id, group);
}
