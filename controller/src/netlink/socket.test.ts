// NetlinkSocket against the real kernel, in a network namespace made for the test (root needed):
// each case runs a short program there that subscribes to nf_tables changes, makes some with
// nft, and prints what it saw as one JSON line. Reading hands the descriptor to Bun's socket
// layer, so these cases pin down who closes it, and when.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { FlowNamespace } from "../../../test-vm/lib/flow-namespace";
import { run } from "../../../test-vm/vm-harness/run";

const PRELUDE = `
import { fstatSync, openSync } from "node:fs";
import { NETLINK_NETFILTER, NetlinkSocket } from ${JSON.stringify(join(import.meta.dir, "socket.ts"))};
import { NFNLGRP_NFTABLES } from ${JSON.stringify(join(import.meta.dir, "nftables.ts"))};
const nft = (text) => {
	const r = Bun.spawnSync(["nft", "-f", "-"], { stdin: Buffer.from(text) });
	if (r.exitCode !== 0) throw new Error(r.stderr.toString());
};
const isOpen = (fd) => { try { fstatSync(fd); return true; } catch { return false; } };
/** Bun closes a descriptor it owns on its next turn of the event loop. */
const settle = () => new Promise((r) => setTimeout(r, 0));
`;

let ns: FlowNamespace;
beforeAll(() => {
	ns = FlowNamespace.create("nlsock");
});
afterAll(() => ns?.remove());

async function runInNamespace(body: string): Promise<Record<string, unknown>> {
	const { stdout } = await run([...ns.exec, process.execPath, "-e", PRELUDE + body]);
	return JSON.parse(stdout.trim().split("\n").at(-1) ?? "null");
}

test("readEach hands over the datagrams of a change, and close() then closes the descriptor", async () => {
	const seen = await runInNamespace(`
const s = NetlinkSocket.open(NETLINK_NETFILTER, { groups: [NFNLGRP_NFTABLES] });
const sizes = [];
const reading = s.readEach((bytes) => { sizes.push(bytes.byteLength); return false; });
nft("add table inet sockettest\\n");
const result = await reading;
const openWhileUnclosed = isOpen(s.fd);
s.close();
await settle();
console.log(JSON.stringify({ result, sizes, openWhileUnclosed, openAfterClose: isOpen(s.fd) }));
`);
	expect(seen).toEqual({
		result: false,
		sizes: [expect.any(Number)],
		openWhileUnclosed: true,
		openAfterClose: false,
	});
	expect((seen.sizes as number[])[0]).toBeGreaterThan(16); // at least one netlink header and payload
});

test("cancel() ends readEach with true, and a socket reads only once", async () => {
	const seen = await runInNamespace(`
const s = NetlinkSocket.open(NETLINK_NETFILTER, { groups: [NFNLGRP_NFTABLES] });
const reading = s.readEach(() => true);
s.cancel();
const result = await reading;
let again = "";
try { s.readEach(() => true); } catch (e) { again = e.message; }
s.close();
await settle();
console.log(JSON.stringify({ result, again, openAfterClose: isOpen(s.fd) }));
`);
	expect(seen).toEqual({
		result: true,
		again: "netlink socket: already read or closed",
		openAfterClose: false,
	});
});

test("an overrun rejects with ENOBUFS, and close() afterwards leaves a new file on the same number open", async () => {
	// The smallest receive buffer and a burst of 300 chains while the event loop is busy in
	// spawnSync: the kernel drops notifications, and Bun closes the descriptor on the failed read.
	const seen = await runInNamespace(`
const s = NetlinkSocket.open(NETLINK_NETFILTER, { groups: [NFNLGRP_NFTABLES], receiveBuffer: 1 });
const reading = s.readEach(() => true).then(() => "ended", (e) => e.code);
let burst = "add table inet sockettest\\n";
for (let i = 0; i < 300; i++) burst += "add chain inet sockettest c" + i + "\\n";
nft(burst);
const outcome = await reading;
await settle();
const other = openSync("/dev/null", "r");
s.close();
await settle();
console.log(JSON.stringify({ outcome, sameNumber: other === s.fd, otherOpen: isOpen(other) }));
`);
	expect(seen).toEqual({ outcome: "ENOBUFS", sameNumber: true, otherOpen: true });
});
