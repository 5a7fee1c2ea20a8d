// The daemon's life as a process: start, serve until SIGTERM/SIGINT, reload on SIGHUP. Signals
// are handled from the first instant: a stop during the start waits for it, then cleans up.
import { type LogTarget, log, openLog } from "../log/log";
import { Daemon, type DaemonOptions } from "./daemon";
import { handleSignals } from "./signals";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs portrigd until a stop signal; resolves to the process exit status. */
export function runDaemon(options: DaemonOptions, logTarget: LogTarget = "auto"): Promise<number> {
	openLog("portrig", logTarget);
	const daemon = new Daemon(options);
	return new Promise((resolve) => {
		let stopping = false;
		const starting = daemon.start();
		const finish = (code: number) => {
			daemon.stop().then(
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
				starting.then(
					() => finish(0),
					() => finish(0),
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
