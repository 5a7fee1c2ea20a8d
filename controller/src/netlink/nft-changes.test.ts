// The nf_tables change stream against the real kernel, in a network namespace made for the test
// (root needed): a process there follows the changes and prints them as JSON lines while the
// test creates and deletes tables with nft.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { FlowNamespace } from "../../../test-vm/lib/flow-namespace";
import { waitFor } from "../../../test-vm/lib/wait";
import type { NftChange } from "./nftables";

const FOLLOWER = `
import { NftChanges } from ${JSON.stringify(join(import.meta.dir, "nft-changes.ts"))};
const changes = new NftChanges({
	onChange: (c) => console.log(JSON.stringify(c)),
	onLoss: () => console.log(JSON.stringify({ loss: true })),
});
changes.start();
console.log(JSON.stringify({ ready: true }));
for await (const _ of Bun.stdin.stream()) {}
await changes.stop();
`;

let ns: FlowNamespace;
beforeAll(() => {
	ns = FlowNamespace.create("nftch");
});
afterAll(() => ns?.remove());

test("table creation and deletion in the namespace arrive as changes naming family and table", async () => {
	const proc = Bun.spawn([...ns.exec, process.execPath, "-e", FOLLOWER], { stdin: "pipe", stdout: "pipe" });
	const lines: Record<string, unknown>[] = [];
	const pump = (async () => {
		let buffer = "";
		for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
			buffer += new TextDecoder().decode(chunk);
			for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
				lines.push(JSON.parse(buffer.slice(0, nl)));
				buffer = buffer.slice(nl + 1);
			}
		}
	})();
	const seen = (c: NftChange) => lines.some((l) => JSON.stringify(l) === JSON.stringify(c));
	try {
		await waitFor("the follower to subscribe", async () => lines.some((l) => l.ready), 10_000, 20);
		// A whole ruleset in one transaction, as fw4 loads its own: chains, sets and rules notify too.
		ns.run(
			["nft", "-f", "-"],
			[
				"table inet fw4 {",
				"set s { type ipv4_addr; elements = { 10.0.0.1 }; }",
				"chain c { type filter hook forward priority 0; accept; }",
				"}",
				"table ip other {",
				"}",
				"",
			].join("\n"),
		);
		ns.run(["nft", "delete", "table", "inet", "fw4"]);
		ns.run(["nft", "delete", "table", "ip", "other"]);
		const created = { op: "new", object: "table", family: "inet", table: "fw4" } as const;
		const deleted = { ...created, op: "delete" } as const;
		const other = { op: "delete", object: "table", family: "ip", table: "other" } as const;
		await waitFor("the deletions", async () => seen(deleted) && seen(other), 10_000, 20);
		expect(seen(created)).toBe(true);
		// Only table changes: none for the chain, set, element and rule of the transaction.
		expect(lines.filter((l) => !l.ready)).toEqual([
			created,
			{ op: "new", object: "table", family: "ip", table: "other" },
			deleted,
			other,
		]);
	} finally {
		(proc.stdin as import("bun").FileSink).end();
		await proc.exited;
		await pump;
	}
});
