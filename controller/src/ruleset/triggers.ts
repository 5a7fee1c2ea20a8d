// Config → the trigger part of portrig's nft table (pure; golden-tested in golden/triggers-*).
//
// The kernel opens a trigger's ports from the packet path, in the very packet that is the
// trigger connection's first (its SYN, or first datagram), so a remote host that connects back
// the moment it sees that packet finds the ports open. The daemon only watches (triggers/).
//
// Per trigger and address family, one dynamic structure holds the live opening, its elements
// carrying the trigger's idle timeout, so the kernel closes openings even with the daemon dead:
//
//   IPv4  map tr_<id>_4   key → LAN host      key: meta nfproto (one opening per trigger), or
//         set tr_<id>_4o  key . LAN host           the remote's address with remote_only (_4r…)
//   IPv6  set tr_<id>_6   LAN host            (remote . LAN host with remote_only: tr_<id>_6r)
//
// IPv4 needs the map for `dnat ip to <key> map @tr_<id>_4`: the LAN host that triggered is
// looked up by what the inbound packet knows. `update` never replaces a map element's value,
// so the first LAN host keeps the opening until it expires (contention: a second host gets
// nothing, and the daemon logs it). The owner set `…o` answers "is this host the owner?", so
// that only the owner's traffic restarts the timer, never a refused host's.
// IPv6 has no NAT: an inbound connection names its LAN host itself, so every allowed host that
// triggers gets its own pinhole (no contention), accepted with conntrack mark CT_MARK.ACCEPT.
//
// Chains:
//   trigger_filter   filter forward -2   dispatch: packets to/from a trigger's ports → trigger_<id>
//   trigger_<id>     regular             IPv6 rules; IPv4 packets → trigger_<id>_4[r]
//   trigger_<id>_4[r] regular (nft text) IPv4 open / refresh: map updates
//   trigger_dnat     nat prerouting -105 WAN → router address: trigger_wan4 (DNAT by the maps)
//
// Timer restarts ("refresh"), all only for the owner: packets of the trigger connection in
// both directions, and packets of the connections the opening let in, in both directions.
//
// nft 1.0.6 has no JSON for map updates (`update @m { k : v }`), so the IPv4 open/refresh rules
// are nft text (`text`): DataPlane applies them in one `nft -f -` text transaction right after
// the JSON batch that declares their maps and chains. The text repeats those declarations
// (`add` of an identical declaration changes nothing), so it can be checked with `nft -c`
// before the JSON batch is sent: a refusal then leaves the whole previous ruleset in force.
import type { Config, PortRange, Protocol, Trigger } from "../config/schema";
import { CT_MARK, DEVICE_SETS, PRIORITY, TABLE } from "./layout";
import {
	anonSet,
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
	match,
	meta,
	type NftSet,
	payload,
	range,
	setRef,
} from "./nft-json";
import { type ChainSpec, chain, mergedRanges, type RulesetSpec, rule, set } from "./render";

export type TriggerWithId = Trigger & { id: string };

/** The nft objects that hold one trigger's openings (names encode their declarations). */
export type TriggerSets = {
	/** IPv4: map key → LAN host, and the owner set key . LAN host; absent when src_ip has no IPv4. */
	v4?: { map: string; owners: string; chain: string };
	/** IPv6: set of [remote .] LAN host; absent when src_ip has no IPv6. */
	v6?: { set: string };
	/** Keys are remote addresses (remote_only) instead of the family. */
	remote: boolean;
	timeout: number;
};

/** A chain whose rules are nft text (JSON cannot express them): body of each `add rule`. */
export type TextChain = { name: string; rules: string[] };

export type TriggerPart = RulesetSpec & { text: TextChain[] };

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
			? { v4: { map: `tr_${t.id}_4${r}`, owners: `tr_${t.id}_4${r}o`, chain: `trigger_${t.id}_4${r}` } }
			: {}),
		...(hasIPv6(t) ? { v6: { set: `tr_${t.id}_6${r}` } } : {}),
		remote: t.remote_only,
		timeout: t.timeout ?? defaultTimeout,
	};
}

// ---- JSON pieces ------------------------------------------------------------------------------

const FROM_WAN = match(meta("iifname"), setRef(DEVICE_SETS.wan));
const FROM_LAN = match(meta("iifname"), setRef(DEVICE_SETS.lan));
const TO_WAN = match(meta("oifname"), setRef(DEVICE_SETS.wan));
const TO_LAN = match(meta("oifname"), setRef(DEVICE_SETS.lan));
const NEW = match(ct("state"), "new", "in");
const ORIGINAL = match(ct("direction"), "original");
const REPLY = match(ct("direction"), "reply");

const protoMatch = (protos: Protocol[]): Expr =>
	match(meta("l4proto"), protos.length === 1 ? protos[0] : anonSet(...protos));

const portsExpr = (ports: PortRange[]): Expr => {
	const items = ports.map((p) => range(p.from, p.to));
	return items.length === 1 ? items[0] : anonSet(...items);
};
const portMatch = (field: "dport" | "sport", ports: PortRange[]) =>
	match(payload("th", field), portsExpr(ports));

const setUpdate = (name: string, key: Expr, timeout: number): Expr => ({
	set: { op: "update", elem: { elem: { val: key, timeout } }, set: setRef(name) },
});

/** Every port a trigger's connections use, per protocol, merged for one interval set. */
function dispatchSet(t: Trigger): Expr {
	const entries = [
		...t.proto.map((proto) => ({ proto, from: t.trigger_port.from, to: t.trigger_port.to })),
		...t.open_proto.flatMap((proto) => t.open_port.map((p) => ({ proto, from: p.from, to: p.to }))),
	];
	return anonSet(...mergedRanges(entries).map((e) => concat(e.proto, range(e.from, e.to))));
}

/** IPv6: per-host pinholes, all in JSON (set updates are expressible there). */
function ipv6Rules(t: Trigger, sets: TriggerSets): Expr[][] {
	if (!sets.v6) return [];
	const name = sets.v6.set;
	const T = sets.timeout;
	const six = (field: string) => payload("ip6", field);
	// The element for a packet whose LAN host is `host` and remote is `remote`.
	const key = (remote: string, host: string) => (sets.remote ? concat(six(remote), six(host)) : six(host));
	const refresh = (remote: string, host: string) => [
		match(key(remote, host), setRef(name)),
		setUpdate(name, key(remote, host), T),
	];
	const sources = t.src_ip.filter((a) => a.includes(":"));
	const allowed = sources.length ? [match(six("saddr"), anonSet(...sources))] : [];
	const IPV6 = match(meta("nfproto"), "ipv6");
	const trigger = [protoMatch(t.proto)];
	const opened = [protoMatch(t.open_proto)];
	return [
		// The trigger connection: its first packet opens (or re-opens) the host's pinhole …
		[
			IPV6,
			NEW,
			FROM_LAN,
			TO_WAN,
			...trigger,
			portMatch("dport", [t.trigger_port]),
			...allowed,
			setUpdate(name, key("daddr", "saddr"), T),
		],
		// … and its packets both ways keep it open.
		[
			IPV6,
			ORIGINAL,
			FROM_LAN,
			TO_WAN,
			...trigger,
			portMatch("dport", [t.trigger_port]),
			...refresh("daddr", "saddr"),
		],
		[
			IPV6,
			REPLY,
			FROM_WAN,
			TO_LAN,
			...trigger,
			portMatch("sport", [t.trigger_port]),
			...refresh("saddr", "daddr"),
		],
		// A new inbound connection to an open port of a host with a pinhole: fw4 lets it through.
		[
			IPV6,
			NEW,
			FROM_WAN,
			TO_LAN,
			...opened,
			portMatch("dport", t.open_port),
			...refresh("saddr", "daddr"),
			ctMarkOr(CT_MARK.ACCEPT),
		],
		[
			IPV6,
			ORIGINAL,
			FROM_WAN,
			TO_LAN,
			ctMarkHas(CT_MARK.ACCEPT),
			...opened,
			portMatch("dport", t.open_port),
			...refresh("saddr", "daddr"),
		],
		[
			IPV6,
			REPLY,
			FROM_LAN,
			TO_WAN,
			ctMarkHas(CT_MARK.ACCEPT),
			...opened,
			portMatch("sport", t.open_port),
			...refresh("daddr", "saddr"),
		],
	];
}

// ---- nft text pieces (IPv4 map updates) ------------------------------------------------------

const textProtos = (protos: Protocol[]) => (protos.length === 1 ? protos[0] : `{ ${protos.join(", ")} }`);
const textPorts = (ports: PortRange[]) => {
	const items = ports.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`));
	return items.length === 1 ? items[0] : `{ ${items.join(", ")} }`;
};

/** IPv4 open/refresh rules: text, for their map updates. */
function ipv4TextRules(t: Trigger, sets: TriggerSets): string[] {
	if (!sets.v4) return [];
	const { map, owners } = sets.v4;
	const T = `timeout ${sets.timeout}s`;
	const lan = `@${DEVICE_SETS.lan}`;
	const wan = `@${DEVICE_SETS.wan}`;
	// Key of an outbound packet (LAN host = ip saddr) and of an inbound one (LAN host = ip daddr).
	const keyOut = sets.remote ? "ip daddr" : "meta nfproto";
	const keyIn = sets.remote ? "ip saddr" : "meta nfproto";
	const refresh = (key: string, host: string) =>
		`${key} . ${host} @${owners} update @${owners} { ${key} . ${host} ${T} } update @${map} { ${key} ${T} : ${host} }`;
	const sources = t.src_ip.filter((a) => !a.includes(":"));
	const allowed = sources.length ? ` ip saddr { ${sources.join(", ")} }` : "";
	const trigger = `meta l4proto ${textProtos(t.proto)}`;
	const opened = `meta l4proto ${textProtos(t.open_proto)}`;
	const tp = textPorts([t.trigger_port]);
	const op = textPorts(t.open_port);
	return [
		// The owner's trigger connection, both ways: restart the timer.
		`ct direction original iifname ${lan} oifname ${wan} ${trigger} th dport ${tp} ${refresh(keyOut, "ip saddr")}`,
		`ct direction reply iifname ${wan} oifname ${lan} ${trigger} th sport ${tp} ${refresh(keyIn, "ip daddr")}`,
		// A new trigger connection while nobody holds the opening: this host takes it. `add`
		// creates without touching an existing element (a live opening of another host).
		`ct state new iifname ${lan} oifname ${wan} ${trigger} th dport ${tp}${allowed} ${keyOut} != @${map} add @${map} { ${keyOut} ${T} : ip saddr } add @${owners} { ${keyOut} . ip saddr ${T} }`,
		// Connections the opening let in (DNAT'ed to the owner), both ways: restart the timer.
		`ct direction original ct status dnat iifname ${wan} oifname ${lan} ${opened} th dport ${op} ${refresh(keyIn, "ip daddr")}`,
		`ct direction reply ct status dnat iifname ${lan} oifname ${wan} ${opened} th sport ${op} ${refresh(keyOut, "ip saddr")}`,
	];
}

// ---- the part --------------------------------------------------------------------------------

/** The trigger part; nothing at all when no trigger is in force. */
export function triggerPart(config: Config): TriggerPart {
	const triggers = activeTriggers(config);
	if (triggers.length === 0) return { sets: [], chains: [], text: [] };
	const sets: NftSet[] = [];
	const chains: ChainSpec[] = [];
	const text: TextChain[] = [];
	const dispatch: ChainSpec = {
		chain: chain(FILTER_CHAIN, { type: "filter", hook: "forward", prio: PRIORITY.triggerFilter }),
		rules: [],
	};
	const wan4: ChainSpec = { chain: chain(WAN4_CHAIN), rules: [rule(WAN4_CHAIN, ctMarkOr(CT_MARK.ACCEPT))] };

	for (const t of triggers) {
		const s = triggerSets(t, config.globals.trigger_timeout);
		const own = `trigger_${t.id}`;
		const ownRules: Expr[][] = [];
		const ports = dispatchSet(t);
		dispatch.rules.push(
			rule(FILTER_CHAIN, match(concat(meta("l4proto"), payload("th", "dport")), ports), jump(own)),
			rule(FILTER_CHAIN, match(concat(meta("l4proto"), payload("th", "sport")), ports), jump(own)),
		);
		if (s.v4) {
			const keyType = s.remote ? "ipv4_addr" : "nf_proto";
			sets.push(
				set(s.v4.map, { type: keyType, map: "ipv4_addr", flags: ["timeout"] }),
				set(s.v4.owners, { type: [keyType, "ipv4_addr"], flags: ["timeout"] }),
			);
			chains.push({ chain: chain(s.v4.chain), rules: [] });
			text.push({ name: s.v4.chain, rules: ipv4TextRules(t, s) });
			ownRules.push([match(meta("nfproto"), "ipv4"), { goto: { target: s.v4.chain } }]);
			const key = s.remote ? payload("ip", "saddr") : meta("nfproto");
			wan4.rules.push(
				rule(
					WAN4_CHAIN,
					protoMatch(t.open_proto),
					portMatch("dport", t.open_port),
					dnat("ip", mapLookup(key, s.v4.map)),
				),
			);
		}
		if (s.v6) {
			sets.push(
				set(s.v6.set, { type: s.remote ? ["ipv6_addr", "ipv6_addr"] : "ipv6_addr", flags: ["timeout"] }),
			);
			ownRules.push(...ipv6Rules(t, s));
		}
		chains.push({ chain: chain(own), rules: ownRules.map((exprs) => rule(own, ...exprs)) });
	}
	wan4.rules.push(rule(WAN4_CHAIN, ctMarkClear(CT_MARK.ACCEPT)));

	const dnatChain: ChainSpec = {
		chain: chain(DNAT_CHAIN, { type: "nat", hook: "prerouting", prio: PRIORITY.triggerDnat }),
		rules: triggers.some((t) => triggerSets(t, 0).v4)
			? [
					rule(
						DNAT_CHAIN,
						match(meta("nfproto"), "ipv4"),
						FROM_WAN,
						match(fibDaddrType(), "local"),
						jump(WAN4_CHAIN),
					),
				]
			: [],
	};
	return { sets, chains: [dispatch, dnatChain, wan4, ...chains], text };
}

// ---- the text transaction --------------------------------------------------------------------

function declaration(s: NftSet): string {
	const type = Array.isArray(s.type) ? s.type.join(" . ") : s.type;
	const flags = s.flags?.length ? ` flags ${s.flags.join(",")};` : "";
	return `{ type ${type}${s.map ? ` : ${s.map}` : ""};${flags} }`;
}

/**
 * The nft text that (re)writes the text chains: one transaction. It declares what the rules
 * use with `add` (no change when they exist as declared), so `nft -c` can check it before the
 * JSON batch that creates them runs. `sets` are the part's sets; the device sets are
 * declared as render.ts declares them.
 */
export function triggerText(part: { sets: NftSet[]; text?: TextChain[] }): string {
	const text = part.text ?? [];
	if (text.length === 0) return "";
	const at = `${TABLE.family} ${TABLE.name}`;
	const devices: string[] = [DEVICE_SETS.wan, DEVICE_SETS.lan];
	const lines = [`add table ${at}`, ...devices.map((name) => `add set ${at} ${name} { type ifname; }`)];
	// Only what the text uses: a set that JSON rules update carries the kernel's "dynamic"
	// flag, which JSON cannot declare, so an `add` of it here would not be identical.
	const used = (name: string) =>
		!devices.includes(name) && text.some((c) => c.rules.some((r) => r.includes(`@${name} `)));
	for (const s of part.sets.filter((x) => used(x.name)))
		lines.push(`add ${s.map ? "map" : "set"} ${at} ${s.name} ${declaration(s)}`);
	for (const c of text) lines.push(`add chain ${at} ${c.name}`, `flush chain ${at} ${c.name}`);
	for (const c of text) for (const r of c.rules) lines.push(`add rule ${at} ${c.name} ${r}`);
	return `${lines.join("\n")}\n`;
}
