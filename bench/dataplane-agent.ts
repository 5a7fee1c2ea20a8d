// Runs inside the lab router's namespace (bench/dataplane.ts starts it): the data plane alone,
// with libnftables in this process or the nft command. Per forward count: the first apply
// (the table from nothing), then adds and deletes of one forward with the change hint, each
// timed (wall) and costed (this process's CPU: render + diff + transaction). Prints JSON.
import type { Config } from "../controller/src/config/schema";
import { NftCommand } from "../controller/src/ruleset/command";
import { DataPlane } from "../controller/src/ruleset/dataplane";
import { configFromSections } from "../controller/src/ruleset/golden/scenario";
import { Libnftables } from "../controller/src/ruleset/libnftables";
import { Transaction } from "../controller/src/ruleset/transaction";

const [runnerName, countText, samplesText] = process.argv.slice(2);
const count = Number(countText);
const samples = Number(samplesText);
const ENV = { wanDevices: ["eth1"], lanDevices: ["br-lan"] };

const runner = runnerName === "libnftables" ? Libnftables.load() : new NftCommand();
if (!runner) throw new Error("libnftables cannot be loaded");

const forwards = (from: number, n: number) =>
	configFromSections({
		forwards: Array.from({ length: n }, (_, i) => ({
			id: `f${from + i}`,
			proto: "tcp",
			src_dport: String(from + i),
			dest_ip: "192.168.1.10",
			dest_port: "80",
		})),
	}).forwards;

await runner.run(new Transaction().addTable().deleteTable());
const dp = new DataPlane({ runner });
const base: Config = { ...configFromSections({}), forwards: forwards(10_000, count) };

const measure = async (fn: () => Promise<unknown>) => {
	const cpu = process.cpuUsage();
	const t0 = performance.now();
	await fn();
	const wall = performance.now() - t0;
	const used = process.cpuUsage(cpu);
	return { wall, cpu: (used.user + used.system) / 1000 };
};

const first = await measure(() => dp.apply(base, ENV));
const add: { wall: number; cpu: number }[] = [];
const del: { wall: number; cpu: number }[] = [];
const extra = forwards(40_000, samples);
for (const f of extra) {
	const more = { ...base, forwards: [...base.forwards, f] };
	// The hints the config store gives: the forward as it now is, none once deleted.
	add.push(await measure(() => dp.apply(more, ENV, { type: "forward", id: f.id, entry: f })));
	del.push(await measure(() => dp.apply(base, ENV, { type: "forward", id: f.id, entry: undefined })));
}
await runner.run(new Transaction().addTable().deleteTable());
console.log(JSON.stringify({ first, add, del, rssMb: process.memoryUsage().rss / 1e6 }));
