// Logging: each line once, at its own level. "auto" (a daemon run by hand): stderr, and syslog
// too when /dev/log exists. "syslog" (under procd, which forwards stderr to the log at err
// level: writing both would log every line twice): syslog only, stderr when /dev/log is
// missing. Syslog is the local /dev/log datagram socket, RFC 3164 framing as OpenWrt's logd
// reads it. Messages are single lines.
import { existsSync, writeSync } from "node:fs";
import { z } from "../zod";
import { dlopenSyslog } from "./syslog";

export type Level = "err" | "warning" | "notice" | "info" | "debug";

export const LogTarget = z.enum(["auto", "syslog"]);
export type LogTarget = z.infer<typeof LogTarget>;

const SEVERITY: Record<Level, number> = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 };
const FACILITY_DAEMON = 3;

let syslog: ((priority: number, line: string) => void) | undefined;
let toStderr = true;
let tag = "portrig";

/** Call once at daemon start: from then on lines go where `target` says. */
export function openLog(ident: string, target: LogTarget = "auto"): void {
	tag = ident;
	if (existsSync("/dev/log")) syslog = dlopenSyslog(ident);
	toStderr = target === "auto" || !syslog;
}

export function log(level: Level, message: string): void {
	const line = message.replace(/\n/g, " ");
	if (toStderr) writeStderr(`${tag}: ${level}: ${line}\n`);
	syslog?.(FACILITY_DAEMON * 8 + SEVERITY[level], line);
}

/**
 * fd 2 written directly: process.stderr's stream machinery kept 1.5 MB more of the idle daemon
 * resident. A line stderr cannot take now (a full non-blocking pipe) is dropped, not thrown.
 */
function writeStderr(text: string): void {
	try {
		writeSync(2, text);
	} catch {
		// the line still went to syslog when there is one
	}
}
