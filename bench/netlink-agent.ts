// Agents for bench/netlink.ts, run inside the bench's network namespace (root):
//
//   bun netlink-agent.ts flood COUNT RATE MARKERS     new UDP flows to FLOW_SINK (no such host,
//       so no answers): COUNT flows at RATE per second (0: as fast as possible), and MARKERS
//       marker flows to ports 1001… spread over the run. Prints {"markers": [ns…]}, the
//       CLOCK_MONOTONIC time each marker left.
//   bun netlink-agent.ts ffi [BUFFER]                 follows NEW events with ConntrackEvents.
//   bun netlink-agent.ts ffi-filtered [BUFFER]        the same with the kernel-side port filter
//       the daemon installs, passing the marker ports only (as trigger ports would be).
//   bun netlink-agent.ts tool [BUFFER]                follows NEW events with a `conntrack -E`
//       child, reading and parsing its lines as a daemon would.
// Followers print {"ready":true}, then answer each "stats" line on stdin with {"events": N,
// "markers": {port: ns}, "cpuMs": N, "overruns": N, "resynced": N, "lossWarnings": N}: events
// seen, when each marker's event arrived, CPU used (with the conntrack child's), overruns the
// follower noticed and entries it got back from resync dumps.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync, writeSync } from "node:fs";
import { ConntrackEvents } from "../controller/src/netlink/events";
import { libcPath } from "../controller/src/sys/libc";
import { FLOW_SINK } from "../test-vm/lib/flow-namespace";
import { monotonicNs } from "./triggers-agent";

export const MARKER_BASE = 1001;

const libc = dlopen(libcPath(), {
	socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
	sendto: {
		args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
		returns: FFIType.i64,
	},
	sysconf: { args: [FFIType.i32], returns: FFIType.i64 },
}).symbols;

const CLK_TCK = Number(libc.sysconf(2));

/** utime + stime of a process, in ms (from /proc/PID/stat). */
export function cpuMsOf(pid: number): number {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
	} catch {
		return 0;
	}
}

function flood(count: number, rate: number, markers: number): void {
	const AF_INET = 2;
	const SOCK_DGRAM = 2;
	// One socket per 60,000 flows: each flow is (source port, destination port).
	const sockets = Array.from({ length: Math.ceil(count / 60_000) }, () =>
		libc.socket(AF_INET, SOCK_DGRAM, 0),
	);
	const address = new Uint8Array(16);
	const dv = new DataView(address.buffer);
	dv.setUint16(0, AF_INET, true);
	FLOW_SINK.split(".").forEach((o, i) => {
		address[4 + i] = Number(o);
	});
	const payload = new Uint8Array([120]);
	const send = (fd: number, port: number) => {
		dv.setUint16(2, port, false);
		libc.sendto(fd, ptr(payload), 1, 0, ptr(address), 16);
	};
	const start = monotonicNs();
	const every = markers > 0 ? Math.floor(count / (markers + 1)) : Number.POSITIVE_INFINITY;
	const sent: string[] = [];
	for (let i = 0; i < count; i++) {
		if (rate > 0) {
			const due = start + BigInt(Math.round((i / rate) * 1e9));
			while (monotonicNs() < due) {}
		}
		send(sockets[Math.floor(i / 60_000)] as number, 2000 + (i % 60_000));
		if ((i + 1) % every === 0 && sent.length < markers) {
			sent.push(String(monotonicNs()));
			send(sockets[0] as number, MARKER_BASE + sent.length - 1);
		}
	}
	writeSync(1, `${JSON.stringify({ markers: sent, ms: Number(monotonicNs() - start) / 1e6 })}\n`);
}

type Counters = {
	events: number;
	markers: Record<number, string>;
	overruns: number;
	resynced: number;
	lossWarnings: number;
};
/** A follower's answer to "stats". */
export type FollowerStats = Counters & { cpuMs: number };

function onMarker(c: Counters, dport: number | undefined): void {
	if (dport !== undefined && dport >= MARKER_BASE && dport < MARKER_BASE + 100 && !(dport in c.markers))
		c.markers[dport] = String(monotonicNs());
}

async function serveStats(c: Counters, cpuMs: () => number): Promise<void> {
	writeSync(1, `${JSON.stringify({ ready: true })}\n`);
	let buffer = "";
	for await (const chunk of Bun.stdin.stream()) {
		buffer += new TextDecoder().decode(chunk);
		while (buffer.includes("\n")) {
			const line = buffer.slice(0, buffer.indexOf("\n")).trim();
			buffer = buffer.slice(buffer.indexOf("\n") + 1);
			if (line === "stats") writeSync(1, `${JSON.stringify({ ...c, cpuMs: cpuMs() })}\n`);
			if (line === "reset")
				Object.assign(c, { events: 0, markers: {}, overruns: 0, resynced: 0, lossWarnings: 0 });
		}
	}
}

async function followFfi(buffer: number, filtered: boolean): Promise<void> {
	const c: Counters = { events: 0, markers: {}, overruns: 0, resynced: 0, lossWarnings: 0 };
	const events = new ConntrackEvents({
		groups: ["NEW"],
		receiveBuffer: buffer,
		...(filtered ? { ports: [{ proto: 17, from: MARKER_BASE, to: MARKER_BASE + 99 }] } : {}),
		onEntry: (e) => {
			c.events++;
			onMarker(c, e.orig.dport);
		},
		onResync: (entries) => {
			c.overruns = events.stats().overruns;
			c.resynced += entries.length;
			for (const e of entries) onMarker(c, e.orig.dport);
		},
	});
	events.start();
	await serveStats(c, () => cpuMsOf(process.pid));
	await events.stop();
}

async function followTool(buffer: number): Promise<void> {
	const c: Counters = { events: 0, markers: {}, overruns: 0, resynced: 0, lossWarnings: 0 };
	const child = Bun.spawn(["conntrack", "-E", "-e", "NEW", "-b", String(buffer)], {
		stdout: "pipe",
		stderr: "pipe",
	});
	const dport = /dport=(\d+)/;
	void (async () => {
		let rest = "";
		for await (const chunk of child.stdout as ReadableStream<Uint8Array>) {
			rest += new TextDecoder().decode(chunk);
			let nl = rest.indexOf("\n");
			while (nl >= 0) {
				const line = rest.slice(0, nl);
				rest = rest.slice(nl + 1);
				nl = rest.indexOf("\n");
				c.events++;
				onMarker(c, Number(dport.exec(line)?.[1]));
			}
		}
	})();
	void (async () => {
		for await (const chunk of child.stderr as ReadableStream<Uint8Array>)
			c.lossWarnings += (new TextDecoder().decode(chunk).match(/ENOBUFS/g) ?? []).length;
	})();
	await serveStats(c, () => cpuMsOf(process.pid) + cpuMsOf(child.pid));
	child.kill();
}

if (import.meta.main) {
	const [mode, ...args] = process.argv.slice(2);
	if (mode === "flood") flood(Number(args[0]), Number(args[1]), Number(args[2] ?? 0));
	else if (mode === "ffi" || mode === "ffi-filtered")
		await followFfi(Number(args[0] ?? 4 << 20), mode !== "ffi");
	else if (mode === "tool") await followTool(Number(args[0] ?? 4 << 20));
	else {
		console.error("usage: netlink-agent.ts flood COUNT RATE MARKERS | ffi|ffi-filtered|tool [BUFFER]");
		process.exit(2);
	}
}
