// Splits the byte stream from ubusd into frames, whatever the reads look like (a frame over many
// reads, many frames in one). The length of a frame is in its first 12 bytes: the message header
// and the outer blob attribute's header. Like ubusd, a frame whose padded blob exceeds
// UBUS_MAX_MSGLEN is refused; unlike ubusd, which drops the connection, the reader discards just
// that frame's bytes (never buffering them) and carries on with the next.
import { pad4, viewOf } from "./blob";
import { UbusDecodeError } from "./errors";
import { HEADER_SIZE, type Header, readHeader, UBUS_MAX_MSGLEN } from "./message";

const PREFIX = HEADER_SIZE + 4;

export type FrameEvent =
	| { kind: "frame"; frame: Uint8Array }
	/** a frame refused whole (too large); its bytes are skipped and the stream goes on */
	| { kind: "skipped"; error: UbusDecodeError; header: Header }
	/** the stream cannot be split any further (a length shorter than its own header): reconnect */
	| { kind: "broken"; error: UbusDecodeError; header: Header };

export class FrameReader {
	private chunks: Uint8Array[] = [];
	private buffered = 0;
	/** bytes of a refused frame still to discard */
	private skipping = 0;
	private broken = false;

	constructor(private readonly maxLen = UBUS_MAX_MSGLEN) {}

	push(chunk: Uint8Array): FrameEvent[] {
		if (this.broken) return [];
		this.chunks.push(chunk);
		this.buffered += chunk.length;
		const events: FrameEvent[] = [];
		for (;;) {
			if (this.skipping > 0) {
				this.skipping -= this.drop(this.skipping);
				if (this.skipping > 0) break;
			}
			if (this.buffered < PREFIX) break;
			const prefix = this.peek(PREFIX);
			const header = readHeader(prefix);
			const blobLen = viewOf(prefix).getUint32(HEADER_SIZE) & 0xffffff;
			if (blobLen < 4) {
				this.broken = true;
				const error = new UbusDecodeError(
					"bad-length",
					`message blob length ${blobLen} is shorter than its header`,
					HEADER_SIZE,
				);
				events.push({ kind: "broken", error, header });
				break;
			}
			if (pad4(blobLen) > this.maxLen) {
				const error = new UbusDecodeError(
					"oversize",
					`message of ${blobLen} bytes exceeds the limit of ${this.maxLen}`,
					HEADER_SIZE,
				);
				events.push({ kind: "skipped", error, header });
				this.skipping = HEADER_SIZE + blobLen;
				continue;
			}
			if (this.buffered < HEADER_SIZE + blobLen) break;
			events.push({ kind: "frame", frame: this.take(HEADER_SIZE + blobLen) });
		}
		return events;
	}

	/** The first n buffered bytes (n ≤ buffered), without consuming them. */
	private peek(n: number): Uint8Array {
		const first = this.chunks[0] as Uint8Array;
		if (first.length >= n) return first.subarray(0, n);
		return this.copy(n, false);
	}

	private take(n: number): Uint8Array {
		return this.copy(n, true);
	}

	private copy(n: number, consume: boolean): Uint8Array {
		const out = new Uint8Array(n);
		let filled = 0;
		for (const chunk of this.chunks) {
			const part = chunk.subarray(0, n - filled);
			out.set(part, filled);
			filled += part.length;
			if (filled === n) break;
		}
		if (consume) this.drop(n);
		return out;
	}

	/** Discards up to n buffered bytes; returns how many. */
	private drop(n: number): number {
		let dropped = 0;
		while (dropped < n && this.chunks.length > 0) {
			const first = this.chunks[0] as Uint8Array;
			const part = Math.min(first.length, n - dropped);
			if (part === first.length) this.chunks.shift();
			else this.chunks[0] = first.subarray(part);
			dropped += part;
		}
		this.buffered -= dropped;
		return dropped;
	}
}
