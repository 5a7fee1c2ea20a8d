// `portrig daemon` (the compiled binary) in the lab router, as the end-to-end tests and the
// benchmarks run it: its own config file and control socket, its stderr (the log) captured and
// echoed, `portrig call` against it, signals by PID. The lab ends it with its other processes.
//
//   ensureBuilt();                                        // `make build` when dist/portrig is stale
//   const d = await startDaemon(lab, `${LAB_GLOBALS}…`);  // resolves once `call status` answers
//   await d.call("list", { … });                          // → {code, reply (parsed JSON), stderr}
//   d.signal("SIGHUP"); await d.waitForLog(/reloaded/);   // d.log(): all it logged so far
//   await d.stop();                                       // SIGTERM (SIGKILL after 10 s) → exit code
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Lab, REPO } from "./lab";
import { settlesWithin, waitFor } from "./wait";

export const PORTRIG = join(REPO, "dist", "portrig");

/** The globals section for the lab router's devices (test-vm/lab: WAN eth1, LAN br-lan). */
export const LAB_GLOBALS = `config globals 'globals'
	list wan_device 'eth1'
	list lan_device 'br-lan'
`;

/** The variables procd starts the daemon with: the init script's `procd_set_param env` line. */
export function procdEnv(initScript: string): Record<string, string> {
	const line = initScript.match(/^\s*procd_set_param env (.+)$/m)?.[1] ?? "";
	return Object.fromEntries(
		line
			.split(/\s+/)
			.filter(Boolean)
			.map((word) => {
				const [name = "", ...value] = word.split("=");
				return [name, value.join("=")];
			}),
	);
}

/** The lab runs the daemon as procd does on a router. */
const DAEMON_ENV = procdEnv(
	readFileSync(join(REPO, "openwrt-feed/portrig/files/etc/init.d/portrig"), "utf8"),
);

/** `make build` when dist/portrig is missing or older than its sources (make decides). */
export function ensureBuilt(): void {
	const r = Bun.spawnSync(["make", "-s", "build"], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
	if (r.exitCode !== 0) throw new Error(`make build failed: ${r.stderr.toString()}${r.stdout.toString()}`);
}

/** A `portrig call`: its exit code, its output parsed as JSON (the raw text if it is not), its stderr. */
export type CallReply = { code: number; reply: unknown; stderr: string };

export type RunningDaemon = {
	pid: number;
	/** Holds the config file and the control socket. */
	dir: string;
	configFile: string;
	controlSocket: string;
	/** The exit code, once the process has ended and its log has been read. */
	exited: Promise<number>;
	/** `portrig call METHOD [JSON] --control-socket …` with the compiled binary. */
	call(method: string, args?: unknown): Promise<CallReply>;
	/** Everything the daemon wrote to stderr so far. */
	log(): string;
	/** Resolves once the log matches `pattern`; rejects after `ms`. */
	waitForLog(pattern: RegExp, ms?: number): Promise<void>;
	signal(signal: NodeJS.Signals): void;
	/** SIGTERM, a bounded wait (SIGKILL after it); resolves to the exit code. */
	stop(): Promise<number>;
};

export type DaemonOptions = {
	env?: Record<string, string>;
	/** argv placed before `portrig daemon …` (it must end by exec'ing its arguments). */
	prefix?: string[];
	/** Directory for the config file and socket, e.g. an earlier daemon's to restart it on the same
	 * files; default a fresh one in the lab's directory. */
	dir?: string;
	/** Resolve before the control socket answers (for daemons expected to fail). */
	noWait?: boolean;
	/** How long the control socket may take to answer `status`. */
	timeoutMs?: number;
	/** More arguments for `portrig daemon`. */
	args?: string[];
};

async function portrigCall(socket: string, method: string, args?: unknown): Promise<CallReply> {
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

/** Starts the daemon in the lab's router with `config`; resolves once `status` answers. */
export async function startDaemon(
	lab: Lab,
	config: string,
	opts: DaemonOptions = {},
): Promise<RunningDaemon> {
	const dir = opts.dir ?? mkdtempSync(join(lab.tmp, "daemon-"));
	const configFile = join(dir, "portrig");
	const controlSocket = join(dir, "portrig.sock");
	writeFileSync(configFile, config);
	const argv = [
		...(opts.prefix ?? []),
		PORTRIG,
		"daemon",
		"--config",
		configFile,
		"--control-socket",
		controlSocket,
		"--ubus-socket",
		join(dir, "no-ubus.sock"),
		// One daemon per lock: a daemon restarted on the same directory takes the same one.
		"--lock-file",
		join(dir, "portrig.lock"),
		"--fw4-lock",
		join(dir, "fw4.lock"),
		...(opts.args ?? []),
	];
	const p = lab.spawn("router", argv, {
		stderr: "pipe",
		env: { ...DAEMON_ENV, ...opts.env },
		graceMs: 10_000,
	});
	let text = "";
	const decoder = new TextDecoder();
	const reading = (async () => {
		for await (const chunk of p.proc.stderr as ReadableStream<Uint8Array>) {
			text += decoder.decode(chunk, { stream: true });
			process.stderr.write(chunk);
		}
	})();
	let exitCode: number | undefined;
	const exited = p.exited.then(async (code) => {
		// A child that inherited stderr could hold it open: the log read is bounded.
		await settlesWithin(reading, 2000);
		exitCode = code;
		return code;
	});
	const withLog = (e: unknown) =>
		new Error(`${e instanceof Error ? e.message : String(e)}; its log:\n${text}`);

	const daemon: RunningDaemon = {
		pid: p.pid,
		dir,
		configFile,
		controlSocket,
		exited,
		call: (method, args) => portrigCall(controlSocket, method, args),
		log: () => text,
		waitForLog: async (pattern, ms = 10_000) => {
			await waitFor(`the daemon log to match ${pattern}`, async () => pattern.test(text), ms, 25).catch(
				(e) => {
					throw withLog(e);
				},
			);
		},
		signal: (signal) => p.proc.kill(signal),
		stop: async () => {
			await p.stop();
			return exited;
		},
	};
	if (opts.noWait) return daemon;

	const answers = async () => {
		if (exitCode !== undefined) throw new Error(`portrig daemon exited ${exitCode}`);
		return (await daemon.call("status")).code === 0;
	};
	await waitFor(`portrig daemon to answer on ${controlSocket}`, answers, opts.timeoutMs ?? 15_000).catch(
		async (e) => {
			await daemon.stop();
			throw withLog(e);
		},
	);
	return daemon;
}
