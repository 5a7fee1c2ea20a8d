// Which trigger openings still carry traffic, by conntrack's own view (pure). With fw4's flow
// offloading the packets of offloaded connections skip the forward hook, where portrig's rules
// restart an opening's timer: the daemon then looks at the conntrack entries instead
// (keepalive.ts). An opening is busy when one of its connections — a trigger connection of its
// LAN host, or a connection it let in — is offloaded now (the flowtable drops idle flows after
// ~30 s) or moved bytes since the last look (nf_conntrack_acct, on by default on OpenWrt; fw4's
// flowtable counts offloaded packets with `counter`).
import type { Protocol } from "../config/schema";
import { type ConntrackEntry, CT_STATUS, type MarkFilter, type OriginFilter } from "../netlink/conntrack";
import { CT_MARK } from "../ruleset/layout";
import { canonicalAddress } from "../ruleset/prefix";
import type { TriggerSets, TriggerWithId } from "../ruleset/triggers";
import type { KernelOpening } from "./elements";
import { PROTO_NUMBERS } from "./match";

/** A live opening with what the kernel needs to refresh it. */
export type LiveOpening = { trigger: TriggerWithId; sets: TriggerSets; opening: KernelOpening };

const inRange = (port: number | undefined, r: { from: number; to: number }) =>
	port !== undefined && port >= r.from && port <= r.to;
const same = (a: string, b: string | undefined) =>
	b !== undefined && canonicalAddress(a) === canonicalAddress(b);

/** Whether `entry` is a connection of the opening: its trigger connection, or one it let in. */
export function belongsTo(entry: ConntrackEntry, live: LiveOpening): boolean {
	const { trigger: t, opening: o } = live;
	if (entry.family !== (o.family === 4 ? "ipv4" : "ipv6")) return false;
	const { orig, reply } = entry;
	const uses = (protos: Protocol[]) => protos.some((p) => PROTO_NUMBERS[p] === orig.proto);
	if (uses(t.proto) && inRange(orig.dport, t.trigger_port) && same(orig.src, o.host))
		return o.remote === undefined || same(orig.dst, o.remote);
	if (!uses(t.open_proto) || !t.open_port.some((r) => inRange(orig.dport, r))) return false;
	if (o.remote !== undefined && !same(orig.src, o.remote)) return false;
	// IPv4 came in through the opening's DNAT: the LAN host answers. IPv6 names the host itself.
	return o.family === 4
		? ((entry.status ?? 0) & CT_STATUS.DST_NAT) !== 0 && same(reply.src, o.host)
		: same(orig.dst, o.host);
}

/** One conntrack dump, filtered by the kernel. */
export type DumpQuery = { mark?: MarkFilter; origin?: OriginFilter };

/**
 * The dumps that find every connection of the openings without copying the whole table out: the
 * connections openings let in carry portrig's accept mark (ruleset/triggers.ts), trigger
 * connections come from their LAN host (one dump per host and protocol).
 */
export function lookQueries(live: LiveOpening[]): DumpQuery[] {
	if (live.length === 0) return [];
	const origins = new Map<string, OriginFilter>();
	for (const { trigger, opening } of live)
		for (const p of trigger.proto) {
			const origin: OriginFilter = {
				family: opening.family === 4 ? "ipv4" : "ipv6",
				src: canonicalAddress(opening.host),
				proto: PROTO_NUMBERS[p],
			};
			origins.set(JSON.stringify(origin), origin);
		}
	return [
		{ mark: { value: CT_MARK.ACCEPT, mask: CT_MARK.ACCEPT } },
		...[...origins.values()].map((origin) => ({ origin })),
	];
}

/** Byte counts by conntrack entry, to compare with the next look. */
export type ByteCounts = Map<string, bigint>;

const entryKey = (e: ConntrackEntry) =>
	e.id !== undefined
		? String(e.id)
		: `${e.orig.proto} ${e.orig.src} ${e.orig.sport} ${e.orig.dst} ${e.orig.dport}`;

/**
 * The openings with a busy connection in `entries` (a conntrack dump), and the byte counts of
 * their connections for the next call. A connection seen for the first time has no earlier
 * count: it is busy only if offloaded.
 */
export function busyOpenings(
	entries: ConntrackEntry[],
	live: LiveOpening[],
	previous: ByteCounts,
): { busy: LiveOpening[]; counts: ByteCounts } {
	const counts: ByteCounts = new Map();
	const busy = new Set<LiveOpening>();
	for (const entry of entries) {
		const owners = live.filter((h) => belongsTo(entry, h));
		if (owners.length === 0) continue;
		const key = entryKey(entry);
		const bytes = entry.bytes ? entry.bytes.orig + entry.bytes.reply : undefined;
		if (bytes !== undefined) counts.set(key, bytes);
		const before = previous.get(key);
		const moved = bytes !== undefined && before !== undefined && bytes > before;
		if (moved || ((entry.status ?? 0) & CT_STATUS.OFFLOAD) !== 0) for (const h of owners) busy.add(h);
	}
	return { busy: [...busy], counts };
}
