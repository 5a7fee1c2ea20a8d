// The trigger keep-alive's look at conntrack (controller/src/triggers/keepalive.ts), made every
// third of the shortest trigger timeout while openings exist, at conntrack table sizes a router
// sees (16,384 is OpenWrt's default nf_conntrack_max). The look asks the kernel for the
// openings' connections only (portrig's mark, the LAN host as source); the baseline, measured in
// the same run, dumps the whole table and matches in JavaScript. Flows are made in a namespace
// of their own (bench/netlink-agent.ts flood) and live 30 s, long enough for the looks.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FlowNamespace } from "../test-vm/lib/flow-namespace";
import { type Bench, median, progress } from "./bench";

const AGENT = join(import.meta.dir, "keepalive-agent.ts");
const FLOOD = join(import.meta.dir, "netlink-agent.ts");
const SIZES = [1000, 16_384];
const SWEEPS = 10;

type Result = { entries: number; ms: number[]; cpuMs: number; rssMb: number };

export const keepaliveBench: Bench = {
	name: "keepalive",
	run: async () => {
		const rows: string[] = [];
		const ns = FlowNamespace.create("kabench");
		const buckets = readFileSync("/proc/sys/net/netfilter/nf_conntrack_buckets", "utf8").trim();
		try {
			for (const size of SIZES) {
				progress(`keep-alive: ${size} conntrack entries`);
				ns.run(["conntrack", "-F"]);
				ns.run([process.execPath, FLOOD, "flood", String(size), "0", "0"]);
				const run = (mode: string) =>
					JSON.parse(ns.run([process.execPath, AGENT, mode, String(SWEEPS)])) as Result;
				const look = run("look");
				const full = run("full");
				const cpu = (r: Result) => r.cpuMs / SWEEPS;
				rows.push(
					`| ${full.entries} | ${median(look.ms).toFixed(1)} ms | ${cpu(look).toFixed(1)} ms | ${look.rssMb.toFixed(0)} MB | ${median(full.ms).toFixed(1)} ms | ${cpu(full).toFixed(1)} ms | ${full.rssMb.toFixed(0)} MB | ${(cpu(full) / cpu(look)).toFixed(1)}× |`,
				);
			}
		} finally {
			ns.remove();
		}
		return [
			"## Trigger keep-alive: one look at conntrack",
			"",
			`Median wall time and mean CPU of ${SWEEPS} looks for one live opening, and the agent's peak RSS: the`,
			"look as the daemon makes it (kernel-filtered dumps) and the baseline (the whole table dumped and matched).",
			"One look is made every third of the shortest trigger timeout while openings exist (600 s: every 200 s).",
			`Every dump walks the whole conntrack hash table, filtered or not: ${buckets} buckets here (the kernel`,
			"sizes it from RAM; a router of 256 MB–1 GB has at most 65,536), so at small tables the look's dumps",
			"(one for the accept mark, one per LAN host and protocol) can cost more than one full dump.",
			"",
			"| conntrack entries | look (wall) | look (CPU) | look RSS | full dump (wall) | full dump (CPU) | full dump RSS | CPU ratio |",
			"| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
			...rows,
			"",
		].join("\n");
	},
};
