// The daemon's life as a process: start, then serve until SIGTERM/SIGINT; SIGHUP reloads.
import { log, openLog } from "../log/log";
import { Daemon, type DaemonOptions } from "./daemon";
import { handleSignals } from "./signals";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs portrigd until a stop signal; resolves to the process exit status. */
export async function runDaemon(options: DaemonOptions): Promise<number> {
	openLog("portrig");
	const daemon = new Daemon(options);
	try {
		await daemon.start();
	} catch (e) {
		log("err", `cannot start: ${message(e)}`);
		await daemon.stop().catch((e2) => log("err", `cleanup after a failed start: ${message(e2)}`));
		return 1;
	}
	return new Promise((resolve) => {
		const dispose = handleSignals({
			reload: () => {
				log("notice", "SIGHUP: reloading the config");
				daemon.reload().catch((e) => log("err", `reload refused: ${message(e)}`));
			},
			stop: (signal) => {
				dispose();
				log("notice", `${signal}: stopping`);
				daemon.stop().then(
					() => resolve(0),
					(e) => {
						log("err", `stop: ${message(e)}`);
						resolve(1);
					},
				);
			},
		});
	});
}
