// Per-entry counters for `status` (pure): how many live connections each forward carries, and
// how many inbound connections each trigger's openings let in, from one conntrack dump.
//
// Why conntrack and not nft counters: the question is "how many connections are live now", and
// the kernel's connection table answers it exactly, including connections that end (they leave
// the table) and those that outlive a config change. nft per-element counters count packets
// and bytes; counting only new connections with them would need a rule per entry, and their
// totals only ever grow, so they can never say how many connections are still open. One dump
// per `status` call is cheap: it is filtered in the kernel by portrig's mark bit
// (CT_MARK.ACCEPT), so only the connections portrig forwarded are copied out; the mark is
// still checked here, so the counts stay exact on a kernel that ignores the filter.
//
// A connection is attributed the way the ruleset decided it (ruleset/render.ts, triggers.ts):
//   IPv4 forward   DNAT'ed (status bit) with the mark, to the forward's LAN host and the LAN
//                  port its WAN port maps to, from an allowed source; restricted forwards are
//                  looked up first, NAT loopback (mark LOOPBACK) prefers unrestricted ones.
//   IPv6 forward   with the mark, to the forward's LAN host and one of its ports (no NAT).
//   trigger        not a forward's, with the mark, to an open port: IPv4 DNAT'ed by the first
//                  trigger (config order) that holds an opening for the connection's key, to
//                  that opening's host; IPv6 to a host that has one of the trigger's pinholes.
// A connection counts for one entry at most; forwards come first, as their NAT chain does.
import { type Family, familyOf } from "../config/address";
import type { Config, Forward, PortRange, Protocol } from "../config/schema";
import { type ConntrackEntry, CT_STATUS } from "../netlink/conntrack";
import { destPort } from "../ruleset/forwards";
import { CT_MARK } from "../ruleset/layout";
import { canonicalAddress, type Prefix, parsePrefix, prefixesOverlap } from "../ruleset/prefix";
import { activeTriggers, type TriggerWithId } from "../ruleset/triggers";
import type { Opening } from "../triggers/manager";

export type TriggerCounters = { connections: number; openings: number };

/** Keyed by section id; every forward and trigger of the config has an entry (0 when idle). */
export type Counters = {
	forwards: Record<string, number>;
	triggers: Record<string, TriggerCounters>;
};

/** A live opening, as the trigger manager lists it (only what attribution needs). */
export type OpeningKey = Pick<Opening, "trigger" | "host" | "remote">;

export type CountInput = {
	/** The config in force. */
	config: Config;
	/** Ids of enabled forwards the ruleset left out (overlaps): they carry nothing. */
	skipped: string[];
	/** The live trigger openings. */
	openings: OpeningKey[];
};

const PROTOCOLS: Record<number, Protocol> = { 6: "tcp", 17: "udp" };
/** TCP states of a connection that has ended (the entry lingers a while in the table). */
const ENDED = new Set<ConntrackEntry["tcpState"]>(["time_wait", "close"]);

type ActiveForward = Forward & {
	id: string;
	family: Family;
	host: string;
	sources: Prefix[];
	/** Position in the config: the first of several claims wins, as in the ruleset. */
	order: number;
};

/**
 * The forwards in the ruleset, by family, protocol and WAN port (ranges apart), as positions in
 * the config's list: built once per config in force (LuCI asks for `status` every few seconds),
 * and only the forwards a connection is on are looked at more closely.
 */
class ForwardIndex {
	private readonly singles = new Map<string, number[]>();
	private readonly ranges = new Map<string, number[]>();
	/** The forwards looked at so far, with what attribution needs. */
	private readonly active = new Map<number, ActiveForward>();

	constructor(
		private readonly forwards: Config["forwards"],
		skipped: ReadonlySet<string>,
	) {
		forwards.forEach((f, order) => {
			if (!f.enabled || skipped.has(f.id)) return;
			const family = familyOf(f.dest_ip);
			for (const proto of f.proto) {
				const single = f.src_dport.from === f.src_dport.to;
				const map = single ? this.singles : this.ranges;
				const key = single ? `${family} ${proto} ${f.src_dport.from}` : `${family} ${proto}`;
				const list = map.get(key);
				if (list) list.push(order);
				else map.set(key, [order]);
			}
		});
	}

	/** The forwards on this WAN port, in config order. */
	at(family: Family, proto: Protocol, port: number): ActiveForward[] {
		const singles = this.singles.get(`${family} ${proto} ${port}`) ?? [];
		const ranged = (this.ranges.get(`${family} ${proto}`) ?? []).filter((i) =>
			inRange(port, this.forward(i).src_dport),
		);
		const orders = ranged.length ? [...singles, ...ranged].sort((a, b) => a - b) : singles;
		return orders.map((i) => this.get(i));
	}

	private forward(order: number): Config["forwards"][number] {
		return this.forwards[order] as Config["forwards"][number];
	}

	private get(order: number): ActiveForward {
		const known = this.active.get(order);
		if (known) return known;
		const f = this.forward(order);
		const family = familyOf(f.dest_ip);
		const active = {
			...f,
			order,
			family,
			host: canonicalAddress(f.dest_ip),
			sources: f.src_ip.map(parsePrefix).filter((s) => s.family === family),
		};
		this.active.set(order, active);
		return active;
	}
}

/** The index of the config in force and the skipped forwards it was built for. */
const indexes = new WeakMap<Config, { skipped: string; index: ForwardIndex }>();

function forwardIndex(config: Config, skipped: string[]): ForwardIndex {
	const key = skipped.join(" ");
	const known = indexes.get(config);
	if (known?.skipped === key) return known.index;
	const index = new ForwardIndex(config.globals.enabled ? config.forwards : [], new Set(skipped));
	indexes.set(config, { skipped: key, index });
	return index;
}

const inRange = (port: number, r: PortRange) => port >= r.from && port <= r.to;
const has = (value: number | undefined, bits: number) => ((value ?? 0) & bits) === bits;
const familyOfEntry = (e: ConntrackEntry): Family => (e.family === "ipv4" ? 4 : 6);

function isLive(e: ConntrackEntry): boolean {
	return e.kind !== "destroy" && !has(e.status, CT_STATUS.DYING) && !ENDED.has(e.tcpState);
}

function fromSources(f: ActiveForward, address: string): boolean {
	const a = parsePrefix(address);
	return f.sources.some((s) => prefixesOverlap(s, a));
}

/** Whether the ruleset sent connection `e` (to WAN port `port`) to forward `f`'s LAN side. */
function reaches(f: ActiveForward, e: ConntrackEntry, port: number, loopback: boolean): boolean {
	if (f.family === 4) {
		if (!has(e.status, CT_STATUS.DST_NAT)) return false;
		if (canonicalAddress(e.reply.src) !== f.host || e.reply.sport !== destPort(f, port)) return false;
		// NAT loopback ignores source restrictions (LAN clients are not the remote sources named).
		if (loopback) return f.reflection;
	} else if (canonicalAddress(e.orig.dst) !== f.host) return false;
	return f.sources.length === 0 || fromSources(f, e.orig.src);
}

function forwardOf(e: ConntrackEntry, index: ForwardIndex): ActiveForward | undefined {
	const proto = PROTOCOLS[e.orig.proto];
	const port = e.orig.dport;
	if (!proto || port === undefined) return undefined;
	const loopback = has(e.mark, CT_MARK.LOOPBACK);
	const hits = index.at(familyOfEntry(e), proto, port).filter((f) => reaches(f, e, port, loopback));
	// The lookup order of the ruleset: restricted maps first from the WAN, unrestricted first
	// for NAT loopback. (IPv6: both pinholes let the connection in; the restricted one is named.)
	const restricted = (f: ActiveForward) => f.sources.length > 0;
	return hits.find((f) => restricted(f) !== loopback) ?? hits[0];
}

type TriggerOpenings = Map<string, { family: Family; host: string; remote?: string }[]>;

function opensPort(t: TriggerWithId, proto: Protocol, port: number): boolean {
	return t.open_proto.includes(proto) && t.open_port.some((r) => inRange(port, r));
}

function triggerOf(e: ConntrackEntry, triggers: TriggerWithId[], openings: TriggerOpenings) {
	const proto = PROTOCOLS[e.orig.proto];
	const port = e.orig.dport;
	// Openings DNAT only what comes in from the WAN, never NAT loopback.
	if (!proto || port === undefined || has(e.mark, CT_MARK.LOOPBACK)) return undefined;
	const family = familyOfEntry(e);
	const remote = canonicalAddress(e.orig.src);
	for (const t of triggers) {
		if (!opensPort(t, proto, port)) continue;
		const keyed = (openings.get(t.id) ?? []).filter(
			(o) => o.family === family && (!t.remote_only || o.remote === remote),
		);
		if (family === 4) {
			// The first trigger whose map has the key DNATs (a failed lookup falls through).
			const o = keyed[0];
			if (!o) continue;
			const sent = has(e.status, CT_STATUS.DST_NAT) && e.reply.sport === port;
			return sent && canonicalAddress(e.reply.src) === o.host ? t : undefined;
		}
		const host = canonicalAddress(e.orig.dst);
		if (keyed.some((o) => o.host === host)) return t;
	}
	return undefined;
}

/** Conntrack entries (a dump) + what is in force → the live connections of every entry. */
export function countConnections(entries: ConntrackEntry[], input: CountInput): Counters {
	const { config, openings } = input;
	const index = forwardIndex(config, input.skipped);
	const triggers = activeTriggers(config);
	const byTrigger: TriggerOpenings = new Map();
	for (const o of openings) {
		const list = byTrigger.get(o.trigger) ?? [];
		list.push({
			family: familyOf(o.host),
			host: canonicalAddress(o.host),
			...(o.remote ? { remote: canonicalAddress(o.remote) } : {}),
		});
		byTrigger.set(o.trigger, list);
	}

	const counters: Counters = {
		forwards: Object.fromEntries(config.forwards.map((f) => [f.id, 0])),
		triggers: Object.fromEntries(
			config.triggers.map((t) => [t.id, { connections: 0, openings: byTrigger.get(t.id)?.length ?? 0 }]),
		),
	};
	for (const e of entries) {
		if (!has(e.mark, CT_MARK.ACCEPT) || !isLive(e)) continue;
		const f = forwardOf(e, index);
		if (f) {
			counters.forwards[f.id] = (counters.forwards[f.id] ?? 0) + 1;
			continue;
		}
		const t = triggerOf(e, triggers, byTrigger);
		const c = t && counters.triggers[t.id];
		if (c) c.connections++;
	}
	return counters;
}
