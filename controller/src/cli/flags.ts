// A command's arguments: `--name VALUE` or `--name=VALUE` flags, all of them taking a value, and
// positional words; `--` ends the flags. The command's zod schema then checks the values. Not
// node:util's parseArgs: loading node:util kept about 2 MB more of the idle daemon resident.

export type SplitArgs = { flags: Record<string, string>; positionals: string[] };

/** Splits `args` (a repeated flag: the last one counts); throws, naming the flag, for an unknown one or a missing value. */
export function splitArgs(args: readonly string[], names: readonly string[]): SplitArgs {
	const flags: Record<string, string> = {};
	const positionals: string[] = [];
	for (let i = 0; i < args.length; i++) {
		const arg = args[i] as string;
		if (arg === "--") {
			positionals.push(...args.slice(i + 1));
			break;
		}
		if (!arg.startsWith("--")) {
			positionals.push(arg);
			continue;
		}
		const equals = arg.indexOf("=");
		const name = arg.slice(2, equals < 0 ? undefined : equals);
		if (!names.includes(name)) throw new Error(`unknown option '--${name}'`);
		const value = equals < 0 ? args[++i] : arg.slice(equals + 1);
		if (value === undefined) throw new Error(`option '--${name}' needs a value`);
		flags[name] = value;
	}
	return { flags, positionals };
}
