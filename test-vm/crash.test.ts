// kill -9 at random points of a reload between two configs (forwards, triggers and DMZ all
// differ): the kernel's table is always exactly the old render or the new one (every apply is one
// nft transaction), and a daemon started again on the file makes the kernel match the file
// without deleting the table first.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { ensureBuilt, LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { Lab } from "./lib/lab";

const ROUNDS = 50;
const FORWARDS = 300;

/** A config whose forwards start at `base`; triggers and DMZ differ between the two variants. */
function config(variant: "a" | "b"): string {
	const base = variant === "a" ? 20_000 : 20_150;
	const forwards = Array.from(
		{ length: FORWARDS },
		(_, i) => `config forward 'f${base + i}'
	option src_dport '${base + i}'
	option dest_ip '192.168.1.${10 + (i % 2)}'
`,
	).join("");
	const trigger =
		variant === "a"
			? `config trigger 'irc'
	option name 'IRC'
	option proto 'tcp'
	option trigger_port '6660-6669'
	option open_proto 'tcp'
	list open_port '113'
`
			: `config trigger 'game'
	option name 'Game'
	option proto 'udp'
	option trigger_port '27015'
	option open_proto 'udp'
	list open_port '27000-27010'
	option remote_only '1'
`;
	const dmz = `config dmz 'dmz'
	option enabled '${variant === "a" ? 0 : 1}'
	option dest_ip '192.168.1.50'
`;
	return `${LAB_GLOBALS}\n${forwards}${trigger}${dmz}`;
}

let lab: Lab;
let daemon: RunningDaemon | undefined;

beforeAll(async () => {
	ensureBuilt();
	lab = await Lab.up();
}, 120_000);

afterAll(async () => {
	await daemon?.stop();
	await lab?.down();
});

/**
 * The table as a comparable value: sets with their declaration and sorted elements, chains with
 * their rules, without handles (the kernel numbers objects anew when it re-creates them).
 */
async function table(): Promise<string | null> {
	// nft 1.0.6 warns on stderr that map updates have no JSON form (it prints them as strings).
	const r = await lab.exec("router", ["sh", "-c", "nft -j list table inet portrig 2>/dev/null"], {
		check: false,
	});
	if (r.code !== 0) return null;
	const items = (JSON.parse(r.stdout) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
	const out: string[] = [];
	for (const item of items) {
		const [kind, body] = Object.entries(item)[0] ?? [];
		if (!kind || !body || kind === "metainfo" || kind === "table") continue;
		const { handle: _h, elem, ...rest } = body;
		const elements = Array.isArray(elem) ? elem.map((e) => JSON.stringify(e)).sort() : [];
		out.push(`${kind} ${JSON.stringify(rest)} ${elements.join(",")}`);
	}
	return out.sort().join("\n");
}

async function running(text: string, dir?: string): Promise<RunningDaemon> {
	return startDaemon(lab, text, dir ? { dir, timeoutMs: 30_000 } : { timeoutMs: 30_000 });
}

test(`${ROUNDS} × kill -9 during a reload: never a partial ruleset, and a restart matches the file`, async () => {
	const texts = { a: config("a"), b: config("b") };
	// The two renders, as the kernel holds them, and how long a reload takes here.
	daemon = await running(texts.b);
	const dir = daemon.dir;
	const renderB = await table();
	writeFileSync(daemon.configFile, texts.a);
	let t0 = performance.now();
	daemon.signal("SIGHUP");
	await daemon.waitForLog(/reloaded/, 30_000);
	const reloadMs = performance.now() - t0;
	const renderA = await table();
	expect(renderA).not.toBeNull();
	expect(renderB).not.toBeNull();
	expect(renderA).not.toBe(renderB);

	const seen = { old: 0, new: 0 };
	let current: "a" | "b" = "a";
	for (let round = 0; round < ROUNDS; round++) {
		const next: "a" | "b" = current === "a" ? "b" : "a";
		const before = current === "a" ? renderA : renderB;
		const after = current === "a" ? renderB : renderA;
		writeFileSync(daemon.configFile, texts[next]);
		t0 = performance.now();
		daemon.signal("SIGHUP");
		// The kill point: anywhere from the signal to a little after a reload's usual end.
		await Bun.sleep(Math.random() * reloadMs * 1.2);
		daemon.signal("SIGKILL");
		await daemon.exited;
		const found = await table();
		if (found !== before && found !== after)
			throw new Error(`round ${round}: the kernel holds neither the old nor the new render`);
		seen[found === before ? "old" : "new"]++;
		daemon = await running(texts[next], dir);
		expect(await table()).toBe(after);
		current = next;
	}
	console.log(
		`crash test: reload ${reloadMs.toFixed(0)} ms; killed with the old ruleset in force ${seen.old}×, the new ${seen.new}×, partial 0×`,
	);
}, 600_000);
