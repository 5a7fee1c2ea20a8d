// The one binary: `portrig <command> …`. Each command lives in its own file; this table is the
// only place that knows them all. A command's module is loaded when it runs: the daemon then
// never loads what only the CLI commands use, and `portrig call` starts without the daemon's.
import pkg from "../../../package.json" with { type: "json" };

type Command = { usage: string; summary: string; run: (args: string[]) => Promise<number> };

const COMMANDS: Record<string, Command> = {
	daemon: {
		usage:
			"daemon [--config FILE] [--ubus-socket PATH] [--control-socket PATH] [--lock-file PATH] [--fw4-lock PATH] [--log auto|syslog]",
		summary:
			"run portrigd: apply the config to nftables, follow conntrack, serve ubus and the control socket",
		run: async (args) => (await import("./daemon")).daemonCommand(args),
	},
	check: {
		usage: "check [FILE]",
		summary: "validate a config file (default /etc/config/portrig); one line per problem",
		run: async (args) => (await import("./check")).checkCommand(args),
	},
	render: {
		usage: "render [FILE]",
		summary: "print the nftables ruleset a config file renders to (devices from its globals)",
		run: async (args) => (await import("./render")).renderCommand(args),
	},
	call: {
		usage: "call METHOD [JSON] [--control-socket PATH]",
		summary: "call a method of the running daemon and print its JSON reply",
		run: async (args) => (await import("./call")).callCommand(args),
	},
	version: {
		usage: "version",
		summary: "print the version",
		run: async () => print(`portrig ${pkg.version}`),
	},
	help: { usage: "help", summary: "this text", run: async () => print(helpText()) },
};

function print(text: string): number {
	console.log(text);
	return 0;
}

function helpText(): string {
	const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
	const lines = Object.values(COMMANDS).map((c) => `  portrig ${c.usage.padEnd(width)}  ${c.summary}`);
	return [
		`portrig ${pkg.version}: port forwarding, port triggering and DMZ on nftables`,
		"",
		"Usage:",
		...lines,
	].join("\n");
}

async function main(argv: string[]): Promise<number> {
	const [name, ...args] = argv;
	if (name === undefined) {
		console.error(helpText());
		return 2;
	}
	const command =
		COMMANDS[name === "--help" || name === "-h" ? "help" : name === "--version" ? "version" : name];
	if (!command) {
		console.error(`portrig: unknown command '${name}'\n\n${helpText()}`);
		return 2;
	}
	return command.run(args);
}

process.exitCode = await main(process.argv.slice(2));
