// The conntrack event stream: portrig's netlink socket through bun:ffi (controller/src/netlink)
// vs the `conntrack -E` tool as a child process whose lines are parsed, in a network namespace
// of its own where a generator makes new UDP flows (bench/netlink-agent.ts):
//  1. 20,000 new flows/s for 3 s: events received, event latency (marker flow sent → its event
//     seen by the follower's JavaScript), CPU of the follower (with its conntrack child);
//  2. an overrun: 150,000 new flows as fast as the generator can, then 2 s to catch up:
//     events received, overruns noticed, entries recovered from a resync dump, markers known.
// Both follow NEW events with a 4 MiB receive buffer. Rounds alternate the two followers.
import { join } from "node:path";
import { FlowNamespace } from "../test-vm/lib/flow-namespace";
import { LineReader } from "../test-vm/lib/lab";
import { type Bench, median, percentile, progress } from "./bench";
import { type FollowerStats, MARKER_BASE } from "./netlink-agent";

const AGENT = join(import.meta.dir, "netlink-agent.ts");
const BUFFER = 4 << 20;
const RATE = 20_000;
const LOAD = 60_000;
const BURST = 150_000;
const MARKERS = 30;
const ROUNDS = 3;
const FOLLOWERS = ["ffi", "tool", "ffi-filtered"] as const;
type Follower = (typeof FOLLOWERS)[number];

function startFollower(ns: FlowNamespace, kind: Follower) {
	const proc = Bun.spawn([...ns.exec, process.execPath, AGENT, kind, String(BUFFER)], {
		stdin: "pipe",
		stdout: "pipe",
		stderr: "inherit",
	});
	const lines = new LineReader(proc.stdout as ReadableStream<Uint8Array>);
	const stdin = proc.stdin as import("bun").FileSink;
	return {
		ready: async () => {
			if (!(await lines.next(10_000))?.includes("ready")) throw new Error(`${kind} follower did not start`);
		},
		stats: async (): Promise<FollowerStats> => {
			stdin.write("stats\n");
			await stdin.flush();
			return JSON.parse((await lines.next(10_000)) ?? "null") as FollowerStats;
		},
		stop: async () => {
			stdin.end();
			await Promise.race([proc.exited, Bun.sleep(3000)]);
			proc.kill(9);
		},
	};
}

function flood(ns: FlowNamespace, count: number, rate: number, markers: number): string[] {
	const out = ns.run([process.execPath, AGENT, "flood", String(count), String(rate), String(markers)]);
	return (JSON.parse(out) as { markers: string[] }).markers;
}

/** Marker latencies in µs (markers whose event never came are left out). */
function latencies(sent: string[], stats: FollowerStats): number[] {
	return sent.flatMap((at, i) => {
		const seen = stats.markers[MARKER_BASE + i];
		return seen ? [Number(BigInt(seen) - BigInt(at)) / 1000] : [];
	});
}

type LoadResult = { received: number; p50: number; p99: number; cpu: number; markersSeen: number };
type BurstResult = {
	received: number;
	overruns: number;
	resynced: number;
	lossWarnings: number;
	markersSeen: number;
};

async function underLoad(ns: FlowNamespace, kind: Follower): Promise<LoadResult> {
	ns.run(["conntrack", "-F"]);
	const f = startFollower(ns, kind);
	try {
		await f.ready();
		const before = await f.stats();
		const sent = flood(ns, LOAD, RATE, MARKERS);
		await Bun.sleep(1000);
		const after = await f.stats();
		const lat = latencies(sent, after);
		const seconds = LOAD / RATE;
		return {
			received: after.events - before.events,
			p50: percentile(lat, 50),
			p99: percentile(lat, 99),
			cpu: ((after.cpuMs - before.cpuMs) / (seconds * 1000 + 1000)) * 100,
			markersSeen: lat.length,
		};
	} finally {
		await f.stop();
	}
}

async function overrun(ns: FlowNamespace, kind: Follower): Promise<BurstResult> {
	ns.run(["conntrack", "-F"]);
	const f = startFollower(ns, kind);
	try {
		await f.ready();
		const sent = flood(ns, BURST, 0, 10);
		await Bun.sleep(2000);
		const s = await f.stats();
		return {
			received: s.events,
			overruns: s.overruns,
			resynced: s.resynced,
			lossWarnings: s.lossWarnings,
			markersSeen: latencies(sent, s).length,
		};
	} finally {
		await f.stop();
	}
}

async function run(): Promise<string> {
	const ns = FlowNamespace.create("bnl");
	try {
		const load: Record<Follower, LoadResult[]> = { ffi: [], tool: [], "ffi-filtered": [] };
		const burst: Record<Follower, BurstResult[]> = { ffi: [], tool: [], "ffi-filtered": [] };
		for (let round = 1; round <= ROUNDS; round++) {
			for (const kind of FOLLOWERS) {
				load[kind].push(await underLoad(ns, kind));
				burst[kind].push(await overrun(ns, kind));
			}
			progress(`netlink round ${round}/${ROUNDS} done`);
		}
		const m = (values: number[]) => median(values);
		const name: Record<Follower, string> = {
			ffi: "netlink socket via bun:ffi (portrig)",
			tool: "`conntrack -E` child, lines parsed",
			"ffi-filtered": "socket + kernel port filter (portrig daemon)",
		};
		const expected = LOAD + MARKERS;
		const loadRows = FOLLOWERS.map((k) => {
			const r = load[k];
			return `| ${name[k]} | ${m(r.map((x) => x.received))} / ${expected} | ${m(r.map((x) => x.p50)).toFixed(0)} | ${m(r.map((x) => x.p99)).toFixed(0)} | ${m(r.map((x) => x.cpu)).toFixed(1)} |`;
		});
		const burstRows = FOLLOWERS.map((k) => {
			const r = burst[k];
			return `| ${name[k]} | ${m(r.map((x) => x.received))} / ${BURST + 10} | ${m(r.map((x) => x.overruns + x.lossWarnings))} | ${m(r.map((x) => x.resynced))} | ${m(r.map((x) => x.markersSeen))} / 10 |`;
		});
		const ffiCpu = m(load.ffi.map((x) => x.cpu));
		const toolCpu = m(load.tool.map((x) => x.cpu));
		return [
			"## Conntrack events: netlink socket (bun:ffi) vs `conntrack -E`",
			"",
			`In a network namespace, a generator makes new UDP flows; each follower subscribes to NEW`,
			`events with a 4 MiB receive buffer. Medians of ${ROUNDS} rounds. Latency: a marker flow`,
			"leaves the generator → its event reaches the follower's JavaScript (CLOCK_MONOTONIC).",
			"",
			`### ${RATE.toLocaleString("en")} new flows/s for ${LOAD / RATE} s`,
			"",
			"| follower | events received | latency p50 µs | latency p99 µs | CPU % of one core |",
			"| --- | ---: | ---: | ---: | ---: |",
			...loadRows,
			"",
			`CPU ratio tool / ffi: ${(toolCpu / ffiCpu).toFixed(2)}. The filtered follower is handed only the`,
			`${MARKERS} marker flows (ports it asked for, as the daemon asks for trigger ports): the kernel drops the rest.`,
			"",
			`### Overrun: ${BURST.toLocaleString("en")} new flows as fast as possible`,
			"",
			"| follower | events received | overruns noticed | entries recovered by resync | markers known |",
			"| --- | ---: | ---: | ---: | ---: |",
			...burstRows,
			"",
			"The socket follower resubscribes and dumps the table after each overrun, so every flow",
			"(markers included) is known again; `conntrack -E` only prints a warning and carries on.",
			"With the port filter the flood never reaches the socket: no overrun, the markers arrive.",
			"",
		].join("\n");
	} finally {
		ns.remove();
	}
}

export const netlinkBench: Bench = { name: "netlink", run };

if (import.meta.main) console.log(await run());
