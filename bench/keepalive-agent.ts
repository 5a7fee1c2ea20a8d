// Agent for bench/keepalive.ts, run inside the bench's network namespace (root):
//
//   bun keepalive-agent.ts look|full SWEEPS
//
// Times SWEEPS keep-alive looks for one live opening whose LAN host has no connection among
// the namespace's flows: "look" as the trigger manager makes it (controller/src/triggers/
// keepalive.ts: the dumps of lookQueries, filtered by the kernel), "full" with one dump of every
// entry (the baseline), each followed by busyOpenings. Prints {"entries": N, "ms": [ms…],
// "cpuMs": N, "rssMb": N}: entries the last look read, the wall time of each look, their CPU
// and the process's peak RSS.
import { readFileSync } from "node:fs";
import type { ConntrackEntry } from "../controller/src/netlink/conntrack";
import { dumpConntrack } from "../controller/src/netlink/events";
import { configFromSections } from "../controller/src/ruleset/golden/scenario";
import { triggerSets } from "../controller/src/ruleset/triggers";
import {
	type ByteCounts,
	busyOpenings,
	type LiveOpening,
	lookQueries,
} from "../controller/src/triggers/activity";

const mode = process.argv[2] === "full" ? "full" : "look";
const sweeps = Number(process.argv[3] ?? 10);
const [trigger] = configFromSections({
	triggers: [{ id: "irc", name: "IRC", trigger_port: "6660-6669", open_port: ["113"] }],
}).triggers;
if (!trigger) throw new Error("no trigger");
const held: LiveOpening[] = [
	{
		trigger,
		sets: triggerSets(trigger, 600),
		opening: { family: 4, host: "192.168.1.10", timeout: 600, expires: 600 },
	},
];

async function look(): Promise<ConntrackEntry[]> {
	if (mode === "full") return dumpConntrack();
	const entries: ConntrackEntry[] = [];
	for (const q of lookQueries(held)) entries.push(...(await dumpConntrack(q.mark, q.origin)));
	return entries;
}

const ms: number[] = [];
let entries = 0;
let counts: ByteCounts = new Map();
const cpuBefore = process.cpuUsage();
for (let i = 0; i < sweeps; i++) {
	const start = performance.now();
	const found = await look();
	counts = busyOpenings(found, held, counts).counts;
	ms.push(performance.now() - start);
	entries = found.length;
}
const cpu = process.cpuUsage(cpuBefore);
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
console.log(
	JSON.stringify({ entries, ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: Number(hwm ?? 0) / 1024 }),
);
