// What every benchmark module gives bench/main.ts, and helpers they share.
import { readFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { IDLE_MS } from "../controller/src/daemon/garbage";
import { waitFor } from "../test-vm/lib/wait";

/** One benchmark: runs, prints progress to stderr, returns its section of bench/results.md. */
export type Bench = { name: string; run: () => Promise<string> };

export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2
		? (sorted[mid] as number)
		: ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The `p`th percentile of `values`: the sorted value at index ⌊p·n/100⌋ (NaN for none). */
export function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function machine(): string {
	const cpu = cpus()[0]?.model ?? "unknown CPU";
	return `${cpus().length} CPUs (nproc), ${cpu}, Linux ${release()}`;
}

export const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

/**
 * Drops `file`'s pages from the page cache (GNU dd: `nocache` with `count=0` drops the whole
 * file), so that a program measured next has its pages come in by its own faults, as on a
 * router. A file just written or read whole is cached in large folios, and a fault maps the
 * whole folio: the daemon measured 49 MB resident right after `make build` and 44–45 MB after
 * this, the one-line Bun program 19 MB after `cat` and 13 MB after this.
 */
export function dropFromPageCache(file: string): void {
	const r = Bun.spawnSync(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"], {
		stderr: "pipe",
	});
	if (r.exitCode !== 0)
		throw new Error(`dd could not drop ${file} from the page cache: ${r.stderr.toString()}`);
}

/** Megabytes of a /proc/PID/status field (VmRSS, VmHWM, RssAnon, RssFile). */
export function memoryMB(pid: number, field: "VmRSS" | "VmHWM" | "RssAnon" | "RssFile"): number {
	const line = readFileSync(`/proc/${pid}/status`, "utf8")
		.split("\n")
		.find((l) => l.startsWith(`${field}:`));
	return Number(/(\d+)/.exec(line ?? "")?.[1] ?? Number.NaN) / 1024;
}

/** A process's resident memory once it has stopped moving (garbage collection settles it). */
export async function idleMB(pid: number): Promise<number> {
	let last = memoryMB(pid, "VmRSS");
	let steady = 0;
	await waitFor(
		`the memory of process ${pid} to settle`,
		async () => {
			const now = memoryMB(pid, "VmRSS");
			steady = Math.abs(now - last) < 0.5 ? steady + 1 : 0;
			last = now;
			return steady >= 5;
		},
		30_000,
		200,
	);
	return last;
}

/**
 * The daemon's idle memory: IDLE_MS after its last change it releases its compiled code
 * (daemon/garbage.ts), then settles. Waited by the clock: asking the daemon whether it has
 * released would run code, and keep it.
 */
export async function daemonIdleMB(pid: number): Promise<number> {
	await Bun.sleep(IDLE_MS + 1000);
	return idleMB(pid);
}
