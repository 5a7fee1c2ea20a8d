// The control socket: the API as newline-delimited JSON over a unix stream socket, for
// `portrig call`, the lab and the tests (everywhere ubus is not).
//
//   request  (one line):  {"method": "add_forward", "args": {"src_dport": "80", …}}
//   reply    (one line):  {"result": {…}}                                   on success
//                         {"status": 2, "error": "…", "field": "src_dport"}  on failure
//
// `status` is the ubus status code (see errors.ts); `args` may be left out. A connection may
// carry any number of requests; replies come in request order. A line that is not a request
// gets an error reply and the connection stays open. The socket file is mode 0600: root only,
// like ubus's default ACL.
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import type { Socket, UnixSocketListener } from "bun";
import { WriteQueue } from "../sys/write-queue";
import { UbusStatus } from "../ubus/status";
import { z } from "../zod";
import { type ErrorReply, fromZodError } from "./errors";
import type { CallResult } from "./methods";

/** Longest request line accepted, in bytes without its newline: 1 MiB, ubusd's message limit. */
export const MAX_LINE = 1 << 20;

const Request = z.strictObject({
	method: z.string().check(z.minLength(1)),
	args: z.optional(z.record(z.string(), z.unknown())),
});

export type Handler = (method: string, args: Record<string, unknown>) => Promise<CallResult>;

const encoder = new TextEncoder();
const replyLine = (r: CallResult) =>
	encoder.encode(`${JSON.stringify(r.ok ? { result: r.result } : r.error)}\n`);

/** One request line → the call's reply. Never throws. */
async function answer(line: string, handle: Handler): Promise<CallResult> {
	let json: unknown;
	try {
		json = JSON.parse(line);
	} catch (e) {
		const why = e instanceof Error ? e.message : String(e);
		return { ok: false, error: { status: UbusStatus.PARSE_ERROR, error: `request is not JSON: ${why}` } };
	}
	const request = Request.safeParse(json);
	if (!request.success) return { ok: false, error: fromZodError(request.error, json).toReply() };
	return handle(request.data.method, request.data.args ?? {});
}

/** What the server keeps of one connection. */
type Connection = {
	writes: WriteQueue;
	/** Bytes of the request line being received (before its newline), and how many. */
	pending: Buffer[];
	pendingBytes: number;
	/** Requests of one connection are answered one after the other, in order. */
	replies: Promise<void>;
	/** An endless line was refused: nothing more is read. */
	refused: boolean;
	/** The last reply is queued: the connection ends once it is written. */
	ending: boolean;
	/** The client has shut down its side. */
	clientEnded: boolean;
	closed: boolean;
};

// Bun's own sockets, not node:net: loading node:net (and the stream code it brings) kept about
// 2 MB more of the idle daemon resident.
export class ControlSocketServer {
	private server: UnixSocketListener<Connection> | undefined;
	private readonly connections = new Set<Socket<Connection>>();

	constructor(
		readonly path: string,
		private readonly handle: Handler,
	) {}

	/** Listens on `path`, replacing a stale socket file; refuses when a live daemon holds it. */
	async start(): Promise<void> {
		await removeStaleSocket(this.path);
		// umask makes the socket 0600 from its first instant; chmod states it once more.
		const umask = process.umask(0o177);
		try {
			this.server = Bun.listen<Connection>({
				unix: this.path,
				// Half-open: a client may send its requests and shut down its side; it still gets every reply.
				allowHalfOpen: true,
				socket: {
					open: (socket) => {
						socket.data = {
							writes: new WriteQueue(socket),
							pending: [],
							pendingBytes: 0,
							replies: Promise.resolve(),
							refused: false,
							ending: false,
							clientEnded: false,
							closed: false,
						};
						this.connections.add(socket);
					},
					data: (socket, chunk) => this.received(socket, chunk),
					end: (socket) => this.clientDone(socket),
					drain: (socket) => this.flush(socket),
					close: (socket) => {
						socket.data.closed = true;
						this.connections.delete(socket);
					},
					error: (socket) => socket.terminate(),
				},
			});
		} finally {
			process.umask(umask);
		}
		chmodSync(this.path, 0o600);
	}

	/** Closes every connection and removes the socket file. */
	async stop(): Promise<void> {
		const server = this.server;
		this.server = undefined;
		if (!server) return;
		for (const socket of this.connections) socket.terminate();
		server.stop(true);
		try {
			unlinkSync(this.path);
		} catch {
			// already gone: nothing to clean up
		}
	}

	private received(socket: Socket<Connection>, chunk: Buffer): void {
		const c = socket.data;
		if (c.refused) return;
		let start = 0;
		for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
			const part = chunk.subarray(start, newline);
			if (c.pendingBytes + part.length > MAX_LINE) {
				this.refuse(socket);
				return;
			}
			this.request(socket, [...c.pending, part]);
			c.pending = [];
			c.pendingBytes = 0;
			start = newline + 1;
		}
		// Copied: Bun reuses the chunk's memory for the next read.
		const rest = Buffer.from(chunk.subarray(start));
		c.pending.push(rest);
		c.pendingBytes += rest.length;
		if (c.pendingBytes > MAX_LINE) this.refuse(socket);
	}

	private request(socket: Socket<Connection>, bytes: Buffer[]): void {
		const line = Buffer.concat(bytes).toString("utf8").trim();
		if (!line) return;
		const c = socket.data;
		c.replies = c.replies.then(async () => {
			const result = await answer(line, this.handle);
			if (!c.closed) this.write(socket, replyLine(result));
		});
	}

	private refuse(socket: Socket<Connection>): void {
		const c = socket.data;
		const error: ErrorReply = {
			status: UbusStatus.INVALID_ARGUMENT,
			error: `request longer than ${MAX_LINE} bytes`,
		};
		// No way to find the next request in an endless line: answer, then close this connection.
		c.refused = true;
		c.pending = [];
		c.replies = c.replies.then(() => {
			this.write(socket, encoder.encode(`${JSON.stringify(error)}\n`));
			this.endWhenWritten(socket);
		});
	}

	/** The client is done sending: a last line without its newline is a request too. */
	private clientDone(socket: Socket<Connection>): void {
		const c = socket.data;
		c.clientEnded = true;
		if (!c.refused) this.request(socket, c.pending);
		c.pending = [];
		c.replies = c.replies.then(() => this.endWhenWritten(socket));
	}

	private write(socket: Socket<Connection>, bytes: Uint8Array): void {
		if (!socket.data.writes.push(bytes)) socket.terminate();
	}

	private endWhenWritten(socket: Socket<Connection>): void {
		socket.data.ending = true;
		this.flush(socket);
	}

	private flush(socket: Socket<Connection>): void {
		const c = socket.data;
		if (!c.writes.flush()) socket.terminate();
		else if (c.ending && c.writes.empty && !c.closed) {
			// A client still sending (a refused line) gets the end of the stream and can read the
			// reply; the connection closes once it has shut down its side too.
			if (c.clientEnded) socket.end();
			else socket.shutdown();
		}
	}
}

/** Whether a process listens on the unix socket at `path`. */
async function listening(path: string): Promise<boolean> {
	try {
		const probe = await Bun.connect({ unix: path, socket: { data() {} } });
		probe.terminate();
		return true;
	} catch {
		return false;
	}
}

/** A socket file nobody listens on is left over from a daemon that died: remove it. */
async function removeStaleSocket(path: string): Promise<void> {
	let isSocket: boolean;
	try {
		isSocket = lstatSync(path).isSocket();
	} catch {
		return;
	}
	if (!isSocket) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
	if (await listening(path)) throw new Error(`another daemon is listening on ${path}`);
	unlinkSync(path);
}

/**
 * Calls one method over the control socket at `path`. Connection problems reject, with the
 * system's code (ENOENT: no socket file; ECONNREFUSED: nobody listens on it).
 */
export async function callControlSocket(
	path: string,
	method: string,
	args: Record<string, unknown> = {},
	timeoutMs = 60_000,
): Promise<CallResult> {
	let done: { resolve(line: string): void; reject(e: Error): void } | undefined;
	const replied = new Promise<string>((resolve, reject) => {
		done = { resolve, reject };
	});
	let text = "";
	const decoder = new TextDecoder();
	let writes: WriteQueue | undefined;
	const writeFailed = () => done?.reject(new Error(`writing to ${path} failed`));
	const socket = await Bun.connect({
		unix: path,
		socket: {
			data: (_socket, chunk) => {
				text += decoder.decode(chunk, { stream: true });
				const newline = text.indexOf("\n");
				if (newline >= 0) done?.resolve(text.slice(0, newline));
			},
			drain: () => {
				if (writes?.flush() === false) writeFailed();
			},
			end: () => done?.reject(new Error(`${path} closed the connection without a reply`)),
			close: () => done?.reject(new Error(`${path} closed the connection without a reply`)),
			error: (_socket, e) => done?.reject(e),
		},
	});
	writes = new WriteQueue(socket);
	const timer = setTimeout(
		() => done?.reject(new Error(`no reply from ${path} within ${timeoutMs / 1000} s`)),
		timeoutMs,
	);
	try {
		if (!writes.push(encoder.encode(`${JSON.stringify({ method, args })}\n`))) writeFailed();
		return parseReply(await replied);
	} finally {
		clearTimeout(timer);
		socket.end();
	}
}

const Reply = z.union([
	z.object({ result: z.record(z.string(), z.unknown()) }),
	z.object({ status: z.int(), error: z.string(), field: z.optional(z.string()) }),
]);

function parseReply(line: string): CallResult {
	const reply = Reply.parse(JSON.parse(line));
	return "result" in reply ? { ok: true, result: reply.result } : { ok: false, error: reply };
}
