// Runs the compiled `portrig daemon` inside a lab node the way the daemon and API tests need it:
// its stderr captured (the log), extra environment (e.g. a PATH whose `nft` fails on demand),
// an optional command prefix (e.g. a private /dev), and signals sent by PID.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Lab, type LabNode, PORTRIG, REPO } from "./lib/lab";

/** `make build` when dist/portrig is missing or older than its sources (make decides). */
export function ensureBuilt(): void {
	const r = Bun.spawnSync(["make", "-s", "build"], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
	if (r.exitCode !== 0) throw new Error(`make build failed: ${r.stderr.toString()}${r.stdout.toString()}`);
}

export type CallReply = { code: number; reply: unknown; stderr: string };

/** `portrig call METHOD JSON --control-socket PATH` with the compiled binary. */
export async function portrigCall(socket: string, method: string, args?: unknown): Promise<CallReply> {
	const argv = [PORTRIG, "call", method, ...(args === undefined ? [] : [JSON.stringify(args)])];
	const proc = Bun.spawn([...argv, "--control-socket", socket], { stdout: "pipe", stderr: "pipe" });
	const [stdout, stderr, code] = await Promise.all([
		new Response(proc.stdout).text(),
		new Response(proc.stderr).text(),
		proc.exited,
	]);
	const text = code === 0 ? stdout : stderr;
	let reply: unknown = text;
	try {
		reply = JSON.parse(text);
	} catch {}
	return { code, reply, stderr };
}

export type RunningDaemon = {
	pid: number;
	dir: string;
	configFile: string;
	controlSocket: string;
	exited: Promise<number>;
	call(method: string, args?: unknown): Promise<CallReply>;
	/** Everything the daemon wrote to stderr so far. */
	log(): string;
	/** Resolves once the log matches `pattern`; rejects after `ms`. */
	waitForLog(pattern: RegExp, ms?: number): Promise<void>;
	signal(signal: NodeJS.Signals): void;
	/** SIGTERM, bounded wait (SIGKILL after it), the exit code; removes its files. */
	stop(): Promise<number>;
};

export type DaemonOptions = {
	node?: LabNode;
	env?: Record<string, string>;
	/** argv placed before `portrig daemon …` (it must end by exec'ing its arguments). */
	prefix?: string[];
	/** Directory for the config file and socket (kept on stop); default a fresh one, removed on stop. */
	dir?: string;
	/** Resolve before the control socket answers (for daemons expected to fail). */
	noWait?: boolean;
	timeoutMs?: number;
};

const running = new Set<RunningDaemon>();
process.on("exit", () => {
	for (const d of running)
		try {
			process.kill(d.pid, 9);
		} catch {}
});

/** Starts the daemon in the lab's router with `config`; resolves once `status` answers. */
export async function startDaemon(
	lab: Lab,
	config: string,
	opts: DaemonOptions = {},
): Promise<RunningDaemon> {
	const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "portrig-daemon-"));
	const configFile = join(dir, "portrig");
	const controlSocket = join(dir, "portrig.sock");
	writeFileSync(configFile, config);
	const argv = [
		...lab.nsExec(opts.node ?? "router"),
		...(opts.prefix ?? []),
		PORTRIG,
		"daemon",
		"--config",
		configFile,
		"--control-socket",
		controlSocket,
		"--ubus-socket",
		join(dir, "no-ubus.sock"),
	];
	const proc = Bun.spawn(argv, {
		stdin: "ignore",
		stdout: "pipe",
		stderr: "pipe",
		env: { ...process.env, ...opts.env },
	});
	let text = "";
	const decoder = new TextDecoder();
	const reading = (async () => {
		for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
			text += decoder.decode(chunk, { stream: true });
			process.stderr.write(chunk);
		}
	})();
	let exitCode: number | undefined;
	const exited = proc.exited.then(async (code) => {
		// A child that inherited stderr could hold it open: the log read is bounded.
		await Promise.race([reading, Bun.sleep(2000)]);
		exitCode = code;
		return code;
	});

	const daemon: RunningDaemon = {
		pid: proc.pid,
		dir,
		configFile,
		controlSocket,
		exited,
		call: (method, args) => portrigCall(controlSocket, method, args),
		log: () => text,
		waitForLog: async (pattern, ms = 10_000) => {
			const deadline = Date.now() + ms;
			while (!pattern.test(text)) {
				if (Date.now() > deadline) throw new Error(`daemon log never matched ${pattern}:\n${text}`);
				await Bun.sleep(25);
			}
		},
		signal: (signal) => proc.kill(signal),
		stop: async () => {
			running.delete(daemon);
			if (exitCode === undefined) {
				proc.kill("SIGTERM");
				const done = await Promise.race([exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
				if (!done) proc.kill("SIGKILL");
			}
			const code = await exited;
			if (!opts.dir) rmSync(dir, { recursive: true, force: true });
			return code;
		},
	};
	running.add(daemon);
	if (opts.noWait) return daemon;

	const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
	while ((await daemon.call("status")).code !== 0) {
		if (exitCode !== undefined || Date.now() > deadline) {
			await daemon.stop();
			throw new Error(`portrig daemon did not answer on ${controlSocket} (exit ${exitCode}):\n${text}`);
		}
		await Bun.sleep(50);
	}
	return daemon;
}
