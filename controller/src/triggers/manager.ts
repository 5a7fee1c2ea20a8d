// The trigger manager: knows the live openings, tells when they open, close or refuse a host,
// puts them back when the table had to be re-created, and closes them on request.
//
// The kernel opens and closes (ruleset/triggers.ts: map elements with timeouts, updated from
// the packet path), so nothing here is on the packet's way and nothing is lost when the daemon
// is down. The manager reads the trigger maps with `nft -j list` when something may have
// changed: a new connection to a trigger port (ctnetlink NEW events), the predicted expiry of
// an opening, a resync after an event overrun, a close request, a new config.
//
//   const m = new TriggerManager({ nft, onEvent });
//   await m.adopt(config);            // before the first DataPlane.apply: openings left in the kernel
//   const { recreatedSets } = await dataplane.apply(config, env);
//   await m.start(config, recreatedSets); // puts adopted openings back where the apply re-created their sets
//   await m.update(config);           // after every later apply
//   m.restored(sets)                  // DataPlane onRestored: re-add live openings
//   m.openings(); await m.close("irc", "192.168.1.10"); await m.stop();
import type { Config } from "../config/schema";
import { formatPortRange } from "../config/schema";
import { Serial } from "../daemon/serial";
import { log } from "../log/log";
import type { ConntrackEntry } from "../netlink/conntrack";
import { ConntrackEvents, type ConntrackEventsStats, dumpConntrack } from "../netlink/events";
import { TABLE } from "../ruleset/layout";
import { canonicalAddress } from "../ruleset/prefix";
import { listIfPresent, type NftRunner } from "../ruleset/runner";
import { Transaction } from "../ruleset/transaction";
import {
	activeTriggers,
	ipv4SetSpecs,
	type TriggerSets,
	type TriggerWithId,
	triggerSets,
} from "../ruleset/triggers";
import type { LiveOpening } from "./activity";
import {
	addKeys,
	addOpenings,
	deleteOpenings,
	type KernelOpening,
	parseIPv4Map,
	parseIPv4Owners,
	parseIPv6Set,
	strayOwners,
	structuresOf,
} from "./elements";
import { KeepAlive, type KeepAliveStats, refreshTransaction } from "./keepalive";
import { matchingTriggers, triggerPorts } from "./match";

/** A live opening, as the API lists it. */
export type Opening = {
	trigger: string;
	name: string;
	host: string;
	remote?: string;
	proto: string;
	ports: string[];
	/** Seconds until it closes unless traffic restarts the timer. */
	expires: number;
	/** Unix time (s) it opened; for one adopted from a previous daemon, when it was last used. */
	since: number;
};

export type OpeningEvent = Opening & {
	action: "open" | "close" | "refused";
	/** close: "expired", "closed" (on request) or "removed" (trigger changed or gone). */
	reason?: "expired" | "closed" | "removed";
	/** refused: the host that holds the opening. */
	owner?: string;
};

export type TriggerManagerOptions = {
	nft: NftRunner;
	onEvent?: (event: OpeningEvent) => void;
};

export type TriggerManagerStats = {
	openings: number;
	scans: number;
	refused: number;
	adopted: number;
	readded: number;
	conntrack?: ConntrackEventsStats;
	/** Openings re-armed from conntrack (flow offloading hides their packets from the rules). */
	keepalive: KeepAliveStats;
};

type Live = KernelOpening & { trigger: string; since: number; expiresAt: number };

/** A trigger connection (NEW event or resync dump), to check against the owner after the next scan. */
type Candidate = { trigger: string; host: string; remote: string };

const keyOf = (trigger: string, o: KernelOpening) => `${trigger} ${o.family} ${o.remote ?? "*"} ${o.host}`;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
/** nft lists whole seconds rounded down: the real expiry is at most this much later. */
const LIST_ROUNDING_MS = 1000;
const SCAN_DELAY_MS = 10;
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** How often the openings are read when conntrack events cannot be followed. */
const POLL_MS = 5000;

export class TriggerManager {
	private triggers = new Map<string, { trigger: TriggerWithId; sets: TriggerSets }>();
	/** What `triggers` was derived from: all this class reads of a config. */
	private basis: Pick<Config, "triggers" | "globals"> | undefined;
	private readonly live = new Map<string, Live>();
	private adopted: { trigger: string; sets: TriggerSets; openings: KernelOpening[] }[] = [];
	private adoptedAt = 0;
	private readonly serial = new Serial();
	private events: ConntrackEvents | undefined;
	private readonly pending = new Set<string>();
	/** By conntrack entry id: a connection seen again in a resync dump is judged once. */
	private candidates = new Map<string, Candidate>();
	private readonly judged = new Set<string>();
	private scanTimer: ReturnType<typeof setTimeout> | undefined;
	private expiryTimer: ReturnType<typeof setTimeout> | undefined;
	private poll: ReturnType<typeof setInterval> | undefined;
	private readonly lastRefusalLog = new Map<string, number>();
	private readonly closing = new Set<string>();
	private started = false;
	/** While the table is kept away (the firewall is down): the kernel holds nothing to read. */
	private held = false;
	private readonly counts = { scans: 0, refused: 0, adopted: 0, readded: 0 };
	private readonly keepAlive = new KeepAlive({
		openings: () => (this.held ? [] : this.liveOpenings()),
		dump: (query) => dumpConntrack(query.mark, query.origin),
		refresh: (busy) => this.rearm(busy),
		onError: (e) => log("err", `triggers: keeping busy openings open: ${message(e)}`),
	});

	constructor(private readonly options: TriggerManagerOptions) {}

	// ---- lifecycle ------------------------------------------------------------------------------

	/**
	 * Reads the openings a previous daemon left in the kernel (they outlive it), for the
	 * triggers of `config`. Call before the first DataPlane.apply, which keeps them unless it has
	 * to re-create their sets (a declaration changed).
	 */
	adopt(config: Config): Promise<number> {
		return this.serial.run(async () => {
			this.adopted = [];
			this.adoptedAt = Date.now();
			for (const { trigger, sets } of this.index(config).values()) {
				const openings = (await this.read(sets)).openings.filter((o) => o.expires > 0);
				if (openings.length) this.adopted.push({ trigger: trigger.id, sets, openings });
			}
			const n = this.adopted.reduce((sum, a) => sum + a.openings.length, 0);
			this.counts.adopted += n;
			if (n) log("notice", `triggers: adopting ${n} live opening(s) left in the kernel`);
			await this.completeKeys();
			return n;
		});
	}

	/**
	 * A table left by a version without key sets: creates each missing key set with the keys of
	 * the adopted IPv4 openings, before the first apply switches to rules that ask it (else a
	 * second host could claim a live opening). Nothing when the key sets exist.
	 */
	private async completeKeys(): Promise<void> {
		const tx = new Transaction();
		for (const a of this.adopted) {
			const keys = ipv4SetSpecs(a.sets).find((s) => s.name === a.sets.v4?.keys);
			if (!keys || !a.openings.some((o) => o.family === 4)) continue;
			const what = `set ${TABLE.family} ${TABLE.name} ${keys.name}`;
			if ((await listIfPresent(this.options.nft, what, { terse: true })) === undefined)
				addKeys(tx.addSet(keys), a.sets, a.openings);
		}
		if (tx.empty) return;
		log("notice", "triggers: adding the key sets a table from an older portrig lacks");
		await this.options.nft.run(tx).catch((e) => log("err", `triggers: adding key sets: ${message(e)}`));
	}

	/**
	 * After the first apply: knows the adopted openings (so no "open" again), puts them back into
	 * the sets that apply created (`recreatedSets`; all when not given), then follows conntrack.
	 */
	async start(config: Config, recreatedSets?: string[]): Promise<void> {
		this.started = true;
		await this.serial.run(async () => {
			this.setConfig(config);
			const now = Date.now();
			const elapsed = Math.floor((now - this.adoptedAt) / 1000);
			const tx = new Transaction();
			const lost = (name: string) => !recreatedSets || recreatedSets.includes(name);
			for (const a of this.adopted) {
				const t = this.triggers.get(a.trigger);
				// Only where the trigger still exists with the same structures.
				if (!t || !sameStructures(t.sets, a.sets)) continue;
				const left = a.openings
					.map((o) => ({ ...o, expires: o.expires - elapsed }))
					.filter((o) => o.expires > 0);
				addOpenings(
					tx,
					a.sets,
					left.filter((o) => structuresOf(a.sets, o.family).some(lost)),
				);
				for (const o of left)
					this.live.set(keyOf(a.trigger, o), {
						...o,
						trigger: a.trigger,
						since: now - (o.timeout - o.expires) * 1000,
						expiresAt: now + o.expires * 1000 + LIST_ROUNDING_MS,
					});
			}
			this.adopted = [];
			await this.putBack(tx, "adopted");
		});
		if (!this.events && !this.poll) {
			const events = new ConntrackEvents({
				groups: ["NEW"],
				ports: triggerPorts([...this.triggers.values()].map((t) => t.trigger)),
				onEntry: (entry) => this.onConntrack(entry),
				onResync: (entries) => this.onResync(entries),
			});
			try {
				events.start();
				this.events = events;
			} catch (e) {
				// The kernel still opens and closes; without events the daemon looks every few seconds.
				log(
					"err",
					`triggers: cannot follow conntrack events (${message(e)}); polling every ${POLL_MS / 1000} s`,
				);
				this.poll = setInterval(() => void this.scan([...this.triggers.keys()]), POLL_MS);
			}
		}
		await this.scan([...this.triggers.keys()]);
	}

	/**
	 * After every apply of a new config (before start: nothing): openings of changed or removed
	 * triggers are gone. A config with the same triggers and globals (the same objects: a change of
	 * a forward or the DMZ) changes nothing here, and the kernel is not read again.
	 */
	async update(config: Config): Promise<void> {
		if (!this.started) return;
		if (config.triggers === this.basis?.triggers && config.globals === this.basis.globals) return;
		await this.serial.run(async () => {
			const before = this.triggers;
			this.setConfig(config);
			this.events?.setPorts(triggerPorts([...this.triggers.values()].map((t) => t.trigger)));
			for (const [id, old] of before) {
				const now = this.triggers.get(id);
				if (now && sameStructures(now.sets, old.sets)) continue;
				for (const [key, l] of this.live)
					if (l.trigger === id) {
						this.live.delete(key);
						this.emit("close", l, old.trigger, { reason: "removed" });
					}
			}
		});
		await this.scan([...this.triggers.keys()]);
	}

	/** DataPlane re-created these sets (table restored): put the live openings back into them. */
	restored(sets: string[]): Promise<void> {
		return this.serial.run(async () => {
			const names = new Set(sets);
			const now = Date.now();
			const tx = new Transaction();
			for (const { trigger, sets: s } of this.triggers.values()) {
				const lost = [...this.live.values()].filter(
					(l) =>
						l.trigger === trigger.id &&
						l.expiresAt > now &&
						structuresOf(s, l.family).some((n) => names.has(n)),
				);
				const withTimeLeft = lost.map((l) => ({
					...l,
					expires: Math.ceil((l.expiresAt - LIST_ROUNDING_MS - now) / 1000),
				}));
				addOpenings(tx, s, withTimeLeft);
			}
			await this.putBack(tx, "restored");
		});
	}

	/**
	 * Holds while the table is kept away (TableWatch): no reads, so no opening is taken for
	 * closed; restored() puts them back after. Releasing looks at the kernel again.
	 */
	hold(held: boolean): void {
		this.held = held;
		if (!held) void this.scan([...this.triggers.keys()]);
	}

	async stop(): Promise<void> {
		this.started = false;
		clearTimeout(this.scanTimer);
		clearTimeout(this.expiryTimer);
		clearInterval(this.poll);
		this.poll = undefined;
		await this.events?.stop();
		this.events = undefined;
	}

	// ---- queries and requests ---------------------------------------------------------------------

	openings(): Opening[] {
		const now = Date.now();
		return [...this.live.values()]
			.filter((l) => l.expiresAt > now)
			.sort((a, b) => a.since - b.since)
			.flatMap((l) => {
				const t = this.triggers.get(l.trigger);
				return t ? [this.describe(l, t.trigger, now)] : [];
			});
	}

	/** Closes the openings of `trigger` (of one LAN host if given) now; resolves to how many. */
	close(trigger: string, host?: string): Promise<number> {
		return this.serial.run(async () => {
			const t = this.triggers.get(trigger);
			if (!t) return 0;
			// What the kernel holds now: an opening may have expired or opened since the last look.
			await this.scanOne(trigger);
			const doomed = [...this.live.values()].filter(
				(l) => l.trigger === trigger && (host === undefined || sameAddress(l.host, host)),
			);
			if (doomed.length === 0) return 0;
			for (const l of doomed) this.closing.add(keyOf(trigger, l));
			try {
				await this.options.nft.run(deleteOpenings(new Transaction(), t.sets, doomed)).catch(async () => {
					// One of them expired meanwhile (a delete of a missing element fails the batch).
					await this.scanOne(trigger);
					const left = doomed.filter((l) => this.live.has(keyOf(trigger, l)));
					if (left.length) await this.options.nft.run(deleteOpenings(new Transaction(), t.sets, left));
				});
			} finally {
				await this.scanOne(trigger);
				for (const l of doomed) this.closing.delete(keyOf(trigger, l));
			}
			this.scheduleExpiry();
			return doomed.filter((l) => !this.live.has(keyOf(trigger, l))).length;
		});
	}

	stats(): TriggerManagerStats {
		return {
			openings: this.openings().length,
			...this.counts,
			...(this.events ? { conntrack: this.events.stats() } : {}),
			keepalive: this.keepAlive.stats(),
		};
	}

	// ---- conntrack ------------------------------------------------------------------------------

	private onConntrack(entry: ConntrackEntry): void {
		if (entry.kind !== "new") return;
		const hits = matchingTriggers(
			entry,
			[...this.triggers.values()].map((t) => t.trigger),
		);
		for (const t of hits) {
			this.addCandidate(entry, t);
			this.pending.add(t.id);
		}
		if (hits.length) this.scanSoon();
	}

	private addCandidate(entry: ConntrackEntry, t: TriggerWithId): void {
		if (entry.family !== "ipv4") return;
		const key = `${t.id} ${entry.id ?? `${entry.orig.src} ${entry.orig.sport}`}`;
		if (!this.judged.has(key))
			this.candidates.set(key, { trigger: t.id, host: entry.orig.src, remote: entry.orig.dst });
	}

	/** After lost events: look at every trigger again, and at every live trigger connection. */
	private onResync(entries: ConntrackEntry[]): void {
		const triggers = [...this.triggers.values()].map((t) => t.trigger);
		for (const e of entries) for (const t of matchingTriggers(e, triggers)) this.addCandidate(e, t);
		for (const id of this.triggers.keys()) this.pending.add(id);
		this.scanSoon();
	}

	private scanSoon(): void {
		if (this.scanTimer || !this.started) return;
		this.scanTimer = setTimeout(() => {
			this.scanTimer = undefined;
			const ids = [...this.pending];
			this.pending.clear();
			void this.scan(ids);
		}, SCAN_DELAY_MS);
	}

	// ---- reading the kernel ---------------------------------------------------------------------

	private scan(ids: string[]): Promise<void> {
		return this.serial.run(async () => {
			for (const id of ids) await this.scanOne(id);
			this.checkCandidates();
			this.scheduleExpiry();
		});
	}

	/** Reads one trigger's structures and turns the differences into open/close events. */
	private async scanOne(id: string): Promise<void> {
		const t = this.triggers.get(id);
		if (!t || this.held) return;
		this.counts.scans++;
		let found: Awaited<ReturnType<TriggerManager["read"]>>;
		try {
			found = await this.read(t.sets);
		} catch (e) {
			log("err", `triggers: reading the openings of '${t.trigger.name}': ${message(e)}`);
			return;
		}
		const now = Date.now();
		const seen = new Set<string>();
		for (const o of found.openings) {
			const key = keyOf(id, o);
			seen.add(key);
			const expiresAt = now + o.expires * 1000 + LIST_ROUNDING_MS;
			const known = this.live.get(key);
			if (known) {
				known.expiresAt = expiresAt;
				known.timeout = o.timeout;
				continue;
			}
			const l: Live = {
				...o,
				trigger: id,
				expiresAt,
				since: now - Math.max(0, o.timeout - o.expires) * 1000,
			};
			this.live.set(key, l);
			this.emit("open", l, t.trigger);
		}
		for (const [key, l] of this.live) {
			if (l.trigger !== id || seen.has(key)) continue;
			this.live.delete(key);
			this.emit("close", l, t.trigger, { reason: this.closing.has(key) ? "closed" : "expired" });
		}
		if (!found.stray.empty) {
			log("notice", `triggers: '${t.trigger.name}': dropping stray owner entries`);
			await this.options.nft.run(found.stray).catch(() => undefined);
		}
	}

	/** The openings in one trigger's structures (missing structures hold none). */
	private async read(sets: TriggerSets) {
		const list = (kind: "map" | "set", name: string) =>
			listIfPresent(this.options.nft, `${kind} ${TABLE.family} ${TABLE.name} ${name}`);
		// Owners before the map: a packet adds the map element before its owner entry, so every
		// owner listed first has its map element in the listing after (else it is a stray).
		const owners = sets.v4 ? await list("set", sets.v4.owners) : undefined;
		const [map, v6] = await Promise.all([
			sets.v4 ? list("map", sets.v4.map) : undefined,
			sets.v6 ? list("set", sets.v6.set) : undefined,
		]);
		const openings = [...(map ? parseIPv4Map(map, sets) : []), ...(v6 ? parseIPv6Set(v6, sets) : [])];
		const stray = owners ? strayOwners(sets, openings, parseIPv4Owners(owners)) : new Transaction();
		return { openings, stray };
	}

	/** NEW trigger connections of hosts that did not get the opening: refused, logged, counted. */
	private checkCandidates(): void {
		const candidates = this.candidates;
		this.candidates = new Map();
		// Ids are only remembered for a while: connections end, and the kernel reuses ids.
		if (this.judged.size > 10_000) this.judged.clear();
		for (const [key, c] of candidates) {
			this.judged.add(key);
			const t = this.triggers.get(c.trigger);
			if (!t) continue;
			const holder = [...this.live.values()].find(
				(l) => l.trigger === c.trigger && l.family === 4 && (!t.sets.remote || l.remote === c.remote),
			);
			if (!holder || sameAddress(holder.host, c.host)) continue;
			this.counts.refused++;
			const refused: Live = { ...holder, host: c.host };
			this.emit("refused", refused, t.trigger, { owner: holder.host });
		}
	}

	private scheduleExpiry(): void {
		this.keepAlive.update();
		clearTimeout(this.expiryTimer);
		if (!this.started || this.held || this.live.size === 0) return;
		const next = Math.min(...[...this.live.values()].map((l) => l.expiresAt));
		this.expiryTimer = setTimeout(
			() => {
				const due = Date.now();
				const ids = new Set(
					[...this.live.values()].filter((l) => l.expiresAt <= due + 50).map((l) => l.trigger),
				);
				void this.scan([...ids]);
			},
			Math.max(50, next - Date.now()),
		);
	}

	// ---- writing the kernel -----------------------------------------------------------------------

	/** The live openings with their structures (for the keep-alive). */
	private liveOpenings(): LiveOpening[] {
		const now = Date.now();
		return [...this.live.values()].flatMap((l) => {
			const t = this.triggers.get(l.trigger);
			return t && l.expiresAt > now ? [{ trigger: t.trigger, sets: t.sets, opening: l }] : [];
		});
	}

	/**
	 * Re-arms busy openings with their full timeout, those the kernel still holds for the same
	 * host (read again first). A transaction refused because one expired or changed hands
	 * meanwhile is retried once with what is left.
	 */
	private rearm(busy: LiveOpening[]): Promise<void> {
		const ids = [...new Set(busy.map((b) => b.trigger.id))];
		// As the kernel holds them now (the key names the host: another host's opening is not one).
		const still = () =>
			busy.flatMap((b) => {
				const l = this.live.get(keyOf(b.trigger.id, b.opening));
				return l ? [{ ...b, opening: l }] : [];
			});
		return this.serial.run(async () => {
			try {
				for (const id of ids) await this.scanOne(id);
				await this.options.nft.run(refreshTransaction(still())).catch(async () => {
					for (const id of ids) await this.scanOne(id);
					const left = still();
					if (left.length) await this.options.nft.run(refreshTransaction(left));
				});
			} finally {
				for (const id of ids) await this.scanOne(id);
				this.scheduleExpiry();
			}
		});
	}

	private async putBack(tx: Transaction, why: "adopted" | "restored"): Promise<void> {
		if (tx.empty) return;
		const n = tx.ops.reduce((sum, o) => sum + (o.op === "add element" ? o.items.length : 0), 0);
		try {
			await this.options.nft.run(tx);
			this.counts.readded += n;
			log("notice", `triggers: put back ${n} element(s) of ${why} openings with their remaining time`);
		} catch (e) {
			log("err", `triggers: putting back ${why} openings failed: ${message(e)}`);
		}
	}

	// ---- helpers ----------------------------------------------------------------------------------

	private index(config: Config): Map<string, { trigger: TriggerWithId; sets: TriggerSets }> {
		return new Map(
			activeTriggers(config).map((t) => [
				t.id,
				{ trigger: t, sets: triggerSets(t, config.globals.trigger_timeout) },
			]),
		);
	}

	private setConfig(config: Config): void {
		this.triggers = this.index(config);
		this.basis = { triggers: config.triggers, globals: config.globals };
	}

	private describe(l: Live, t: TriggerWithId, now: number): Opening {
		return {
			trigger: t.id,
			name: t.name,
			host: l.host,
			...(l.remote ? { remote: l.remote } : {}),
			proto: t.open_proto.join(" "),
			ports: t.open_port.map(formatPortRange),
			expires: Math.max(0, Math.ceil((l.expiresAt - LIST_ROUNDING_MS - now) / 1000)),
			since: Math.floor(l.since / 1000),
		};
	}

	private emit(
		action: OpeningEvent["action"],
		l: Live,
		t: TriggerWithId,
		extra: Pick<OpeningEvent, "reason" | "owner"> = {},
	): void {
		const opening = this.describe(l, t, Date.now());
		const event: OpeningEvent = { action, ...opening, ...extra };
		const what = `${opening.proto} ${opening.ports.join(", ")}`;
		const peer = opening.remote ? ` for ${opening.remote}` : "";
		if (action === "open")
			log(
				"notice",
				`trigger '${t.name}': opened ${what} to ${opening.host}${peer}, idle timeout ${l.timeout} s`,
			);
		else if (action === "close")
			log("notice", `trigger '${t.name}': closed ${what} to ${opening.host}${peer} (${extra.reason})`);
		else {
			const key = `${t.id} ${opening.host}`;
			const last = this.lastRefusalLog.get(key) ?? 0;
			if (Date.now() - last >= REFUSAL_LOG_INTERVAL_MS) {
				this.lastRefusalLog.set(key, Date.now());
				log(
					"warning",
					`trigger '${t.name}': ${opening.host} triggered, but ${extra.owner} holds the opening${peer} (${opening.expires} s left): ${opening.host} gets nothing until it closes (${this.counts.refused} refusals so far)`,
				);
			}
		}
		try {
			this.options.onEvent?.(event);
		} catch (e) {
			log("err", `triggers: event handler failed: ${message(e)}`);
		}
	}
}

/** Whether two versions of a trigger keep their openings in the same nft structures. */
function sameStructures(a: TriggerSets, b: TriggerSets): boolean {
	return a.v4?.map === b.v4?.map && a.v6?.set === b.v6?.set;
}

function sameAddress(a: string, b: string): boolean {
	return canonicalAddress(a) === canonicalAddress(b);
}
