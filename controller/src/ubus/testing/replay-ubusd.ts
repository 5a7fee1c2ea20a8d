// A stand-in for ubusd in tests that speaks only captured traffic: on a real unix socket it
// plays, per accepted connection, a script of steps — send a captured ubusd→client frame, or
// wait for the client's next frame and record it beside the captured frame it should equal.
import type { Socket, UnixSocketListener } from "bun";
import { FrameReader } from "../frame-reader";
import type { CapturedFrame } from "./fixtures";

export type Step =
	| { send: CapturedFrame }
	/**
	 * a frame made with the codec, for exchanges no capture holds (an INVOKE of an object other
	 * than the captured `test`); the codec itself is proven byte-exact on the captures
	 */
	| { inject: Uint8Array }
	/** the client's next frame; `like` is the captured frame it should be */
	| { expect: CapturedFrame | "any" }
	/** ubusd going away: close this connection */
	| { close: true };

export type Exchange = { expected: CapturedFrame | "any"; actual: Uint8Array };

type Session = {
	frames: Uint8Array[];
	waiting: ((frame: Uint8Array) => void) | undefined;
	exchanges: Exchange[];
	done: Promise<void>;
};

const STEP_TIMEOUT_MS = 5000;

export class ReplayUbusd {
	private listener: UnixSocketListener<undefined> | undefined;
	private readonly sessions: Session[] = [];
	private next = 0;
	/** Per socket, what a partial write waits on (frames of up to 1 MiB do not fit one write). */
	private readonly drained = new Map<Socket<undefined>, () => void>();
	private readonly closed = new WeakSet<Socket<undefined>>();

	constructor(
		readonly path: string,
		private readonly scripts: Step[][],
	) {}

	start(): void {
		const readers = new Map<Socket<undefined>, { reader: FrameReader; session: Session }>();
		this.listener = Bun.listen({
			unix: this.path,
			socket: {
				open: (socket) => {
					const script = this.scripts[this.next++] ?? [];
					const session: Session = { frames: [], waiting: undefined, exchanges: [], done: Promise.resolve() };
					session.done = this.play(socket, session, script);
					this.sessions.push(session);
					readers.set(socket, { reader: new FrameReader(), session });
				},
				data: (socket, data) => {
					const entry = readers.get(socket);
					if (!entry) return;
					for (const event of entry.reader.push(Uint8Array.from(data))) {
						if (event.kind !== "frame") continue;
						const waiting = entry.session.waiting;
						entry.session.waiting = undefined;
						if (waiting) waiting(event.frame);
						else entry.session.frames.push(event.frame);
					}
				},
				drain: (socket) => {
					this.drained.get(socket)?.();
				},
				close: (socket) => {
					readers.delete(socket);
					this.closed.add(socket);
					this.drained.get(socket)?.();
				},
			},
		});
	}

	/** Waits until connection `index` played its whole script; returns what the client sent. */
	async exchanges(index: number, timeoutMs = 10_000): Promise<Exchange[]> {
		const deadline = Date.now() + timeoutMs;
		while (!this.sessions[index] && Date.now() < deadline) await Bun.sleep(10);
		const session = this.sessions[index];
		if (!session) throw new Error(`the client never made connection ${index}`);
		await session.done;
		return session.exchanges;
	}

	get connections(): number {
		return this.sessions.length;
	}

	stop(): void {
		this.listener?.stop(true);
		this.listener = undefined;
	}

	private async play(socket: Socket<undefined>, session: Session, script: Step[]): Promise<void> {
		for (const step of script) {
			if ("send" in step) await this.writeAll(socket, step.send.frame);
			else if ("inject" in step) await this.writeAll(socket, step.inject);
			else if ("close" in step) {
				socket.end();
				return;
			} else {
				const actual = await this.nextFrame(session);
				session.exchanges.push({ expected: step.expect, actual });
			}
		}
	}

	private async writeAll(socket: Socket<undefined>, bytes: Uint8Array): Promise<void> {
		for (let offset = 0; ; ) {
			offset += Math.max(0, socket.write(bytes.subarray(offset)));
			if (offset >= bytes.length || this.closed.has(socket)) return;
			await new Promise<void>((resolve) => this.drained.set(socket, resolve));
		}
	}

	private nextFrame(session: Session): Promise<Uint8Array> {
		const ready = session.frames.shift();
		if (ready) return Promise.resolve(ready);
		return new Promise((resolve, reject) => {
			const timer = setTimeout(
				() => reject(new Error("the client sent nothing when a frame was due")),
				STEP_TIMEOUT_MS,
			);
			session.waiting = (frame) => {
				clearTimeout(timer);
				resolve(frame);
			};
		});
	}
}
