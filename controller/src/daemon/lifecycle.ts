// The daemon's life as a process: start, serve until SIGTERM/SIGINT, reload on SIGHUP. Signals
// are handled from the first instant: a stop during the start waits for it, then cleans up.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { type LogTarget, log, openLog } from "../log/log";
import { Daemon, type DaemonOptions } from "./daemon";
import { handleSignals } from "./signals";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * A restart, not a stop: the init script's `restart` creates this file beside the control
 * socket (/var/run/portrig.keep-table) before procd sends SIGTERM, so the table stays in force
 * for the next daemon (SIGUSR1 says the same without a file). Taken: removed on the way.
 */
const keepTableFile = (options: DaemonOptions) => join(dirname(options.controlSocket), "portrig.keep-table");

function takeKeepTable(options: DaemonOptions): boolean {
	try {
		rmSync(keepTableFile(options));
		return true;
	} catch {
		return false;
	}
}

/** Runs portrigd until a stop signal; resolves to the process exit status. */
export function runDaemon(options: DaemonOptions, logTarget: LogTarget = "auto"): Promise<number> {
	openLog("portrig", logTarget);
	const daemon = new Daemon(options);
	return new Promise((resolve) => {
		let stopping = false;
		const starting = daemon.start();
		const finish = (code: number, keepTable = false) => {
			daemon.stop(keepTable).then(
				() => {
					dispose();
					resolve(code);
				},
				(e) => {
					log("err", `stop: ${message(e)}`);
					dispose();
					resolve(1);
				},
			);
		};
		const dispose = handleSignals({
			reload: () => {
				if (stopping) return;
				log("notice", "SIGHUP: reloading the config");
				starting
					.then(() => daemon.reload())
					.catch((e) => {
						if (!stopping) log("err", `reload refused: ${message(e)}`);
					});
			},
			stop: (signal) => {
				if (stopping) return;
				stopping = true;
				log("notice", `${signal}: stopping`);
				// SIGUSR1: a restart (init script, upgrade); the next daemon takes the table over.
				const keep = takeKeepTable(options) || signal === "SIGUSR1";
				starting.then(
					() => finish(0, keep),
					() => finish(0, keep),
				);
			},
		});
		starting.catch((e) => {
			if (stopping) return;
			stopping = true;
			log("err", `cannot start: ${message(e)}`);
			finish(1);
		});
	});
}
