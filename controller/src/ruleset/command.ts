// The nft command as an NftRunner: a transaction through `nft -f -`, listings through
// `nft -j list`. Used when libnftables cannot be loaded, and with a command prefix that runs nft
// elsewhere (e.g. ["ip", "netns", "exec", "lab-router"] in tests).
import { type ListOptions, NftError, type NftRunner } from "./runner";
import type { Transaction } from "./transaction";

export class NftCommand implements NftRunner {
	readonly kind = "command";

	constructor(readonly prefix: string[] = []) {}

	async run(tx: Transaction): Promise<void> {
		if (!tx.empty) await this.exec(["-f", "-"], tx.script());
	}

	list(what: string, opts: ListOptions = {}): Promise<string> {
		return this.exec([
			...(opts.text ? [] : ["-j"]),
			...(opts.terse ? ["-t"] : []),
			"list",
			...what.split(" "),
		]);
	}

	private async exec(args: string[], input?: string): Promise<string> {
		const argv = [...this.prefix, "nft", ...args];
		const proc = Bun.spawn(argv, {
			stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
			stdout: "pipe",
			stderr: "pipe",
		});
		const [stdout, stderr, code] = await Promise.all([
			new Response(proc.stdout).text(),
			new Response(proc.stderr).text(),
			proc.exited,
		]);
		if (code !== 0) throw new NftError(argv.join(" "), stderr, code);
		return stdout;
	}
}
