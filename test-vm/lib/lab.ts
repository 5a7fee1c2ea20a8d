// Lab helpers for end-to-end tests: a virtual router built by `test-vm/lab` (see that script for
// the topology), real servers and real connections inside its namespaces.
//
//   const lab = await Lab.up();               // fresh namespaces with a unique prefix
//   afterAll(() => lab.down());               // also done at process exit and on SIGINT/SIGTERM
//   await lab.exec("router", ["nft", "list", "ruleset"]);   // → {code, stdout, stderr}; throws on failure
//   lab.nsExec("router")                      // ["ip", "netns", "exec", NS]: a command prefix
//   const s = await lab.serve("lan1", "tcp", [80, 81]);     // answers "lan1 tcp 80 from PEER"; s.stop()
//   await lab.serve("router", "tcp", 80, "192.168.1.1");    // on that address only
//   await lab.probe("wan1", "tcp", "203.0.113.1", 8080)     // → Answer {node, proto, port, from} | null
//   const c = await lab.hold("wan1", "203.0.113.1", 8080);  // long-lived TCP: c.first, c.roundTrip("x"), c.close()
//   const p = lab.spawn("router", ["sleep", "60"]);         // any long-lived process: p.pid, p.stop()
//   lab.tmp                                   // a directory for the lab's files, removed by down()
//   await lab.reloadFw4();                    // fw4's ruleset again, as `fw4 reload` loads it
//
// `portrig daemon` in the router: daemon.ts, startDaemon(lab, configText).
// Every process started here is ended by PID on stop()/down(). Waits are bounded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { settlesWithin } from "./wait";

export const NODES = ["wan1", "wan2", "router", "lan1", "lan2"] as const;
export type LabNode = (typeof NODES)[number];
export type Proto = "tcp" | "udp";

/** The lab's addresses (test-vm/lab sets them). */
export const ADDR = {
	wan1: { v4: "203.0.113.2", v6: "2001:db8:ffff::2" },
	wan2: { v4: "203.0.113.3", v6: "2001:db8:ffff::3" },
	router: { v4: "203.0.113.1", v6: "2001:db8:ffff::1", lan4: "192.168.1.1", lan6: "2001:db8:1::1" },
	lan1: { v4: "192.168.1.10", v6: "2001:db8:1::10" },
	lan2: { v4: "192.168.1.11", v6: "2001:db8:1::11" },
} as const;

export const REPO = join(import.meta.dir, "..", "..");
const LAB_SCRIPT = join(REPO, "test-vm", "lab");
const BUN = join(REPO, "node_modules", ".bin", "bun");

export type ExecResult = { code: number; stdout: string; stderr: string };
export class LabCommandError extends Error {
	constructor(
		readonly argv: string[],
		readonly result: ExecResult,
	) {
		super(`${argv.join(" ")} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
	}
}

/** Who answered a probe: the identity line of a responder, parsed. */
export type Answer = { node: string; proto: Proto; port: number; from: string };

export type Proc = { pid: number; exited: Promise<number>; stop(): Promise<void> };

const live = new Set<Lab>();
let hooksInstalled = false;

function installExitHooks(): void {
	if (hooksInstalled) return;
	hooksInstalled = true;
	process.on("exit", () => {
		for (const lab of live) lab.downSync();
	});
	for (const signal of ["SIGINT", "SIGTERM"] as const)
		process.once(signal, () => {
			for (const lab of live) lab.downSync();
			process.exit(130);
		});
}

/** Runs `argv` to its end: exit code, stdout, stderr. `env` adds to this process's environment. */
export async function run(argv: string[], env?: Record<string, string>, input?: string): Promise<ExecResult> {
	const proc = Bun.spawn(argv, {
		stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
		stdout: "pipe",
		stderr: "pipe",
		env: { ...process.env, ...env },
	});
	const [stdout, stderr, code] = await Promise.all([
		new Response(proc.stdout).text(),
		new Response(proc.stderr).text(),
		proc.exited,
	]);
	return { code, stdout, stderr };
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. */
async function stopProcess(
	proc: { pid: number; exited: Promise<number>; kill(s?: number): void },
	graceMs: number,
) {
	proc.kill(15);
	if (!(await settlesWithin(proc.exited, graceMs))) {
		proc.kill(9);
		await proc.exited;
	}
}

/** Reads a byte stream line by line; `next(ms)` gives the next line or null after ms. */
export class LineReader {
	private buffer = "";
	private readonly reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> };
	private readonly decoder = new TextDecoder();
	private pending: Promise<{ done: boolean; value?: Uint8Array }> | undefined;

	constructor(stream: ReadableStream<Uint8Array>) {
		this.reader = stream.getReader();
	}

	async next(ms: number): Promise<string | null> {
		const deadline = Date.now() + ms;
		for (;;) {
			const nl = this.buffer.indexOf("\n");
			if (nl >= 0) {
				const line = this.buffer.slice(0, nl);
				this.buffer = this.buffer.slice(nl + 1);
				return line;
			}
			const left = deadline - Date.now();
			if (left <= 0) return null;
			this.pending ??= this.reader.read();
			const r = await Promise.race([this.pending, Bun.sleep(left).then(() => undefined)]);
			if (r === undefined) return null;
			this.pending = undefined;
			if (r.done) return null;
			this.buffer += this.decoder.decode(r.value, { stream: true });
		}
	}
}

/** A long-lived TCP connection from a node, through a responder that echoes. */
export type HeldConnection = {
	/** The responder's identity line, read when the connection opened. */
	first: Answer;
	/** Sends one line; resolves to the echoed line, or null if nothing came back within `ms`. */
	roundTrip(text: string, ms?: number): Promise<string | null>;
	close(): Promise<void>;
};

export function parseAnswer(line: string): Answer | null {
	const m = /^(\S+) (tcp|udp) (\d+) from (\S+)$/.exec(line.trim());
	if (!m) return null;
	return { node: m[1] as string, proto: m[2] as Proto, port: Number(m[3]), from: m[4] as string };
}

export class Lab {
	private readonly procs = new Set<Proc>();
	/** A directory for this lab's files; down() removes it. */
	readonly tmp: string;
	private isUp = true;

	private constructor(readonly prefix: string) {
		this.tmp = mkdtempSync(join(tmpdir(), `${prefix}-`));
	}

	/** Builds a fresh lab (namespaces "<prefix>-<node>", fw4's ruleset in the router). */
	static async up(): Promise<Lab> {
		installExitHooks();
		const prefix = `t${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
		const r = await run([LAB_SCRIPT, "up"], { LAB_PREFIX: prefix });
		if (r.code !== 0) throw new LabCommandError([LAB_SCRIPT, "up"], r);
		const lab = new Lab(prefix);
		live.add(lab);
		return lab;
	}

	/**
	 * A lab over namespaces "<prefix>-<node>" that the caller made (the QEMU harness wires its
	 * own): serve/probe/hold/spawn work on them, and down() removes them like a lab's.
	 */
	static adopt(prefix: string): Lab {
		installExitHooks();
		const lab = new Lab(prefix);
		live.add(lab);
		return lab;
	}

	ns(node: LabNode): string {
		return `${this.prefix}-${node}`;
	}

	/** Command prefix that runs a command in `node` (also for DataPlane's nft runner). */
	nsExec(node: LabNode): string[] {
		return ["ip", "netns", "exec", this.ns(node)];
	}

	/** Runs argv in `node` (the repo's dist/ leads PATH); throws LabCommandError unless `check` is false. */
	async exec(
		node: LabNode,
		argv: string[],
		opts: { check?: boolean; input?: string } = {},
	): Promise<ExecResult> {
		const full = [...this.nsExec(node), "env", `PATH=${join(REPO, "dist")}:${process.env.PATH}`, ...argv];
		const r = await run(full, undefined, opts.input);
		if (r.code !== 0 && opts.check !== false) throw new LabCommandError(full, r);
		return r;
	}

	/**
	 * Starts a long-lived process in `node` with extra `env`; its output goes to this process's
	 * stdout and stderr unless piped. stop() sends SIGTERM and SIGKILL after `graceMs`.
	 */
	spawn(
		node: LabNode,
		argv: string[],
		opts: {
			stdout?: "pipe" | "inherit";
			stderr?: "pipe" | "inherit";
			env?: Record<string, string>;
			graceMs?: number;
		} = {},
	): Proc & { proc: Bun.Subprocess } {
		const proc = Bun.spawn([...this.nsExec(node), "env", `LAB_NODE=${node}`, ...argv], {
			stdin: "pipe",
			stdout: opts.stdout ?? "inherit",
			stderr: opts.stderr ?? "inherit",
			env: { ...process.env, ...opts.env },
		});
		const handle = {
			proc,
			pid: proc.pid,
			exited: proc.exited,
			stop: async () => {
				this.procs.delete(handle);
				await stopProcess(proc, opts.graceMs ?? 3000);
			},
		};
		this.procs.add(handle);
		return handle;
	}

	/**
	 * Servers on `ports` in `node` answering "NODE PROTO PORT from PEER", on every address or on
	 * `bind` only; resolves once all listen.
	 */
	async serve(node: LabNode, proto: Proto, ports: number | number[], bind?: string): Promise<Proc> {
		const list = Array.isArray(ports) ? ports : [ports];
		const where = bind === undefined ? [] : ["--bind", bind];
		const p = this.spawn(
			node,
			[BUN, join(import.meta.dir, "responder.ts"), node, proto, ...where, ...list.map(String)],
			{ stdout: "pipe" },
		);
		const stdout = p.proc.stdout as ReadableStream<Uint8Array>;
		const line = await new LineReader(stdout).next(10_000);
		if (line !== "ready") {
			await p.stop();
			throw new Error(`responder in ${node} on ${proto} ${list.join(",")} did not start (${line})`);
		}
		return p;
	}

	/**
	 * Connects from `from` to address:port (TCP) or sends a datagram (UDP); resolves to who
	 * answered, or null when nothing did within `timeoutMs` (refused, dropped, unreachable).
	 */
	async probe(
		from: LabNode,
		proto: Proto,
		address: string,
		port: number,
		timeoutMs = 1500,
	): Promise<Answer | null> {
		const r = await this.exec(
			from,
			[BUN, join(import.meta.dir, "prober.ts"), proto, address, String(port), String(timeoutMs)],
			{ check: false },
		);
		return r.code === 0 ? parseAnswer(r.stdout) : null;
	}

	/** Opens a TCP connection from `from` that stays open until close(); the server must echo (serve()). */
	async hold(from: LabNode, address: string, port: number, timeoutMs = 3000): Promise<HeldConnection> {
		const target = address.includes(":") ? `TCP6:[${address}]:${port}` : `TCP4:${address}:${port}`;
		const p = this.spawn(from, ["socat", "-", `${target},connect-timeout=${timeoutMs / 1000}`], {
			stdout: "pipe",
		});
		const lines = new LineReader(p.proc.stdout as ReadableStream<Uint8Array>);
		const first = parseAnswer((await lines.next(timeoutMs)) ?? "");
		if (!first) {
			await p.stop();
			throw new Error(`no connection from ${from} to ${address}:${port}`);
		}
		const stdin = p.proc.stdin as import("bun").FileSink;
		return {
			first,
			roundTrip: async (text, ms = 3000) => {
				stdin.write(`${text}\n`);
				await stdin.flush();
				return lines.next(ms);
			},
			close: () => p.stop(),
		};
	}

	/** Loads fw4's ruleset in the router again (with portrig's include), as `fw4 reload` does. */
	async reloadFw4(): Promise<void> {
		const r = await run([LAB_SCRIPT, "fw4"], { LAB_PREFIX: this.prefix });
		if (r.code !== 0) throw new LabCommandError([LAB_SCRIPT, "fw4"], r);
	}

	/** Stops every process started here, then removes the namespaces. Idempotent. */
	async down(): Promise<void> {
		if (!this.isUp) return;
		await Promise.all([...this.procs].map((p) => p.stop()));
		this.downSync();
	}

	/** The synchronous teardown used at process exit. */
	downSync(): void {
		if (!this.isUp) return;
		this.isUp = false;
		live.delete(this);
		for (const p of this.procs)
			try {
				process.kill(p.pid, 9);
			} catch {}
		this.procs.clear();
		Bun.spawnSync([LAB_SCRIPT, "down"], { env: { ...process.env, LAB_PREFIX: this.prefix } });
		rmSync(this.tmp, { recursive: true, force: true });
	}
}
