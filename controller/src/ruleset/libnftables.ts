// libnftables in this process through bun:ffi: no nft process per change or listing. The same
// library the nft command is built on (Debian: libnftables1; OpenWrt: nftables-json ships it).
// Its calls are synchronous; a transaction of portrig's is small, a full one at 10,000 forwards
// is tens of ms (bench/dataplane.ts).
import { CString, dlopen, FFIType, type Pointer } from "bun:ffi";
import { trimCHeap } from "../sys/malloc-trim";
import { withSignalsHeld } from "../sys/signal-mask";
import { type ListOptions, NftError, type NftRunner } from "./runner";
import type { Transaction } from "./transaction";

const LIBRARY = "libnftables.so.1";
// nftables.h: enum nft_output_flags
const OUTPUT_JSON = 1 << 4;
const OUTPUT_TERSE = 1 << 11;

const SYMBOLS = {
	nft_ctx_new: { args: [FFIType.u32], returns: FFIType.ptr },
	nft_ctx_free: { args: [FFIType.ptr], returns: FFIType.void },
	nft_ctx_buffer_output: { args: [FFIType.ptr], returns: FFIType.i32 },
	nft_ctx_buffer_error: { args: [FFIType.ptr], returns: FFIType.i32 },
	nft_ctx_output_set_flags: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.void },
	nft_run_cmd_from_buffer: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
	nft_ctx_get_output_buffer: { args: [FFIType.ptr], returns: FFIType.ptr },
	nft_ctx_get_error_buffer: { args: [FFIType.ptr], returns: FFIType.ptr },
} as const;

type Library = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

/**
 * Parsing a large script (the whole table at 10,000 forwards), or listing a large table, leaves
 * tens of MB in glibc's heap after nft freed them (measured: RSS 24 → 82 MB, back to 27 MB
 * once trimmed). Commands or listings larger than this give it back right away.
 */
const TRIM_AFTER_BYTES = 64 * 1024;

const text = (p: unknown) => (p ? new CString(p as Pointer).toString() : "");

export class Libnftables implements NftRunner {
	readonly kind = "libnftables";
	/** nft's context, with its cache of the kernel's ruleset; made again after release(). */
	private ctx: Pointer | undefined;

	private constructor(private readonly lib: Library) {}

	/** The library, or undefined when it cannot be loaded (then the nft command runs). */
	static load(): Libnftables | undefined {
		try {
			const nft = new Libnftables(dlopen(LIBRARY, SYMBOLS).symbols);
			nft.context();
			return nft;
		} catch {
			return undefined;
		}
	}

	/**
	 * Frees the context: it keeps nft's cache of the kernel's ruleset (fw4's tables included)
	 * and the parser's state, about 1.2 MB of C heap between commands, which an idle daemon
	 * does not need. The next command makes a new context (well under a millisecond).
	 */
	release(): void {
		if (!this.ctx) return;
		this.lib.nft_ctx_free(this.ctx);
		this.ctx = undefined;
		trimCHeap();
	}

	private context(): Pointer {
		if (this.ctx) return this.ctx;
		const ctx = this.lib.nft_ctx_new(0) as Pointer | null;
		if (!ctx) throw new Error("libnftables: nft_ctx_new failed");
		this.lib.nft_ctx_buffer_output(ctx);
		this.lib.nft_ctx_buffer_error(ctx);
		this.ctx = ctx;
		return ctx;
	}

	async run(tx: Transaction): Promise<void> {
		if (!tx.empty) this.exec(tx.script(), 0);
	}

	async list(what: string, opts: ListOptions = {}): Promise<string> {
		return this.exec(`list ${what}`, (opts.text ? 0 : OUTPUT_JSON) | (opts.terse ? OUTPUT_TERSE : 0));
	}

	private exec(command: string, flags: number): string {
		const ctx = this.context();
		this.lib.nft_ctx_output_set_flags(ctx, flags);
		const input = Buffer.from(`${command}\0`);
		// A signal during nft's wait for the kernel fails a transaction the kernel committed.
		const code = withSignalsHeld(() => this.lib.nft_run_cmd_from_buffer(ctx, input));
		// Both buffers are read every time: reading empties them for the next command.
		const out = text(this.lib.nft_ctx_get_output_buffer(ctx));
		const err = text(this.lib.nft_ctx_get_error_buffer(ctx));
		if (command.length > TRIM_AFTER_BYTES || out.length > TRIM_AFTER_BYTES) trimCHeap();
		if (code !== 0) throw new NftError(command.slice(0, 200), err, code);
		return out;
	}
}
