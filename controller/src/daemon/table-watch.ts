// Follows portrig's table and fw4's from the daemon itself, on a netlink socket subscribed to
// nf_tables changes (netlink/nft-changes.ts): no child process that could outlive the daemon.
//
// What a vanished table means depends on fw4:
//  - Beside fw4 (its table was seen, or its lock file exists) and fw4's table is gone too, the
//    firewall was stopped (`/etc/init.d/firewall stop` runs `fw4 flush`, deleting every table)
//    or the ruleset flushed by hand: no port forwarding into the LAN while the firewall is down,
//    so portrig holds — its table stays away, the config in force and the live trigger openings
//    are kept — until fw4's table comes back (`firewall start`, `restart`, `fw4 reload`), then
//    puts everything back at once.
//  - Otherwise (fw4 still there, or no fw4 on this box) the table is restored at once.
// fw4 deletes tables one by one under /var/run/fw4.lock, so the decision is taken under a shared
// hold of that lock: after a whole flush, never in the middle of one.
import { existsSync } from "node:fs";
import { log } from "../log/log";
import { NftChanges } from "../netlink/nft-changes";
import type { NftChange } from "../netlink/nftables";
import type { DataPlane } from "../ruleset/dataplane";
import { hasTable } from "../ruleset/kernel";
import { TABLE } from "../ruleset/layout";
import { type Offloading, offloadingOf } from "../triggers/offloading";
import { underSharedLock } from "./lock";
import { Serial } from "./serial";

export const FW4_TABLE = { family: "inet", name: "fw4" } as const;

export type TableWatchOptions = {
	dataplane: DataPlane;
	/** fw4's lock file (/var/run/fw4.lock on OpenWrt). */
	fw4Lock: string;
	/** The firewall is down: apply nothing to the kernel until onResume. */
	onHold: () => void;
	/** fw4's table is back: put portrig's back as the config in force says. */
	onResume: () => Promise<void>;
};

export type TableWatchStatus = {
	/** "following": the table is kept in place; "waiting_for_fw4": the firewall is down;
	 * "not_following": table changes cannot be followed (or the daemon is stopping). */
	state: "following" | "waiting_for_fw4" | "not_following";
	fw4: { table: boolean; beside: boolean };
	offloading: Offloading;
	/** Times nf_tables notifications were lost (each followed by a look at the kernel). */
	losses: number;
};

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const is = (c: NftChange, t: { family: string; name: string }) => c.family === t.family && c.table === t.name;

export class TableWatch {
	private readonly serial = new Serial();
	private changes: NftChanges | undefined;
	private checking: Promise<void> | undefined;
	private fw4Seen = false;
	private fw4Present = false;
	private offloading: Offloading = "off";
	private held = false;

	constructor(private readonly options: TableWatchOptions) {}

	/** True while the firewall is down and portrig keeps its table away. */
	get holding(): boolean {
		return this.held;
	}

	/** Looks at the tables once (holding if the firewall is down already). */
	start(): Promise<void> {
		return this.check();
	}

	/**
	 * Subscribes to nf_tables changes, then looks again (covering what changed before). After
	 * the daemon's first apply: that transaction sends a notification per element (10,000
	 * forwards: tens of thousands), enough to overrun the socket's buffer (ENOBUFS) at once.
	 */
	async follow(): Promise<void> {
		if (this.changes) return;
		const changes = new NftChanges({
			onChange: (c) => {
				if (is(c, TABLE) ? c.op === "delete" && c.object === "table" : is(c, FW4_TABLE)) void this.check();
			},
			onLoss: () => void this.check(),
		});
		try {
			changes.start();
			this.changes = changes;
		} catch (e) {
			log(
				"err",
				`cannot follow nft table changes (${message(e)}): a deleted table is not restored until the next reload`,
			);
		}
		await this.check();
	}

	async stop(): Promise<void> {
		const changes = this.changes;
		this.changes = undefined;
		await changes?.stop();
	}

	status(): TableWatchStatus {
		return {
			state: this.held ? "waiting_for_fw4" : this.changes ? "following" : "not_following",
			fw4: { table: this.fw4Present, beside: this.besideFw4() },
			offloading: this.offloading,
			losses: this.changes?.losses ?? 0,
		};
	}

	/** One look at a time; changes during a look are covered by one more look after it. */
	private check(): Promise<void> {
		if (this.checking) return this.checking;
		this.checking = this.serial.run(async () => {
			this.checking = undefined;
			try {
				await underSharedLock(this.options.fw4Lock, () => this.decide());
			} catch (e) {
				log("err", `following the nft tables: ${message(e)}`);
			}
		});
		return this.checking;
	}

	private besideFw4(): boolean {
		return this.fw4Seen || existsSync(this.options.fw4Lock);
	}

	private async decide(): Promise<void> {
		const nft = this.options.dataplane.nft;
		this.fw4Present = await hasTable(nft, FW4_TABLE.family, FW4_TABLE.name);
		if (this.fw4Present) this.fw4Seen = true;
		const offloading = this.fw4Present ? offloadingOf(await nft.list("flowtables", { text: true })) : "off";
		if (offloading !== this.offloading)
			log(
				"notice",
				`fw4 flow offloading: ${offloading}${offloading === "off" ? "" : " (trigger openings are kept alive from conntrack)"}`,
			);
		this.offloading = offloading;
		if (!this.fw4Present && this.besideFw4()) {
			if (this.held || (await hasTable(nft))) return;
			this.held = true;
			this.options.onHold();
			log(
				"notice",
				`the firewall is stopped (table ${FW4_TABLE.family} ${FW4_TABLE.name} is gone): no port forwarding until it starts again`,
			);
			return;
		}
		if (this.held) {
			this.held = false;
			await this.options.onResume();
			log("notice", "the firewall started again: forwards, trigger openings and DMZ are back");
			return;
		}
		await this.options.dataplane.restoreIfMissing();
	}
}
