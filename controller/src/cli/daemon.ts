// `portrig daemon [--config FILE] [--ubus-socket PATH] [--control-socket PATH] [--lock-file PATH]
//  [--fw4-lock PATH] [--log auto|syslog]`
import { runDaemon } from "../daemon/lifecycle";
import { LogTarget } from "../log/log";
import { z } from "../zod";
import { splitArgs } from "./flags";

export const DAEMON_DEFAULTS = {
	config: "/etc/config/portrig",
	ubusSocket: "/var/run/ubus/ubus.sock",
	controlSocket: "/var/run/portrig.sock",
	lockFile: "/var/run/portrig.lock",
	fw4Lock: "/var/run/fw4.lock",
	log: "auto",
} as const;

const USAGE =
	"usage: portrig daemon [--config FILE] [--ubus-socket PATH] [--control-socket PATH] [--lock-file PATH] [--fw4-lock PATH] [--log auto|syslog]";

const Flags = z.object({
	config: z._default(z.string(), DAEMON_DEFAULTS.config),
	"ubus-socket": z._default(z.string(), DAEMON_DEFAULTS.ubusSocket),
	"control-socket": z._default(z.string(), DAEMON_DEFAULTS.controlSocket),
	"lock-file": z._default(z.string(), DAEMON_DEFAULTS.lockFile),
	"fw4-lock": z._default(z.string(), DAEMON_DEFAULTS.fw4Lock),
	log: z._default(LogTarget, DAEMON_DEFAULTS.log),
});

export async function daemonCommand(args: string[]): Promise<number> {
	let flags: z.infer<typeof Flags>;
	try {
		const { flags: values, positionals } = splitArgs(args, Object.keys(Flags.shape));
		if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}'`);
		const parsed = Flags.safeParse(values);
		if (!parsed.success) {
			const issue = parsed.error.issues[0];
			throw new Error(`--${issue?.path.join(".")}: ${issue?.message}`);
		}
		flags = parsed.data;
	} catch (e) {
		console.error(`portrig daemon: ${e instanceof Error ? e.message : String(e)}`);
		console.error(USAGE);
		return 2;
	}
	return runDaemon(
		{
			configFile: flags.config,
			ubusSocket: flags["ubus-socket"],
			controlSocket: flags["control-socket"],
			lockFile: flags["lock-file"],
			fw4Lock: flags["fw4-lock"],
		},
		flags.log,
	);
}
