// A restart without outage: SIGUSR1 (or SIGTERM with the init script's keep-table file) stops
// the daemon but leaves its table in force, and the next daemon takes that table over (never
// deleting it): the forward answers throughout and a connection opened before the restart
// still works after it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt, LAB_GLOBALS, startDaemon } from "./lib/daemon";
import { ADDR, Lab } from "./lib/lab";

const CONFIG = `${LAB_GLOBALS}
config forward 'web'
	option src_dport '8080'
	option dest_ip '${ADDR.lan1.v4}'
	option dest_port '80'
`;

let lab: Lab;

beforeAll(async () => {
	ensureBuilt();
	lab = await Lab.up();
	await lab.serve("lan1", "tcp", [80]);
}, 120_000);

afterAll(async () => {
	await lab?.down();
});

const table = async () =>
	(await lab.exec("router", ["nft", "list", "table", "inet", "portrig"], { check: false })).code === 0;

test("SIGUSR1 leaves the table; the next daemon takes it over and forwards keep working", async () => {
	const first = await startDaemon(lab, CONFIG);
	const held = await lab.hold("wan1", ADDR.router.v4, 8080);
	first.signal("SIGUSR1");
	expect(await first.exited).toBe(0);
	expect(first.log()).toContain("the nft table stays");
	expect(await table()).toBe(true);
	expect(await lab.probe("wan2", "tcp", ADDR.router.v4, 8080)).toMatchObject({ node: "lan1", port: 80 });

	const second = await startDaemon(lab, CONFIG, { dir: first.dir });
	expect(await held.roundTrip("after restart")).toBe("after restart");
	await held.close();
	expect(await lab.probe("wan2", "tcp", ADDR.router.v4, 8080)).toMatchObject({ node: "lan1", port: 80 });
	const status = (await second.call("status")).reply as { nft: string; restores: number };
	expect(status.nft).toBe("libnftables");
	expect(status.restores).toBe(0);
	// SIGTERM is a stop: the table goes.
	expect(await second.stop()).toBe(0);
	expect(await table()).toBe(false);
});

test("SIGTERM with the init script's keep-table file is a restart: the table stays, the file goes", async () => {
	const first = await startDaemon(lab, CONFIG);
	const flag = join(first.dir, "portrig.keep-table");
	writeFileSync(flag, "");
	expect(await first.stop()).toBe(0);
	expect(await table()).toBe(true);
	expect(existsSync(flag)).toBe(false);
	const second = await startDaemon(lab, CONFIG, { dir: first.dir });
	expect(await lab.probe("wan2", "tcp", ADDR.router.v4, 8080)).toMatchObject({ node: "lan1", port: 80 });
	expect(await second.stop()).toBe(0);
	expect(await table()).toBe(false);
});
