// The conntrack event stream against the real kernel, in a network namespace made for the test
// (root needed). follow.ts runs inside it and prints what ConntrackEvents delivers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FLOW_SINK, FLOW_SOURCE, FlowNamespace } from "../../../test-vm/lib/flow-namespace";

const BUN = process.execPath;
const FOLLOW = join(import.meta.dir, "follow.ts");

let ns: FlowNamespace;
const inNs = (...argv: string[]) => ns.run(argv);

/** UDP datagrams to FLOW_SINK:`ports` in the namespace: one conntrack entry per port, no answer. */
function udpTo(ports: number[]): void {
	const code = `const s = require("node:dgram").createSocket("udp4");
		const ports = ${JSON.stringify(ports)};
		let i = 0; const next = () => i < ports.length ? s.send("x", ports[i++], "${FLOW_SINK}", next) : s.close(); next();`;
	inNs(BUN, "-e", code);
}

type Line = Record<string, unknown> & { type: string };

/** follow.ts in the namespace, its JSON lines readable with a deadline. */
function follow(...args: string[]) {
	const proc = Bun.spawn([...ns.exec, BUN, FOLLOW, ...args], {
		stdin: "pipe",
		stdout: "pipe",
		stderr: "pipe",
	});
	const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
	let buffer = "";
	const lines: Line[] = [];
	const pump = (async () => {
		for (;;) {
			const r = await reader.read();
			if (r.done) return;
			buffer += new TextDecoder().decode(r.value);
			let nl = buffer.indexOf("\n");
			while (nl >= 0) {
				lines.push(JSON.parse(buffer.slice(0, nl)) as Line);
				buffer = buffer.slice(nl + 1);
				nl = buffer.indexOf("\n");
			}
		}
	})();
	return {
		lines,
		/** The first line (from the start) that `pred` accepts; throws after `ms`. */
		async waitFor(pred: (l: Line) => boolean, ms = 5000): Promise<Line> {
			const deadline = Date.now() + ms;
			for (;;) {
				const hit = lines.find(pred);
				if (hit) return hit;
				if (Date.now() > deadline) throw new Error(`no such line within ${ms} ms; got ${lines.length} lines`);
				await Bun.sleep(20);
			}
		},
		send(text: string) {
			(proc.stdin as import("bun").FileSink).write(`${text}\n`);
			(proc.stdin as import("bun").FileSink).flush();
		},
		async stop() {
			(proc.stdin as import("bun").FileSink).end();
			const exited = await Promise.race([proc.exited, Bun.sleep(3000).then(() => null)]);
			if (exited === null) proc.kill(9);
			await pump.catch(() => undefined);
		},
	};
}

const entryTo = (port: number, kind: string) => (l: Line) =>
	l.type === "entry" && l.kind === kind && (l.orig as { dport?: number }).dport === port;

beforeAll(() => {
	ns = FlowNamespace.create("nlev");
});

afterAll(() => {
	ns?.remove();
});

describe("ConntrackEvents in a network namespace", () => {
	test("a new UDP flow arrives as a NEW event and its deletion as a DESTROY event", async () => {
		const f = follow();
		try {
			await f.waitFor((l) => l.type === "ready");
			udpTo([9101]);
			const created = await f.waitFor(entryTo(9101, "new"));
			expect(created).toMatchObject({
				family: "ipv4",
				orig: { src: FLOW_SOURCE, dst: FLOW_SINK, proto: 17 },
			});
			inNs("conntrack", "-D", "-p", "udp", "--dport", "9101");
			const destroyed = await f.waitFor(entryTo(9101, "destroy"));
			expect(destroyed.id).toBe(created.id);
		} finally {
			await f.stop();
		}
	});

	test("with a port filter the kernel passes only events of those protocols and destination ports", async () => {
		const f = follow("--ports", "17:9400-9410,6:9500");
		try {
			await f.waitFor((l) => l.type === "ready");
			// UDP 9500 is outside the UDP range (9500 is a TCP port of the filter): dropped.
			udpTo([9500, 9401, 9399, 9405]);
			await f.waitFor(entryTo(9405, "new"));
			await Bun.sleep(200);
			const ports = f.lines.filter((l) => l.type === "entry").map((l) => (l.orig as { dport: number }).dport);
			expect(ports).toEqual([9401, 9405]);
		} finally {
			await f.stop();
		}
	});

	test("a dump lists the flows that exist", async () => {
		udpTo([9201, 9202]);
		const out = inNs(BUN, FOLLOW, "--dump")
			.trim()
			.split("\n")
			.map((l) => JSON.parse(l) as Line);
		const ports = out.map((l) => (l.orig as { dport?: number }).dport);
		expect(ports).toEqual(expect.arrayContaining([9201, 9202]));
	});

	test("a dump filtered by origin lists only the entries from that source and protocol", async () => {
		udpTo([9211, 9212]);
		const dump = (origin: object) =>
			JSON.parse(
				inNs(
					BUN,
					"-e",
					`const { dumpConntrack } = await import(${JSON.stringify(join(import.meta.dir, "events.ts"))});
					console.log(JSON.stringify((await dumpConntrack(undefined, ${JSON.stringify(origin)})).map((e) => [e.orig.src, e.orig.proto, e.orig.dport])));`,
				),
			) as [string, number, number][];
		const mine = dump({ family: "ipv4", src: FLOW_SOURCE, proto: 17 });
		expect(mine.map(([, , port]) => port)).toEqual(expect.arrayContaining([9211, 9212]));
		expect(mine.every(([src, proto]) => src === FLOW_SOURCE && proto === 17)).toBe(true);
		expect(dump({ family: "ipv4", src: FLOW_SOURCE, proto: 6 })).toEqual([]);
		expect(dump({ family: "ipv4", src: "10.99.0.9", proto: 17 })).toEqual([]);
		expect(dump({ family: "ipv6", src: "2001:db8::1", proto: 17 })).toEqual([]);
	});

	test("an overrun (ENOBUFS) is counted, followed by a resync from a dump, and events flow again", async () => {
		inNs("conntrack", "-F");
		// A receive buffer of a few events and an event loop kept busy: the kernel must drop.
		const f = follow("--buffer", "4096", "--block-ms", "1500");
		try {
			await f.waitFor((l) => l.type === "ready");
			const flows = Array.from({ length: 2000 }, (_, i) => 20000 + i);
			udpTo(flows);
			const resync = await f.waitFor((l) => l.type === "resync", 15000);
			// The dump holds the flows whose events were dropped.
			expect(resync.entries as number).toBeGreaterThanOrEqual(flows.length);
			f.send("stats");
			const stats = await f.waitFor((l) => l.type === "stats");
			expect(stats.overruns as number).toBeGreaterThanOrEqual(1);
			expect(stats.resyncs as number).toBeGreaterThanOrEqual(1);
			udpTo([9301]);
			await f.waitFor(entryTo(9301, "new"));
		} finally {
			await f.stop();
		}
	});
});
