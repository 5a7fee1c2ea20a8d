// The `status` reply's per-entry counters against real connections through the lab router:
// long-lived TCP connections and a UDP flow through forwards (IPv4 with DNAT, NAT loopback,
// an IPv6 pinhole), an inbound connection through a trigger opening, and the counts going
// back to 0 when the connections end. Counted by `portrig call status` (the compiled daemon).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ensureBuilt, LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, type HeldConnection, Lab, type LabNode, type Proc } from "./lib/lab";

setDefaultTimeout(60_000);

const CONFIG = `${LAB_GLOBALS}
config forward 'web'
	option name 'Web'
	option proto 'tcp'
	option src_dport '8080'
	option dest_ip '${ADDR.lan1.v4}'
	option dest_port '80'

config forward 'voice'
	option name 'Voice'
	option proto 'udp'
	option src_dport '9987'
	option dest_ip '${ADDR.lan2.v4}'

config forward 'idle'
	option name 'Idle'
	option src_dport '2222'
	option dest_ip '${ADDR.lan2.v4}'
	option dest_port '22'

config forward 'web6'
	option name 'Web over IPv6'
	option proto 'tcp'
	option src_dport '8443'
	option dest_ip '${ADDR.lan1.v6}'

config trigger 'irc'
	option name 'IRC'
	option trigger_port '6667'
	list open_port '7000'

config trigger 'quiet'
	option name 'Quiet'
	option trigger_port '6668'
	list open_port '7001'
`;

const ROUTER = ADDR.router.v4;
const N = 4;

type Counters = {
	forwards: Record<string, number>;
	triggers: Record<string, { connections: number; openings: number }>;
};

let lab: Lab;
let daemon: RunningDaemon;
const servers: Proc[] = [];
const held: HeldConnection[] = [];

beforeAll(async () => {
	ensureBuilt();
	lab = await Lab.up();
	servers.push(
		await lab.serve("lan1", "tcp", [80, 8443, 7000]),
		await lab.serve("lan2", "udp", [9987]),
		await lab.serve("wan1", "tcp", [6667]),
	);
	daemon = await startDaemon(lab, CONFIG);
}, 120_000);

afterAll(async () => {
	for (const c of held) await c.close();
	await daemon?.stop();
	for (const s of servers) await s.stop();
	await lab?.down();
});

async function counters(): Promise<Counters> {
	const r = await daemon.call("status");
	if (r.code !== 0) throw new Error(`status failed: ${JSON.stringify(r.reply)}`);
	return (r.reply as { counters: Counters }).counters;
}

/** The counters once `done` holds for them (or the last ones after a generous deadline). */
async function countersWhen(done: (c: Counters) => boolean, ms = 10_000): Promise<Counters> {
	const deadline = Date.now() + ms;
	let c = await counters();
	while (!done(c) && Date.now() < deadline) {
		await Bun.sleep(100);
		c = await counters();
	}
	return c;
}

async function holdMany(n: number, from: LabNode, address: string, port: number) {
	const opened = await Promise.all(Array.from({ length: n }, () => lab.hold(from, address, port)));
	held.push(...opened);
	return opened;
}

async function closeAll(connections: HeldConnection[]) {
	for (const c of connections) {
		await c.close();
		held.splice(held.indexOf(c), 1);
	}
}

describe("forward counters", () => {
	test("with nothing connected every forward and trigger is listed with 0", async () => {
		expect(await counters()).toEqual({
			forwards: { web: 0, voice: 0, idle: 0, web6: 0 },
			triggers: { irc: { connections: 0, openings: 0 }, quiet: { connections: 0, openings: 0 } },
		});
	});

	test("N long-lived TCP connections and a UDP flow from a WAN host count for their forwards; another forward stays 0", async () => {
		const tcp = await holdMany(N, "wan1", ROUTER, 8080);
		expect(tcp.map((c) => c.first.node)).toEqual(Array(N).fill("lan1"));
		expect(await lab.probe("wan1", "udp", ROUTER, 9987)).toMatchObject({ node: "lan2", port: 9987 });
		const c = await countersWhen((x) => x.forwards.web === N && x.forwards.voice === 1);
		expect(c.forwards).toEqual({ web: N, voice: 1, idle: 0, web6: 0 });
		// each connection still carries traffic while counted
		expect(await tcp[0]?.roundTrip("still here")).toBe("still here");
	});

	test("a NAT loopback connection from a LAN host counts for the forward too", async () => {
		const [loop] = await holdMany(1, "lan2", ROUTER, 8080);
		expect(loop?.first).toMatchObject({ node: "lan1", port: 80 });
		const c = await countersWhen((x) => x.forwards.web === N + 1);
		expect(c.forwards.web).toBe(N + 1);
	});

	test("IPv6 connections to a pinhole count for the IPv6 forward", async () => {
		const six = await holdMany(2, "wan1", ADDR.lan1.v6, 8443);
		expect(six.map((c) => c.first.node)).toEqual(["lan1", "lan1"]);
		const c = await countersWhen((x) => x.forwards.web6 === 2);
		expect(c.forwards.web6).toBe(2);
		expect(c.forwards.idle).toBe(0);
	});

	test("when the TCP connections end, the counts go back to 0", async () => {
		await closeAll([...held]);
		const c = await countersWhen((x) => x.forwards.web === 0 && x.forwards.web6 === 0);
		expect(c.forwards.web).toBe(0);
		expect(c.forwards.web6).toBe(0);
	});
});

describe("trigger counters", () => {
	test("an opening shows openings 1 and connections 0; the outbound trigger connection is not an inbound one", async () => {
		const [trigger] = await holdMany(1, "lan1", ADDR.wan1.v4, 6667);
		expect(trigger?.first.node).toBe("wan1");
		const c = await countersWhen((x) => x.triggers.irc?.openings === 1);
		expect(c.triggers).toEqual({
			irc: { connections: 0, openings: 1 },
			quiet: { connections: 0, openings: 0 },
		});
	});

	test("an inbound connection through the opening shows openings 1, connections 1", async () => {
		const [inbound] = await holdMany(1, "wan1", ROUTER, 7000);
		expect(inbound?.first).toMatchObject({ node: "lan1", port: 7000 });
		const c = await countersWhen((x) => x.triggers.irc?.connections === 1);
		expect(c.triggers).toEqual({
			irc: { connections: 1, openings: 1 },
			quiet: { connections: 0, openings: 0 },
		});
		expect(c.forwards).toMatchObject({ web: 0, idle: 0 });
	});
});
