// Runs the nft command: a JSON batch through `nft -j -f -` (one transaction: all or nothing),
// nft text where JSON cannot say it (nft 1.0.6 has no JSON for map updates), and `nft -j list`.
// A command prefix runs nft elsewhere, e.g. ["ip", "netns", "exec", "lab-router"] in tests.
import type { NftBatch } from "./nft-json";

/** nft refused a command; `message` is nft's own error text. */
export class NftError extends Error {
	constructor(
		readonly argv: string[],
		readonly stderr: string,
		readonly code: number,
	) {
		super(
			`nft failed: ${stderr.trim().split("\n").filter(Boolean).slice(0, 6).join(" | ") || `exit ${code}`}`,
		);
		this.name = "NftError";
	}
}

export class Nft {
	constructor(readonly prefix: string[] = []) {}

	/** Runs `nft ARGS` with `input` on stdin; resolves to stdout, throws NftError. */
	async run(args: string[], input?: string): Promise<string> {
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
		if (code !== 0) throw new NftError(argv, stderr, code);
		return stdout;
	}

	/** Applies a JSON batch as one transaction. */
	async apply(batch: NftBatch): Promise<void> {
		if (batch.nftables.length) await this.run(["-j", "-f", "-"], JSON.stringify(batch));
	}

	/** Applies nft text as one transaction (for what nft's JSON cannot express). */
	async applyText(text: string): Promise<void> {
		await this.run(["-f", "-"], text);
	}

	/** `nft -j list ARGS…` parsed: the "nftables" array. */
	async list(args: string[]): Promise<Record<string, unknown>[]> {
		const out = await this.run(["-j", "list", ...args]);
		const parsed = JSON.parse(out) as { nftables?: Record<string, unknown>[] };
		return parsed.nftables ?? [];
	}

	/** Whether `table inet NAME` exists (nft answers "No such file or directory" otherwise). */
	async hasTable(family: string, name: string): Promise<boolean> {
		try {
			await this.run(["-t", "list", "table", family, name]);
			return true;
		} catch (e) {
			if (e instanceof NftError && /No such file or directory/.test(e.stderr)) return false;
			throw e;
		}
	}
}
