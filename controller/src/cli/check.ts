// `portrig check [FILE]`: validates a config file the way the daemon loads it. Quiet like
// OpenWrt's tools: nothing and exit 0 when valid; one line per problem on stderr
// (`FILE:LINE: section 'NAME' option 'OPT': why`), exit 1 when any is an error (warnings alone
// keep exit 0); exit 2 when the file cannot be read or the arguments are wrong.
import { readFile } from "node:fs/promises";
import { formatProblem, isError, loadConfig } from "../config/load";
import type { Config } from "../config/schema";

export const DEFAULT_CONFIG = "/etc/config/portrig";

export async function checkCommand(args: string[]): Promise<number> {
	if (args.length > 1 || args[0]?.startsWith("-")) {
		console.error("usage: portrig check [FILE]");
		return 2;
	}
	return (await checkFile(args[0] ?? DEFAULT_CONFIG)).code;
}

/** Reads and validates `file`, printing its problems: the exit code, and the config when valid. */
export async function checkFile(file: string): Promise<{ code: number; config?: Config }> {
	let text: string;
	try {
		text = await readFile(file, "utf8");
	} catch (e) {
		const err = e as NodeJS.ErrnoException;
		console.error(`portrig: cannot read ${file}: ${describeError(err)}`);
		return { code: 2 };
	}
	const { config, problems } = loadConfig(text, file);
	for (const p of problems) console.error(formatProblem(p));
	return problems.some(isError) || !config ? { code: 1 } : { code: 0, config };
}

function describeError(err: NodeJS.ErrnoException): string {
	switch (err.code) {
		case "ENOENT":
			return "no such file";
		case "EACCES":
			return "permission denied";
		case "EISDIR":
			return "is a directory";
		default:
			return err.message;
	}
}
