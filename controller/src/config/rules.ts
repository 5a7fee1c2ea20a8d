// Rules across sections of a decoded config: what each section's schema cannot see alone but
// would otherwise fail confusingly at run time (nft refusing a batch, a forward that never
// matches, two owners for one port). Pure functions; each finding names a section by id, an
// option (and list item) and why. load.ts turns findings into located problems.
//
// Checks within one section apply to every section, enabled or not (enabling it later must not
// fail); conflicts between sections consider only enabled ones, so a disabled alternative may
// claim the same port as an enabled forward.
import { parsePrefix, prefixesOverlap } from "../ruleset/prefix";
import { familyOf } from "./address";
import {
	type Config,
	type Forward,
	formatPortRange,
	type PortRange,
	type Protocol,
	portCount,
	type Trigger,
} from "./schema";

export type Finding = { id: string; option?: string; item?: number; message: string };

export type RuleContext = {
	config: Config;
	/** How messages name a section: its name, or `@type[index]` when anonymous. */
	label: (id: string) => string;
	/** Ids of the globals and dmz sections, when the file has them. */
	globalsId?: string;
	dmzId?: string;
};

export type Rule = { name: string; check: (ctx: RuleContext) => Finding[] };

type Located<T> = T & { id: string };

function overlap(a: PortRange, b: PortRange): PortRange | undefined {
	const from = Math.max(a.from, b.from);
	const to = Math.min(a.to, b.to);
	return from <= to ? { from, to } : undefined;
}

function ports(protocols: readonly Protocol[], range: PortRange): string {
	return `${protocols.join("/")} ${portCount(range) === 1 ? "port" : "ports"} ${formatPortRange(range)}`;
}

function count(range: PortRange): string {
	return portCount(range) === 1 ? "1 port" : `${portCount(range)} ports`;
}

const isAre = (range: PortRange) => (portCount(range) === 1 ? "is" : "are");

function common(a: readonly Protocol[], b: readonly Protocol[]): Protocol[] {
	return a.filter((p) => b.includes(p));
}

type Ranged = { range: PortRange; order: number };

/**
 * Pairs of entries whose port ranges overlap, each as (earlier, later) in `order`; sorted by
 * range start and swept, so entries far apart are never compared (a config may hold thousands).
 */
function overlapping<T extends Ranged>(items: readonly T[]): Array<[T, T]> {
	const sorted = [...items].sort((a, b) => a.range.from - b.range.from);
	const out: Array<[T, T]> = [];
	sorted.forEach((a, i) => {
		for (let j = i + 1; j < sorted.length && (sorted[j] as T).range.from <= a.range.to; j++) {
			const b = sorted[j] as T;
			out.push(a.order < b.order ? [a, b] : [b, a]);
		}
	});
	return out.sort((x, y) => x[1].order - y[1].order || x[0].order - y[0].order);
}

const enabled = <T extends { enabled: boolean }>(items: readonly T[]) => items.filter((i) => i.enabled);
/** IPv4 forwards are DNAT rules; IPv6 ones are pinholes to one host and cannot collide. */
const natForwards = (config: Config) => enabled(config.forwards).filter((f) => familyOf(f.dest_ip) === 4);

function remapLength({ config }: RuleContext): Finding[] {
	return config.forwards.flatMap((f) =>
		f.dest_port && portCount(f.dest_port) !== portCount(f.src_dport)
			? [
					{
						id: f.id,
						option: "dest_port",
						message: `${formatPortRange(f.dest_port)} (${count(f.dest_port)}) is not as long as src_dport ${formatPortRange(f.src_dport)} (${count(f.src_dport)}); a remapped range maps port by port`,
					},
				]
			: [],
	);
}

function ipv6KeepsPorts({ config }: RuleContext): Finding[] {
	return config.forwards.flatMap((f) =>
		familyOf(f.dest_ip) === 6 &&
		f.dest_port &&
		(f.dest_port.from !== f.src_dport.from || f.dest_port.to !== f.src_dport.to)
			? [
					{
						id: f.id,
						option: "dest_port",
						message: `an IPv6 forward cannot change the port (IPv6 has no NAT); remove dest_port or make it ${formatPortRange(f.src_dport)} like src_dport`,
					},
				]
			: [],
	);
}

function sourceFamily({ config }: RuleContext): Finding[] {
	return config.forwards.flatMap((f: Located<Forward>) => {
		const family = familyOf(f.dest_ip);
		return f.src_ip.flatMap((source, item) =>
			familyOf(source) === family
				? []
				: [
						{
							id: f.id,
							option: "src_ip",
							item,
							message: `${source} is IPv${familyOf(source)} but dest_ip ${f.dest_ip} is IPv${family}; this source could never reach it`,
						},
					],
		);
	});
}

/**
 * Where two forwards on one protocol and port could both take a connection, the sources they
 * share (as a phrase for a message); undefined when they cannot collide. As in fw4 and
 * pfSense, a source-restricted forward and the catch-all one (no src_ip) share a port: the
 * ruleset looks up the restricted one first. Two restricted ones may share it when their
 * sources are disjoint.
 */
function sharedSources(a: Forward, b: Forward): string | undefined {
	if (!a.src_ip.length || !b.src_ip.length) return a.src_ip.length || b.src_ip.length ? undefined : "";
	const theirs = b.src_ip.map(parsePrefix);
	const common = a.src_ip.find((s) => theirs.some((t) => prefixesOverlap(parsePrefix(s), t)));
	return common === undefined
		? undefined
		: ` for sources overlapping ${common} (restricted forwards may share a port only when their src_ip are disjoint)`;
}

function forwardsOverlap({ config, label }: RuleContext): Finding[] {
	const items = natForwards(config).map((f, order) => ({ f, range: f.src_dport, order }));
	return overlapping(items).flatMap(([{ f: first }, { f: later }]) => {
		const protocols = common(first.proto, later.proto);
		const shared = overlap(first.src_dport, later.src_dport);
		const sources = protocols.length && shared ? sharedSources(first, later) : undefined;
		return shared && sources !== undefined
			? [
					{
						id: later.id,
						option: "src_dport",
						message: `${ports(protocols, shared)} ${isAre(shared)} already forwarded by section '${label(first.id)}'${sources}`,
					},
				]
			: [];
	});
}

/** Every open_port item of the triggers, numbered in file order. */
function openings(triggers: ReadonlyArray<Located<Trigger>>) {
	return triggers
		.flatMap((t) => t.open_port.map((range, item) => ({ t, range, item })))
		.map((o, order) => ({ ...o, order }));
}

type OpenOrForward = Ranged & ({ t: Located<Trigger>; item: number } | { f: Located<Forward> });

function triggerOpensForwardedPort({ config, label }: RuleContext): Finding[] {
	const opened: OpenOrForward[] = openings(enabled(config.triggers));
	const forwards: OpenOrForward[] = natForwards(config).map((f, i) => ({
		f,
		range: f.src_dport,
		order: opened.length + i,
	}));
	// Openings are numbered before forwards, so a mixed pair is always (opening, forward).
	return overlapping([...opened, ...forwards]).flatMap(([open, forward]) => {
		if (!("t" in open) || !("f" in forward)) return [];
		const protocols = common(open.t.open_proto, forward.f.proto);
		const shared = overlap(open.range, forward.range);
		return protocols.length && shared
			? [
					{
						id: open.t.id,
						option: "open_port",
						item: open.item,
						message: `${ports(protocols, shared)} ${isAre(shared)} forwarded by section '${label(forward.f.id)}'; a trigger cannot open a port that a forward takes`,
					},
				]
			: [];
	});
}

/**
 * Two enabled triggers may not open the same port: an inbound connection could not tell which
 * trigger (and so which LAN host) it answers. Ports opened twice by one trigger are refused too.
 */
function triggersOpenSamePort({ config, label }: RuleContext): Finding[] {
	const reported = new Set<string>();
	return overlapping(openings(config.triggers)).flatMap(([a, b]) => {
		const shared = overlap(a.range, b.range) as PortRange;
		if (a.t === b.t)
			return [
				{
					id: b.t.id,
					option: "open_port",
					item: b.item,
					message: `${ports(b.t.open_proto, shared)} ${isAre(shared)} already in this trigger's open_port ${formatPortRange(a.range)}`,
				},
			];
		const protocols = common(a.t.open_proto, b.t.open_proto);
		const key = `${b.t.id}/${b.item}/${a.t.id}`;
		if (!a.t.enabled || !b.t.enabled || !protocols.length || reported.has(key)) return [];
		reported.add(key);
		return [
			{
				id: b.t.id,
				option: "open_port",
				item: b.item,
				message: `${ports(protocols, shared)} ${isAre(shared)} also opened by trigger '${a.t.name}' (section '${label(a.t.id)}'); an inbound connection could not tell which trigger it answers`,
			},
		];
	});
}

function uniqueTriggerNames({ config, label }: RuleContext): Finding[] {
	const first = new Map<string, string>();
	return config.triggers.flatMap((t) => {
		const owner = first.get(t.name);
		if (owner === undefined) first.set(t.name, t.id);
		return owner === undefined
			? []
			: [
					{
						id: t.id,
						option: "name",
						message: `'${t.name}' is already the name of section '${label(owner)}'; trigger names must be unique`,
					},
				];
	});
}

function dmzHasHost({ config, dmzId }: RuleContext): Finding[] {
	return config.dmz.enabled && !config.dmz.dest_ip && dmzId
		? [{ id: dmzId, option: "dest_ip", message: "is required when the DMZ is enabled" }]
		: [];
}

function wanAndLanDistinct({ config, globalsId }: RuleContext): Finding[] {
	if (!globalsId) return [];
	const g = config.globals;
	const clash = (wan: string[], lan: string[], option: string, what: string): Finding[] =>
		lan.flatMap((name, item) =>
			wan.includes(name)
				? [
						{
							id: globalsId,
							option,
							item,
							message: `${what} '${name}' is also listed as WAN; it can be WAN or LAN, not both`,
						},
					]
				: [],
		);
	return [
		...clash(g.wan_zone, g.lan_zone, "lan_zone", "zone"),
		...clash(g.wan_device, g.lan_device, "lan_device", "device"),
	];
}

/** Every cross-section rule, in the order their problems are reported. */
export const RULES: readonly Rule[] = [
	{ name: "remapped range as long as src_dport", check: remapLength },
	{ name: "IPv6 forwards keep their port", check: ipv6KeepsPorts },
	{ name: "forward sources in dest_ip's family", check: sourceFamily },
	{ name: "one forward per WAN protocol, port and source", check: forwardsOverlap },
	{ name: "triggers do not open forwarded ports", check: triggerOpensForwardedPort },
	{ name: "one trigger per opened port", check: triggersOpenSamePort },
	{ name: "unique trigger names", check: uniqueTriggerNames },
	{ name: "enabled DMZ has a host", check: dmzHasHost },
	{ name: "WAN and LAN are distinct", check: wanAndLanDistinct },
];

export function checkRules(ctx: RuleContext): Finding[] {
	return RULES.flatMap((rule) => rule.check(ctx));
}
