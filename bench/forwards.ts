// Forward benchmarks in the lab (test-vm/), fw4's ruleset loaded:
//  1. new TCP connections per second from a WAN host through the router's DNAT to a LAN host,
//     with 1 forward vs 10,000 forwards as portrig renders them (map elements) vs the same
//     10,000 as one linear nft rule each, the way fw4 renders `config redirect`. Rounds
//     alternate the three setups; the table gives medians and ratios to the 1-forward case.
// Changes through the daemon's API are measured in control-plane.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../controller/src/config/schema";
import { DataPlane } from "../controller/src/ruleset/dataplane";
import { configFromSections } from "../controller/src/ruleset/golden/scenario";
import { ADDR, Lab, REPO } from "../test-vm/lib/lab";
import { type Bench, median, progress } from "./bench";

const FORWARDS = 10_000;
const FIRST_PORT = 10_000;
const ROUNDS = 5;
const RUN_MS = 2000;
const CONCURRENCY = 8;
const ENV = { wanDevices: ["eth1"], lanDevices: ["br-lan"] };
const BUN = join(REPO, "node_modules", ".bin", "bun");

const forwardSections = (n: number) =>
	Array.from({ length: n }, (_, i) => ({
		id: `f${i}`,
		proto: "tcp",
		src_dport: String(FIRST_PORT + i),
		dest_ip: ADDR.lan1.v4,
		dest_port: "80",
	}));

const configWith = (n: number): Config => configFromSections({ forwards: forwardSections(n) });

/** The same forwards as fw4 renders redirects: one rule each in its dstnat_wan chain. */
function linearRules(n: number): string {
	const lines = Array.from(
		{ length: n },
		(_, i) =>
			`add rule inet fw4 dstnat_wan meta nfproto ipv4 tcp dport ${FIRST_PORT + i} counter dnat ${ADDR.lan1.v4}:80 comment "!fw4: f${i}"`,
	);
	return `${lines.join("\n")}\n`;
}

async function connectionsPerSecond(lab: Lab, ports: number): Promise<number> {
	await lab.exec("router", ["conntrack", "-F"], { check: false });
	const r = await lab.exec("wan1", [
		BUN,
		join(import.meta.dir, "connector.ts"),
		ADDR.router.v4,
		String(FIRST_PORT),
		String(FIRST_PORT + ports - 1),
		String(RUN_MS),
		String(CONCURRENCY),
	]);
	const { connections, failures, ms } = JSON.parse(r.stdout) as {
		connections: number;
		failures: number;
		ms: number;
	};
	if (failures > connections / 100)
		throw new Error(`too many failed connections: ${failures} of ${connections + failures}`);
	return (connections / ms) * 1000;
}

async function throughput(lab: Lab): Promise<string> {
	const dp = new DataPlane({ prefix: lab.nsExec("router") });
	const results = { one: [] as number[], maps: [] as number[], linear: [] as number[] };
	const started = performance.now();
	for (let round = 1; round <= ROUNDS; round++) {
		await lab.reloadFw4();
		await dp.apply(configWith(1), ENV);
		results.one.push(await connectionsPerSecond(lab, 1));
		await dp.apply(configWith(FORWARDS), ENV);
		results.maps.push(await connectionsPerSecond(lab, FORWARDS));
		await dp.remove();
		const withRedirect = readFileSync(join(REPO, "test-vm", "fw4", "with-redirect.nft"), "utf8");
		await lab.exec("router", ["nft", "-f", "-"], { input: withRedirect + linearRules(FORWARDS) });
		results.linear.push(await connectionsPerSecond(lab, FORWARDS));
		progress(
			`round ${round} (${((performance.now() - started) / 1000).toFixed(0)} s): 1 forward ${results.one.at(-1)?.toFixed(0)}/s, ${FORWARDS} as maps ${results.maps.at(-1)?.toFixed(0)}/s, ${FORWARDS} linear ${results.linear.at(-1)?.toFixed(0)}/s`,
		);
	}
	const one = median(results.one);
	const row = (what: string, values: number[]) =>
		`| ${what} | ${median(values).toFixed(0)} | ${(median(values) / one).toFixed(2)} | ${values.map((v) => v.toFixed(0)).join(", ")} |`;
	return [
		"## New TCP connections per second through the router",
		"",
		`A WAN host opens connections (${CONCURRENCY} at a time, ${RUN_MS / 1000} s per run, ${ROUNDS} rounds) to the router's`,
		"address; each is DNAT'ed to a LAN host that answers one line. With many forwards the",
		"connections go round-robin over all their ports.",
		"",
		"| setup | conn/s (median) | ratio to 1 forward | runs |",
		"| --- | ---: | ---: | --- |",
		row("1 forward (portrig)", results.one),
		row(`${FORWARDS.toLocaleString("en")} forwards, portrig maps`, results.maps),
		row(`${FORWARDS.toLocaleString("en")} forwards, one rule each (fw4 style)`, results.linear),
		"",
		`portrig's maps vs. linear rules at ${FORWARDS.toLocaleString("en")} forwards: ${(median(results.maps) / median(results.linear)).toFixed(2)}× the connection rate.`,
		"",
	].join("\n");
}

export const forwardsBench: Bench = {
	name: "forwards",
	run: async () => {
		const lab = await Lab.up();
		try {
			await lab.serve("lan1", "tcp", [80]);
			// Many short connections from one host: reuse TIME_WAIT ports, use the whole range.
			await lab.exec("wan1", [
				"sysctl",
				"-qw",
				"net.ipv4.tcp_tw_reuse=1",
				"net.ipv4.ip_local_port_range=1024 65000",
			]);
			return await throughput(lab);
		} finally {
			await lab.down();
		}
	},
};
