// Keeps the WAN/LAN device sets current. With ubus: reads fw4's zones and netifd's interface
// dump when ubus comes up or netifd's object appears, and again after every `network.interface` event (ifup/ifdown: a
// PPPoE reconnect brings a new pppoe-wan and address) and every `interface.update`
// notification of netifd's object (an address change without going down). The daemon gets the
// new sets only when they differ, and updates the ruleset's device sets in place — no reload.
// Without ubus the globals' wan_device/lan_device are the answer.
import { readFile } from "node:fs/promises";
import type { Globals } from "../config/schema";
import { log as projectLog } from "../log/log";
import type { Logger, UbusClient } from "../ubus/client";
import { type NetifdInterface, parseDump } from "./dump";
import { type NetworkEnv, networkEnv } from "./resolve";
import { firewallZones, type Zone } from "./zones";

export const NETIFD_OBJECT = "network.interface";
export const FIREWALL_CONFIG = "/etc/config/firewall";
const OBJECT_ADDED = "ubus.object.add";

export type NetifdWatcherOptions = {
	/** absent: no ubus, globals only */
	client?: UbusClient;
	globals: () => Pick<Globals, "wan_zone" | "lan_zone" | "wan_device" | "lan_device">;
	/** called with the new sets whenever they change */
	onChange: (env: NetworkEnv) => void;
	firewallFile?: string;
	log?: Logger;
	/** events come in bursts (ifdown, ifup, updates): one dump after the burst */
	settleMs?: number;
};

export class NetifdWatcher {
	private interfaces: NetifdInterface[] | undefined;
	private zones: Zone[] = [];
	private last: string | undefined;
	private timer: ReturnType<typeof setTimeout> | undefined;
	private running: Promise<void> | undefined;
	private again = false;
	private readonly stops: (() => unknown)[] = [];
	private readonly log: Logger;

	constructor(private readonly options: NetifdWatcherOptions) {
		this.log = options.log ?? projectLog;
	}

	/** The sets as known now (globals only until netifd has answered). */
	current(): NetworkEnv {
		return networkEnv(this.options.globals(), this.zones, this.interfaces);
	}

	start(): void {
		const client = this.options.client;
		if (!client) return;
		this.stops.push(
			client.on("up", () => this.soon(0)),
			client.on("down", () => {
				// keep the last known devices: the ruleset stays as it is while ubusd is away
			}),
			client.listen(NETIFD_OBJECT, () => this.soon()),
			// netifd (re)starting: its object appears after ours
			client.listen(OBJECT_ADDED, (_event, data) => {
				if (data.path === NETIFD_OBJECT) this.soon(0);
			}),
			client.subscribe(NETIFD_OBJECT, (type) => {
				if (type === "interface.update" || type === "interface.down") this.soon();
			}),
		);
		if (client.connected) this.soon(0);
	}

	stop(): void {
		clearTimeout(this.timer);
		for (const stop of this.stops.splice(0)) void stop();
	}

	/** Re-reads fw4's zones and netifd's dump now; calls onChange when the sets changed. */
	refresh(): Promise<void> {
		if (this.running) {
			this.again = true;
			return this.running;
		}
		this.running = this.read().finally(() => {
			this.running = undefined;
			if (this.again) {
				this.again = false;
				void this.refresh();
			}
		});
		return this.running;
	}

	/** Re-checks what the globals say (after a config reload). */
	recompute(): void {
		this.publish();
	}

	private soon(delay = this.options.settleMs ?? 250): void {
		clearTimeout(this.timer);
		this.timer = setTimeout(() => void this.refresh(), delay);
	}

	private async read(): Promise<void> {
		const client = this.options.client;
		if (!client?.connected) return;
		const file = this.options.firewallFile ?? FIREWALL_CONFIG;
		try {
			this.zones = firewallZones(await readFile(file, "utf8"));
		} catch (e) {
			this.log("warning", `netifd: cannot read fw4 zones from ${file}: ${message(e)}`);
		}
		try {
			this.interfaces = parseDump(await client.call(NETIFD_OBJECT, "dump", {}));
		} catch (e) {
			this.log("warning", `netifd: ${NETIFD_OBJECT} dump failed: ${message(e)}`);
			return;
		}
		this.publish();
	}

	private publish(): void {
		const env = this.current();
		const key = JSON.stringify([env.wanDevices, env.lanDevices, env.wanAddresses]);
		if (key === this.last) return;
		this.last = key;
		this.log(
			"info",
			`netifd: WAN ${env.wanDevices.join(" ") || "(none)"} (${env.source.wan}), LAN ${env.lanDevices.join(" ") || "(none)"} (${env.source.lan})`,
		);
		this.options.onChange(env);
	}
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
