// The conntrack event stream: portrig's netlink socket through bun:ffi (controller/src/netlink)
// vs the `conntrack -E` tool as a child process whose lines are parsed, in a network namespace
// of its own where a generator makes new UDP flows (bench/netlink-agent.ts):
//  1. 20,000 new flows/s for 3 s: events received, event latency (marker flow sent → its event
//     seen by the follower's JavaScript), CPU of the follower (with its conntrack child);
//  2. an overrun: 150,000 new flows as fast as the generator can, then 2 s to catch up:
//     events received, overruns noticed, entries recovered from a resync dump, markers known.
// Both follow NEW events with a 4 MiB receive buffer. Rounds alternate the two followers.
import { join } from "node:path";
import { LineReader } from "../test-vm/lib/lab";
import { type Bench, median, progress } from "./bench";
import { FLOOD_TARGET, MARKER_BASE } from "./netlink-agent";

const AGENT = join(import.meta.dir, "netlink-agent.ts");
const BUFFER = 4 << 20;
const RATE = 20_000;
const LOAD = 60_000;
const BURST = 150_000;
const MARKERS = 30;
const ROUNDS = 3;
const FOLLOWERS = ["ffi", "tool", "ffi-filtered"] as const;
type Follower = (typeof FOLLOWERS)[number];

type Stats = {
	events: number;
	markers: Record<string, string>;
	cpuMs: number;
	overruns: number;
	resynced: number;
	lossWarnings: number;
};

const ns = `bnl${process.pid.toString(36)}`;

function sh(argv: string[], input?: string): string {
	const r = Bun.spawnSync(argv, { stdin: input === undefined ? "ignore" : Buffer.from(input) });
	if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
	return r.stdout.toString();
}
const inNs = (...argv: string[]) => sh(["ip", "netns", "exec", ns, ...argv]);

function setUp(): void {
	sh(["ip", "netns", "add", ns]);
	inNs("ip", "link", "set", "lo", "up");
	inNs("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1");
	inNs("ip", "link", "set", "v0", "up");
	inNs("ip", "link", "set", "v1", "up");
	inNs("ip", "addr", "add", "10.99.0.1/24", "dev", "v0");
	inNs("ip", "neigh", "add", FLOOD_TARGET, "lladdr", "02:00:00:00:00:02", "dev", "v0");
	// Conntrack runs in a namespace once a rule there needs it.
	sh(
		["ip", "netns", "exec", ns, "nft", "-f", "-"],
		"table inet bench {\n\tchain out {\n\t\ttype filter hook output priority 0; ct state new counter\n\t}\n}\n",
	);
}

function startFollower(kind: Follower) {
	const proc = Bun.spawn(["ip", "netns", "exec", ns, process.execPath, AGENT, kind, String(BUFFER)], {
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
		stats: async (): Promise<Stats> => {
			stdin.write("stats\n");
			await stdin.flush();
			return JSON.parse((await lines.next(10_000)) ?? "null") as Stats;
		},
		stop: async () => {
			stdin.end();
			await Promise.race([proc.exited, Bun.sleep(3000)]);
			proc.kill(9);
		},
	};
}

function flood(count: number, rate: number, markers: number): string[] {
	const out = inNs(process.execPath, AGENT, "flood", String(count), String(rate), String(markers));
	return (JSON.parse(out) as { markers: string[] }).markers;
}

/** Marker latencies in µs (markers whose event never came are left out). */
function latencies(sent: string[], stats: Stats): number[] {
	return sent.flatMap((at, i) => {
		const seen = stats.markers[String(MARKER_BASE + i)];
		return seen ? [Number(BigInt(seen) - BigInt(at)) / 1000] : [];
	});
}

const pct = (values: number[], p: number) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

type LoadResult = { received: number; p50: number; p99: number; cpu: number; markersSeen: number };
type BurstResult = {
	received: number;
	overruns: number;
	resynced: number;
	lossWarnings: number;
	markersSeen: number;
};

async function underLoad(kind: Follower): Promise<LoadResult> {
	inNs("conntrack", "-F");
	const f = startFollower(kind);
	try {
		await f.ready();
		const before = await f.stats();
		const sent = flood(LOAD, RATE, MARKERS);
		await Bun.sleep(1000);
		const after = await f.stats();
		const lat = latencies(sent, after);
		const seconds = LOAD / RATE;
		return {
			received: after.events - before.events,
			p50: pct(lat, 50),
			p99: pct(lat, 99),
			cpu: ((after.cpuMs - before.cpuMs) / (seconds * 1000 + 1000)) * 100,
			markersSeen: lat.length,
		};
	} finally {
		await f.stop();
	}
}

async function overrun(kind: Follower): Promise<BurstResult> {
	inNs("conntrack", "-F");
	const f = startFollower(kind);
	try {
		await f.ready();
		const sent = flood(BURST, 0, 10);
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
	setUp();
	try {
		const load: Record<Follower, LoadResult[]> = { ffi: [], tool: [], "ffi-filtered": [] };
		const burst: Record<Follower, BurstResult[]> = { ffi: [], tool: [], "ffi-filtered": [] };
		for (let round = 1; round <= ROUNDS; round++) {
			for (const kind of FOLLOWERS) {
				load[kind].push(await underLoad(kind));
				burst[kind].push(await overrun(kind));
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
		Bun.spawnSync(["ip", "netns", "del", ns]);
	}
}

export const netlinkBench: Bench = { name: "netlink", run };

if (import.meta.main) console.log(await run());
