import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UbusStatus } from "../ubus/status";
import { ControlSocketServer, callControlSocket, MAX_LINE } from "./control-socket";

const dir = mkdtempSync(join(tmpdir(), "portrig-control-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Answers `echo` with its args, anything else NOT_FOUND. */
const echo = async (method: string, args: Record<string, unknown>) =>
	method === "echo"
		? { ok: true as const, result: { method, args } }
		: { ok: false as const, error: { status: UbusStatus.NOT_FOUND, error: `no ${method}` } };

/** Sends raw lines on one connection and collects `count` reply lines. */
function exchange(path: string, payload: string, count: number): Promise<unknown[]> {
	return new Promise((resolve, reject) => {
		const socket = createConnection(path);
		let text = "";
		const timer = setTimeout(() => reject(new Error(`timeout; got ${text}`)), 5000);
		socket.setEncoding("utf8");
		socket.on("connect", () => socket.write(payload));
		socket.on("data", (chunk: string) => {
			text += chunk;
			const lines = text.split("\n").filter(Boolean);
			if (lines.length >= count) {
				clearTimeout(timer);
				socket.end();
				resolve(lines.map((l) => JSON.parse(l)));
			}
		});
		socket.on("error", reject);
	});
}

describe("control socket", () => {
	const path = join(dir, "ctl.sock");
	const server = new ControlSocketServer(path, echo);
	beforeAll(() => server.start());
	afterAll(() => server.stop());

	test("the socket file is mode 0600", () => {
		expect(statSync(path).mode & 0o777).toBe(0o600);
	});

	test("a call gets the handler's result; an error reply keeps status, error and field", async () => {
		expect(await callControlSocket(path, "echo", { a: 1 })).toEqual({
			ok: true,
			result: { method: "echo", args: { a: 1 } },
		});
		expect(await callControlSocket(path, "other")).toEqual({
			ok: false,
			error: { status: UbusStatus.NOT_FOUND, error: "no other" },
		});
	});

	test("malformed lines get error replies and the connection keeps serving, in order", async () => {
		const replies = await exchange(
			path,
			'not json\n{"args":{}}\n{"method":"echo","args":[1]}\n{"method":"echo","extra":1}\n{"method":""}\n{"method":"echo"}\n',
			6,
		);
		expect(replies).toEqual([
			{ status: UbusStatus.PARSE_ERROR, error: expect.stringContaining("request is not JSON") },
			{ status: UbusStatus.INVALID_ARGUMENT, error: "method: is required", field: "method" },
			{
				status: UbusStatus.INVALID_ARGUMENT,
				error: expect.stringContaining("args: has the wrong type"),
				field: "args",
			},
			{ status: UbusStatus.INVALID_ARGUMENT, error: "unknown field 'extra'", field: "extra" },
			// zod's own English message (controller/src/zod.ts), not a bare "Invalid input".
			{
				status: UbusStatus.INVALID_ARGUMENT,
				error: "method: Too small: expected string to have >=1 characters",
				field: "method",
			},
			{ result: { method: "echo", args: {} } },
		]);
	});

	test("a request split across writes is reassembled", async () => {
		const replies = await new Promise<string>((resolve, reject) => {
			const socket = createConnection(path);
			socket.setEncoding("utf8");
			socket.on("connect", () => {
				socket.write('{"method":"ec');
				setTimeout(() => socket.write('ho","args":{"x":"y"}}\n'), 50);
			});
			socket.on("data", (chunk: string) => {
				socket.end();
				resolve(chunk);
			});
			socket.on("error", reject);
		});
		expect(JSON.parse(replies)).toEqual({ result: { method: "echo", args: { x: "y" } } });
	});

	test("a client that sends and then shuts down its side still gets every reply, a last line without newline too", async () => {
		const replies = await new Promise<string>((resolve, reject) => {
			const socket = createConnection({ path, allowHalfOpen: true });
			let text = "";
			socket.setEncoding("utf8");
			socket.on("connect", () =>
				socket.end('{"method":"echo","args":{"n":1}}\n{"method":"echo","args":{"n":2}}'),
			);
			socket.on("data", (chunk: string) => {
				text += chunk;
			});
			socket.on("end", () => resolve(text));
			socket.on("error", reject);
		});
		expect(
			replies
				.trim()
				.split("\n")
				.map((l) => JSON.parse(l)),
		).toEqual([
			{ result: { method: "echo", args: { n: 1 } } },
			{ result: { method: "echo", args: { n: 2 } } },
		]);
	});

	test("an endless line is refused and that connection closed; the server keeps serving", async () => {
		const reply = await new Promise<string>((resolve, reject) => {
			const socket = createConnection(path);
			let text = "";
			socket.setEncoding("utf8");
			socket.on("connect", () => socket.write("x".repeat(1.5 * 1024 * 1024)));
			socket.on("data", (chunk: string) => {
				text += chunk;
			});
			socket.on("close", () => resolve(text));
			socket.on("error", reject);
		});
		expect(JSON.parse(reply)).toMatchObject({
			status: UbusStatus.INVALID_ARGUMENT,
			error: expect.stringContaining("longer than"),
		});
		expect((await callControlSocket(path, "echo")).ok).toBe(true);
	});

	test("the request limit is exact, in bytes: a 1 MiB line is answered, one byte more is refused", async () => {
		/** A request for `nosuch` of exactly `bytes` bytes of UTF-8 (before its newline), padded with 2-byte 'é'. */
		const line = (bytes: number) => {
			const head = '{"method":"nosuch","args":{"pad":"';
			const tail = '"}}';
			const room = bytes - head.length - tail.length;
			const text = `${head}${"é".repeat(Math.floor(room / 2))}${"x".repeat(room % 2)}${tail}`;
			expect(Buffer.byteLength(text)).toBe(bytes);
			return `${text}\n`;
		};
		/** Sends `payload` and half-closes; resolves to every reply line once the server closes. */
		const send = (payload: string) =>
			new Promise<unknown[]>((resolve) => {
				const socket = createConnection(path);
				let text = "";
				socket.setEncoding("utf8");
				socket.on("connect", () => socket.end(payload));
				socket.on("data", (chunk: string) => {
					text += chunk;
				});
				// Writing the last bytes of a refused line may fail once the server has closed (EPIPE).
				socket.on("error", () => {});
				socket.on("close", () =>
					resolve(
						text
							.split("\n")
							.filter(Boolean)
							.map((l) => JSON.parse(l)),
					),
				);
			});
		const answered = { status: UbusStatus.NOT_FOUND, error: "no nosuch" };
		expect(await send(line(MAX_LINE))).toEqual([answered]);
		expect(await send(line(MAX_LINE + 1))).toEqual([
			{ status: UbusStatus.INVALID_ARGUMENT, error: `request longer than ${MAX_LINE} bytes` },
		]);
		expect(await send(line(MAX_LINE) + line(100))).toEqual([answered, answered]);
	});

	test("a request and a reply several times the socket's buffer arrive whole", async () => {
		// 900 kB each way: the kernel takes a few hundred kB at a time, the rest waits for drain.
		const big = "é".repeat(450_000);
		expect(await callControlSocket(path, "echo", { big })).toEqual({
			ok: true,
			result: { method: "echo", args: { big } },
		});
	});

	test("a second server on a live socket refuses to start and leaves it working", async () => {
		await expect(new ControlSocketServer(path, echo).start()).rejects.toThrow("another daemon is listening");
		expect((await callControlSocket(path, "echo")).ok).toBe(true);
	});
});

describe("control socket files", () => {
	test("a stale socket file (nobody listening) is replaced", async () => {
		const path = join(dir, "stale.sock");
		// A process that exits without closing its server leaves the file behind, as a killed daemon does.
		const script = `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`;
		expect(Bun.spawnSync([process.execPath, "-e", script]).exitCode).toBe(0);
		expect(existsSync(path)).toBe(true);
		const server = new ControlSocketServer(path, echo);
		try {
			await server.start();
			expect((await callControlSocket(path, "echo")).ok).toBe(true);
		} finally {
			await server.stop();
		}
	});

	test("stop removes the socket file", async () => {
		const path = join(dir, "stop.sock");
		const server = new ControlSocketServer(path, echo);
		await server.start();
		await server.stop();
		expect(existsSync(path)).toBe(false);
	});

	test("a regular file in the way is not deleted", async () => {
		const path = join(dir, "file.sock");
		writeFileSync(path, "data");
		await expect(new ControlSocketServer(path, echo).start()).rejects.toThrow("is not a socket");
		expect(existsSync(path)).toBe(true);
	});

	test("calling a missing socket rejects with the system's reason", async () => {
		await expect(callControlSocket(join(dir, "absent.sock"), "status")).rejects.toMatchObject({
			code: "ENOENT",
		});
	});
});
