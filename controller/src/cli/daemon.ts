// `portrig daemon [--config FILE] [--ubus-socket PATH] [--control-socket PATH]`
import { parseArgs } from "node:util";
import { runDaemon } from "../daemon/lifecycle";

export const DAEMON_DEFAULTS = {
	config: "/etc/config/portrig",
	ubusSocket: "/var/run/ubus/ubus.sock",
	controlSocket: "/var/run/portrig.sock",
} as const;

export async function daemonCommand(args: string[]): Promise<number> {
	let values: { config?: string; "ubus-socket"?: string; "control-socket"?: string };
	try {
		({ values } = parseArgs({
			args,
			options: {
				config: { type: "string" },
				"ubus-socket": { type: "string" },
				"control-socket": { type: "string" },
			},
			strict: true,
			allowPositionals: false,
		}));
	} catch (e) {
		console.error(`portrig daemon: ${e instanceof Error ? e.message : String(e)}`);
		console.error("usage: portrig daemon [--config FILE] [--ubus-socket PATH] [--control-socket PATH]");
		return 2;
	}
	return runDaemon({
		configFile: values.config ?? DAEMON_DEFAULTS.config,
		ubusSocket: values["ubus-socket"] ?? DAEMON_DEFAULTS.ubusSocket,
		controlSocket: values["control-socket"] ?? DAEMON_DEFAULTS.controlSocket,
	});
}
