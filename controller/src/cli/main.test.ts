// The command line as a user meets it first: no arguments, an unknown command, bad daemon flags,
// and `portrig call` when no daemon is running. Runs the CLI's entry point in a child process, as
// a shell does.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ENTRY = join(import.meta.dir, "main.ts");

let dir: string;
beforeAll(() => {
	dir = mkdtempSync(join(tmpdir(), "portrig-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function portrig(args: string[], env: Record<string, string> = {}) {
	const { PORTRIG_CONTROL_SOCKET: _unset, ...inherited } = process.env;
	const proc = Bun.spawn([process.execPath, ENTRY, ...args], {
		stdout: "pipe",
		stderr: "pipe",
		env: { ...inherited, ...env },
	});
	const [stdout, stderr, code] = await Promise.all([
		new Response(proc.stdout).text(),
		new Response(proc.stderr).text(),
		proc.exited,
	]);
	return { code, stdout, stderr };
}

describe("portrig", () => {
	test("without arguments: the usage on stderr, exit 2", async () => {
		const r = await portrig([]);
		expect(r.code).toBe(2);
		expect(r.stdout).toBe("");
		expect(r.stderr).toContain("Usage:");
		expect(r.stderr).toContain("portrig call METHOD [JSON]");
	});

	test("help: the same usage on stdout, exit 0", async () => {
		const r = await portrig(["help"]);
		expect(r.code).toBe(0);
		expect(r.stdout).toContain("Usage:");
		expect(r.stderr).toBe("");
	});

	test("an unknown command: named, with the usage, exit 2", async () => {
		const r = await portrig(["frobnicate"]);
		expect(r.code).toBe(2);
		expect(r.stderr).toStartWith("portrig: unknown command 'frobnicate'");
	});
});

describe("portrig daemon with bad arguments: usage error naming the argument, exit 2, nothing started", () => {
	test.each([
		[["--colour", "blue"], "unknown option '--colour'"],
		[["--config"], "option '--config' needs a value"],
		[["extra"], "unexpected argument 'extra'"],
		[["--log", "loud"], '--log: Invalid option: expected one of "auto"|"syslog"'],
	])("%p", async (args, message) => {
		const socket = join(dir, "never.sock");
		const r = await portrig(["daemon", "--control-socket", socket, ...args]);
		expect(r.code).toBe(2);
		expect(r.stderr).toStartWith(`portrig daemon: ${message}`);
		expect(r.stderr).toContain("usage: portrig daemon");
		expect(existsSync(socket)).toBe(false);
	});
});

describe("portrig call with no daemon", () => {
	const expectNotRunning = (r: { code: number; stdout: string; stderr: string }, socket: string) => {
		expect(r.code).toBe(1);
		expect(r.stdout).toBe("");
		expect(r.stderr).toStartWith(
			`portrig call: the portrig daemon is not running (nothing listens on ${socket}).`,
		);
		expect(r.stderr).toContain("'service portrig start'");
		expect(r.stderr).toContain("'portrig daemon --config FILE'");
	};

	test("no socket file: says the daemon is not running and how to start it", async () => {
		const socket = join(dir, "none.sock");
		expectNotRunning(await portrig(["call", "status", "--control-socket", socket]), socket);
	});

	test("a socket file nobody listens on (a killed daemon's): the same", async () => {
		const socket = join(dir, "stale.sock");
		writeFileSync(socket, "");
		expectNotRunning(await portrig(["call", "status", "--control-socket", socket]), socket);
	});

	test("the socket from PORTRIG_CONTROL_SOCKET is the one named", async () => {
		const socket = join(dir, "from-env.sock");
		expectNotRunning(await portrig(["call", "list"], { PORTRIG_CONTROL_SOCKET: socket }), socket);
	});
});
