// The data plane: keeps portrig's nft table equal to what the config asks for.
//
//   const dp = new DataPlane({ prefix, onRestored });   // prefix: e.g. ["ip","netns","exec",NS]
//   await dp.apply(config, env);   // one transaction; throws NftError and keeps the old ruleset
//   await dp.watch();              // keeps the DMZ's router_ports set current
//   await dp.restoreIfMissing();   // daemon/table-watch.ts calls it when the table vanished
//   await dp.status(); await dp.remove(); dp.unwatch();
//
// The first apply creates the table; later ones send only the difference (diff.ts): elements
// of the forwards that changed, rules of the chains that changed. Watching: a 1 s poll of the
// router's listening sockets keeps the DMZ's router_ports set current.
import type { Config } from "../config/schema";
import type { ChangeHint } from "../config/store";
import { Serial } from "../daemon/serial";
import { log } from "../log/log";
import { plan, recreate } from "./diff";
import type { SkippedForward } from "./forwards";
import { TABLE } from "./layout";
import { Nft, NftError } from "./nft";
import { buildRuleset, type Env, type RouterPort, type RulesetSpec } from "./render";
import { discoverRouterPorts } from "./router-ports";
import { triggerText } from "./triggers";

export type DataPlaneOptions = {
	/** Command prefix for nft and for reading /proc/net (tests run the router in a namespace). */
	prefix?: string[];
	/**
	 * Called after the table (or some of its sets) had to be created again and so lost the
	 * elements portrig did not render itself: the trigger manager re-adds its live openings.
	 */
	onRestored?: (recreatedSets: string[]) => void | Promise<void>;
	/** Router-port poll interval in ms (default 1000). */
	pollMs?: number;
};

export type DataPlaneStatus = {
	/** Whether `table inet portrig` exists in the kernel now. */
	table: boolean;
	/** Whether a config has been applied (and not removed). */
	applied: boolean;
	/** Enabled forwards left out of the ruleset, with the reason. */
	skipped: SkippedForward[];
	/** Elements per set/map as last applied. */
	elements: Record<string, number>;
	routerPorts: RouterPort[];
	/** Times the table was restored after it vanished. */
	restores: number;
	watching: boolean;
};

const samePorts = (a: RouterPort[], b: RouterPort[]) => JSON.stringify(a) === JSON.stringify(b);

export class DataPlane {
	readonly nft: Nft;
	private readonly serial = new Serial();
	private applied: RulesetSpec | undefined;
	private lastConfig: Config | undefined;
	private lastEnv: Env | undefined;
	private skipped: SkippedForward[] = [];
	private routerPorts: RouterPort[] = [];
	private restores = 0;
	private poll: ReturnType<typeof setInterval> | undefined;
	private watching = false;
	private refreshing: Promise<void> | undefined;

	constructor(private readonly options: DataPlaneOptions = {}) {
		this.nft = new Nft(options.prefix ?? []);
	}

	/**
	 * Makes the table match `config` in one transaction. Without `env.routerPorts`, the router's
	 * listening sockets are discovered (and kept current by watch()). Throws NftError with nft's
	 * message when nft refuses; the previous ruleset then stays in force. `change` names the one
	 * entry an API mutation changed (a full render is always correct; an incremental one may use it).
	 */
	apply(config: Config, env: Env, _change?: ChangeHint): Promise<{ skipped: SkippedForward[] }> {
		return this.serial.run(() => this.applyNow(config, env));
	}

	/** apply() inside the queue, so a router-port refresh never re-applies an older config. */
	private async applyNow(config: Config, env: Env): Promise<{ skipped: SkippedForward[] }> {
		const routerPorts = env.routerPorts ?? (await discoverRouterPorts(this.options.prefix));
		const { spec, skipped } = buildRuleset(config, { ...env, routerPorts });
		await this.transact(spec);
		if (!env.routerPorts) this.routerPorts = routerPorts;
		this.lastConfig = config;
		this.lastEnv = env;
		for (const s of skipped) log("warning", `forward '${s.id}' is not applied: ${s.reason}`);
		this.skipped = skipped;
		return { skipped };
	}

	/** Sends the difference to the applied table, or creates it when there is none. */
	private async transact(spec: RulesetSpec): Promise<void> {
		const prev = this.applied;
		// The trigger rules nft JSON cannot express go as nft text right after the JSON batch.
		// nft checks that text first (`-c`; it declares what it uses), so a refusal leaves the
		// previous ruleset whole; see ruleset/triggers.ts.
		const text = triggerText(spec);
		if (text) await this.nft.run(["-c", "-f", "-"], text);
		if (!prev) {
			await this.nft.apply(recreate(spec).batch);
			if (text) await this.nft.applyText(text);
		} else {
			const p = plan(prev, spec);
			try {
				await this.nft.apply(p.batch);
			} catch (e) {
				// The table may have vanished under us (flush ruleset): then create it whole.
				if (!(e instanceof NftError) || (await this.nft.hasTable(TABLE.family, TABLE.name))) throw e;
				await this.restoreWith(spec);
				this.applied = spec;
				return;
			}
			if (text) await this.nft.applyText(text);
			if (p.recreatedSets.length) await this.notifyRestored(p.recreatedSets);
		}
		this.applied = spec;
	}

	private async restoreWith(spec: RulesetSpec): Promise<void> {
		const r = recreate(spec);
		await this.nft.apply(r.batch);
		const text = triggerText(spec);
		if (text) await this.nft.applyText(text);
		this.restores++;
		log("notice", `restored table ${TABLE.family} ${TABLE.name}`);
		await this.notifyRestored(r.recreatedSets);
	}

	private async notifyRestored(sets: string[]): Promise<void> {
		try {
			await this.options.onRestored?.(sets);
		} catch (e) {
			log("err", `after restoring the table: ${e instanceof Error ? e.message : String(e)}`);
		}
	}

	/** Re-creates the table if it is missing (no-op when nothing was applied or it exists). */
	restoreIfMissing(): Promise<boolean> {
		return this.serial.run(async () => {
			const spec = this.applied;
			if (!spec || (await this.nft.hasTable(TABLE.family, TABLE.name))) return false;
			await this.restoreWith(spec);
			return true;
		});
	}

	/** Starts watching the router's listening sockets. */
	watch(): void {
		if (this.watching) return;
		this.watching = true;
		this.poll = setInterval(() => void this.refreshRouterPorts(), this.options.pollMs ?? 1000);
	}

	unwatch(): void {
		this.watching = false;
		if (this.poll) clearInterval(this.poll);
		this.poll = undefined;
	}

	/** Re-applies the last config when the router's listening sockets changed. */
	private refreshRouterPorts(): Promise<void> {
		// One refresh queued at a time, however long an apply takes.
		if (this.refreshing) return this.refreshing;
		this.refreshing = this.serial.run(async () => {
			const config = this.lastConfig;
			const env = this.lastEnv;
			if (!config || !env || env.routerPorts || !this.applied) return;
			try {
				const ports = await discoverRouterPorts(this.options.prefix);
				if (!samePorts(ports, this.routerPorts)) await this.applyNow(config, env);
			} catch (e) {
				log("err", `updating router ports: ${e instanceof Error ? e.message : String(e)}`);
			} finally {
				this.refreshing = undefined;
			}
		});
		return this.refreshing;
	}

	/** Deletes portrig's table (nothing else). */
	remove(): Promise<void> {
		return this.serial.run(async () => {
			this.applied = undefined;
			this.lastConfig = undefined;
			this.lastEnv = undefined;
			if (await this.nft.hasTable(TABLE.family, TABLE.name))
				await this.nft.run(["delete", "table", TABLE.family, TABLE.name]);
		});
	}

	async status(): Promise<DataPlaneStatus> {
		const elements: Record<string, number> = {};
		for (const s of this.applied?.sets ?? []) elements[s.name] = s.elem?.length ?? 0;
		return {
			table: await this.nft.hasTable(TABLE.family, TABLE.name),
			applied: this.applied !== undefined,
			skipped: this.skipped,
			elements,
			routerPorts: this.routerPorts,
			restores: this.restores,
			watching: this.watching,
		};
	}
}
