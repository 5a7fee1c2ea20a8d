// What the smoke suite needs from a guest router, whichever kind it is: run portrig with a
// config, call its methods, run shell commands. The stand-in calls portrig over its control
// socket (`portrig call`), an OpenWrt image over ubus (`ubus call portrig`).
import { waitFor } from "../lib/wait";
import type { SerialConsole } from "./serial";

export interface GuestRouter {
	readonly serial: SerialConsole;
	/** What the guest is, for the log: "Debian kernel 6.1.0-57-amd64", "OpenWrt 24.10.0 r28427". */
	readonly description: string;
	/** The `config globals` section that fits the guest (devices on the stand-in, zones on OpenWrt). */
	readonly globals: string;
	/** Writes /etc/config/portrig and (re)starts portrigd; resolves once it answers `status`. */
	start(config: string): Promise<void>;
	/** Calls a method of the running daemon; resolves to its JSON reply, throws on an error reply. */
	call(method: string, args?: unknown): Promise<unknown>;
}

/** The shell text that writes `text` to `path` (a quoted here-document: no expansion). */
export function writeFileCommand(path: string, text: string): string {
	const end = "PORTRIG_EOF";
	if (text.split("\n").includes(end)) throw new Error(`the file text may not contain a line ${end}`);
	return `cat > ${path} <<'${end}'\n${text.endsWith("\n") ? text : `${text}\n`}${end}`;
}

/** A shell argument holding `text` literally. */
export function shellQuote(text: string): string {
	return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Runs `command` (which prints JSON) in the guest and parses its output. */
export async function callJson(serial: SerialConsole, command: string): Promise<unknown> {
	const r = await serial.run(command, 120_000);
	if (r.code !== 0) throw new Error(`guest: ${command} exited ${r.code}: ${r.output.trim()}`);
	const start = r.output.search(/[[{]/);
	if (start < 0) throw new Error(`guest: ${command} printed no JSON: ${r.output.trim()}`);
	return JSON.parse(r.output.slice(start));
}

/** Polls `command` in the guest until it exits 0 (e.g. a daemon starting under TCG). */
export async function untilSucceeds(serial: SerialConsole, command: string, what: string, ms: number) {
	await waitFor(what, async () => (await serial.run(command, ms)).code === 0, ms, 500);
}
