// Data-plane benchmark (no daemon, no API, no config file): render + diff + one nft transaction
// in the lab router's namespace, with libnftables in process vs the nft command, at 1 and
// 10,000 forwards: the first apply (table from nothing), and adding / deleting one forward with
// the change hint. Wall time and the process's own CPU time (the nft command's CPU is its
// child's and not in it); ratios against the 1-forward case of the same runner, same run.
import { join } from "node:path";
import { Lab, REPO } from "../test-vm/lib/lab";
import { type Bench, median, percentile, progress } from "./bench";

const BUN = join(REPO, "node_modules", ".bin", "bun");
const SAMPLES = 30;
type Sample = { wall: number; cpu: number };
type Result = { first: Sample; add: Sample[]; del: Sample[]; rssMb: number };

const ms = (n: number) => n.toFixed(2);

async function agent(lab: Lab, runner: string, count: number): Promise<Result> {
	const r = await lab.exec("router", [
		BUN,
		join(import.meta.dir, "dataplane-agent.ts"),
		runner,
		String(count),
		String(SAMPLES),
	]);
	return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as Result;
}

export const dataplaneBench: Bench = {
	name: "dataplane",
	run: async () => {
		const lab = await Lab.up();
		try {
			const rows: string[] = [];
			for (const runner of ["libnftables", "command"]) {
				const base: Record<string, number> = {};
				for (const count of [1, 10_000]) {
					progress(`dataplane: ${runner}, ${count} forwards`);
					const r = await agent(lab, runner, count);
					const addWall = median(r.add.map((s) => s.wall));
					const addCpu = median(r.add.map((s) => s.cpu));
					if (count === 1) Object.assign(base, { addWall, addCpu });
					const ratio = count === 1 ? "1" : (addWall / (base.addWall ?? addWall)).toFixed(1);
					rows.push(
						`| ${runner} | ${count} | ${ms(r.first.wall)} | ${ms(addWall)} (p99 ${ms(
							percentile(
								r.add.map((s) => s.wall),
								99,
							),
						)}) | ${ms(addCpu)} | ${ms(median(r.del.map((s) => s.wall)))} | ${ratio} | ${r.rssMb.toFixed(0)} |`,
					);
				}
			}
			return [
				"## Data plane: render + diff + one nft transaction",
				"",
				`Per apply in the lab router's namespace, ${SAMPLES} adds and ${SAMPLES} deletes of one forward with the change hint; median ms.`,
				"CPU is the benchmark process's own (user + system): with the nft command, nft's work is in its child and not counted.",
				"",
				"| nft runs as | forwards | first apply (table from nothing) | add one: wall | add one: CPU | delete one: wall | add vs 1 forward | RSS MB |",
				"|---|---|---|---|---|---|---|---|",
				...rows,
				"",
			].join("\n");
		} finally {
			await lab.down();
		}
	},
};
