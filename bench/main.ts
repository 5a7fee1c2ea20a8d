// `make bench`: runs each benchmark module in turn, prints the results and writes them, with
// the machine and the date, to bench/results.md. Each module is a Bench (bench.ts); add yours
// to BENCHES.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Bench, machine } from "./bench";
import { controlPlaneBench } from "./control-plane";
import { dataplaneBench } from "./dataplane";
import { forwardsBench } from "./forwards";
import { keepaliveBench } from "./keepalive";
import { netlinkBench } from "./netlink";
import { sizeBench } from "./size";
import { triggersBench } from "./triggers";

const BENCHES: Bench[] = [
	forwardsBench,
	controlPlaneBench,
	dataplaneBench,
	triggersBench,
	netlinkBench,
	keepaliveBench,
	sizeBench,
];

// BENCH_ONLY=control-plane,forwards runs only those.
const only = process.env.BENCH_ONLY?.split(",");
const sections: string[] = [];
for (const bench of BENCHES) if (!only || only.includes(bench.name)) sections.push(await bench.run());

const text = [
	"# portrig benchmarks",
	"",
	`Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine()}, with \`make bench\`.`,
	"All traffic runs between network namespaces of the lab (test-vm/) on this one machine.",
	"",
	...sections,
].join("\n");
console.log(text);
// A partial run prints its sections and leaves results.md as it is.
if (!only) writeFileSync(join(import.meta.dir, "results.md"), `${text}\n`);
