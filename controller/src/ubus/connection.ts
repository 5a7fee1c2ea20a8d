// One session with ubusd over its unix socket: connect, wait for HELLO (which carries our client
// id), then frames both ways. Writes are queued so a partial write never splits or reorders
// frames; reads go through the FrameReader.
import type { Socket } from "bun";
import { WriteQueue } from "../sys/write-queue";
import { type FrameEvent, FrameReader } from "./frame-reader";
import { type DecodeResult, decodeMessage, encodeMessage, type Message } from "./message";

/** What arrives: a decoded message, a frame that failed to decode, or a refused frame. */
export type Incoming = DecodeResult | Extract<FrameEvent, { kind: "skipped" }>;

export type ConnectionHandlers = {
	message(incoming: Incoming): void;
	/** the session ended (ubusd went away, or the stream broke); `why` says which */
	closed(why: string): void;
};

const HELLO_TIMEOUT_MS = 5000;

export class Connection {
	private readonly reader = new FrameReader();
	private socket: Socket<undefined> | undefined;
	private writes: WriteQueue | undefined;
	private state: "greeting" | "open" | "closed" = "greeting";
	private hello: { resolve(id: number): void; reject(e: Error): void } | undefined;
	/** the id ubusd gave this client in HELLO */
	clientId = 0;

	private constructor(private readonly handlers: ConnectionHandlers) {}

	/** Connects and waits for HELLO; rejects when there is no ubusd or it does not greet. */
	static async open(path: string, handlers: ConnectionHandlers): Promise<Connection> {
		const connection = new Connection(handlers);
		const greeted = new Promise<number>((resolve, reject) => {
			connection.hello = { resolve, reject };
		});
		connection.socket = await Bun.connect({
			unix: path,
			socket: {
				// Copied: the frame reader keeps chunks across reads.
				data: (_socket, data) => connection.received(connection.reader.push(Uint8Array.from(data))),
				drain: () => {
					if (connection.writes?.flush() === false) connection.fail("write to ubusd failed");
				},
				close: () => connection.fail("ubusd closed the connection"),
				error: (_socket, error) => connection.fail(`socket error: ${error.message}`),
			},
		});
		connection.writes = new WriteQueue(connection.socket);
		const timer = setTimeout(
			() => connection.fail(`no HELLO from ubusd within ${HELLO_TIMEOUT_MS} ms`),
			HELLO_TIMEOUT_MS,
		);
		try {
			connection.clientId = await greeted;
			return connection;
		} finally {
			clearTimeout(timer);
		}
	}

	get isOpen(): boolean {
		return this.state === "open";
	}

	/** Queues one message; false when the session is over. Throws UbusEncodeError for unencodable content. */
	send(message: Message): boolean {
		if (this.state !== "open") return false;
		if (!this.writes?.push(encodeMessage(message))) this.fail("write to ubusd failed");
		return true;
	}

	/** Ends the session without calling `closed`. */
	close(): void {
		if (this.state === "closed") return;
		this.state = "closed";
		this.writes?.clear();
		this.socket?.terminate();
	}

	private received(events: FrameEvent[]): void {
		for (const event of events) {
			if (this.state === "closed") return;
			if (event.kind === "broken") {
				this.fail(`stream from ubusd broke: ${event.error.message}`);
				return;
			}
			const incoming: Incoming = event.kind === "frame" ? decodeMessage(event.frame) : event;
			if (this.state === "open") {
				this.handlers.message(incoming);
				continue;
			}
			// The first frame must be HELLO; ids 0 and 1 are not client ids (1 is a channel).
			if ("ok" in incoming && incoming.ok && incoming.message.type === "HELLO" && incoming.message.peer > 1) {
				this.state = "open";
				this.hello?.resolve(incoming.message.peer);
			} else this.fail("ubusd did not start with HELLO");
		}
	}

	private fail(why: string): void {
		if (this.state === "closed") return;
		const wasOpen = this.state === "open";
		this.close();
		if (wasOpen) this.handlers.closed(why);
		else this.hello?.reject(new Error(why));
	}
}
