// What every benchmark module gives bench/main.ts, and helpers they share.
import { cpus, release } from "node:os";

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
