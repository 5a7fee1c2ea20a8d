// `portrig call METHOD [JSON] [--control-socket PATH]`: one API call over the control socket.
// The socket defaults to $PORTRIG_CONTROL_SOCKET, then to the daemon's default path.
import { callControlSocket } from "../api/control-socket";
import { METHODS } from "../api/methods";
import { DAEMON_DEFAULTS } from "./daemon";
import { type SplitArgs, splitArgs } from "./flags";

const USAGE = "usage: portrig call METHOD [JSON] [--control-socket PATH]";

export async function callCommand(args: string[]): Promise<number> {
	let parsed: SplitArgs;
	try {
		parsed = splitArgs(args, ["control-socket"]);
	} catch (e) {
		console.error(`portrig call: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
		return 2;
	}
	const [method, json, ...extra] = parsed.positionals;
	if (!method || extra.length) {
		console.error(`${USAGE}\n\nMethods:\n${methodList()}`);
		return 2;
	}
	let callArgs: Record<string, unknown> = {};
	if (json !== undefined) {
		try {
			callArgs = JSON.parse(json);
		} catch (e) {
			console.error(`portrig call: arguments are not JSON: ${e instanceof Error ? e.message : String(e)}`);
			return 2;
		}
		if (typeof callArgs !== "object" || callArgs === null || Array.isArray(callArgs)) {
			console.error("portrig call: arguments must be a JSON object");
			return 2;
		}
	}
	const socket =
		parsed.flags["control-socket"] ?? process.env.PORTRIG_CONTROL_SOCKET ?? DAEMON_DEFAULTS.controlSocket;
	try {
		const reply = await callControlSocket(socket, method, callArgs);
		if (reply.ok) {
			console.log(JSON.stringify(reply.result, null, "\t"));
			return 0;
		}
		console.error(JSON.stringify(reply.error, null, "\t"));
		return 1;
	} catch (e) {
		console.error(
			`portrig call: ${notRunning(e) ? notRunningText(socket) : `${socket}: ${e instanceof Error ? e.message : String(e)}`}`,
		);
		return 1;
	}
}

/** No socket file, or one no process listens on (a daemon that was killed). */
function notRunning(e: unknown): boolean {
	const code = (e as NodeJS.ErrnoException | undefined)?.code;
	return code === "ENOENT" || code === "ECONNREFUSED";
}

function notRunningText(socket: string): string {
	return [
		`the portrig daemon is not running (nothing listens on ${socket}).`,
		"Start it with 'service portrig start' on OpenWrt, or 'portrig daemon --config FILE' elsewhere ('make lab' runs one in the lab);",
		"a daemon on another socket: pass --control-socket PATH or set PORTRIG_CONTROL_SOCKET.",
	].join("\n");
}

function methodList(): string {
	const width = Math.max(...Object.keys(METHODS).map((name) => name.length));
	return Object.entries(METHODS)
		.map(([name, m]) => `  ${name.padEnd(width)}  ${m.summary}`)
		.join("\n");
}
