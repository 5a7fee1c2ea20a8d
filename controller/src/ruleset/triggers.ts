// Config → the trigger part of portrig's nft table (pure; golden-tested in golden/triggers-*).
//
// The kernel opens a trigger's ports from the packet path, in the very packet that is the
// trigger connection's first (its SYN, or first datagram), so a remote host that connects back
// the moment it sees that packet finds the ports open. The daemon only watches (triggers/).
//
// Per trigger and address family, dynamic structures hold the live opening, their elements
// carrying the trigger's idle timeout, so the kernel closes openings even with the daemon dead:
//
//   IPv4  map tr_<id>_4   key → LAN host      key: meta nfproto (one opening per trigger), or
//         set tr_<id>_4k  key                      the remote's address with remote_only (_4r…)
//         set tr_<id>_4o  key . LAN host
//   IPv6  set tr_<id>_6   LAN host            (remote . LAN host with remote_only: tr_<id>_6r)
//
// IPv4 needs the map for `dnat ip to <key> map @tr_<id>_4`: the LAN host that triggered is
// looked up by what the inbound packet knows. The key set `…k` answers "is the opening held?"
// (kernels before 6.5 refuse a lookup in a map that does not load its value, so `!= @map`
// cannot ask it), and `add` never replaces an element, so the first LAN host keeps the opening
// until it expires (contention: a second host gets nothing, and the daemon logs it). The owner
// set `…o` answers "is this host the owner?", so that only the owner's traffic restarts the
// timer, never a refused host's. The three are added and refreshed by the same packet, and
// added and deleted together by the daemon (triggers/elements.ts).
// IPv6 has no NAT: an inbound connection names its LAN host itself, so every allowed host that
// triggers gets its own pinhole (no contention), accepted with conntrack mark CT_MARK.ACCEPT.
//
// Chains:
//   trigger_filter   filter forward -2   dispatch: packets to/from a trigger's ports → trigger_<id>
//   trigger_<id>     regular             IPv6 rules; IPv4 packets → trigger_<id>_4[r]
//   trigger_<id>_4[r] regular (nft text) IPv4 open / refresh: map and set updates
//   trigger_dnat     nat prerouting -105 WAN → router address: trigger_wan4 (DNAT by the maps)
//
// Timer restarts ("refresh"), all only for the owner: packets of the trigger connection in
// both directions, and packets of the connections the opening let in, in both directions.
//
// Rules are nft text like the rest of the table, so the trigger part goes in the same single
// transaction as everything else (nft 1.0.6 has no JSON for map updates). Its maps and sets
// have no rendered elements: the kernel owns them, and an apply never touches those present.
import type { Config, PortRange, Protocol, Trigger } from "../config/schema";
import { CT_MARK, DEVICE_SETS, PRIORITY } from "./layout";
import { mergedRanges, type Part, T } from "./render";
import type { ChainSpec, SetSpec } from "./spec";

export type TriggerWithId = Trigger & { id: string };

/** The nft objects that hold one trigger's openings (names encode their declarations). */
export type TriggerSets = {
	/** IPv4: map key → LAN host, key set, owner set key . LAN host; absent when src_ip has no IPv4. */
	v4?: { map: string; keys: string; owners: string; chain: string };
	/** IPv6: set of [remote .] LAN host; absent when src_ip has no IPv6. */
	v6?: { set: string };
	/** Keys are remote addresses (remote_only) instead of the family. */
	remote: boolean;
	timeout: number;
};

const FILTER_CHAIN = "trigger_filter";
const DNAT_CHAIN = "trigger_dnat";
const WAN4_CHAIN = "trigger_wan4";

const hasIPv4 = (t: Trigger) => t.src_ip.length === 0 || t.src_ip.some((a) => !a.includes(":"));
const hasIPv6 = (t: Trigger) => t.src_ip.length === 0 || t.src_ip.some((a) => a.includes(":"));

/** The triggers in force: enabled ones, nothing when portrig is disabled. */
export function activeTriggers(config: Config): TriggerWithId[] {
	return config.globals.enabled ? config.triggers.filter((t) => t.enabled) : [];
}

export function triggerSets(t: TriggerWithId, defaultTimeout: number): TriggerSets {
	const r = t.remote_only ? "r" : "";
	return {
		...(hasIPv4(t)
			? {
					v4: {
						map: `tr_${t.id}_4${r}`,
						keys: `tr_${t.id}_4${r}k`,
						owners: `tr_${t.id}_4${r}o`,
						chain: `trigger_${t.id}_4${r}`,
					},
				}
			: {}),
		...(hasIPv6(t) ? { v6: { set: `tr_${t.id}_6${r}` } } : {}),
		remote: t.remote_only,
		timeout: t.timeout ?? defaultTimeout,
	};
}

// ---- rule pieces -----------------------------------------------------------------------------

const protoMatch = (protos: Protocol[]) =>
	`meta l4proto ${protos.length === 1 ? protos[0] : `{ ${protos.join(", ")} }`}`;
const portsText = (ports: PortRange[]) => {
	const items = ports.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`));
	return items.length === 1 ? items[0] : `{ ${items.join(", ")} }`;
};

/** Every port a trigger's connections use, per protocol, merged for one anonymous interval set. */
function dispatchSet(t: Trigger): string {
	const entries = [
		...t.proto.map((proto) => ({ proto, from: t.trigger_port.from, to: t.trigger_port.to })),
		...t.open_proto.flatMap((proto) => t.open_port.map((p) => ({ proto, from: p.from, to: p.to }))),
	];
	return `{ ${mergedRanges(entries)
		.map((e) => `${e.proto} . ${e.from === e.to ? e.from : `${e.from}-${e.to}`}`)
		.join(", ")} }`;
}

/** IPv6: per-host pinholes (set updates). */
function ipv6Rules(t: Trigger, sets: TriggerSets): string[] {
	if (!sets.v6) return [];
	const name = sets.v6.set;
	const timeout = `timeout ${sets.timeout}s`;
	// The element for a packet whose LAN host is `host` and remote is `remote`.
	const key = (remote: string, host: string) => (sets.remote ? `ip6 ${remote} . ip6 ${host}` : `ip6 ${host}`);
	const update = (remote: string, host: string) => `update @${name} { ${key(remote, host)} ${timeout} }`;
	const refresh = (remote: string, host: string) => `${key(remote, host)} @${name} ${update(remote, host)}`;
	const sources = t.src_ip.filter((a) => a.includes(":"));
	const allowed = sources.length ? ` ip6 saddr { ${sources.join(", ")} }` : "";
	const trigger = protoMatch(t.proto);
	const opened = protoMatch(t.open_proto);
	const tp = portsText([t.trigger_port]);
	const op = portsText(t.open_port);
	const has = T.markHas(CT_MARK.ACCEPT);
	return [
		// The trigger connection: its first packet opens (or re-opens) the host's pinhole …
		`${T.IPV6} ct state new ${T.FROM_LAN} ${T.TO_WAN} ${trigger} th dport ${tp}${allowed} ${update("daddr", "saddr")}`,
		// … and its packets both ways keep it open.
		`${T.IPV6} ct direction original ${T.FROM_LAN} ${T.TO_WAN} ${trigger} th dport ${tp} ${refresh("daddr", "saddr")}`,
		`${T.IPV6} ct direction reply ${T.FROM_WAN} ${T.TO_LAN} ${trigger} th sport ${tp} ${refresh("saddr", "daddr")}`,
		// A new inbound connection to an open port of a host with a pinhole: fw4 lets it through.
		`${T.IPV6} ct state new ${T.FROM_WAN} ${T.TO_LAN} ${opened} th dport ${op} ${refresh("saddr", "daddr")} ${T.markOr(CT_MARK.ACCEPT)}`,
		`${T.IPV6} ct direction original ${T.FROM_WAN} ${T.TO_LAN} ${has} ${opened} th dport ${op} ${refresh("saddr", "daddr")}`,
		`${T.IPV6} ct direction reply ${T.FROM_LAN} ${T.TO_WAN} ${has} ${opened} th sport ${op} ${refresh("daddr", "saddr")}`,
	];
}

/** The IPv4 map, key set and owner set of a trigger (none when it has no IPv4). */
export function ipv4SetSpecs(sets: TriggerSets): SetSpec[] {
	if (!sets.v4) return [];
	const keyType = sets.remote ? "ipv4_addr" : "nf_proto";
	return [
		{ name: sets.v4.map, decl: { type: [keyType], map: "ipv4_addr", flags: ["timeout"] } },
		{ name: sets.v4.keys, decl: { type: [keyType], flags: ["timeout"] } },
		{ name: sets.v4.owners, decl: { type: [keyType, "ipv4_addr"], flags: ["timeout"] } },
	];
}

/** IPv4 open/refresh rules: map and set updates. */
function ipv4Rules(t: Trigger, sets: TriggerSets): string[] {
	if (!sets.v4) return [];
	const { map, keys, owners } = sets.v4;
	const T = `timeout ${sets.timeout}s`;
	const lan = `@${DEVICE_SETS.lan}`;
	const wan = `@${DEVICE_SETS.wan}`;
	// Key of an outbound packet (LAN host = ip saddr) and of an inbound one (LAN host = ip daddr).
	const keyOut = sets.remote ? "ip daddr" : "meta nfproto";
	const keyIn = sets.remote ? "ip saddr" : "meta nfproto";
	const refresh = (key: string, host: string) =>
		`${key} . ${host} @${owners} update @${owners} { ${key} . ${host} ${T} } update @${map} { ${key} ${T} : ${host} } update @${keys} { ${key} ${T} }`;
	const sources = t.src_ip.filter((a) => !a.includes(":"));
	const allowed = sources.length ? ` ip saddr { ${sources.join(", ")} }` : "";
	const trigger = protoMatch(t.proto);
	const opened = protoMatch(t.open_proto);
	const tp = portsText([t.trigger_port]);
	const op = portsText(t.open_port);
	return [
		// The owner's trigger connection, both ways: restart the timer.
		`ct direction original iifname ${lan} oifname ${wan} ${trigger} th dport ${tp} ${refresh(keyOut, "ip saddr")}`,
		`ct direction reply iifname ${wan} oifname ${lan} ${trigger} th sport ${tp} ${refresh(keyIn, "ip daddr")}`,
		// A new trigger connection while nobody holds the opening: this host takes it. `add`
		// creates without touching an existing element (a live opening of another host).
		`ct state new iifname ${lan} oifname ${wan} ${trigger} th dport ${tp}${allowed} ${keyOut} != @${keys} add @${map} { ${keyOut} ${T} : ip saddr } add @${keys} { ${keyOut} ${T} } add @${owners} { ${keyOut} . ip saddr ${T} }`,
		// Connections the opening let in (DNAT'ed to the owner), both ways: restart the timer.
		`ct direction original ct status dnat iifname ${wan} oifname ${lan} ${opened} th dport ${op} ${refresh(keyIn, "ip daddr")}`,
		`ct direction reply ct status dnat iifname ${lan} oifname ${wan} ${opened} th sport ${op} ${refresh(keyOut, "ip saddr")}`,
	];
}

// ---- the part --------------------------------------------------------------------------------

/** The trigger part; nothing at all when no trigger is in force. */
export function triggerPart(config: Config): Part {
	const triggers = activeTriggers(config);
	if (triggers.length === 0) return { sets: [], chains: [] };
	const sets: SetSpec[] = [];
	const chains: ChainSpec[] = [];
	const dispatch: ChainSpec = {
		name: FILTER_CHAIN,
		base: { type: "filter", hook: "forward", prio: PRIORITY.triggerFilter },
		rules: [],
	};
	const wan4: ChainSpec = { name: WAN4_CHAIN, rules: [T.markOr(CT_MARK.ACCEPT)] };

	for (const t of triggers) {
		const s = triggerSets(t, config.globals.trigger_timeout);
		const own = `trigger_${t.id}`;
		const ownRules: string[] = [];
		const ports = dispatchSet(t);
		dispatch.rules.push(
			`meta l4proto . th dport ${ports} jump ${own}`,
			`meta l4proto . th sport ${ports} jump ${own}`,
		);
		if (s.v4) {
			sets.push(...ipv4SetSpecs(s));
			chains.push({ name: s.v4.chain, rules: ipv4Rules(t, s) });
			ownRules.push(`${T.IPV4} goto ${s.v4.chain}`);
			const key = s.remote ? "ip saddr" : "meta nfproto";
			wan4.rules.push(
				`${protoMatch(t.open_proto)} th dport ${portsText(t.open_port)} dnat ip to ${key} map @${s.v4.map}`,
			);
		}
		if (s.v6) {
			sets.push({
				name: s.v6.set,
				decl: { type: s.remote ? ["ipv6_addr", "ipv6_addr"] : ["ipv6_addr"], flags: ["timeout"] },
			});
			ownRules.push(...ipv6Rules(t, s));
		}
		chains.push({ name: own, rules: ownRules });
	}
	wan4.rules.push(T.markClear(CT_MARK.ACCEPT));

	const dnatChain: ChainSpec = {
		name: DNAT_CHAIN,
		base: { type: "nat", hook: "prerouting", prio: PRIORITY.triggerDnat },
		rules: triggers.some((t) => triggerSets(t, 0).v4)
			? [`${T.IPV4} ${T.FROM_WAN} ${T.TO_ROUTER} jump ${WAN4_CHAIN}`]
			: [],
	};
	return { sets, chains: [dispatch, dnatChain, wan4, ...chains] };
}
