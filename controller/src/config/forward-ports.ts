// The WAN ports in use, for checking one change without going through every entry: per
// protocol, the port ranges of the enabled IPv4 forwards (the ones that can collide, with
// their source restrictions) and the ports that enabled triggers open, and the names of all
// triggers. Given one new or changed forward or trigger, it finds the entries the rules must
// see with it (rules.ts stays the one definition of what is allowed; this only narrows whom
// they look at) in buckets of ports, so the cost follows the entries near that port, not the
// size of the config.
import { familyOf } from "./address";
import type { Config, PortRange, Protocol } from "./schema";

type Forward = Config["forwards"][number];
type Trigger = Config["triggers"][number];
type Entry = Forward | Trigger;
/** An entry and its place in file order among those of its type. */
type Item<T extends Entry> = { entry: T; seq: number };

/** Ports per bucket: a bucket holds the entries whose ranges touch it. */
const BUCKET_BITS = 6;

/** Port ranges → items, by buckets of 64 ports. */
class RangeBuckets<T extends Entry> {
	private readonly buckets = new Map<number, Set<Item<T>>>();

	add(range: PortRange, item: Item<T>): void {
		for (let b = range.from >> BUCKET_BITS; b <= range.to >> BUCKET_BITS; b++) {
			let bucket = this.buckets.get(b);
			if (!bucket) {
				bucket = new Set();
				this.buckets.set(b, bucket);
			}
			bucket.add(item);
		}
	}

	remove(range: PortRange, item: Item<T>): void {
		for (let b = range.from >> BUCKET_BITS; b <= range.to >> BUCKET_BITS; b++) {
			const bucket = this.buckets.get(b);
			bucket?.delete(item);
			if (bucket?.size === 0) this.buckets.delete(b);
		}
	}

	/** Adds to `into` the items with a range in `ranges(item)` that overlaps `range`. */
	overlapping(range: PortRange, ranges: (entry: T) => readonly PortRange[], into: Set<Item<T>>): void {
		for (let b = range.from >> BUCKET_BITS; b <= range.to >> BUCKET_BITS; b++)
			for (const item of this.buckets.get(b) ?? [])
				if (!into.has(item) && ranges(item.entry).some((r) => r.from <= range.to && range.from <= r.to))
					into.add(item);
	}
}

const isNatForward = (f: Forward) => f.enabled && familyOf(f.dest_ip) === 4;
const forwardRanges = (f: Forward) => [f.src_dport];
const openRanges = (t: Trigger) => t.open_port;

export class ForwardPorts {
	private readonly forwards = { tcp: new RangeBuckets<Forward>(), udp: new RangeBuckets<Forward>() };
	private readonly openings = { tcp: new RangeBuckets<Trigger>(), udp: new RangeBuckets<Trigger>() };
	private readonly names = new Map<string, Set<Item<Trigger>>>();
	private readonly forwardItems = new Map<string, Item<Forward>>();
	private readonly triggerItems = new Map<string, Item<Trigger>>();
	/** Sequence number of the next entry added: entries the API adds go at the end of the file. */
	private next = 0;

	/** The index of a config's entries. */
	static of(config: Config): ForwardPorts {
		const index = new ForwardPorts();
		for (const f of config.forwards) index.put("forward", f);
		for (const t of config.triggers) index.put("trigger", t);
		return index;
	}

	/**
	 * The entries of `config` the rules must see to judge `entry` (new, or replacing the entry
	 * of its id): it, and the entries its WAN ports or name could collide with, in file order.
	 * The others were valid together before and cannot start to collide with each other.
	 */
	neighbourhood(config: Config, type: "forward" | "trigger", entry: Entry): Config {
		const forwards = new Set<Item<Forward>>();
		const triggers = new Set<Item<Trigger>>();
		const near = (protocols: readonly Protocol[], ranges: readonly PortRange[]) => {
			for (const p of protocols)
				for (const range of ranges) {
					this.forwards[p].overlapping(range, forwardRanges, forwards);
					this.openings[p].overlapping(range, openRanges, triggers);
				}
		};
		if (type === "forward") near((entry as Forward).proto, forwardRanges(entry as Forward));
		else {
			const t = entry as Trigger;
			near(t.open_proto, openRanges(t));
			for (const item of this.names.get(t.name) ?? []) triggers.add(item);
		}
		const inOrder = <T extends Entry>(items: Set<Item<T>>, self?: Item<T>) => {
			const list = [...items].filter((i) => i.entry.id !== entry.id);
			if (self) list.push(self);
			return list.sort((a, b) => a.seq - b.seq).map((i) => i.entry);
		};
		const seq = (type === "forward" ? this.forwardItems : this.triggerItems).get(entry.id)?.seq ?? this.next;
		return {
			...config,
			forwards: inOrder(forwards, type === "forward" ? { entry: entry as Forward, seq } : undefined),
			triggers: inOrder(triggers, type === "trigger" ? { entry: entry as Trigger, seq } : undefined),
		};
	}

	/** The forward of this id in the config indexed (the same object). */
	forward(id: string): Forward | undefined {
		return this.forwardItems.get(id)?.entry;
	}

	/** The trigger of this id in the config indexed (the same object). */
	trigger(id: string): Trigger | undefined {
		return this.triggerItems.get(id)?.entry;
	}

	/** Takes an accepted change in: entry `id` is now `entry` (undefined: deleted). */
	update(type: "forward" | "trigger", id: string, entry: Entry | undefined): void {
		const seq = this.drop(type, id);
		if (entry) this.put(type, entry, seq);
	}

	private put(type: "forward" | "trigger", entry: Entry, seq = this.next++): void {
		if (type === "forward") {
			const f = entry as Forward;
			const item = { entry: f, seq };
			this.forwardItems.set(f.id, item);
			if (isNatForward(f)) for (const p of f.proto) this.forwards[p].add(f.src_dport, item);
			return;
		}
		const t = entry as Trigger;
		const item = { entry: t, seq };
		this.triggerItems.set(t.id, item);
		let named = this.names.get(t.name);
		if (!named) {
			named = new Set();
			this.names.set(t.name, named);
		}
		named.add(item);
		if (t.enabled) for (const p of t.open_proto) for (const r of t.open_port) this.openings[p].add(r, item);
	}

	/** Removes entry `id`; returns its sequence number. */
	private drop(type: "forward" | "trigger", id: string): number | undefined {
		if (type === "forward") {
			const item = this.forwardItems.get(id);
			if (!item) return undefined;
			this.forwardItems.delete(id);
			for (const p of item.entry.proto) this.forwards[p].remove(item.entry.src_dport, item);
			return item.seq;
		}
		const item = this.triggerItems.get(id);
		if (!item) return undefined;
		this.triggerItems.delete(id);
		const named = this.names.get(item.entry.name);
		named?.delete(item);
		if (named?.size === 0) this.names.delete(item.entry.name);
		for (const p of item.entry.open_proto)
			for (const r of item.entry.open_port) this.openings[p].remove(r, item);
		return item.seq;
	}
}
