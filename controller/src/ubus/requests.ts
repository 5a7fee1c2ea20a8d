// Requests this client made and is waiting on. ubusd answers a request with zero or more DATA
// messages and then one STATUS, all carrying the request's seq and peer (the object id for an
// INVOKE, 0 for LOOKUP/ADD_OBJECT, 1 for the event object); libubus matches on both, and so do we.
import type { UbusDecodeError } from "./errors";
import type { Message, MessageAttrs } from "./message";
import { UbusStatus, UbusStatusError } from "./status";

export type Answer = { status: number; data: MessageAttrs[] };

type Pending = {
	what: string;
	data: MessageAttrs[];
	resolve(answer: Answer): void;
	reject(error: Error): void;
	timer: ReturnType<typeof setTimeout>;
};

const key = (seq: number, peer: number) => `${seq}:${peer >>> 0}`;

export class Requests {
	private seq = 0;
	private readonly pending = new Map<string, Pending>();

	/** seq of the next request: 1…65535, then around again (a 16-bit field; 0 is skipped). */
	nextSeq(): number {
		this.seq = (this.seq % 0xffff) + 1;
		return this.seq;
	}

	/** Waits for the answer to (seq, peer); rejects with status TIMEOUT after timeoutMs. */
	wait(seq: number, peer: number, what: string, timeoutMs: number): Promise<Answer> {
		return new Promise((resolve, reject) => {
			const id = key(seq, peer);
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new UbusStatusError(UbusStatus.TIMEOUT, what));
			}, timeoutMs);
			this.pending.set(id, { what, data: [], resolve, reject, timer });
		});
	}

	/** A STATUS or DATA from ubusd; false when no request waits for it. */
	answer(message: Message): boolean {
		const id = key(message.seq, message.peer);
		const request = this.pending.get(id);
		if (!request) return false;
		if (message.type === "DATA") {
			request.data.push(message.attrs);
			return true;
		}
		this.pending.delete(id);
		clearTimeout(request.timer);
		request.resolve({ status: message.attrs.status ?? UbusStatus.INVALID_ARGUMENT, data: request.data });
		return true;
	}

	/** An answer that could not be decoded fails its request (and only it). */
	reject(seq: number, peer: number, error: UbusDecodeError): boolean {
		const id = key(seq, peer);
		const request = this.pending.get(id);
		if (!request) return false;
		this.pending.delete(id);
		clearTimeout(request.timer);
		request.reject(error);
		return true;
	}

	/** The session ended: every waiting request fails with CONNECTION_FAILED; seq starts over. */
	abandon(): void {
		for (const request of this.pending.values()) {
			clearTimeout(request.timer);
			request.reject(new UbusStatusError(UbusStatus.CONNECTION_FAILED, request.what));
		}
		this.pending.clear();
		this.seq = 0;
	}
}
