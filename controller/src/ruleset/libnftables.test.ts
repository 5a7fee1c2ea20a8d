// libnftables in a process against the real kernel, in a network namespace made for the test
// (root needed), while that process is flooded with a signal it handles, as procd's SIGHUP
// (`reload_service`) reaches the daemon.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { FlowNamespace } from "../../../test-vm/lib/flow-namespace";

const TRANSACTIONS = 5000;

// Each transaction adds one port to a set; the set is read back at the end. It yields to the
// event loop now and then, so the handler runs and counts the signals that arrived.
const AGENT = `
import { Libnftables } from ${JSON.stringify(join(import.meta.dir, "libnftables.ts"))};
const nft = Libnftables.load();
let signals = 0;
process.on("SIGHUP", () => signals++);
const tx = (script) => ({ empty: false, script: () => script });
await nft.run(tx("add table inet sigtest\\nadd set inet sigtest ports { type inet_service; }\\n"));
console.log("ready");
while (signals === 0) await new Promise((resolve) => setImmediate(resolve));
const before = signals;
const failures = [];
for (let port = 1; port <= ${TRANSACTIONS}; port++) {
	try {
		await nft.run(tx(\`add element inet sigtest ports { \${port} }\\n\`));
	} catch (e) {
		failures.push(String(e.message));
	}
	if (port % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
}
const listed = JSON.parse(await nft.list("set inet sigtest ports"));
const elements = listed.nftables.find((o) => o.set)?.set.elem ?? [];
console.log(JSON.stringify({ failures: failures.slice(0, 3), failed: failures.length, elements: elements.length, signals: signals - before }));
`;

let ns: FlowNamespace;
beforeAll(() => {
	ns = FlowNamespace.create("sighup");
});
afterAll(() => ns?.remove());

test("a transaction during which a handled signal arrives succeeds, and is in the kernel", async () => {
	const agent = Bun.spawn([...ns.exec, process.execPath, "-e", AGENT], { stdout: "pipe", stderr: "pipe" });
	const reader = (agent.stdout as ReadableStream<Uint8Array>).getReader();
	let out = "";
	// `ip netns exec` execs the agent: its PID is the agent's.
	let flood: Bun.Subprocess | undefined;
	try {
		while (!out.includes("ready\n")) {
			const { value, done } = await reader.read();
			if (done) throw new Error(`the agent ended: ${await new Response(agent.stderr).text()}`);
			out += new TextDecoder().decode(value);
		}
		// SIGHUP as fast as a shell sends it, until the agent is gone.
		flood = Bun.spawn([
			"sh",
			"-c",
			'while kill -HUP "$1" 2>/dev/null; do :; done',
			"flood",
			String(agent.pid),
		]);
		for (;;) {
			const { value, done } = await reader.read();
			if (done) break;
			out += new TextDecoder().decode(value);
		}
		expect(await agent.exited).toBe(0);
	} finally {
		agent.kill(9);
		flood?.kill(9);
	}
	const result = JSON.parse(out.slice(out.indexOf("ready\n") + 6));
	expect(result.signals).toBeGreaterThan(0);
	expect(result.failures).toEqual([]);
	expect(result.elements).toBe(TRANSACTIONS);
});

test("after release() frees nft's context, the next transaction makes a new one and sees the kernel as it is", async () => {
	const agent = `
import { Libnftables } from ${JSON.stringify(join(import.meta.dir, "libnftables.ts"))};
const nft = Libnftables.load();
const tx = (script) => ({ empty: false, script: () => script });
await nft.run(tx("add table inet reltest\\nadd set inet reltest ports { type inet_service; }\\nadd element inet reltest ports { 1 }\\n"));
nft.release();
nft.release();
await nft.run(tx("add element inet reltest ports { 2 }\\n"));
nft.release();
const listed = JSON.parse(await nft.list("set inet reltest ports"));
console.log(JSON.stringify(listed.nftables.find((o) => o.set)?.set.elem));
`;
	const r = Bun.spawnSync([...ns.exec, process.execPath, "-e", agent], { stdout: "pipe", stderr: "pipe" });
	expect(r.stderr.toString()).toBe("");
	expect(JSON.parse(r.stdout.toString())).toEqual([1, 2]);
	const listed = Bun.spawnSync([
		...ns.exec,
		"nft",
		"list",
		"set",
		"inet",
		"reltest",
		"ports",
	]).stdout.toString();
	expect(listed).toContain("elements = { 1, 2 }");
});
