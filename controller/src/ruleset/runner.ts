// How portrig talks to nftables: an NftRunner runs one Transaction (all or nothing) and lists
// objects as nft's JSON. Three runners: libnftables in this process (libnftables.ts), the `nft`
// command (command.ts: a missing library, or a command prefix such as `ip netns exec NS`), and
// an in-memory model for unit tests (fake.ts).
import type { Transaction } from "./transaction";

export type RunnerKind = "libnftables" | "command" | "fake";

export type ListOptions = { terse?: boolean; text?: boolean };

export interface NftRunner {
	readonly kind: RunnerKind;
	/** Runs the transaction's script as one transaction; throws NftError when nft refuses it. */
	run(tx: Transaction): Promise<void>;
	/**
	 * `nft -j [-t] list WHAT`: the JSON nft prints (terse: without set elements; text: nft's
	 * text instead, which alone shows flowtable flags).
	 */
	list(what: string, opts?: ListOptions): Promise<string>;
	/** Frees what the runner keeps between commands (an idle daemon); the next command rebuilds it. */
	release?(): void;
}

/** nft refused a command; `stderr` is nft's own error text. */
export class NftError extends Error {
	constructor(
		readonly command: string,
		readonly stderr: string,
		readonly code: number,
	) {
		super(
			`nft failed: ${stderr.trim().split("\n").filter(Boolean).slice(0, 6).join(" | ") || `exit ${code}`}`,
		);
		this.name = "NftError";
	}
}

/** The error nft gives for an object that does not exist. */
export const isMissing = (e: unknown): boolean =>
	e instanceof NftError && /No such file or directory/.test(e.stderr);

/** `list WHAT` that resolves to undefined when the object does not exist. */
export function listIfPresent(nft: NftRunner, what: string, opts?: ListOptions) {
	return nft.list(what, opts).catch((e) => {
		if (isMissing(e)) return undefined;
		throw e;
	});
}
