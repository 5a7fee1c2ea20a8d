// Control-plane benchmarks: `portrig daemon` in the lab router (fw4's ruleset loaded) with 1 and
// with 10,000 forwards in its config.
//  - add_forward, update_forward, delete_forward over the control socket: request → reply, and
//    for add and update request → first answered connection from a WAN host to the new port;
//  - the daemon's resident memory: idle after start, peak during the 60 consecutive adds (the
//    kernel's high-water mark, reset before them), idle after them;
//  - `reload` of the whole file: time to the reply and peak memory;
//  - the config side alone (config-store.ts), to tell its share from the data plane's.
// Times are wall clock on this machine, memory from /proc/PID/status (VmRSS, VmHWM), with the
// binary dropped from the page cache before each start (bench.ts: dropFromPageCache).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { callControlSocket } from "../controller/src/api/control-socket";
import { PORTRIG, type RunningDaemon, startDaemon } from "../test-vm/lib/daemon";
import { ADDR, Lab, LineReader, type Proc, REPO } from "../test-vm/lib/lab";
import { type Bench, daemonIdleMB, dropFromPageCache, memoryMB, percentile, progress } from "./bench";
import { storeCost, storeTable, uciForwards } from "./config-store";

const SIZES = [1, 10_000];
const ADDS = 60;
/** Update and delete samples (each on one of the forwards just added). */
const CHANGES = 30;
const BUN = join(REPO, "node_modules", ".bin", "bun");

/** Starts a new high-water mark of the process's resident memory (proc(5): clear_refs 5). */
function resetPeak(pid: number): void {
	writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

type Timed = { reply: number[]; effect: number[] };

/** A WAN host that tries a port of the router until it answers (await-open.ts), one per daemon. */
type Waiter = { proc: Proc & { proc: Bun.Subprocess }; lines: LineReader };

function startWaiter(lab: Lab): Waiter {
	const proc = lab.spawn("wan1", [BUN, join(import.meta.dir, "await-open.ts"), ADDR.router.v4], {
		stdout: "pipe",
	});
	return { proc, lines: new LineReader(proc.proc.stdout as ReadableStream<Uint8Array>) };
}

/** Runs `call` while the waiter tries `port`; the reply time and the first answered connection. */
async function timedEffect(
	waiter: Waiter,
	daemon: RunningDaemon,
	port: number,
	call: () => Promise<unknown>,
	into: Timed,
): Promise<void> {
	const stdin = waiter.proc.proc.stdin as import("bun").FileSink;
	stdin.write(`${port} 30000\n`);
	stdin.flush();
	if ((await waiter.lines.next(10_000)) !== "ready") throw new Error("the connection waiter did not start");
	const t0 = Date.now();
	await call();
	into.reply.push(Date.now() - t0);
	const answered = Number(await waiter.lines.next(31_000));
	if (!(answered > 0)) throw new Error(`port ${port} never answered (daemon ${daemon.pid})`);
	into.effect.push(answered - t0);
}

async function ok(socket: string, method: string, args: Record<string, unknown>) {
	const r = await callControlSocket(socket, method, args);
	if (!r.ok) throw new Error(`${method} failed: ${JSON.stringify(r.error)}`);
	return r.result;
}

type SizeResult = {
	size: number;
	startS: number;
	idleMB: number;
	/** One add_forward once the daemon has been idle and released its compiled code. */
	firstAdd: Timed;
	add: Timed;
	addPeakMB: number;
	afterChangesMB: number;
	update: Timed;
	remove: number[];
	reloadMs: number;
	reloadPeakMB: number;
};

async function measure(lab: Lab, size: number): Promise<SizeResult> {
	dropFromPageCache(PORTRIG);
	const started = performance.now();
	const daemon = await startDaemon(lab, uciForwards(size), { timeoutMs: 180_000 });
	const startS = (performance.now() - started) / 1000;
	const socket = daemon.controlSocket;
	const waiter = startWaiter(lab);
	try {
		if (!readFileSync(`/proc/${daemon.pid}/cmdline`, "utf8").includes("daemon"))
			throw new Error(`process ${daemon.pid} is not the daemon`);
		const idle = await daemonIdleMB(daemon.pid);
		progress(`${size} forwards: started in ${startS.toFixed(1)} s, idle ${idle.toFixed(0)} MB`);

		const add: Timed = { reply: [], effect: [] };
		const ids: string[] = [];
		const addForward = async (port: number) => {
			const r = (await ok(socket, "add_forward", {
				proto: "tcp",
				src_dport: String(port),
				dest_ip: ADDR.lan1.v4,
				dest_port: "80",
			})) as { id: string };
			return r.id;
		};
		// Idle since its start, its compiled code released: this add compiles its path again. The
		// burst then measured runs as a burst does.
		const firstAdd: Timed = { reply: [], effect: [] };
		await timedEffect(waiter, daemon, 40_000 + ADDS, () => addForward(40_000 + ADDS), firstAdd);
		resetPeak(daemon.pid);
		for (let k = 0; k < ADDS; k++) {
			const port = 40_000 + k;
			await timedEffect(waiter, daemon, port, async () => ids.push(await addForward(port)), add);
		}
		const addPeakMB = memoryMB(daemon.pid, "VmHWM");
		progress(
			`${size} forwards: add p50 reply ${percentile(add.reply, 50)} ms, peak ${addPeakMB.toFixed(0)} MB`,
		);

		const update: Timed = { reply: [], effect: [] };
		for (let k = 0; k < CHANGES; k++) {
			const port = 45_000 + k;
			await timedEffect(
				waiter,
				daemon,
				port,
				() => ok(socket, "update_forward", { id: ids[k], src_dport: String(port) }),
				update,
			);
		}
		const remove: number[] = [];
		for (let k = 0; k < CHANGES; k++) {
			const t0 = Date.now();
			await ok(socket, "delete_forward", { id: ids[k] });
			remove.push(Date.now() - t0);
		}
		const afterChangesMB = await daemonIdleMB(daemon.pid);

		resetPeak(daemon.pid);
		const t0 = Date.now();
		await ok(socket, "reload", {});
		const reloadMs = Date.now() - t0;
		const reloadPeakMB = memoryMB(daemon.pid, "VmHWM");
		progress(`${size} forwards: reload ${reloadMs} ms, peak ${reloadPeakMB.toFixed(0)} MB`);
		return {
			size,
			startS,
			idleMB: idle,
			add,
			addPeakMB,
			afterChangesMB,
			firstAdd,
			update,
			remove,
			reloadMs,
			reloadPeakMB,
		};
	} finally {
		await waiter.proc.stop();
		await daemon.stop();
	}
}

const p = (values: number[], q: number) => percentile(values, q).toFixed(0);

export const controlPlaneBench: Bench = {
	name: "control-plane",
	run: async () => {
		const store = [];
		for (const size of SIZES) store.push(await storeCost(size));
		const lab = await Lab.up();
		const results: SizeResult[] = [];
		try {
			await lab.serve("lan1", "tcp", [80]);
			for (const size of SIZES) results.push(await measure(lab, size));
		} finally {
			await lab.down();
		}
		const n = (size: number) => size.toLocaleString("en");
		return [
			"## Control plane: changes through the API, memory, reload",
			"",
			"`portrig daemon` (the glibc build, `make build`) in the lab router with 1 or 10,000 forwards",
			`in its config. ${ADDS} consecutive \`add_forward\`, then ${CHANGES} \`update_forward\` (a new src_dport)`,
			`and ${CHANGES} \`delete_forward\` over the control socket. Reply = request → reply; effect =`,
			"request → first connection from a WAN host to the new port answered (it tries every 2 ms).",
			"",
			"| forwards | add reply p50 / p99 ms | add effect p50 / p99 ms | update reply p50 / p99 | update effect p50 / p99 | delete reply p50 / p99 |",
			"| --- | ---: | ---: | ---: | ---: | ---: |",
			...results.map(
				(r) =>
					`| ${n(r.size)} | ${p(r.add.reply, 50)} / ${p(r.add.reply, 99)} | ${p(r.add.effect, 50)} / ${p(r.add.effect, 99)} | ${p(r.update.reply, 50)} / ${p(r.update.reply, 99)} | ${p(r.update.effect, 50)} / ${p(r.update.effect, 99)} | ${p(r.remove, 50)} / ${p(r.remove, 99)} |`,
			),
			"",
			...storeTable(store),
			"",
			"Resident memory of the daemon (MB): idle = steady once it has released its compiled code",
			`(daemon/garbage.ts), after the start and after the changes above; peak = high-water mark during`,
			`the ${ADDS} adds (reset before them); first add after idle = an \`add_forward\` before the adds,`,
			"once idle, reply / effect ms (its code is compiled again); reload = `reload` of the whole file,",
			"once idle again, time and peak.",
			"",
			"| forwards | start s | idle MB | peak during adds MB | idle after the changes MB | first add after idle ms | reload ms | reload peak MB |",
			"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
			...results.map(
				(r) =>
					`| ${n(r.size)} | ${r.startS.toFixed(1)} | ${r.idleMB.toFixed(0)} | ${r.addPeakMB.toFixed(0)} | ${r.afterChangesMB.toFixed(0)} | ${r.firstAdd.reply[0]} / ${r.firstAdd.effect[0]} | ${r.reloadMs} | ${r.reloadPeakMB.toFixed(0)} |`,
			),
			"",
		].join("\n");
	},
};
