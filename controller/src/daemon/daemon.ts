// portrigd: wires the config file (ConfigStore) → the nft data plane (DataPlane, with WAN/LAN
// devices from NetifdWatcher) → trigger openings (TriggerManager) → the API transports (control
// socket, ubus), and is the API's Core. Every mutation and reload runs through one queue:
// validate, write the file atomically, apply in one nft transaction; if the apply fails, the
// previous file bytes and ruleset are put back and nft's message is the error.
import pkg from "../../../package.json" with { type: "json" };
import { ControlSocketServer } from "../api/control-socket";
import { ApiError, invalidArgument, notFound } from "../api/errors";
import { type Changed, type ConfigChange, type Core, invoke, type OpeningReply } from "../api/methods";
import { UbusTransport } from "../api/ubus-transport";
import { describeProblem, formatProblem, isError, type Problem } from "../config/load";
import { type Config, GlobalsSection } from "../config/schema";
import { type ChangeHint, ConfigStore, type MutationResult, type StoreSnapshot } from "../config/store";
import { type Counters, countConnections } from "../counters/counters";
import { log } from "../log/log";
import { NetifdWatcher } from "../netifd/watcher";
import { dumpConntrack } from "../netlink/events";
import { type ApplyResult, DataPlane } from "../ruleset/dataplane";
import { CT_MARK } from "../ruleset/layout";
import type { Env } from "../ruleset/render";
import { TriggerManager } from "../triggers/manager";
import type { Offloading } from "../triggers/offloading";
import { UbusStatus } from "../ubus/status";
import { z } from "../zod";
import { codeReleaseCount, collectGarbageSoon, whenIdle } from "./garbage";
import { LockHeldError, PidLock } from "./lock";
import { Serial } from "./serial";
import { TableWatch } from "./table-watch";

export type DaemonOptions = {
	configFile: string;
	controlSocket: string;
	ubusSocket: string;
	/** Held for the daemon's life: one daemon per table, whatever its sockets. */
	lockFile: string;
	/** fw4's lock (TableWatch decides under it). */
	fw4Lock: string;
};

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Daemon implements Core {
	private store: ConfigStore | undefined;
	/** The config in force: the last one applied to the data plane. */
	private applied: Config | undefined;
	private readonly startedAt = Date.now();
	private readonly serial = new Serial();
	private readonly dataplane: DataPlane = new DataPlane({
		onRestored: (sets): Promise<void> => this.triggers.restored(sets),
	});
	/** Trigger openings: the kernel opens and closes them; this follows, reports and restores them. */
	private readonly triggers: TriggerManager = new TriggerManager({
		nft: this.dataplane.nft,
		onEvent: ({ action, ...opening }) => {
			if (action !== "refused") this.ubus.opening(action, opening);
		},
	});
	/** Restores the table when something deletes it; holds while the firewall is down. */
	private readonly tableWatch: TableWatch;
	private lock: PidLock | undefined;
	/** A config was taken into force while the firewall was down: resume() applies it. */
	private heldChanges = false;
	private readonly control: ControlSocketServer;
	private readonly ubus: UbusTransport;
	private readonly netifd: NetifdWatcher;
	/** The config being applied, then the one applied: the globals the device sets follow. */
	private target: Config | undefined;
	/** Why the last count failed (logged once per new reason: LuCI asks every few seconds). */
	private countersProblem: string | undefined;

	constructor(readonly options: DaemonOptions) {
		whenIdle(() => this.dataplane.nft.release?.());
		this.tableWatch = new TableWatch({
			dataplane: this.dataplane,
			fw4Lock: options.fw4Lock,
			onHold: () => this.triggers.hold(true),
			onResume: () => this.resume(),
		});
		this.control = new ControlSocketServer(options.controlSocket, (method, args) =>
			invoke(this, method, args),
		);
		// Without ubusd the transport keeps retrying; devices then come from the globals.
		this.ubus = new UbusTransport(this, { socket: options.ubusSocket, log });
		this.netifd = new NetifdWatcher({
			client: this.ubus.client,
			globals: () => (this.target ?? this.store?.config ?? emptyGlobals).globals,
			onChange: () => this.devicesChanged(),
			log,
		});
	}

	/**
	 * Loads the config (an invalid one stops the start), claims the control socket (refused when
	 * another daemon holds it: then nothing of its table is touched), applies the config, then
	 * follows the table, netifd and ubus.
	 */
	async start(): Promise<void> {
		this.lock = lockTable(this.options.lockFile);
		const store = await ConfigStore.open(this.options.configFile);
		this.logProblems(store.problems);
		const config = store.config;
		if (!config) throw invalidConfig(this.options.configFile, store.problems, "");
		this.store = store;
		await this.control.start();
		// The table a previous daemon left (restart, upgrade, crash) is taken over, not re-created:
		// its openings are read first, and go back only into sets the first apply had to re-create.
		await this.triggers.adopt(config);
		// Before the first apply: with the firewall down, nothing is put into the kernel.
		await this.tableWatch.start();
		const { recreatedSets } = await this.serial.run(() => this.apply(config));
		await this.tableWatch.follow();
		await this.triggers.start(config, recreatedSets);
		this.netifd.start();
		this.ubus.start();
		collectGarbageSoon();
		log(
			"notice",
			`started: ${config.forwards.length} forwards, ${config.triggers.length} triggers, dmz ${config.dmz.enabled ? "on" : "off"}; config ${this.options.configFile}, control socket ${this.options.controlSocket}`,
		);
	}

	/**
	 * Stops the transports (the socket file goes), then deletes portrig's nft table so nothing
	 * stays open without the daemon — unless `keepTable` (a restart: SIGUSR1), when the table
	 * stays in force for the next daemon to take over, as after a crash.
	 */
	async stop(keepTable = false): Promise<void> {
		await this.serial.run(async () => {
			this.netifd.stop();
			this.ubus.stop();
			await this.control.stop();
			await this.tableWatch.stop();
			await this.triggers.stop();
			if (this.applied && keepTable) await this.dataplane.release();
			else if (this.applied)
				await this.dataplane.remove().catch((e) => log("err", `removing the nft table: ${message(e)}`));
			this.applied = undefined;
			this.lock?.release();
		});
		log("notice", keepTable ? "stopped; the nft table stays for the next start" : "stopped");
	}

	// ---- Core ---------------------------------------------------------------------------------

	config(): Config {
		if (!this.applied)
			throw new ApiError(UbusStatus.NO_DATA, "no config is in force (the daemon is starting or stopping)");
		return this.applied;
	}

	async status(): Promise<Record<string, unknown>> {
		const config = this.config();
		const env = this.netifd.current();
		const dataplane = await this.dataplane.status();
		const counters = await this.counters(
			config,
			dataplane.skipped.map((s) => s.id),
		);
		const fileErrors = (this.store?.problems ?? []).filter(isError);
		const firewall = this.tableWatch.status();
		const trigger_stats = this.triggers.stats();
		return {
			version: pkg.version,
			uptime: Math.floor((Date.now() - this.startedAt) / 1000),
			config: this.options.configFile,
			// false while the file on disk has errors (a reload refused it): the last valid config runs
			config_valid: fileErrors.length === 0,
			enabled: config.globals.enabled,
			forwards: config.forwards.length,
			triggers: config.triggers.length,
			dmz: config.dmz.enabled,
			openings: this.openings().length,
			trigger_stats,
			devices: { wan: env.wanDevices, lan: env.lanDevices, source: env.source },
			table: dataplane.table,
			nft: dataplane.nft,
			firewall,
			keepalive: keptAliveBy(firewall.offloading, trigger_stats.keepalive.interval),
			skipped: dataplane.skipped,
			restores: dataplane.restores,
			ubus: this.ubus.status(),
			memory: {
				resident_kb: Math.round(process.memoryUsage.rss() / 1024),
				code_releases: codeReleaseCount(),
			},
			...(counters ? { counters } : {}),
		};
	}

	change(change: ConfigChange): Promise<Changed> {
		return this.serial.run(async () => {
			const store = this.requireStore();
			// A file refused by a reload is being edited: changing it now would overwrite that.
			const broken = store.problems.find(isError);
			if (broken)
				throw invalidArgument(
					`${store.file} has errors; fix it and reload before changing it through the API: ${formatProblem(broken)}`,
					broken.option,
				);
			const previous = { file: store.snapshot(), config: this.config() };
			const result = mutate(store, change);
			if (!result.ok) throw refusal(result);
			// The kernel while the file is written (the apply runs during the write's fsync, once the
			// file is locked and found unchanged); the reply waits for both, and whichever fails, both
			// go back to what they were.
			let applied: PromiseSettledResult<ApplyResult> | undefined;
			const apply = async () => {
				[applied] = await Promise.allSettled([this.apply(result.config, result.change)]);
			};
			try {
				await store.commit(apply);
			} catch (e) {
				await store.reload().catch(() => undefined);
				if (applied?.status === "fulfilled") await this.restoreRuleset(previous.config);
				throw new ApiError(UbusStatus.UNKNOWN_ERROR, `writing ${store.file}: ${message(e)}`);
			}
			if (applied?.status === "rejected") {
				await this.rollBack(store, previous);
				throw new ApiError(UbusStatus.UNKNOWN_ERROR, message(applied.reason));
			}
			log("notice", `${describeChange(change)} '${result.id}': done`);
			collectGarbageSoon();
			const hint = result.change;
			return "entry" in hint && hint.entry ? { id: result.id, entry: hint.entry } : { id: result.id };
		});
	}

	reload(): Promise<void> {
		return this.serial.run(async () => {
			const store = this.requireStore();
			const loaded = await store.reload();
			this.logProblems(loaded.problems);
			if (!loaded.config) throw invalidConfig(store.file, loaded.problems, ", the config in force stays");
			await this.apply(loaded.config).catch((e) => {
				throw new ApiError(
					UbusStatus.UNKNOWN_ERROR,
					`applying ${store.file}: ${message(e)}; the ruleset in force stays`,
				);
			});
			log("notice", `reloaded ${store.file}`);
			collectGarbageSoon();
		});
	}

	openings(): OpeningReply[] {
		return this.triggers.openings();
	}

	closeOpening(trigger: string, host?: string): Promise<number> {
		return this.triggers.close(trigger, host);
	}

	// ---- internals ----------------------------------------------------------------------------

	/**
	 * Live connections per forward and trigger, from one conntrack dump of the connections that
	 * carry portrig's mark (counters/counters.ts says why conntrack). Undefined when the kernel
	 * cannot be asked: `status` still answers.
	 */
	private async counters(config: Config, skipped: string[]): Promise<Counters | undefined> {
		try {
			const entries = await dumpConntrack({ value: CT_MARK.ACCEPT, mask: CT_MARK.ACCEPT });
			this.countersProblem = undefined;
			return countConnections(entries, { config, skipped, openings: this.openings() });
		} catch (e) {
			if (this.countersProblem !== message(e)) log("warning", `counting connections: ${message(e)}`);
			this.countersProblem = message(e);
			return undefined;
		}
	}

	private requireStore(): ConfigStore {
		if (!this.store) throw new ApiError(UbusStatus.NO_DATA, "the daemon has not loaded its config yet");
		return this.store;
	}

	/**
	 * Makes the kernel match `config`; `applied` changes only when it did. `change` names the one
	 * entry that changed (an API change), so the data plane renders and diffs only that. While
	 * the firewall is down (TableWatch holding) the config is only taken into force: resume()
	 * applies it.
	 */
	private async apply(config: Config, change?: ChangeHint): Promise<ApplyResult> {
		if (this.tableWatch.holding) {
			this.applied = config;
			this.heldChanges = true;
			await this.triggers.update(config);
			return { skipped: [], recreatedSets: [] };
		}
		this.target = config;
		try {
			const result = await this.dataplane.apply(config, this.env(), change);
			this.applied = config;
			await this.triggers.update(config);
			return result;
		} finally {
			this.target = this.applied;
		}
	}

	/**
	 * fw4's table is back: the table as last applied (with the live openings, which onRestored
	 * puts back), then the config in force if it changed meanwhile (a small difference).
	 */
	private resume(): Promise<void> {
		return this.serial.run(async () => {
			const restored = await this.dataplane.restoreIfMissing();
			this.triggers.hold(false);
			const changed = this.heldChanges || !restored;
			this.heldChanges = false;
			if (changed && this.applied) await this.apply(this.applied);
		});
	}

	/**
	 * The devices for the ruleset. A side that comes from the globals but has none there is not
	 * known yet (netifd has not answered): the kernel's device set stays as it is until it does.
	 */
	private env(): Env {
		const env = this.netifd.current();
		const known = (side: "wan" | "lan", devices: string[]) =>
			env.source[side] === "globals" && devices.length === 0 ? undefined : devices;
		const wanDevices = known("wan", env.wanDevices);
		const lanDevices = known("lan", env.lanDevices);
		return { ...(wanDevices ? { wanDevices } : {}), ...(lanDevices ? { lanDevices } : {}) };
	}

	/** netifd/fw4 changed the WAN or LAN devices: the same config onto the new device sets. */
	private devicesChanged(): void {
		this.serial
			.run(async () => {
				if (this.applied) await this.apply(this.applied);
			})
			.catch((e) => log("err", `updating the WAN/LAN devices: ${message(e)}`));
	}

	/** After a failed apply: the previous file bytes, and the previous ruleset if any of it changed. */
	private async rollBack(
		store: ConfigStore,
		previous: { file: StoreSnapshot; config: Config },
	): Promise<void> {
		try {
			await store.restore(previous.file);
		} catch (e) {
			log("err", `restoring ${store.file}: ${message(e)}`);
		}
		await this.restoreRuleset(previous.config);
	}

	private async restoreRuleset(config: Config): Promise<void> {
		try {
			await this.apply(config);
		} catch (e) {
			log("err", `restoring the previous ruleset: ${message(e)}`);
		}
	}

	private logProblems(problems: Problem[]): void {
		for (const p of problems) log(isError(p) ? "err" : "warning", formatProblem(p));
	}
}

/** How trigger openings stay open while their connections are busy, for `status`. */
function keptAliveBy(offloading: Offloading, interval: number): string {
	const sweep = interval > 0 ? `every ${interval} s` : "while openings exist";
	return offloading === "off"
		? `packet-path rules, and conntrack activity ${sweep}`
		: `conntrack activity ${sweep} (fw4 ${offloading} flow offloading: offloaded packets skip the packet-path rules)`;
}

/** The daemon's lock, or an error naming the daemon that holds it. */
function lockTable(path: string): PidLock {
	try {
		return PidLock.acquire(path);
	} catch (e) {
		if (!(e instanceof LockHeldError)) throw e;
		throw new Error(
			`another portrig daemon${e.pid ? ` (PID ${e.pid})` : ""} manages table inet portrig: ${path} is locked`,
		);
	}
}

const emptyGlobals = { globals: z.decode(GlobalsSection, {}) };

function mutate(store: ConfigStore, change: ConfigChange): MutationResult {
	switch (change.op) {
		case "add":
			return store.addSection(change.type, change.options);
		case "update":
			return store.updateSection(change.type, change.id, change.options);
		case "delete":
			return store.deleteSection(change.type, change.id);
		case "set":
			return change.type === "dmz" ? store.setDmz(change.options) : store.setGlobals(change.options);
	}
}

function describeChange(change: ConfigChange): string {
	return `${change.op} ${change.type}`;
}

/** A mutation the store refused → INVALID_ARGUMENT (or NOT_FOUND) naming the option at fault. */
function refusal(result: MutationResult & { ok: false }): ApiError {
	const first = result.problems[0];
	if (result.reason === "not_found") return notFound(first ? first.message : "not found", "id");
	if (!first) return invalidArgument("the change makes the config invalid");
	return invalidArgument(describeProblem(first), first.option);
}

/** A config file that does not load: the `check` messages, for the log and the caller. */
function invalidConfig(file: string, problems: Problem[], consequence: string): ApiError {
	const errors = problems.filter(isError);
	return invalidArgument(
		`${file} is invalid${consequence}: ${errors.map(formatProblem).join("; ")}`,
		errors[0]?.option,
	);
}
