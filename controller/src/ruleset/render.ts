// Config → portrig's nftables table, as nft JSON (pure; golden-tested in golden/).
//
// One table, `inet portrig`. Forwards and pinholes are map/set elements (forwards.ts), so a new
// connection costs the same few lookups whatever the number of forwards; rules only dispatch:
//
//   dstnat_forward  nat prerouting -110  WAN → router address: forward_wan4; LAN → router's
//                                        other (WAN) addresses: forward_lan4 (NAT loopback)
//   <trigger part>  nat prerouting -105  trigger openings (ruleset/triggers.ts)
//   (fw4 dstnat     nat prerouting -100  fw4's own redirects)
//   dstnat_dmz      nat prerouting  -90  WAN → router address, not a router port nor excluded: DMZ host
//   forward_pinhole filter forward   -1  IPv6 pinholes: mark the new connection for fw4
//   srcnat_loopback nat postrouting  90  masquerade NAT-loopback connections towards the LAN host
//
// Only the first NAT chain that DNATs a connection counts, so the priorities make forwards win
// over triggers, triggers over fw4's redirects, all of them over the DMZ. Every connection
// portrig forwards carries conntrack mark bit CT_MARK.ACCEPT, which fw4's forward chain accepts
// through portrig's fw4 include (chain-post/forward): fw4's stock forward policy drops WAN→LAN
// and only accepts DNAT'ed flows when fw4 has redirects itself. A dispatch chain sets the bit
// before its DNAT lookups and clears it again when none matched (a DNAT ends the chain), so the
// bit is on exactly the connections portrig forwarded.
//
// nft features relied on, and since when (OpenWrt 23.05: kernel 5.15, nft 1.0.8):
//   inet-family nat chains, masquerade in inet       kernel 5.2,  nft 0.9.1
//   concatenated keys with interval flag (pipapo)    kernel 5.6,  nft 0.9.4   (ranges, prefixes)
//   dnat address and port from two map lookups      kernel 4.18, nft 0.9.0   (`dnat ip to m1 : m2`)
//   th dport, meta l4proto in concatenations         kernel 4.x,  nft 0.9.2
//   fib daddr type / fib daddr . iif type            kernel 4.10, nft 0.7
//   ct mark set ct mark | bits, negated set lookups  kernel 4.x
//   JSON input (nft -j -f)                           nft 0.9.1
// Not used: concatenated map data (`: ipv4_addr . inet_service`) — nft 1.0.6 cannot load it
// from JSON (it crashes), hence separate address and port maps.
import type { Config, Protocol } from "../config/schema";
import { FORWARD_SETS, type ForwardSetName, forwardElements, type SkippedForward } from "./forwards";
import { CT_MARK, DEVICE_SETS, PRIORITY, TABLE } from "./layout";
import {
	concat,
	ct,
	ctMarkClear,
	ctMarkHas,
	ctMarkOr,
	dnat,
	type Expr,
	fibDaddrType,
	jump,
	mapLookup,
	masquerade,
	match,
	meta,
	type NftBatch,
	type NftChain,
	type NftCommand,
	type NftRule,
	type NftSet,
	payload,
	range,
	setRef,
	tcpUdp,
} from "./nft-json";
import { type TextChain, triggerPart } from "./triggers";

/** A port the router itself serves on a WAN-reachable address (never given to the DMZ host). */
export type RouterPort = { proto: Protocol; port: number };

/** What the ruleset needs to know about the router besides the config. */
export type Env = {
	wanDevices: string[];
	lanDevices: string[];
	/** Listening sockets of the router (router-ports.ts discovers them). */
	routerPorts?: RouterPort[];
};

export type ChainSpec = { chain: NftChain; rules: NftRule[] };

/** The table's content as sets and chains; a part of it is the same shape (see triggerPart). */
export type RulesetSpec = {
	sets: NftSet[];
	chains: ChainSpec[];
	/** Rules nft JSON cannot express (trigger map updates): nft text, applied after the JSON batch. */
	text?: TextChain[];
};

/**
 * Ports that fw4's stock config accepts on the WAN zone for the router's own clients (DHCP
 * renew, `Allow-DHCP-Renew`): their sockets are raw, so router-ports.ts cannot see them.
 */
export const FW4_WAN_INPUT_PORTS: RouterPort[] = [{ proto: "udp", port: 68 }];

const IPV4 = match(meta("nfproto"), "ipv4");
const IPV6 = match(meta("nfproto"), "ipv6");
const FROM_WAN = match(meta("iifname"), setRef(DEVICE_SETS.wan));
const FROM_LAN = match(meta("iifname"), setRef(DEVICE_SETS.lan));
const TO_ROUTER = match(fibDaddrType(), "local");
const PROTO_DPORT = concat(meta("l4proto"), payload("th", "dport"));
const PROTO_SADDR_DPORT = concat(meta("l4proto"), payload("ip", "saddr"), payload("th", "dport"));

export function set(name: string, decl: Omit<NftSet, "family" | "table" | "name">): NftSet {
	return { family: TABLE.family, table: TABLE.name, name, ...decl };
}

export function chain(name: string, base?: Pick<NftChain, "type" | "hook" | "prio">): NftChain {
	return base
		? { family: TABLE.family, table: TABLE.name, name, ...base, policy: "accept" }
		: { family: TABLE.family, table: TABLE.name, name };
}

export function rule(chainName: string, ...expr: Expr[]): NftRule {
	return { family: TABLE.family, table: TABLE.name, chain: chainName, expr };
}

/** A set declaration with its elements; `elem` is left out when empty (nft wants none then). */
function withElements(s: NftSet, elem: Expr[]): NftSet {
	return elem.length ? { ...s, elem } : s;
}

function forwardSets(elements: Record<ForwardSetName, Expr[]>): NftSet[] {
	return (Object.keys(FORWARD_SETS) as ForwardSetName[]).map((name) => {
		const d: { type: readonly string[]; map?: string; interval: boolean } = FORWARD_SETS[name];
		const decl = set(name, {
			type: [...d.type],
			...(d.map ? { map: d.map } : {}),
			...(d.interval ? { flags: ["interval"] } : {}),
		});
		return withElements(decl, elements[name]);
	});
}

/** `dnat ip to <addr map>[ : <port map>]` for one key. */
function dnatVia(key: Expr, addrMap: string, portMap?: string): Expr[] {
	return portMap
		? [tcpUdp(), dnat("ip", mapLookup(key, addrMap), mapLookup(key, portMap))]
		: [dnat("ip", mapLookup(key, addrMap))];
}

function forwardPart(config: Config): { part: RulesetSpec; skipped: SkippedForward[] } {
	const { elements, skipped } = forwardElements(config);
	const wan = "forward_wan4";
	const lan = "forward_lan4";
	const loopbackBits = CT_MARK.ACCEPT | CT_MARK.LOOPBACK;
	const chains: ChainSpec[] = [
		{
			chain: chain("dstnat_forward", { type: "nat", hook: "prerouting", prio: PRIORITY.forwardDnat }),
			rules: [
				rule("dstnat_forward", IPV4, tcpUdp(), FROM_WAN, TO_ROUTER, jump(wan)),
				// A router address that is not on the LAN device the packet came in on: a WAN address.
				rule(
					"dstnat_forward",
					IPV4,
					tcpUdp(),
					FROM_LAN,
					TO_ROUTER,
					match(fibDaddrType(["iif"]), "local", "!="),
					jump(lan),
				),
			],
		},
		{
			chain: chain(wan),
			rules: [
				rule(wan, ctMarkOr(CT_MARK.ACCEPT)),
				rule(wan, ...dnatVia(PROTO_SADDR_DPORT, "wan4_src_addr", "wan4_src_port")),
				rule(wan, ...dnatVia(PROTO_SADDR_DPORT, "wan4_src_addr")),
				rule(wan, ...dnatVia(PROTO_DPORT, "wan4_addr", "wan4_port")),
				rule(wan, ...dnatVia(PROTO_DPORT, "wan4_addr")),
				rule(wan, ...dnatVia(PROTO_DPORT, "wan4_range")),
				rule(wan, ctMarkClear(CT_MARK.ACCEPT)),
			],
		},
		{
			chain: chain(lan),
			rules: [
				rule(lan, ctMarkOr(loopbackBits)),
				rule(lan, ...dnatVia(PROTO_DPORT, "lan4_addr", "lan4_port")),
				rule(lan, ...dnatVia(PROTO_DPORT, "lan4_addr")),
				rule(lan, ...dnatVia(PROTO_DPORT, "lan4_range")),
				rule(lan, ctMarkClear(loopbackBits)),
			],
		},
		{
			chain: chain("srcnat_loopback", { type: "nat", hook: "postrouting", prio: PRIORITY.loopbackSnat }),
			rules: [
				rule(
					"srcnat_loopback",
					ctMarkHas(CT_MARK.LOOPBACK),
					match(meta("oifname"), setRef(DEVICE_SETS.lan)),
					masquerade(),
				),
			],
		},
		{
			chain: chain("forward_pinhole", { type: "filter", hook: "forward", prio: PRIORITY.pinholeFilter }),
			rules: [
				rule(
					"forward_pinhole",
					match(ct("state"), "new", "in"),
					IPV6,
					FROM_WAN,
					match(concat(meta("l4proto"), payload("ip6", "daddr"), payload("th", "dport")), setRef("pin6")),
					ctMarkOr(CT_MARK.ACCEPT),
				),
				rule(
					"forward_pinhole",
					match(ct("state"), "new", "in"),
					IPV6,
					FROM_WAN,
					match(
						concat(meta("l4proto"), payload("ip6", "saddr"), payload("ip6", "daddr"), payload("th", "dport")),
						setRef("pin6_src"),
					),
					ctMarkOr(CT_MARK.ACCEPT),
				),
			],
		},
	];
	return { part: { sets: forwardSets(elements), chains }, skipped };
}

/** Merges overlapping or adjacent ranges per protocol (the kernel refuses overlapping intervals). */
export function mergedRanges(entries: { proto: Protocol; from: number; to: number }[]) {
	const out: { proto: Protocol; from: number; to: number }[] = [];
	for (const proto of ["tcp", "udp"] as const) {
		const sorted = entries.filter((e) => e.proto === proto).sort((a, b) => a.from - b.from);
		let cur: { proto: Protocol; from: number; to: number } | undefined;
		for (const e of sorted) {
			if (cur && e.from <= cur.to + 1) cur.to = Math.max(cur.to, e.to);
			else {
				cur = { ...e };
				out.push(cur);
			}
		}
	}
	return out;
}

function routerPortElements(env: Env): Expr[] {
	const seen = new Set<string>();
	const out: Expr[] = [];
	const all = [...FW4_WAN_INPUT_PORTS, ...(env.routerPorts ?? [])].sort(
		(a, b) => a.proto.localeCompare(b.proto) || a.port - b.port,
	);
	for (const p of all) {
		const key = `${p.proto} ${p.port}`;
		if (seen.has(key)) continue;
		seen.add(key);
		out.push(concat(p.proto, p.port));
	}
	return out;
}

function dmzPart(config: Config, env: Env): RulesetSpec {
	const { dmz } = config;
	const excluded = mergedRanges(
		dmz.exclude_port.flatMap((e) => e.proto.map((proto) => ({ proto, from: e.port.from, to: e.port.to }))),
	);
	const sets = [
		withElements(set("router_ports", { type: ["inet_proto", "inet_service"] }), routerPortElements(env)),
		withElements(
			set("dmz_exclude", { type: ["inet_proto", "inet_service"], flags: ["interval"] }),
			excluded.map((e) => concat(e.proto, range(e.from, e.to))),
		),
	];
	const name = "dstnat_dmz";
	const active = config.globals.enabled && dmz.enabled && dmz.dest_ip !== undefined;
	const rules = active
		? [
				rule(
					name,
					IPV4,
					tcpUdp(),
					FROM_WAN,
					TO_ROUTER,
					match(PROTO_DPORT, setRef("router_ports"), "!="),
					match(PROTO_DPORT, setRef("dmz_exclude"), "!="),
					ctMarkOr(CT_MARK.ACCEPT),
					dnat("ip", dmz.dest_ip),
				),
			]
		: [];
	return {
		sets,
		chains: [{ chain: chain(name, { type: "nat", hook: "prerouting", prio: PRIORITY.dmzDnat }), rules }],
	};
}

function devicePart(env: Env): RulesetSpec {
	const devices = (list: string[]) => [...new Set(list)].sort();
	return {
		sets: [
			withElements(set(DEVICE_SETS.wan, { type: "ifname" }), devices(env.wanDevices)),
			withElements(set(DEVICE_SETS.lan, { type: "ifname" }), devices(env.lanDevices)),
		],
		chains: [],
	};
}

/** The whole table as sets and chains, plus the forwards left out (overlaps). */
export function buildRuleset(config: Config, env: Env): { spec: RulesetSpec; skipped: SkippedForward[] } {
	const forwards = forwardPart(config);
	// Composition point: the trigger part (ruleset/triggers.ts) goes between the forward part
	// and the DMZ part, its NAT chain at PRIORITY.triggerDnat.
	const triggers = triggerPart(config);
	const parts = [devicePart(env), forwards.part, triggers, dmzPart(config, env)];
	return {
		spec: {
			sets: parts.flatMap((p) => p.sets),
			chains: parts.flatMap((p) => p.chains),
			...(triggers.text.length ? { text: triggers.text } : {}),
		},
		skipped: forwards.skipped,
	};
}

/** `{add: {set|map: …}}`: nft JSON names a set with data a map. */
export function addSet(s: NftSet): NftCommand {
	return s.map ? { add: { map: s } } : { add: { set: s } };
}

/** The batch that creates the table from nothing (sets with their elements, chains, rules). */
export function creationBatch(spec: RulesetSpec): NftBatch {
	return {
		nftables: [
			{ add: { table: { family: TABLE.family, name: TABLE.name } } },
			...spec.sets.map(addSet),
			...spec.chains.map((c): NftCommand => ({ add: { chain: c.chain } })),
			...spec.chains.flatMap((c) => c.rules.map((r): NftCommand => ({ add: { rule: r } }))),
		],
	};
}

/** Config → the nft JSON batch that creates portrig's table. */
export function renderRuleset(config: Config, env: Env): NftBatch {
	return creationBatch(buildRuleset(config, env).spec);
}
