// Port triggering with `portrig daemon` in the lab router (fw4's stock ruleset loaded), real
// connections throughout: a LAN host connects out to a trigger port, WAN hosts connect in.
// One daemon, one trigger per behaviour (distinct ports), so tests never share an opening.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab, type LabNode, LineReader, type Proto, REPO } from "./lib/lab";
import { waitFor } from "./lib/wait";

setDefaultTimeout(30_000);

const ROUTER = ADDR.router.v4;
const WAN1 = ADDR.wan1.v4;
const AGENT = join(REPO, "bench", "triggers-agent.ts");

/** Trigger sections; each test uses its own. */
const CONFIG = `${LAB_GLOBALS}	option trigger_timeout '600'

config trigger 'irc'
	option name 'IRC DCC'
	option proto 'tcp'
	option trigger_port '6660-6669'
	list open_port '113'
	list open_port '59000-59002'

config trigger 'game'
	option name 'Game'
	option proto 'udp'
	option trigger_port '27015'
	option open_proto 'tcp udp'
	list open_port '27100'

config trigger 'short'
	option name 'Short'
	option trigger_port '7001'
	list open_port '7101'
	option timeout '2'

config trigger 'keep'
	option name 'Keep'
	option trigger_port '7002'
	list open_port '7102'
	option timeout '2'

config trigger 'keep_out'
	option name 'Keep by trigger traffic'
	option trigger_port '7003'
	list open_port '7103'
	option timeout '2'

config trigger 'only1'
	option name 'Only lan1'
	option trigger_port '7004'
	list open_port '7104'
	list src_ip '${ADDR.lan1.v4}'

config trigger 'any'
	option name 'Any host'
	option trigger_port '7005'
	list open_port '7105'

config trigger 'remote'
	option name 'Remote only'
	option trigger_port '7006'
	list open_port '7106'
	option remote_only '1'

config trigger 'contended'
	option name 'Contended'
	option trigger_port '7007'
	list open_port '7107'
	option timeout '2'

config trigger 'zero'
	option name 'Zero'
	option trigger_port '7008'
	list open_port '7108'

config trigger 'six'
	option name 'IPv6'
	option trigger_port '7009'
	list open_port '7109'
`;

type OpeningRow = {
	trigger: string;
	host: string;
	remote?: string;
	proto: string;
	ports: string[];
	expires: number;
};

let lab: Lab;
let daemon: RunningDaemon;

async function openings(trigger: string): Promise<OpeningRow[]> {
	const r = await daemon.call("openings");
	expect(r.code).toBe(0);
	return (r.reply as { openings: OpeningRow[] }).openings.filter((o) => o.trigger === trigger);
}

/** A connection from a LAN host to wan1's trigger port (wan1 answers it). */
async function trigger(from: LabNode, proto: Proto, port: number, to: string = WAN1): Promise<void> {
	const answer = await lab.probe(from, proto, to, port);
	expect(answer?.node).toMatch(/^wan/);
}

/** Who answers a new inbound connection from `from` to `address:port` (null: nobody). */
const inbound = (from: LabNode, proto: Proto, port: number, address: string = ROUTER) =>
	lab.probe(from, proto, address, port, 1000).then((a) => a?.node ?? null);

beforeAll(async () => {
	lab = await Lab.up();
	const outPorts = [6667, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009];
	const inPorts = [113, 59000, 59001, 59002, 27100, 7101, 7102, 7103, 7104, 7105, 7106, 7107, 7108, 7109];
	await Promise.all([
		lab.serve("wan1", "tcp", outPorts),
		lab.serve("wan2", "tcp", outPorts),
		lab.serve("wan1", "udp", [27015]),
		lab.serve("lan1", "tcp", inPorts),
		lab.serve("lan2", "tcp", inPorts),
		lab.serve("lan1", "udp", [27100]),
	]);
	daemon = await startDaemon(lab, CONFIG);
});

afterAll(async () => {
	await daemon?.stop();
	await lab?.down();
});

describe("port triggering", () => {
	test("nothing is open before a trigger", async () => {
		expect(await inbound("wan1", "tcp", 113)).toBeNull();
		expect(await openings("irc")).toEqual([]);
	});

	test("a TCP trigger opens every port of its open_port list and range to the host that triggered", async () => {
		await trigger("lan1", "tcp", 6667);
		for (const port of [113, 59000, 59001, 59002]) expect(await inbound("wan1", "tcp", port)).toBe("lan1");
		const [o] = await openings("irc");
		expect(o).toMatchObject({ host: ADDR.lan1.v4, proto: "tcp", ports: ["113", "59000-59002"] });
		expect(o?.remote).toBeUndefined();
		expect(o?.expires).toBeGreaterThan(590);
	});

	test("a UDP trigger opens both protocols of open_proto (TCP and UDP)", async () => {
		await trigger("lan1", "udp", 27015);
		expect(await inbound("wan1", "tcp", 27100)).toBe("lan1");
		expect(await inbound("wan1", "udp", 27100)).toBe("lan1");
		expect((await openings("game"))[0]).toMatchObject({ host: ADDR.lan1.v4, proto: "tcp udp" });
	});

	test("an idle opening closes after its timeout: the kernel drops it, the daemon reports it", async () => {
		await trigger("lan1", "tcp", 7001);
		expect(await inbound("wan1", "tcp", 7101)).toBe("lan1");
		await waitFor("the opening to close", async () => (await openings("short")).length === 0, 8000);
		expect(await inbound("wan1", "tcp", 7101)).toBeNull();
		const map = await lab.exec("router", ["nft", "list", "map", "inet", "portrig", "tr_short_4"]);
		expect(map.stdout).not.toContain("192.168.1.10");
	});

	test("traffic on a connection the opening let in keeps the opening open past its timeout", async () => {
		await trigger("lan1", "tcp", 7002);
		const held = await lab.hold("wan1", ROUTER, 7102);
		expect(held.first.node).toBe("lan1");
		for (let i = 0; i < 10; i++) {
			expect(await held.roundTrip(`ping ${i}`)).toBe(`ping ${i}`);
			await Bun.sleep(500);
		}
		// 5 s of traffic on a 2 s timeout: still open for new connections.
		expect(await inbound("wan2", "tcp", 7102)).toBe("lan1");
		await held.close();
	});

	test("traffic on the trigger connection keeps the opening open past its timeout", async () => {
		const held = await lab.hold("lan1", WAN1, 7003);
		expect(held.first.node).toBe("wan1");
		for (let i = 0; i < 10; i++) {
			expect(await held.roundTrip(`ping ${i}`)).toBe(`ping ${i}`);
			await Bun.sleep(500);
		}
		expect(await inbound("wan1", "tcp", 7103)).toBe("lan1");
		await held.close();
	});

	test("src_ip limits who may trigger; without src_ip any LAN host may", async () => {
		await trigger("lan2", "tcp", 7004);
		expect(await inbound("wan1", "tcp", 7104)).toBeNull();
		expect(await openings("only1")).toEqual([]);
		await trigger("lan1", "tcp", 7004);
		expect(await inbound("wan1", "tcp", 7104)).toBe("lan1");
		await trigger("lan2", "tcp", 7005);
		expect(await inbound("wan1", "tcp", 7105)).toBe("lan2");
	});

	test("remote_only lets in the contacted server and nobody else", async () => {
		await trigger("lan1", "tcp", 7006, WAN1);
		expect(await inbound("wan1", "tcp", 7106)).toBe("lan1");
		expect(await inbound("wan2", "tcp", 7106)).toBeNull();
		expect((await openings("remote"))[0]).toMatchObject({ host: ADDR.lan1.v4, remote: WAN1 });
	});

	test("contention: a second host's trigger neither takes nor extends a live opening; it is refused and counted", async () => {
		const refusedBefore = await refusals();
		await trigger("lan1", "tcp", 7007);
		await trigger("lan2", "tcp", 7007);
		expect(await inbound("wan1", "tcp", 7107)).toBe("lan1");
		expect((await openings("contended")).map((o) => o.host)).toEqual([ADDR.lan1.v4]);
		await waitFor("the refusal to be counted", async () => (await refusals()) > refusedBefore);
		// lan2 keeps using its trigger connection: that must not keep lan1's opening alive.
		const held = await lab.hold("lan2", WAN1, 7007);
		await waitFor(
			"lan1's opening to expire",
			async () => {
				await held.roundTrip("x", 500);
				return (await openings("contended")).length === 0;
			},
			8000,
		);
		await held.close();
		// Once it closed, the next trigger of lan2 takes it.
		await trigger("lan2", "tcp", 7007);
		expect(await inbound("wan1", "tcp", 7107)).toBe("lan2");
	});

	test("an inbound connection sent the moment the WAN host sees the trigger SYN gets through (20 of 20)", async () => {
		const back = lab.spawn("wan1", [process.execPath, AGENT, "back", "7008", ROUTER, "7108", "0"], {
			stdout: "pipe",
		});
		const lines = new LineReader(back.proc.stdout as ReadableStream<Uint8Array>);
		try {
			expect(await lines.next(10_000)).toContain("ready");
			let ok = 0;
			for (let i = 0; i < 20; i++) {
				await daemon.call("close_opening", { trigger: "zero" });
				await trigger("lan1", "tcp", 7008);
				const result = JSON.parse((await lines.next(5000)) ?? "{}") as { ok?: boolean; answer?: string };
				if (result.ok && result.answer?.startsWith("lan1 tcp 7108")) ok++;
			}
			expect(ok).toBe(20);
		} finally {
			await back.stop();
		}
	});

	test("IPv6: each host that triggers gets its own pinhole (no NAT, so no contention)", async () => {
		expect(await inbound("wan1", "tcp", 7109, ADDR.lan1.v6)).toBeNull();
		await trigger("lan1", "tcp", 7009, ADDR.wan1.v6);
		expect(await inbound("wan1", "tcp", 7109, ADDR.lan1.v6)).toBe("lan1");
		expect(await inbound("wan1", "tcp", 7109, ADDR.lan2.v6)).toBeNull();
		await trigger("lan2", "tcp", 7009, ADDR.wan1.v6);
		expect(await inbound("wan1", "tcp", 7109, ADDR.lan2.v6)).toBe("lan2");
		expect(await inbound("wan1", "tcp", 7109, ADDR.lan1.v6)).toBe("lan1");
		const hosts = (await openings("six")).map((o) => o.host).sort();
		expect(hosts).toEqual([ADDR.lan1.v6, ADDR.lan2.v6]);
	});

	test("close_opening closes an opening now", async () => {
		await trigger("lan2", "tcp", 7005);
		expect(await inbound("wan1", "tcp", 7105)).toBe("lan2");
		const r = await daemon.call("close_opening", { trigger: "any", host: ADDR.lan2.v4 });
		expect(r.reply).toMatchObject({ closed: 1 });
		expect(await inbound("wan1", "tcp", 7105)).toBeNull();
		expect(await openings("any")).toEqual([]);
	});
});

async function refusals(): Promise<number> {
	const r = await daemon.call("status");
	return (r.reply as { trigger_stats: { refused: number } }).trigger_stats.refused;
}
