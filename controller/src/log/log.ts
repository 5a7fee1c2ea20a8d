// Logging: stderr always, and syslog (the local /dev/log datagram socket, RFC 3164 framing as
// OpenWrt's logd reads it) when it exists. Messages are single lines.
import { existsSync } from "node:fs";
import { dlopenSyslog } from "./syslog";

export type Level = "err" | "warning" | "notice" | "info" | "debug";

const SEVERITY: Record<Level, number> = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 };
const FACILITY_DAEMON = 3;

let syslog: ((priority: number, line: string) => void) | undefined;
let tag = "portrig";

/** Call once at daemon start: from then on lines also go to syslog when /dev/log exists. */
export function openLog(ident: string): void {
	tag = ident;
	if (existsSync("/dev/log")) syslog = dlopenSyslog(ident);
}

export function log(level: Level, message: string): void {
	const line = message.replace(/\n/g, " ");
	process.stderr.write(`${tag}: ${level}: ${line}\n`);
	syslog?.(FACILITY_DAEMON * 8 + SEVERITY[level], line);
}
