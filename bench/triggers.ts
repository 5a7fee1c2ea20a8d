// Trigger benchmark in the lab (test-vm/), `portrig daemon` in the router with one trigger
// (tcp 7008 opens tcp 7108), fw4's ruleset loaded:
//  - success rate: lan1 connects to wan1:7008; the moment wan1 sees that SYN on a raw socket
//    it waits 0, 1 or 5 ms and connects to the router's 7108 (bench/triggers-agent.ts). Success:
//    lan1 answers. The opening is flushed before every trial, so only the trigger SYN can open it.
//  - trigger → open: the kernel opens from the trigger SYN itself; the time from lan1's
//    connect() to wan1 seeing that SYN bounds when the opening was in place (it was there
//    before the SYN left the router whenever the 0 ms connect-back succeeds). And the time until
//    the daemon lists the opening (`openings` over the control socket), from ctnetlink events.
import { join } from "node:path";
import { callControlSocket } from "../controller/src/api/control-socket";
import { LAB_GLOBALS, type RunningDaemon, startDaemon } from "../test-vm/lib/daemon";
import { ADDR, Lab, LineReader } from "../test-vm/lib/lab";
import { type Bench, percentile, progress } from "./bench";
import { monotonicNs } from "./triggers-agent";

const AGENT = join(import.meta.dir, "triggers-agent.ts");
const TRIALS = 1000;
const DELAYS_MS = [0, 1, 5];
const DAEMON_SAMPLES = 50;
const TRIGGER_PORT = 7008;
const OPEN_PORT = 7108;

const CONFIG = `${LAB_GLOBALS}
config trigger 'bench'
	option name 'Bench'
	option trigger_port '${TRIGGER_PORT}'
	list open_port '${OPEN_PORT}'
`;
// The opening's map, key set and owner set (ruleset/triggers.ts).
const FLUSH = `flush map inet portrig tr_bench_4
flush set inet portrig tr_bench_4k
flush set inet portrig tr_bench_4o
`;

type Agent = {
	send(line: string): Promise<void>;
	next(): Promise<Record<string, unknown>>;
	stop(): Promise<void>;
};

function agent(lab: Lab, node: "wan1" | "lan1", args: string[]): Agent {
	const p = lab.spawn(node, [process.execPath, AGENT, ...args], { stdout: "pipe" });
	const lines = new LineReader(p.proc.stdout as ReadableStream<Uint8Array>);
	const stdin = p.proc.stdin as import("bun").FileSink;
	// An agent that dies fails the bench: a flush to its closed stdin never settled, and the
	// bench waited forever (seen once, when Bun crashed while starting an agent).
	const died = p.exited.then((code) => {
		throw new Error(`the ${args[0]} agent on ${node} exited with code ${code}`);
	});
	died.catch(() => {});
	const unlessDied = <T>(work: T | Promise<T>) => Promise.race([work, died]);
	return {
		send: async (line) => {
			stdin.write(`${line}\n`);
			await unlessDied(stdin.flush());
		},
		next: async () => JSON.parse((await unlessDied(lines.next(10_000))) ?? "{}") as Record<string, unknown>,
		stop: () => p.stop(),
	};
}

type DelayResult = { delay: number; ok: number; transit: number[] };

async function successRate(lab: Lab, trigger: Agent, delay: number): Promise<DelayResult> {
	const back = agent(lab, "wan1", [
		"back",
		String(TRIGGER_PORT),
		ADDR.router.v4,
		String(OPEN_PORT),
		String(delay),
	]);
	try {
		if (!(await back.next()).ready) throw new Error("the connect-back agent did not start");
		let ok = 0;
		const transit: number[] = [];
		for (let i = 0; i < TRIALS; i++) {
			await lab.exec("router", ["nft", "-f", "-"], { input: FLUSH });
			await trigger.send("go");
			const sent = await trigger.next();
			const seen = await back.next();
			if (seen.ok === true && String(seen.answer).startsWith(`lan1 tcp ${OPEN_PORT}`)) ok++;
			if (seen.seen && sent.at)
				transit.push(Number(BigInt(String(seen.seen)) - BigInt(String(sent.at))) / 1000);
		}
		return { delay, ok, transit };
	} finally {
		await back.stop();
	}
}

/** ms from lan1's connect() until `openings` lists the opening, a fresh opening each time. */
async function daemonLatency(daemon: RunningDaemon, trigger: Agent): Promise<number[]> {
	const out: number[] = [];
	for (let i = 0; i < DAEMON_SAMPLES; i++) {
		await callControlSocket(daemon.controlSocket, "close_opening", { trigger: "bench" });
		const before = monotonicNs();
		await trigger.send("go");
		for (;;) {
			const r = await callControlSocket(daemon.controlSocket, "openings");
			const listed = r.ok && (r.result as { openings: unknown[] }).openings.length > 0;
			if (listed) break;
			if (monotonicNs() - before > 5_000_000_000n) throw new Error("the daemon never listed the opening");
		}
		const sent = await trigger.next();
		out.push(Number(monotonicNs() - BigInt(String(sent.at))) / 1e6);
	}
	return out;
}

async function run(): Promise<string> {
	const lab = await Lab.up();
	try {
		await Promise.all([lab.serve("wan1", "tcp", [TRIGGER_PORT]), lab.serve("lan1", "tcp", [OPEN_PORT])]);
		const daemon = await startDaemon(lab, CONFIG);
		const trigger = agent(lab, "lan1", ["trigger", ADDR.wan1.v4, String(TRIGGER_PORT)]);
		const results: DelayResult[] = [];
		for (const delay of DELAYS_MS) {
			results.push(await successRate(lab, trigger, delay));
			progress(`triggers: ${delay} ms done (${results.at(-1)?.ok}/${TRIALS})`);
		}
		const daemonMs = await daemonLatency(daemon, trigger);
		await trigger.stop();
		await daemon.stop();
		const transit = results.flatMap((r) => r.transit);
		return [
			"## Port triggering: inbound right after the trigger SYN",
			"",
			`lan1 connects to wan1's trigger port; the moment wan1 sees that SYN (raw socket) it waits the`,
			`delay and connects to the router's open port. The opening is flushed before each of the`,
			`${TRIALS} trials per delay, so only the trigger SYN itself can open it.`,
			"",
			"| connect-back delay after the SYN reached wan1 | answered by lan1 |",
			"| --- | ---: |",
			...results.map((r) => `| ${r.delay} ms | ${r.ok}/${TRIALS} |`),
			"",
			"Trigger to open: the kernel opens in the trigger SYN's own path through the router, before",
			"it leaves; lan1's connect() → wan1 seeing that SYN (an upper bound of the time to open):",
			`p50 ${percentile(transit, 50).toFixed(0)} µs, p99 ${percentile(transit, 99).toFixed(0)} µs over ${transit.length} trials.`,
			`lan1's connect() → the daemon lists the opening (ctnetlink event, nft read), ${DAEMON_SAMPLES} samples:`,
			`p50 ${percentile(daemonMs, 50).toFixed(1)} ms, p99 ${percentile(daemonMs, 99).toFixed(1)} ms.`,
			"",
		].join("\n");
	} finally {
		await lab.down();
	}
}

export const triggersBench: Bench = { name: "triggers", run };

if (import.meta.main) console.log(await run());
