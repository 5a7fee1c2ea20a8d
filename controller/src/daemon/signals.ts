// POSIX signals → daemon actions: SIGHUP reloads the config, SIGTERM/SIGINT stop cleanly.
export type SignalActions = { reload: () => void; stop: (signal: NodeJS.Signals) => void };

/** Installs the handlers; returns a function that removes them. */
export function handleSignals(actions: SignalActions): () => void {
	const onHup = () => actions.reload();
	const onStop = (signal: NodeJS.Signals) => actions.stop(signal);
	process.on("SIGHUP", onHup);
	process.on("SIGTERM", onStop);
	process.on("SIGINT", onStop);
	return () => {
		process.off("SIGHUP", onHup);
		process.off("SIGTERM", onStop);
		process.off("SIGINT", onStop);
	};
}
