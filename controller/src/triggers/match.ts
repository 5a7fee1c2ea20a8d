// Which triggers a conntrack entry may have fired (pure). The kernel decides for itself from the
// packet (ruleset/triggers.ts); the daemon only needs to know which triggers to look at again
// after a new connection, and which LAN host asked.
import type { Protocol } from "../config/schema";
import { type ConntrackEntry, CT_STATUS } from "../netlink/conntrack";
import type { PortRange } from "../netlink/filter";
import { canonicalAddress } from "../ruleset/prefix";
import type { TriggerWithId } from "../ruleset/triggers";

export const PROTO_NUMBERS: Record<Protocol, number> = { tcp: 6, udp: 17 };

/**
 * The triggers whose trigger connection `entry` looks like: its protocol and destination port,
 * from an allowed LAN host. An IPv4 connection must have been masqueraded (it left through the
 * WAN); IPv6 has no NAT, so any allowed source counts (a look too many costs one nft listing).
 */
export function matchingTriggers(entry: ConntrackEntry, triggers: TriggerWithId[]): TriggerWithId[] {
	const { orig } = entry;
	if (orig.dport === undefined) return [];
	const port = orig.dport;
	if (entry.family === "ipv4" && ((entry.status ?? 0) & CT_STATUS.SRC_NAT) === 0) return [];
	const source = canonicalAddress(orig.src);
	return triggers.filter(
		(t) =>
			t.proto.some((p) => PROTO_NUMBERS[p] === orig.proto) &&
			port >= t.trigger_port.from &&
			port <= t.trigger_port.to &&
			(t.src_ip.length === 0 || t.src_ip.some((a) => canonicalAddress(a) === source)),
	);
}

/**
 * The protocols and destination ports of every trigger connection: the kernel passes the
 * daemon only these connections' events (netlink/filter.ts), whatever else the router carries.
 */
export function triggerPorts(triggers: TriggerWithId[]): PortRange[] {
	const ranges = new Map<string, PortRange>();
	for (const t of triggers)
		for (const p of t.proto) {
			const r = { proto: PROTO_NUMBERS[p], from: t.trigger_port.from, to: t.trigger_port.to };
			ranges.set(`${r.proto} ${r.from} ${r.to}`, r);
		}
	return [...ranges.values()];
}
