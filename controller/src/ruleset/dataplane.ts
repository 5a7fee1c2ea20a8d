// The data plane: keeps portrig's nft table equal to what the config asks for.
//
//   const dp = new DataPlane({ prefix, onRestored });   // prefix: e.g. ["ip","netns","exec",NS]
//   await dp.apply(config, env, change?);   // one transaction; throws NftError and keeps the old ruleset
//   await dp.restoreIfMissing();   // daemon/table-watch.ts calls it when the table vanished
//   await dp.status(); await dp.remove();
//
// Every apply is exactly one nft transaction, trigger rules included. The first apply
// reconciles with the table the kernel has (a previous daemon's: restart, upgrade, crash)
// without deleting it, so forwards and trigger openings stay up throughout; later ones send
// only the difference to what was applied (diff.ts). A change hint from the API says what
// changed: one forward → only it is rendered and compared; a trigger or the DMZ → the forwards
// are not looked at; the config applied last (new WAN/LAN devices) → only the device sets;
// none (reload, SIGHUP) → everything, unchanged forwards reused.
// nft runs in this process through libnftables when the library loads, else as the `nft`
// command (always with a command prefix, or with PORTRIG_NFT=command).
// Nothing here polls: the DMZ rule asks the kernel for the router's sockets packet by packet
// (render.ts), and table deletion is followed by daemon/table-watch.ts.
import type { Config } from "../config/schema";
import type { ChangeHint } from "../config/store";
import { Serial } from "../daemon/serial";
import { log } from "../log/log";
import { NftCommand } from "./command";
import { plan, reconcile, recreate } from "./diff";
import { type ForwardRender, replaceGroup, type SkippedForward } from "./forwards";
import { hasTable, readTable } from "./kernel";
import { TABLE } from "./layout";
import { Libnftables } from "./libnftables";
import { buildRuleset, devicePart, dmzPart, type Env, forwardPart, joinParts, type Parts } from "./render";
import { isMissing, type NftRunner, type RunnerKind } from "./runner";
import type { RulesetSpec } from "./spec";
import { Transaction } from "./transaction";
import { triggerPart } from "./triggers";

export type DataPlaneOptions = {
	/** Command prefix for nft (tests run the router in a namespace). */
	prefix?: string[];
	/** The nft runner (tests: a FakeNft); default libnftables, else the nft command. */
	runner?: NftRunner;
	/**
	 * Called after the table (or some of its sets) had to be created again and so lost the
	 * elements portrig did not render itself: the trigger manager re-adds its live openings.
	 */
	onRestored?: (recreatedSets: string[]) => void | Promise<void>;
};

export type DataPlaneStatus = {
	/** Whether `table inet portrig` exists in the kernel now. */
	table: boolean;
	/** Whether a config has been applied (and not removed). */
	applied: boolean;
	/** How nft runs: in process (libnftables) or as the nft command. */
	nft: RunnerKind;
	/** Enabled forwards left out of the ruleset, with the reason. */
	skipped: SkippedForward[];
	/** Times the table was restored after it vanished. */
	restores: number;
};

export type ApplyResult = {
	skipped: SkippedForward[];
	/** Sets this apply created (empty of openings): after the first apply, what adopted openings go back into. */
	recreatedSets: string[];
};

/** `prev` with the device sets rendered for `env`. */
function withEnv(prev: Applied, env: Env): Applied {
	const parts: Parts = { ...prev.parts, devices: devicePart(env) };
	return { ...prev, spec: joinParts(parts, prev.spec.groups), parts };
}

/** libnftables in process, unless a prefix runs nft elsewhere or PORTRIG_NFT=command asks for the command. */
export function defaultRunner(prefix: string[] = []): NftRunner {
	if (prefix.length || process.env.PORTRIG_NFT === "command") return new NftCommand(prefix);
	return Libnftables.load() ?? new NftCommand();
}

type Applied = { spec: RulesetSpec; parts: Parts; forwards: ForwardRender; skipped: SkippedForward[] };

export class DataPlane {
	readonly nft: NftRunner;
	private readonly serial = new Serial();
	private applied: Applied | undefined;
	private lastConfig: Config | undefined;
	private skipped: SkippedForward[] = [];
	private restores = 0;

	constructor(private readonly options: DataPlaneOptions = {}) {
		this.nft = options.runner ?? defaultRunner(options.prefix);
	}

	/**
	 * Makes the table match `config` in one transaction. Throws NftError with nft's message when
	 * nft refuses; the previous ruleset then stays in force. `change` names the one entry an API
	 * mutation changed (a full render is always correct; an incremental one may use it).
	 */
	apply(config: Config, env: Env, change?: ChangeHint): Promise<ApplyResult> {
		return this.serial.run(async () => {
			const next = this.render(config, env, change);
			const recreatedSets = await this.transact(next, change?.type === "forward" ? change.id : undefined);
			this.lastConfig = config;
			for (const s of next.skipped) log("warning", `forward '${s.id}' is not applied: ${s.reason}`);
			this.skipped = next.skipped;
			return { skipped: next.skipped, recreatedSets };
		});
	}

	/**
	 * The table for `config`. With a hint, the parts the change cannot touch are the applied
	 * ones (a forward never changes the trigger part); forwards render from their per-forward
	 * cache, so unchanged forwards cost a lookup each.
	 */
	private render(config: Config, env: Env, change?: ChangeHint): Applied {
		const prev = this.applied;
		// The config applied last, on other devices: only the device sets.
		if (prev && !change && config === this.lastConfig) return withEnv(prev, env);
		if (!prev || !change || change.type === "globals") return buildRuleset(config, env, prev?.forwards);
		// A trigger or the DMZ changed: the forwards are the applied ones, not even walked.
		const forwards =
			change.type !== "forward"
				? { part: prev.parts.forwards, render: prev.forwards }
				: forwardPart(config, prev.forwards, change);
		const parts: Parts = {
			devices: devicePart(env),
			forwards: forwards.part,
			triggers: change.type === "trigger" ? triggerPart(config) : prev.parts.triggers,
			dmz: change.type === "dmz" ? dmzPart(config) : prev.parts.dmz,
		};
		const { groups, skipped } = forwards.render;
		return { spec: joinParts(parts, groups), parts, forwards: forwards.render, skipped };
	}

	/**
	 * Sends the difference to the applied table; the first time, reconciles with the kernel's.
	 * Resolves to the sets it created.
	 */
	private async transact(next: Applied, onlyForward?: string): Promise<string[]> {
		const prev = this.applied;
		if (!prev) {
			const p = reconcile(await readTable(this.nft), next.spec);
			await this.nft.run(p.tx);
			this.applied = next;
			return p.recreatedSets;
		}
		// Rendered from the previous render by changing its groups in place (forwardChanged); a
		// whole render (a forward whose change let another one in or out) compares everything.
		const changed = onlyForward !== undefined ? next.forwards.changed : undefined;
		const only = changed?.id === onlyForward ? changed : undefined;
		const p = plan(prev.spec, next.spec, only);
		try {
			await this.nft.run(p.tx);
		} catch (e) {
			// The table may have vanished under us (flush ruleset): then create it whole.
			const vanished = isMissing(e) && !(await hasTable(this.nft).catch(() => true));
			if (!vanished) {
				// Refused: the applied groups get the forward's old group back.
				if (only) replaceGroup(next.forwards.groups, only.id, only.before);
				throw e;
			}
			await this.restoreWith(next.spec);
			this.applied = next;
			return [];
		}
		this.applied = next;
		if (p.recreatedSets.length) await this.notifyRestored(p.recreatedSets);
		return p.recreatedSets;
	}

	private async restoreWith(spec: RulesetSpec): Promise<void> {
		const r = recreate(spec);
		await this.nft.run(r.tx);
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
			const applied = this.applied;
			if (!applied || (await hasTable(this.nft))) return false;
			await this.restoreWith(applied.spec);
			return true;
		});
	}

	/** Deletes portrig's table (nothing else). */
	remove(): Promise<void> {
		return this.serial.run(async () => {
			this.applied = undefined;
			this.lastConfig = undefined;
			// "add table" makes the delete valid whether the table exists or not.
			await this.nft.run(new Transaction().addTable().deleteTable());
		});
	}

	/** Forgets the applied table and leaves it in the kernel (a restart: the next daemon takes it over). */
	release(): Promise<void> {
		return this.serial.run(async () => {
			this.applied = undefined;
			this.lastConfig = undefined;
		});
	}

	async status(): Promise<DataPlaneStatus> {
		return {
			table: await hasTable(this.nft),
			applied: this.applied !== undefined,
			nft: this.nft.kind,
			skipped: this.skipped,
			restores: this.restores,
		};
	}
}
