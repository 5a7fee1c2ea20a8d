// `portrig daemon` at router scale: thousands of forwards in its config, fw4's stock ruleset
// loaded. Status answers, the table watch follows from the start (the first big apply does not
// overrun it), an API change takes effect with real traffic, and a change of the router's own
// listening ports (the data plane's environment) reaches the DMZ without touching the forwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab } from "./lib/lab";
import { waitFor } from "./lib/wait";

const ROUTER = ADDR.router.v4;
const FORWARDS = 5000;
const FIRST_PORT = 10_000;
/** A port the router's own service takes later (never one of the forwards'). */
const ROUTER_SERVICE = 4444;

/** FORWARDS forwards tcp FIRST_PORT… → lan1:80, and the DMZ to lan2. */
function config(): string {
	const forwards = Array.from(
		{ length: FORWARDS },
		(_, i) =>
			`\nconfig forward 'f${i}'\n\toption proto 'tcp'\n\toption src_dport '${FIRST_PORT + i}'\n\toption dest_ip '${ADDR.lan1.v4}'\n\toption dest_port '80'\n`,
	);
	return `${LAB_GLOBALS}\nconfig dmz 'dmz'\n\toption enabled '1'\n\toption dest_ip '${ADDR.lan2.v4}'\n${forwards.join("")}`;
}

type Status = {
	forwards: number;
	table: boolean;
	firewall: { state: string; losses: number };
	counters?: { forwards: Record<string, number> };
};

let lab: Lab;
let daemon: RunningDaemon;

const status = async () => (await daemon.call("status")).reply as Status;

beforeAll(async () => {
	lab = await Lab.up();
	await lab.serve("lan1", "tcp", [80]);
	await lab.serve("lan2", "tcp", [ROUTER_SERVICE, 30_000]);
	daemon = await startDaemon(lab, config(), { timeoutMs: 120_000 });
});

afterAll(async () => {
	await daemon?.stop();
	await lab?.down();
});

describe(`portrig daemon with ${FORWARDS} forwards`, () => {
	test("status answers with the table in place, following it without a lost notification, and counts every forward", async () => {
		const s = await status();
		expect(s).toMatchObject({ forwards: FORWARDS, table: true, firewall: { state: "following", losses: 0 } });
		expect(Object.keys(s.counters?.forwards ?? {})).toHaveLength(FORWARDS);
	});

	test("the first and the last forward carry connections, and a connection counts for its forward", async () => {
		expect(await lab.probe("wan1", "tcp", ROUTER, FIRST_PORT)).toMatchObject({ node: "lan1", port: 80 });
		const last = FIRST_PORT + FORWARDS - 1;
		const held = await lab.hold("wan1", ROUTER, last);
		try {
			expect(held.first).toMatchObject({ node: "lan1", port: 80 });
			await waitFor("the held connection in the counters", async () => {
				return (await status()).counters?.forwards[`f${FORWARDS - 1}`] === 1;
			});
		} finally {
			await held.close();
		}
	});

	test("add_forward takes effect for a new connection; delete_forward hands the port back to the DMZ", async () => {
		expect(await lab.probe("wan1", "tcp", ROUTER, 30_000)).toMatchObject({ node: "lan2" });
		const added = await daemon.call("add_forward", {
			proto: "tcp",
			src_dport: "30000",
			dest_ip: ADDR.lan1.v4,
			dest_port: "80",
		});
		expect(added.code).toBe(0);
		expect(await lab.probe("wan1", "tcp", ROUTER, 30_000)).toMatchObject({ node: "lan1", port: 80 });
		const id = (added.reply as { id: string }).id;
		expect((await daemon.call("delete_forward", { id })).code).toBe(0);
		expect(await lab.probe("wan1", "tcp", ROUTER, 30_000)).toMatchObject({ node: "lan2" });
		expect((await status()).forwards).toBe(FORWARDS);
	});

	test("a service the router starts is taken out of the DMZ, and the forwards keep working", async () => {
		expect(await lab.probe("wan1", "tcp", ROUTER, ROUTER_SERVICE)).toMatchObject({ node: "lan2" });
		const service = await lab.serve("router", "tcp", [ROUTER_SERVICE]);
		try {
			await waitFor(
				"the DMZ to leave the router's port",
				async () => (await lab.probe("wan1", "tcp", ROUTER, ROUTER_SERVICE)) === null,
			);
			expect(await lab.probe("wan1", "tcp", ROUTER, FIRST_PORT + 1)).toMatchObject({
				node: "lan1",
				port: 80,
			});
		} finally {
			await service.stop();
		}
		await waitFor(
			"the port back to the DMZ",
			async () => (await lab.probe("wan1", "tcp", ROUTER, ROUTER_SERVICE))?.node === "lan2",
		);
	});
});
