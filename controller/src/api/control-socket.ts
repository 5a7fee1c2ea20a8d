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
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { z } from "zod";
import { UbusStatus } from "../ubus/status";
import { type ErrorReply, fromZodError } from "./errors";
import type { CallResult } from "./methods";

/** Longest request line accepted, in bytes without its newline: 1 MiB, ubusd's message limit. */
export const MAX_LINE = 1 << 20;

const Request = z.strictObject({
	method: z.string().min(1),
	args: z.record(z.string(), z.unknown()).optional(),
});

export type Handler = (method: string, args: Record<string, unknown>) => Promise<CallResult>;

const replyLine = (r: CallResult) => `${JSON.stringify(r.ok ? { result: r.result } : r.error)}\n`;

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

export class ControlSocketServer {
	private server: Server | undefined;
	private readonly connections = new Set<Socket>();

	constructor(
		readonly path: string,
		private readonly handle: Handler,
	) {}

	/** Listens on `path`, replacing a stale socket file; refuses when a live daemon holds it. */
	async start(): Promise<void> {
		await removeStaleSocket(this.path);
		// Half-open: a client may send its requests and shut down its side; it still gets every reply.
		const server = createServer({ allowHalfOpen: true }, (socket) => this.serve(socket));
		// umask makes the socket 0600 from its first instant; chmod states it once more.
		const umask = process.umask(0o177);
		try {
			await new Promise<void>((resolve, reject) => {
				server.once("error", reject);
				server.listen(this.path, () => {
					server.off("error", reject);
					resolve();
				});
			});
		} finally {
			process.umask(umask);
		}
		chmodSync(this.path, 0o600);
		this.server = server;
	}

	/** Closes every connection and removes the socket file. */
	async stop(): Promise<void> {
		const server = this.server;
		this.server = undefined;
		if (!server) return;
		for (const socket of this.connections) socket.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
		try {
			unlinkSync(this.path);
		} catch {
			// already gone: nothing to clean up
		}
	}

	private serve(socket: Socket): void {
		this.connections.add(socket);
		// Bytes of the request line being received (before its newline), and how many.
		let pending: Buffer[] = [];
		let pendingBytes = 0;
		// Requests of one connection are answered one after the other, in order.
		let queue = Promise.resolve();
		let refused = false;
		const request = (bytes: Buffer[]) => {
			const line = Buffer.concat(bytes).toString("utf8").trim();
			if (line) queue = queue.then(() => this.reply(socket, line));
		};
		const refuse = () => {
			const error: ErrorReply = {
				status: UbusStatus.INVALID_ARGUMENT,
				error: `request longer than ${MAX_LINE} bytes`,
			};
			// No way to find the next request in an endless line: answer, then close this connection.
			refused = true;
			pending = [];
			queue = queue.then(() => {
				socket.end(`${JSON.stringify(error)}\n`);
			});
		};
		socket.on("data", (chunk: Buffer) => {
			if (refused) return;
			let start = 0;
			for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
				const part = chunk.subarray(start, newline);
				if (pendingBytes + part.length > MAX_LINE) return refuse();
				request([...pending, part]);
				pending = [];
				pendingBytes = 0;
				start = newline + 1;
			}
			const rest = chunk.subarray(start);
			pending.push(rest);
			pendingBytes += rest.length;
			if (pendingBytes > MAX_LINE) refuse();
		});
		socket.on("end", () => {
			// The client is done sending: a last line without its newline is a request too.
			if (!refused) request(pending);
			pending = [];
			queue = queue.then(() => {
				socket.end();
			});
		});
		socket.on("error", () => socket.destroy());
		socket.on("close", () => this.connections.delete(socket));
	}

	private async reply(socket: Socket, line: string): Promise<void> {
		const result = await answer(line, this.handle);
		if (!socket.destroyed) socket.write(replyLine(result));
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
	const live = await new Promise<boolean>((resolve) => {
		const probe = createConnection(path);
		probe.once("connect", () => {
			probe.destroy();
			resolve(true);
		});
		probe.once("error", () => resolve(false));
	});
	if (live) throw new Error(`another daemon is listening on ${path}`);
	unlinkSync(path);
}

/** Calls one method over the control socket at `path`. Connection problems reject. */
export function callControlSocket(
	path: string,
	method: string,
	args: Record<string, unknown> = {},
	timeoutMs = 60_000,
): Promise<CallResult> {
	return new Promise((resolve, reject) => {
		const socket = createConnection(path);
		let buffered = "";
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`no reply from ${path} within ${timeoutMs / 1000} s`));
		}, timeoutMs);
		const fail = (e: Error) => {
			clearTimeout(timer);
			socket.destroy();
			reject(e);
		};
		socket.setEncoding("utf8");
		socket.once("connect", () => socket.write(`${JSON.stringify({ method, args })}\n`));
		socket.on("data", (chunk: string) => {
			buffered += chunk;
			const newline = buffered.indexOf("\n");
			if (newline < 0) return;
			clearTimeout(timer);
			socket.end();
			try {
				resolve(parseReply(buffered.slice(0, newline)));
			} catch (e) {
				reject(e);
			}
		});
		socket.once("error", fail);
		socket.once("end", () => {
			if (!buffered.includes("\n")) fail(new Error(`${path} closed the connection without a reply`));
		});
	});
}

const Reply = z.union([
	z.object({ result: z.record(z.string(), z.unknown()) }),
	z.object({ status: z.number().int(), error: z.string(), field: z.string().optional() }),
]);

function parseReply(line: string): CallResult {
	const reply = Reply.parse(JSON.parse(line));
	return "result" in reply ? { ok: true, result: reply.result } : { ok: false, error: reply };
}
