// The data plane as `portrig daemon` runs it in the lab router (fw4's stock ruleset loaded):
// restoring after `nft flush ruleset`, a held connection across API changes, and a refused
// config leaving traffic as it was. Real connections throughout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab, REPO } from "./lib/lab";
import { waitFor } from "./lib/wait";

const ROUTER = ADDR.router.v4;
const CONFIG = readFileSync(join(REPO, "test-vm", "demo.portrig"), "utf8");

let lab: Lab;
let daemon: RunningDaemon;

/** `status`'s firewall.state: "following", or "waiting_for_fw4" while the firewall is down. */
async function firewallState(): Promise<string | undefined> {
	return ((await daemon.call("status")).reply as { firewall?: { state: string } }).firewall?.state;
}

beforeAll(async () => {
	lab = await Lab.up();
	await lab.serve("lan1", "tcp", [80, 22]);
	await lab.serve("lan2", "tcp", [4444, 5432]);
	daemon = await startDaemon(lab, CONFIG);
});

afterAll(async () => {
	await daemon?.stop();
	await lab?.down();
});

describe("portrig daemon's data plane", () => {
	test("the demo config's forward, pinhole and DMZ carry real connections", async () => {
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		expect(await lab.probe("wan1", "tcp", ADDR.lan1.v6, 22)).toMatchObject({ node: "lan1", port: 22 });
		expect(await lab.probe("wan2", "tcp", ROUTER, 4444)).toMatchObject({ node: "lan2", port: 4444 });
		expect(await lab.probe("wan2", "tcp", ROUTER, 22)).toBeNull();
	});

	test("a held connection survives adding and deleting another forward through the API", async () => {
		const held = await lab.hold("wan1", ROUTER, 8080);
		const added = await daemon.call("add_forward", {
			proto: "tcp",
			src_dport: "15432",
			dest_ip: ADDR.lan2.v4,
			dest_port: "5432",
		});
		expect(added.code).toBe(0);
		expect(await lab.probe("wan2", "tcp", ROUTER, 15432)).toMatchObject({ node: "lan2", port: 5432 });
		expect(await held.roundTrip("still here")).toBe("still here");
		const id = (added.reply as { id: string }).id;
		expect((await daemon.call("delete_forward", { id })).code).toBe(0);
		expect(await held.roundTrip("still here after delete")).toBe("still here after delete");
		await held.close();
	});

	test("idle after a change, the daemon releases its compiled code and nft's context; then changes still take effect", async () => {
		const releases = async () =>
			((await daemon.call("status")).reply as { memory: { code_releases: number } }).memory.code_releases;
		const addForward = async (src_dport: string) => {
			const r = await daemon.call("add_forward", {
				proto: "tcp",
				src_dport,
				dest_ip: ADDR.lan2.v4,
				dest_port: "5432",
			});
			expect(r.code).toBe(0);
			return (r.reply as { id: string }).id;
		};
		const held = await lab.hold("wan1", ROUTER, 8080);
		const first = await addForward("15433");
		const before = await releases();
		await waitFor(
			"the daemon to release its compiled code",
			async () => (await releases()) > before,
			30_000,
			500,
		);
		const second = await addForward("15434");
		expect(await lab.probe("wan2", "tcp", ROUTER, 15434)).toMatchObject({ node: "lan2", port: 5432 });
		expect(await lab.probe("wan2", "tcp", ROUTER, 15433)).toMatchObject({ node: "lan2", port: 5432 });
		expect(await held.roundTrip("still here")).toBe("still here");
		for (const id of [first, second]) expect((await daemon.call("delete_forward", { id })).code).toBe(0);
		expect(await lab.probe("wan2", "tcp", ROUTER, 15434)).toBeNull();
		await held.close();
	}, 60_000);

	test("a broken config is refused on reload and the forwards keep working", async () => {
		const good = readFileSync(daemon.configFile, "utf8");
		const table = async () => (await lab.exec("router", ["nft", "list", "table", "inet", "portrig"])).stdout;
		const before = await table();
		writeFileSync(daemon.configFile, good.replace("option src_dport '8080'", "option src_dport '80800'"));
		try {
			const r = await daemon.call("reload");
			expect(r.code).not.toBe(0);
			expect(JSON.stringify(r.reply)).toContain("src_dport");
			expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
			expect(await table()).toBe(before);
		} finally {
			writeFileSync(daemon.configFile, good);
			expect((await daemon.call("reload")).code).toBe(0);
		}
	});

	test("after `nft flush ruleset` the table stays away until fw4 reloads, then is back at once and traffic flows", async () => {
		await lab.exec("router", ["nft", "flush", "ruleset"]);
		await waitFor("the daemon to wait for fw4", async () => (await firewallState()) === "waiting_for_fw4");
		expect((await lab.exec("router", ["nft", "list", "tables"])).stdout).toBe("");
		await lab.reloadFw4();
		const ms = await waitFor(
			"the portrig table",
			async () => (await lab.exec("router", ["nft", "list", "tables"])).stdout.includes("inet portrig"),
			10_000,
			10,
		);
		console.log(`daemon restored its table ${ms.toFixed(0)} ms after fw4 reloaded`);
		expect(await firewallState()).toBe("following");
		expect(await lab.probe("wan1", "tcp", ROUTER, 8080)).toMatchObject({ node: "lan1", port: 80 });
		expect(await lab.probe("wan2", "tcp", ROUTER, 4444)).toMatchObject({ node: "lan2", port: 4444 });
	});
});
