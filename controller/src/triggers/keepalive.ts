// Keeps trigger openings open while their connections carry traffic that portrig's packet-path
// rules do not see (fw4's flow offloading: offloaded packets skip the forward hook). While
// openings exist, every third of the shortest idle timeout (at least 1 s), a look at conntrack
// (dumps the kernel filters down to the openings' connections) says which openings are busy
// (activity.ts); their elements are re-armed with the full timeout in one transaction. Idle
// openings are left alone and expire on time.
//
// Re-arming is delete + add of the same elements in one transaction: `add element` leaves an
// existing element's timer as it is (nft 1.0.6, kernels 6.1 to 6.18), and delete + add works on
// all of them. The map, key-set and owner-set elements go together; the owner entry names the
// host, so if another host took the opening meanwhile, its delete fails and the whole
// transaction changes nothing.
import type { ConntrackEntry } from "../netlink/conntrack";
import { Transaction } from "../ruleset/transaction";
import { type ByteCounts, busyOpenings, type DumpQuery, type LiveOpening, lookQueries } from "./activity";
import { addOpenings, deleteOpenings } from "./elements";

export type KeepAliveOptions = {
	/** The live openings now. */
	openings: () => LiveOpening[];
	/** The conntrack entries one filtered dump finds. */
	dump: (query: DumpQuery) => Promise<ConntrackEntry[]>;
	/** Re-arms the busy openings (the trigger manager runs `refreshTransaction` in its queue). */
	refresh: (busy: LiveOpening[]) => Promise<void>;
	onError: (e: unknown) => void;
};

export type KeepAliveStats = {
	/** Seconds between looks now; 0 while no opening exists. */
	interval: number;
	sweeps: number;
	/** Openings re-armed because their connections were busy. */
	refreshed: number;
};

const MIN_INTERVAL_MS = 1000;

/** Every third of the shortest timeout: a busy opening is re-armed before it can expire. */
export function sweepInterval(live: LiveOpening[]): number {
	if (live.length === 0) return 0;
	return Math.max(MIN_INTERVAL_MS, Math.floor((Math.min(...live.map((h) => h.opening.timeout)) * 1000) / 3));
}

/** Deletes and re-adds each opening's elements with its full timeout: one transaction. */
export function refreshTransaction(live: LiveOpening[]): Transaction {
	const tx = new Transaction();
	for (const { sets, opening } of live) {
		deleteOpenings(tx, sets, [opening]);
		addOpenings(tx, sets, [{ ...opening, expires: opening.timeout }]);
	}
	return tx;
}

export class KeepAlive {
	private timer: ReturnType<typeof setTimeout> | undefined;
	private intervalMs = 0;
	private counts: ByteCounts = new Map();
	private readonly tally = { sweeps: 0, refreshed: 0 };
	private stopped = false;

	constructor(private readonly options: KeepAliveOptions) {}

	/** Call when the openings changed: starts, re-times or stops the looks. */
	update(): void {
		if (this.stopped) return;
		const interval = sweepInterval(this.options.openings());
		if (interval === this.intervalMs && (this.timer || interval === 0)) return;
		clearTimeout(this.timer);
		this.timer = undefined;
		this.intervalMs = interval;
		if (interval === 0) this.counts = new Map();
		else this.timer = setTimeout(() => void this.sweep(), interval);
	}

	stop(): void {
		this.stopped = true;
		clearTimeout(this.timer);
		this.timer = undefined;
	}

	stats(): KeepAliveStats {
		return { interval: this.intervalMs / 1000, ...this.tally };
	}

	private async sweep(): Promise<void> {
		this.timer = undefined;
		try {
			const live = this.options.openings();
			if (live.length > 0) {
				const entries: ConntrackEntry[] = [];
				for (const query of lookQueries(live)) entries.push(...(await this.options.dump(query)));
				const { busy, counts } = busyOpenings(entries, live, this.counts);
				this.counts = counts;
				this.tally.sweeps++;
				if (busy.length > 0) {
					await this.options.refresh(busy);
					this.tally.refreshed += busy.length;
				}
			}
		} catch (e) {
			this.options.onError(e);
		}
		if (this.stopped) return;
		this.intervalMs = 0;
		this.update();
	}
}
