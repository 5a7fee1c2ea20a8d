// POSIX signals → daemon actions: SIGHUP reloads the config, SIGTERM/SIGINT stop cleanly (the
// nft table goes), SIGUSR1 stops for a restart (the table stays for the next daemon).
export type SignalActions = { reload: () => void; stop: (signal: NodeJS.Signals) => void };

/** Installs the handlers; returns a function that removes them. */
export function handleSignals(actions: SignalActions): () => void {
	const onHup = () => actions.reload();
	const onStop = (signal: NodeJS.Signals) => actions.stop(signal);
	process.on("SIGHUP", onHup);
	process.on("SIGTERM", onStop);
	process.on("SIGINT", onStop);
	process.on("SIGUSR1", onStop);
	return () => {
		process.off("SIGHUP", onHup);
		process.off("SIGTERM", onStop);
		process.off("SIGINT", onStop);
		process.off("SIGUSR1", onStop);
	};
}
