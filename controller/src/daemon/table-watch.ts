// Follows portrig's nft table from outside the data plane: when something deletes it (`nft flush
// ruleset`, `fw4 flush`), the table is restored at once. An `nft -j monitor destroy tables`
// child reports the deletion (measured in the lab: restored in a few ms).
import { log } from "../log/log";
import type { DataPlane } from "../ruleset/dataplane";
import { TABLE } from "../ruleset/layout";

export class TableWatch {
	private monitor: Bun.Subprocess | undefined;
	private watching = false;

	constructor(private readonly dataplane: DataPlane) {}

	/** Starts following the table; restores it now if it is already gone. */
	async start(): Promise<void> {
		if (this.watching) return;
		this.watching = true;
		this.startMonitor();
		// Events before the monitor subscribed are not reported: check once it had time to.
		await Bun.sleep(100);
		await this.restore();
	}

	stop(): void {
		this.watching = false;
		this.monitor?.kill();
		this.monitor = undefined;
	}

	private restore(): Promise<unknown> {
		return this.dataplane.restoreIfMissing().catch((e) => log("err", `restore: ${String(e)}`));
	}

	private startMonitor(): void {
		const proc = Bun.spawn([...this.dataplane.nft.prefix, "nft", "-j", "monitor", "destroy", "tables"], {
			stdout: "pipe",
			stderr: "ignore",
		});
		this.monitor = proc;
		void (async () => {
			const decoder = new TextDecoder();
			let buffer = "";
			for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
				buffer += decoder.decode(chunk, { stream: true });
				let nl = buffer.indexOf("\n");
				while (nl >= 0) {
					const line = buffer.slice(0, nl);
					buffer = buffer.slice(nl + 1);
					nl = buffer.indexOf("\n");
					if (line.includes(`"name": "${TABLE.name}"`) && line.includes(`"family": "${TABLE.family}"`))
						await this.restore();
				}
			}
			await proc.exited;
			if (!this.watching || this.monitor !== proc) return;
			// The monitor died: start another and check what it may have missed.
			log("warning", "nft monitor exited; restarting it");
			await Bun.sleep(200);
			if (!this.watching || this.monitor !== proc) return;
			this.startMonitor();
			await this.restore();
		})();
	}
}
