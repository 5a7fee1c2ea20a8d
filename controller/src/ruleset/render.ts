// Config → portrig's nftables table, in nft's text syntax (pure; golden-tested in golden/).
//
// One table, `inet portrig`. Forwards and pinholes are map/set elements (forwards.ts), so a new
// connection costs the same few lookups whatever the number of forwards; rules only dispatch:
//
//   dstnat_forward  nat prerouting -110  WAN → router address: forward_wan4; LAN → router's
//                                        other (WAN) addresses: forward_lan4 (NAT loopback)
//   <trigger part>  nat prerouting -105  trigger openings (ruleset/triggers.ts)
//   (fw4 dstnat     nat prerouting -100  fw4's own redirects)
//   dstnat_dmz      nat prerouting  -90  WAN → router address, no router socket, not excluded: DMZ host
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
// nft features relied on, and since when (OpenWrt 24.10: kernel 6.6, nft 1.1.1):
//   inet-family nat chains, masquerade in inet       kernel 5.2,  nft 0.9.1
//   concatenated keys with interval flag (pipapo)    kernel 5.6,  nft 0.9.4   (ranges, prefixes)
//   dnat address and port from two map lookups      kernel 4.18, nft 0.9.0   (`dnat ip to m1 : m2`)
//   th dport, ct original protocol in concatenations kernel 4.x,  nft 0.9.2
//   socket transparent (router socket lookup)        kernel 4.18, nft 0.9.1   (kmod-nft-socket)
// Kernels run in the VM (test-vm/vm, make vm-test; nft 1.0.6, with and without offloading):
//   Debian 6.12.118: `meta l4proto . …` lookups into interval sets fail EOPNOTSUPP
//     (nft_byteorder_init, len != size; nft emits hton size 2 len 1), hence ct original protocol
//   Debian 6.1.0-57 (6.1.192): a lookup in a map that loads no value (`!= @map`) fails EINVAL
//     before kernel 6.5 (nft_lookup_init), hence the triggers' key sets (triggers.ts)
//   No older kernel is in Debian 12's archive: 5.15 (OpenWrt 23.05) has not been run.
//   fib daddr type / fib daddr . iif type            kernel 4.10, nft 0.7
//   ct mark set ct mark | bits, negated set lookups  kernel 4.x
//   add/update @map { k : v } from the packet path  verified with nft 1.0.6, kernel 6.x (triggers);
//                                                    text only: nft's JSON has it from 1.0.9
//   the whole table as one nft text transaction      libnftables nft_run_cmd_from_buffer / nft -f
// Not used: concatenated map data (`: ipv4_addr . inet_service`), hence separate address and
// port maps (kept from when the ruleset was loaded as JSON, whose nft 1.0.6 parser crashed on it).
import type { Config, ForwardEntry, Protocol } from "../config/schema";
import {
	FORWARD_SETS,
	type ForwardRender,
	type ForwardSetName,
	forwardChanged,
	forwardElements,
	forwardSetDecl,
	portText,
	type SkippedForward,
} from "./forwards";
import { CT_MARK, DEVICE_SETS, PRIORITY } from "./layout";
import { type ChainSpec, elements, type Group, type RulesetSpec, type SetSpec, unpackElements } from "./spec";
import { Transaction } from "./transaction";
import { triggerPart } from "./triggers";

/** What the ruleset needs to know about the router besides the config. */
export type Env = {
	/** WAN/LAN devices; undefined while unknown (netifd has not answered): the kernel's stay. */
	wanDevices?: string[];
	lanDevices?: string[];
};

/** A part of the table (forwards, triggers, DMZ, devices): its sets and chains. */
export type Part = { sets: SetSpec[]; chains: ChainSpec[] };

/**
 * Ports that fw4's stock config accepts on the WAN zone for the router's own clients (DHCP
 * renew, `Allow-DHCP-Renew`): the DHCP client listens on a raw socket between its UDP ones, so
 * the socket lookup of the DMZ rule may not find it. Never given to the DMZ host.
 */
const FW4_WAN_INPUT_PORTS = [{ proto: "udp", from: 68, to: 68 }] as const;

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
/** Rule text fragments, named as nft would read them. */
export const T = {
	IPV4: "meta nfproto ipv4",
	IPV6: "meta nfproto ipv6",
	FROM_WAN: `iifname @${DEVICE_SETS.wan}`,
	FROM_LAN: `iifname @${DEVICE_SETS.lan}`,
	TO_WAN: `oifname @${DEVICE_SETS.wan}`,
	TO_LAN: `oifname @${DEVICE_SETS.lan}`,
	TO_ROUTER: "fib daddr type local",
	TCP_UDP: "meta l4proto { tcp, udp }",
	markOr: (bits: number) => `ct mark set ct mark | ${hex(bits)}`,
	markClear: (bits: number) => `ct mark set ct mark & ${hex(~bits >>> 0)}`,
	markHas: (bits: number) => `ct mark & ${hex(bits)} == ${hex(bits)}`,
};

// Keys of interval (pipapo) lookups read the protocol from conntrack: for `meta l4proto` in such a
// concatenation nft 1.0.6 emits a 1-byte `byteorder` that kernels with nft_byteorder's
// "no longer support multi-reg conversions" check (len != size) refuse with EOPNOTSUPP.
const L4 = "ct original protocol";
const PROTO_DPORT = `${L4} . th dport`;
const PROTO_SADDR_DPORT = `${L4} . ip saddr . th dport`;

/** `dnat ip to <addr map>[ : <port map>]` for one key. */
const dnatVia = (key: string, addrMap: string, portMap?: string) =>
	portMap
		? `${T.TCP_UDP} dnat ip to ${key} map @${addrMap} : ${key} map @${portMap}`
		: `dnat ip to ${key} map @${addrMap}`;

/**
 * The forward part; its sets' elements are in `render.groups`, one group per forward. With the
 * previous render, unchanged forwards keep their groups; with the id of the one forward that
 * changed too, only that forward is rendered.
 */
export function forwardPart(
	config: Config,
	prev?: ForwardRender,
	changed?: { id: string; entry: ForwardEntry | undefined },
): { part: Part; render: ForwardRender } {
	const render =
		(prev && changed && forwardChanged(prev, config, changed.id, changed.entry)) ||
		forwardElements(config, prev?.groups);
	const wan = "forward_wan4";
	const lan = "forward_lan4";
	const loopbackBits = CT_MARK.ACCEPT | CT_MARK.LOOPBACK;
	const chains: ChainSpec[] = [
		{
			name: "dstnat_forward",
			base: { type: "nat", hook: "prerouting", prio: PRIORITY.forwardDnat },
			rules: [
				`${T.IPV4} ${T.TCP_UDP} ${T.FROM_WAN} ${T.TO_ROUTER} jump ${wan}`,
				// A router address that is not on the LAN device the packet came in on: a WAN address.
				`${T.IPV4} ${T.TCP_UDP} ${T.FROM_LAN} ${T.TO_ROUTER} fib daddr . iif type != local jump ${lan}`,
			],
		},
		{
			name: wan,
			rules: [
				T.markOr(CT_MARK.ACCEPT),
				dnatVia(PROTO_SADDR_DPORT, "wan4_src_addr", "wan4_src_port"),
				dnatVia(PROTO_SADDR_DPORT, "wan4_src_addr"),
				dnatVia(PROTO_DPORT, "wan4_addr", "wan4_port"),
				dnatVia(PROTO_DPORT, "wan4_addr"),
				dnatVia(PROTO_DPORT, "wan4_range"),
				T.markClear(CT_MARK.ACCEPT),
			],
		},
		{
			name: lan,
			rules: [
				T.markOr(loopbackBits),
				dnatVia(PROTO_DPORT, "lan4_addr", "lan4_port"),
				dnatVia(PROTO_DPORT, "lan4_addr"),
				dnatVia(PROTO_DPORT, "lan4_range"),
				T.markClear(loopbackBits),
			],
		},
		{
			name: "srcnat_loopback",
			base: { type: "nat", hook: "postrouting", prio: PRIORITY.loopbackSnat },
			rules: [`${T.markHas(CT_MARK.LOOPBACK)} ${T.TO_LAN} masquerade`],
		},
		{
			name: "forward_pinhole",
			base: { type: "filter", hook: "forward", prio: PRIORITY.pinholeFilter },
			rules: [
				`ct state new ${T.IPV6} ${T.FROM_WAN} ${L4} . ip6 daddr . th dport @pin6 ${T.markOr(CT_MARK.ACCEPT)}`,
				`ct state new ${T.IPV6} ${T.FROM_WAN} ${L4} . ip6 saddr . ip6 daddr . th dport @pin6_src ${T.markOr(CT_MARK.ACCEPT)}`,
			],
		},
	];
	const sets = (Object.keys(FORWARD_SETS) as ForwardSetName[]).map(
		(name): SetSpec => ({ name, decl: forwardSetDecl(name), elements: new Map() }),
	);
	return { part: { sets, chains }, render };
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

/** A set's elements where each element is its own key. */
const keys = (items: string[]) => elements(items.map((e) => [e, e] as const));

/**
 * The DMZ: new WAN connections to the router's address that nothing claimed go to the DMZ host,
 * except where the router has a socket for the packet (a listening TCP socket, a bound UDP
 * socket: the kernel's own socket lookup, at the moment the connection starts, so a service
 * started later is never handed to the DMZ host) and the excluded ports.
 */
export function dmzPart(config: Config): Part {
	const { dmz } = config;
	const excluded = mergedRanges([
		...FW4_WAN_INPUT_PORTS,
		...dmz.exclude_port.flatMap((e) => e.proto.map((proto) => ({ proto, from: e.port.from, to: e.port.to }))),
	]);
	const sets: SetSpec[] = [
		{
			name: "dmz_exclude",
			decl: { type: ["inet_proto", "inet_service"], flags: ["interval"] },
			elements: keys(excluded.map((e) => `${e.proto} . ${portText(e.from, e.to)}`)),
		},
	];
	const active = config.globals.enabled && dmz.enabled && dmz.dest_ip !== undefined;
	const toDmz = `${T.IPV4} ${T.TCP_UDP} ${T.FROM_WAN} ${T.TO_ROUTER}`;
	const rules = active
		? [
				// "transparent 0-1": either value, i.e. the lookup found a socket of the router.
				`${toDmz} socket transparent 0-1 return`,
				`${toDmz} ${PROTO_DPORT} != @dmz_exclude ${T.markOr(CT_MARK.ACCEPT)} dnat ip to ${dmz.dest_ip}`,
			]
		: [];
	return {
		sets,
		chains: [
			{ name: "dstnat_dmz", base: { type: "nat", hook: "prerouting", prio: PRIORITY.dmzDnat }, rules },
		],
	};
}

export function devicePart(env: Env): Part {
	const devices = (list: string[] | undefined) =>
		list && keys([...new Set(list)].sort().map((d) => JSON.stringify(d)));
	const decl = { type: ["ifname"], flags: [] };
	const wan = devices(env.wanDevices);
	const lan = devices(env.lanDevices);
	return {
		sets: [
			{ name: DEVICE_SETS.wan, decl, ...(wan ? { elements: wan } : {}) },
			{ name: DEVICE_SETS.lan, decl, ...(lan ? { elements: lan } : {}) },
		],
		chains: [],
	};
}

/** The parts in table order: devices, forwards, triggers, DMZ. */
export type Parts = { devices: Part; forwards: Part; triggers: Part; dmz: Part };

export function joinParts(parts: Parts, groups: Map<string, Group>): RulesetSpec {
	const all = [parts.devices, parts.forwards, parts.triggers, parts.dmz];
	return { sets: all.flatMap((p) => p.sets), chains: all.flatMap((p) => p.chains), groups };
}

/** The whole table, plus the forwards left out (overlaps); `prev`: the last render's forwards, to reuse. */
export function buildRuleset(
	config: Config,
	env: Env,
	prev?: ForwardRender,
): { spec: RulesetSpec; parts: Parts; forwards: ForwardRender; skipped: SkippedForward[] } {
	const forwards = forwardPart(config, prev);
	const parts: Parts = {
		devices: devicePart(env),
		forwards: forwards.part,
		triggers: triggerPart(config),
		dmz: dmzPart(config),
	};
	const { groups, skipped } = forwards.render;
	return { spec: joinParts(parts, groups), parts, forwards: forwards.render, skipped };
}

/** The elements of `sets` (default all), group elements included, in one pass over the groups. */
export function elementsBySet(spec: RulesetSpec, sets = spec.sets): Map<string, string[]> {
	const out = new Map<string, string[]>();
	for (const s of sets) if (s.elements) out.set(s.name, [...s.elements.keys()]);
	// Only the forward sets get elements from groups: they hold none of their own.
	if (sets.some((s) => s.elements?.size === 0))
		for (const g of spec.groups.values())
			for (const [name, text] of unpackElements(g.elements)) out.get(name)?.push(text);
	return out;
}

/** Adds the creation of `spec`'s sets (with elements), chains and rules to `tx`. */
export function addCreation(
	tx: Transaction,
	spec: RulesetSpec,
	sets = spec.sets,
	chains = spec.chains,
): Transaction {
	const bySet = elementsBySet(spec, sets);
	for (const s of sets) tx.addSet(s);
	for (const s of sets) tx.addElements(s.name, bySet.get(s.name) ?? []);
	for (const c of chains) tx.addChain(c.name, c.base);
	for (const c of chains) for (const r of c.rules) tx.addRule(c.name, r);
	return tx;
}

/** Config → the nft script that creates portrig's table (the golden files). */
export function renderRuleset(config: Config, env: Env): string {
	return addCreation(new Transaction().addTable(), buildRuleset(config, env).spec).script();
}
