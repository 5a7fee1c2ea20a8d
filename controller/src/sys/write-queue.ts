// Ordered writes to one of Bun's sockets. A Bun socket's write() takes what the kernel accepts now
// and returns how much that was; the rest must be written again once the socket says `drain`.
// The queue keeps it, so a partial write never splits or reorders what was queued.
import type { Socket } from "bun";

export class WriteQueue {
	private readonly queue: Uint8Array[] = [];
	private failed = false;

	constructor(private readonly socket: Socket<unknown>) {}

	/** Queues `bytes` and writes what it can; false once a write has failed (the socket is broken). */
	push(bytes: Uint8Array): boolean {
		if (this.failed) return false;
		this.queue.push(bytes);
		return this.flush();
	}

	/** Writes what is queued, as far as the socket takes it: call on `drain`. False once a write failed. */
	flush(): boolean {
		while (!this.failed && this.queue.length > 0) {
			const next = this.queue[0] as Uint8Array;
			const written = this.socket.write(next);
			if (written < 0) {
				this.failed = true;
				this.queue.length = 0;
				break;
			}
			if (written < next.length) {
				this.queue[0] = next.subarray(written);
				break; // the rest goes out on drain
			}
			this.queue.shift();
		}
		return !this.failed;
	}

	/** Nothing left to write. */
	get empty(): boolean {
		return this.queue.length === 0;
	}

	/** Drops what is queued (the connection is being closed). */
	clear(): void {
		this.queue.length = 0;
	}
}
