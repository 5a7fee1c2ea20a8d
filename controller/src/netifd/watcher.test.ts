// The event path: the watcher follows netifd through ubus (a stand-in ubusd hosting
// network.interface) and hands the daemon new device sets after events and notifications.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UbusClient } from "../ubus/client";
import type { PlainTable } from "../ubus/plain";
import { FakeUbusd } from "../ubus/testing/fake-ubusd";
import type { NetworkEnv } from "./resolve";
import { NetifdWatcher } from "./watcher";

const fixture = (name: string) => readFileSync(join(import.meta.dir, "fixtures", name), "utf8");
const GLOBALS = { wan_zone: ["wan"], lan_zone: ["lan"], wan_device: [], lan_device: [] };

const cleanups: (() => void)[] = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = probe();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await Bun.sleep(10);
	}
}

describe("following netifd", () => {
	test("a PPPoE reconnect (ifdown, ifup events) and an address update change the device sets without a reload", async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-netifd-"));
		cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
		const firewall = join(dir, "firewall");
		writeFileSync(firewall, fixture("firewall"));
		let current: PlainTable = JSON.parse(fixture("dump-pppoe-up.json"));
		const ubusd = new FakeUbusd(join(dir, "ubus.sock"));
		ubusd.host("network.interface", { dump: () => current });
		ubusd.start();
		cleanups.push(() => ubusd.stop());
		const client = new UbusClient({
			socket: join(dir, "ubus.sock"),
			log: () => {},
			retryMs: { first: 20, max: 100 },
		});
		cleanups.push(() => client.stop());
		const changes: NetworkEnv[] = [];
		const watcher = new NetifdWatcher({
			client,
			globals: () => GLOBALS,
			onChange: (env) => changes.push(env),
			firewallFile: firewall,
			log: () => {},
			settleMs: 20,
		});
		cleanups.push(() => watcher.stop());
		expect(watcher.current().wanDevices).toEqual([]); // nothing known before netifd answers
		watcher.start();
		client.start();

		const first = await until("the first dump", () => changes[0]);
		expect([first.wanDevices, first.lanDevices, first.wanAddresses.includes("198.51.100.7/32")]).toEqual([
			["pppoe-wan", "wg0"],
			["br-lan"],
			true,
		]);

		current = JSON.parse(fixture("dump-pppoe-down.json"));
		ubusd.event("network.interface", { action: "ifdown", interface: "wan" });
		const down = await until("the dump after ifdown", () => changes[1]);
		expect(down.wanDevices).toEqual(["eth1", "wg0"]);

		current = JSON.parse(fixture("dump-pppoe-reconnected.json"));
		ubusd.event("network.interface", { action: "ifup", interface: "wan" });
		const up = await until("the dump after ifup", () => changes[2]);
		expect([up.wanDevices, up.wanAddresses.includes("203.0.113.45/32")]).toEqual([
			["pppoe-wan", "wg0"],
			true,
		]);

		// the same state again: a notification triggers a dump but no change reaches the daemon
		ubusd.notify("network.interface", "interface.update", { interface: "wan" });
		const dumps = () => ubusd.received.filter((m) => m.type === "INVOKE" && m.attrs.method === "dump").length;
		const before = dumps();
		await until("the dump after the notification", () => (dumps() > before ? true : undefined));
		await Bun.sleep(50);
		expect(changes.length).toBe(3);

		// an address change without ifdown arrives as netifd's interface.update notification
		const renumbered = JSON.parse(fixture("dump-pppoe-reconnected.json"));
		renumbered.interface[2]["ipv4-address"][0].address = "203.0.113.99";
		current = renumbered;
		ubusd.notify("network.interface", "interface.update", { interface: "wan" });
		const renumberedEnv = await until("the dump after the update", () => changes[3]);
		expect(renumberedEnv.wanAddresses).toContain("203.0.113.99/32");
		expect(renumberedEnv.wanDevices).toEqual(["pppoe-wan", "wg0"]);
	});

	test("without ubus the watcher gives the globals and never changes", () => {
		const changes: NetworkEnv[] = [];
		const watcher = new NetifdWatcher({
			globals: () => ({ ...GLOBALS, wan_device: ["eth1"], lan_device: ["br-lan"] }),
			onChange: (env) => changes.push(env),
			log: () => {},
		});
		watcher.start();
		expect(watcher.current()).toMatchObject({ wanDevices: ["eth1"], lanDevices: ["br-lan"] });
		expect(changes).toEqual([]);
		watcher.stop();
	});
});
