// portrig beside fw4 when the firewall stops and starts: `/etc/init.d/firewall stop` (`fw4 flush`:
// every table deleted, one by one, under fw4's lock) closes forwards, trigger openings and the DMZ
// until the firewall starts again, then all of them are back at once — openings with their time
// left. fw4 restarting alone leaves portrig's table in place; a box without fw4 restores at once.
// Real connections in the lab throughout.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab, type LabNode } from "./lib/lab";
import { waitFor } from "./lib/wait";

setDefaultTimeout(60_000);

const ROUTER = ADDR.router.v4;
const CONFIG = `${LAB_GLOBALS}
config forward 'web'
	option proto 'tcp'
	option src_dport '8080'
	option dest_ip '${ADDR.lan1.v4}'
	option dest_port '80'

config trigger 'irc'
	option name 'irc'
	option trigger_port '7003'
	list open_port '7103'
	option timeout '120'

config dmz 'dmz'
	option enabled '1'
	option dest_ip '${ADDR.lan2.v4}'
`;

let lab: Lab;

beforeAll(async () => {
	lab = await Lab.up();
	await Promise.all([
		lab.serve("wan1", "tcp", [7003]),
		lab.serve("lan1", "tcp", [80, 7103]),
		lab.serve("lan2", "tcp", [5555, 9091]),
	]);
});

afterAll(async () => {
	await lab?.down();
});

/** Who answers a new connection from wan1 to the router's WAN address (null: nobody). */
const inbound = (port: number, from: LabNode = "wan1") =>
	lab.probe(from, "tcp", ROUTER, port, 1000).then((a) => a?.node ?? null);

const tables = async () => (await lab.exec("router", ["nft", "list", "tables"])).stdout;

type Firewall = { state: string; fw4: { table: boolean; beside: boolean } };
async function status(d: RunningDaemon): Promise<{ firewall: Firewall; restores: number }> {
	return (await d.call("status")).reply as { firewall: Firewall; restores: number };
}

/** `fw4 flush` as fw4 runs it: under its lock, every table deleted by its own command. portrig's
 * goes first, so the daemon sees it vanish while fw4's still exists. */
async function fw4Flush(d: RunningDaemon): Promise<void> {
	const script = `nft delete table inet portrig
nft list tables | while read dummy family table; do nft delete table "$family" "$table"; done`;
	await lab.exec("router", ["flock", "-x", join(d.dir, "fw4.lock"), "sh", "-c", script]);
}

describe("the firewall stops and starts", () => {
	test("firewall stop closes forwards, openings and the DMZ; firewall start brings all of them back", async () => {
		const d = await startDaemon(lab, CONFIG);
		try {
			expect((await lab.probe("lan1", "tcp", ADDR.wan1.v4, 7003))?.node).toBe("wan1");
			expect(await inbound(7103)).toBe("lan1");
			expect(await inbound(8080)).toBe("lan1");
			expect(await inbound(5555)).toBe("lan2");

			await fw4Flush(d);
			await waitFor(
				"the daemon to wait for fw4",
				async () => (await status(d)).firewall.state === "waiting_for_fw4",
			);
			expect(await tables()).toBe("");
			expect(await inbound(8080)).toBeNull();
			expect(await inbound(7103)).toBeNull();
			expect(await inbound(5555)).toBeNull();
			// A change while the firewall is down is taken, but nothing reaches the kernel.
			const added = await d.call("add_forward", {
				proto: "tcp",
				src_dport: 9090,
				dest_ip: ADDR.lan2.v4,
				dest_port: "9091",
			});
			expect(added.code).toBe(0);
			expect(await tables()).toBe("");
			expect(await inbound(9090)).toBeNull();

			await lab.reloadFw4();
			await waitFor("the portrig table", async () => (await tables()).includes("inet portrig"));
			expect((await status(d)).firewall).toMatchObject({
				state: "following",
				fw4: { table: true, beside: true },
			});
			expect(await inbound(8080)).toBe("lan1");
			expect(await inbound(7103)).toBe("lan1");
			expect(await inbound(5555)).toBe("lan2");
			expect(await inbound(9090)).toBe("lan2");
			const openings = (await d.call("openings")).reply as { openings: { host: string; expires: number }[] };
			expect(openings.openings.map((o) => o.host)).toEqual([ADDR.lan1.v4]);
		} finally {
			await d.stop();
		}
	});

	test("fw4 restarting (its table deleted, then loaded again) leaves portrig's table in place", async () => {
		const d = await startDaemon(lab, CONFIG);
		try {
			const held = await lab.hold("wan1", ROUTER, 8080);
			await lab.exec("router", [
				"flock",
				"-x",
				join(d.dir, "fw4.lock"),
				"nft",
				"delete",
				"table",
				"inet",
				"fw4",
			]);
			await waitFor("the daemon to see fw4 gone", async () => !(await status(d)).firewall.fw4.table);
			expect(await tables()).toContain("inet portrig");
			await lab.reloadFw4();
			await waitFor("the daemon to see fw4 back", async () => (await status(d)).firewall.fw4.table);
			expect(await status(d)).toMatchObject({ firewall: { state: "following" }, restores: 0 });
			expect(await held.roundTrip("through the restart")).toBe("through the restart");
			await held.close();
			expect(await inbound(8080)).toBe("lan1");
		} finally {
			await d.stop();
		}
	});

	test("on a box without fw4 (never seen, no lock file) a deleted table is restored at once", async () => {
		await lab.exec("router", ["nft", "delete", "table", "inet", "fw4"]);
		const d = await startDaemon(lab, CONFIG);
		try {
			expect((await status(d)).firewall).toMatchObject({
				state: "following",
				fw4: { table: false, beside: false },
			});
			await lab.exec("router", ["nft", "delete", "table", "inet", "portrig"]);
			await waitFor("the portrig table", async () => (await tables()).includes("inet portrig"));
			expect((await status(d)).restores).toBe(1);
		} finally {
			await d.stop();
			await lab.reloadFw4();
		}
	});
});
