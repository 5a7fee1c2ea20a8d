// The config side of API changes alone, in this process (ConfigStore, no data plane): how a
// change's cost grows with the size of the file. Validate + edit (the mutation: the change
// checked against the config in memory, the UCI document edited) is timed apart from the
// commit (lock, write to a temporary file, fsync, rename, fsync of the directory), at the end
// of the file (an add, an update and a delete of the forwards just added) and in its middle
// (an update and a delete of forwards of the original file). Also: the time of the load
// (ConfigStore.open) and what the store holds on the JS heap after a full garbage collection.
import { heapStats } from "bun:jsc";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ConfigStore, type MutationResult } from "../controller/src/config/store";
import { LAB_GLOBALS } from "../test-vm/lib/daemon";
import { ADDR } from "../test-vm/lib/lab";
import { median, percentile } from "./bench";

const FIRST_PORT = 10_000;
/** Changes of each kind, and loads timed. */
const CHANGES = 30;
const LOADS = 3;

/** `n` forwards, tcp FIRST_PORT… → lan1:80, as a UCI file. */
export function uciForwards(n: number): string {
	const forwards = Array.from(
		{ length: n },
		(_, i) =>
			`\nconfig forward 'f${i}'\n\toption proto 'tcp'\n\toption src_dport '${FIRST_PORT + i}'\n\toption dest_ip '${ADDR.lan1.v4}'\n\toption dest_port '80'\n`,
	);
	return LAB_GLOBALS + forwards.join("");
}

/** Validate + edit and commit times (ms) of one kind of change. */
type Costs = { change: number[]; commit: number[] };
const costs = (): Costs => ({ change: [], commit: [] });

export type StoreResult = {
	size: number;
	loadMs: number;
	/** Bytes and cells on the JS heap that the opened store holds. */
	heapBytes: number;
	heapObjects: number;
	add: Costs;
	updateEnd: Costs;
	deleteEnd: Costs;
	updateMiddle: Costs;
	deleteMiddle: Costs;
};

type Heap = { bytes: number; objects: number };

async function heap(): Promise<Heap> {
	// A few full collections, each from the event loop (nothing of the caller left on the stack,
	// which the collector scans conservatively): one may leave garbage that the next one finds.
	for (let i = 0; i < 3; i++) {
		await new Promise((resolve) => setTimeout(resolve, 0));
		Bun.gc(true);
	}
	const { heapSize, objectCount } = heapStats();
	return { bytes: heapSize, objects: objectCount };
}

/** What opening `file` adds to the JS heap, measured in a new process (`heap FILE`, below). */
async function heldBy(file: string): Promise<Heap> {
	// The code's own memory (compiled on first use) is not the store's: a small file first.
	const small = join(dirname(file), "small");
	writeFileSync(small, uciForwards(1));
	await ConfigStore.open(small);
	const empty = await heap();
	const store = await ConfigStore.open(file);
	const held = await heap();
	if (!store.config) throw new Error(`${file} is invalid`);
	return { bytes: held.bytes - empty.bytes, objects: held.objects - empty.objects };
}

/**
 * In new processes, the least of three: in this one, garbage of earlier runs that the collector
 * cannot prove dead makes such a difference vary by megabytes, and even a new process now and
 * then counts 20,000 more objects (10,000 forwards: 15.5 MB against 8.8) that a heap snapshot
 * taken at that moment does not hold.
 */
function heldInFreshProcess(file: string): Heap {
	const runs = [1, 2, 3].map(() => {
		const r = Bun.spawnSync([process.execPath, import.meta.path, "heap", file]);
		if (r.exitCode !== 0) throw new Error(`measuring the heap: ${r.stderr.toString()}`);
		return JSON.parse(r.stdout.toString()) as Heap;
	});
	return runs.reduce((least, run) => (run.bytes < least.bytes ? run : least));
}

export async function storeCost(size: number): Promise<StoreResult> {
	const dir = mkdtempSync(join(tmpdir(), "portrig-bench-store-"));
	try {
		const file = join(dir, "portrig");
		writeFileSync(file, uciForwards(size));
		const held = heldInFreshProcess(file);
		let store: ConfigStore | undefined = await ConfigStore.open(file);
		const loads: number[] = [];
		for (let k = 0; k < LOADS; k++) {
			const t0 = performance.now();
			await ConfigStore.open(file);
			loads.push(performance.now() - t0);
		}
		const timed = async (into: Costs, change: (store: ConfigStore) => MutationResult) => {
			const s = store as ConfigStore;
			const t0 = performance.now();
			const r = change(s);
			const t1 = performance.now();
			if (!r.ok) throw new Error(JSON.stringify(r.problems[0]));
			await s.commit();
			into.change.push(t1 - t0);
			into.commit.push(performance.now() - t1);
			return r.id;
		};
		const result: StoreResult = {
			size,
			loadMs: median(loads),
			heapBytes: held.bytes,
			heapObjects: held.objects,
			add: costs(),
			updateEnd: costs(),
			deleteEnd: costs(),
			updateMiddle: costs(),
			deleteMiddle: costs(),
		};
		const ids: string[] = [];
		for (let k = 0; k < CHANGES * 2; k++)
			ids.push(
				await timed(result.add, (s) =>
					s.addSection("forward", { proto: "tcp", src_dport: String(40_000 + k), dest_ip: ADDR.lan1.v4 }),
				),
			);
		for (const [k, id] of ids.slice(0, CHANGES).entries())
			await timed(result.updateEnd, (s) => s.updateSection("forward", id, { src_dport: String(45_000 + k) }));
		for (const id of ids.slice(0, CHANGES))
			await timed(result.deleteEnd, (s) => s.deleteSection("forward", id));
		// The original file's forwards from its middle on (all of them with a small file).
		const middle = Array.from({ length: Math.min(CHANGES, size) }, (_, k) => `f${Math.floor(size / 2) + k}`);
		for (const [k, id] of middle.entries())
			await timed(result.updateMiddle, (s) =>
				s.updateSection("forward", id, { src_dport: String(50_000 + k) }),
			);
		for (const id of middle) await timed(result.deleteMiddle, (s) => s.deleteSection("forward", id));
		store = undefined;
		return result;
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

const p1 = (values: number[], q: number) => percentile(values, q).toFixed(1);
const pair = (values: number[]) => `${p1(values, 50)} / ${p1(values, 99)}`;

/** The results as the lines of a markdown section. */
export function storeTable(results: StoreResult[]): string[] {
	const n = (size: number) => size.toLocaleString("en");
	return [
		"Of that, the config side alone, in one process without the data plane: validate + edit",
		"(the change checked against the config in memory, the UCI document edited) and commit (lock,",
		"write a temporary file, fsync, rename, fsync the directory), p50 / p99 ms; at the end of the",
		`file (${CHANGES * 2} adds, then ${CHANGES} updates and deletes of the added forwards) and in its middle`,
		"(updates and deletes of the file's own forwards from the middle on).",
		"",
		"| forwards | add | update | delete | update, middle | delete, middle | commit (all) |",
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
		...results.map((r) => {
			const commits = [r.add, r.updateEnd, r.deleteEnd, r.updateMiddle, r.deleteMiddle].flatMap(
				(c) => c.commit,
			);
			return `| ${n(r.size)} | ${pair(r.add.change)} | ${pair(r.updateEnd.change)} | ${pair(r.deleteEnd.change)} | ${pair(r.updateMiddle.change)} | ${pair(r.deleteMiddle.change)} | ${pair(commits)} |`;
		}),
		"",
		"The load (ConfigStore.open: read, parse, validate; median of 3) and what the opened store holds",
		"on the JS heap after a full collection (objects per forward only with many forwards: with one,",
		"the heap's own noise of a few hundred objects is larger than what the forward adds):",
		"",
		"| forwards | load ms | store heap MB | heap objects per forward |",
		"| --- | ---: | ---: | ---: |",
		...results.map(
			(r) =>
				`| ${n(r.size)} | ${r.loadMs.toFixed(0)} | ${(r.heapBytes / 1e6).toFixed(1)} | ${r.size >= 1000 ? (r.heapObjects / r.size).toFixed(0) : "–"} |`,
		),
	];
}

// `bun bench/config-store.ts` runs this part alone.
if (import.meta.main && process.argv[2] === "heap") {
	console.log(JSON.stringify(await heldBy(process.argv[3] as string)));
} else if (import.meta.main) {
	const results = [];
	for (const size of [1, 10_000]) results.push(await storeCost(size));
	console.log(storeTable(results).join("\n"));
}
