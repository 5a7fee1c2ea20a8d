// Trigger openings across the daemon's life and the ruleset's: precedence of forwards and the
// DMZ, `kill -9`, a restart that adopts live openings, `nft flush ruleset`, and a conntrack
// event overrun. Real connections in the lab throughout.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { DataPlane } from "../controller/src/ruleset/dataplane";
import { configFromSections } from "../controller/src/ruleset/golden/scenario";
import { Transaction } from "../controller/src/ruleset/transaction";
import { triggerPart } from "../controller/src/ruleset/triggers";
import { LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab, type LabNode, type Proto } from "./lib/lab";
import { waitFor } from "./lib/wait";

setDefaultTimeout(60_000);

const ROUTER = ADDR.router.v4;
const WAN1 = ADDR.wan1.v4;

const trigger = (id: string, port: number, open: number, timeout: number) => `
config trigger '${id}'
	option name '${id}'
	option trigger_port '${port}'
	list open_port '${open}'
	option timeout '${timeout}'
`;

let lab: Lab;

async function fire(from: LabNode, port: number): Promise<void> {
	expect((await lab.probe(from, "tcp", WAN1, port))?.node).toBe("wan1");
}

const inbound = (from: LabNode, proto: Proto, port: number) =>
	lab.probe(from, proto, ROUTER, port, 1000).then((a) => a?.node ?? null);

type Row = { trigger: string; host: string; expires: number; since: number };
async function openings(d: RunningDaemon): Promise<Row[]> {
	const r = await d.call("openings");
	expect(r.code).toBe(0);
	return (r.reply as { openings: Row[] }).openings;
}

type Stats = {
	adopted: number;
	refused: number;
	readded: number;
	conntrack: { overruns: number; resyncs: number; events: number };
};
async function stats(d: RunningDaemon): Promise<Stats> {
	return ((await d.call("status")).reply as { trigger_stats: Stats }).trigger_stats;
}

beforeAll(async () => {
	lab = await Lab.up();
	await Promise.all([
		lab.serve("wan1", "tcp", [7001, 7002, 7003, 7004, 7005, 7006, 7010]),
		lab.serve("lan1", "tcp", [7101, 7102, 7103, 7104, 7105, 7106, 7200, 7201, 7202]),
		lab.serve("lan2", "tcp", [7104, 7105, 7106, 7200, 7201, 7202]),
	]);
});

afterAll(async () => {
	await lab?.down();
});

describe("precedence (the ruleset alone, config checks bypassed)", () => {
	test("a forward wins over a trigger opening, a trigger opening over the DMZ", async () => {
		// `portrig check` refuses a trigger that opens a forwarded port; the chain priorities
		// must still give the forward the port if such a config reached the kernel.
		const config = configFromSections({
			globals: { wan_device: "eth1", lan_device: "br-lan" },
			forwards: [{ id: "fwd", proto: "tcp", src_dport: "7200", dest_ip: ADDR.lan2.v4 }],
			triggers: [{ id: "t", name: "t", trigger_port: "7010", open_port: ["7200", "7201"] }],
			dmz: { enabled: "1", dest_ip: ADDR.lan2.v4 },
		});
		const dp = new DataPlane({ prefix: lab.nsExec("router") });
		try {
			await dp.apply(config, { wanDevices: ["eth1"], lanDevices: ["br-lan"] });
			await fire("lan1", 7010);
			expect(await inbound("wan1", "tcp", 7200)).toBe("lan2"); // the forward
			expect(await inbound("wan1", "tcp", 7201)).toBe("lan1"); // the trigger opening
			expect(await inbound("wan1", "tcp", 7202)).toBe("lan2"); // the DMZ
		} finally {
			await dp.remove();
		}
	});
});

describe("a daemon's life", () => {
	test("the API refuses a trigger that opens a forwarded port, naming the field", async () => {
		const d = await startDaemon(
			lab,
			`${LAB_GLOBALS}\nconfig forward 'web'\n\toption proto 'tcp'\n\toption src_dport '7200'\n\toption dest_ip '${ADDR.lan2.v4}'\n`,
		);
		try {
			const r = await d.call("add_trigger", {
				name: "clash",
				trigger_port: "7010",
				open_port: ["7199-7201"],
			});
			expect(r.code).not.toBe(0);
			expect(r.reply).toMatchObject({ status: 2, field: "open_port" });
		} finally {
			await d.stop();
		}
	});

	test("after kill -9 of the daemon the opening still works, and the kernel closes it on time", async () => {
		const d = await startDaemon(lab, LAB_GLOBALS + trigger("k", 7001, 7101, 3));
		try {
			await fire("lan1", 7001);
			expect(await inbound("wan1", "tcp", 7101)).toBe("lan1");
			d.signal("SIGKILL");
			await d.exited;
			expect(await inbound("wan1", "tcp", 7101)).toBe("lan1");
			// Probing would restart the timer (it is traffic through the opening): stay away for
			// longer than the 3 s timeout, then look once.
			await Bun.sleep(4500);
			expect(await inbound("wan1", "tcp", 7101)).toBeNull();
		} finally {
			await lab.exec("router", ["nft", "delete", "table", "inet", "portrig"], { check: false });
		}
	});

	test("a restarted daemon adopts the openings left in the kernel, with their remaining time", async () => {
		const config = LAB_GLOBALS + trigger("a", 7002, 7102, 60);
		const first = await startDaemon(lab, config);
		await fire("lan1", 7002);
		await waitFor("the opening to be listed", async () => (await openings(first)).length === 1);
		await Bun.sleep(2000);
		first.signal("SIGKILL");
		await first.exited;
		// The same files, as procd respawns the same command line.
		const second = await startDaemon(lab, config, { dir: first.dir });
		try {
			const [o] = await openings(second);
			expect(o).toMatchObject({ trigger: "a", host: ADDR.lan1.v4 });
			// About 2 s of its 60 s were used before the restart: the time left came along.
			expect(o?.expires).toBeLessThanOrEqual(59);
			expect(o?.expires).toBeGreaterThan(50);
			expect((await stats(second)).adopted).toBe(1);
			expect(await inbound("wan1", "tcp", 7102)).toBe("lan1");
		} finally {
			await second.stop();
		}
	});

	test("a daemon upgraded in place keeps a live opening of a table without key sets, and it stays the first host's", async () => {
		// The table a portrig before key sets left: no tr_u_4k, and the rule that opens asks
		// the map itself (`meta nfproto != @tr_u_4`, which kernels from 6.5 accept).
		const config = configFromSections({
			globals: { wan_device: "eth1", lan_device: "br-lan" },
			triggers: [{ id: "u", name: "u", trigger_port: "7006", open_port: ["7106"], timeout: "60" }],
		});
		const dp = new DataPlane({ prefix: lab.nsExec("router") });
		let d: RunningDaemon | undefined;
		try {
			await dp.apply(config, { wanDevices: ["eth1"], lanDevices: ["br-lan"] });
			const old = new Transaction().flushChain("trigger_u_4");
			for (const rule of triggerPart(config).chains.find((c) => c.name === "trigger_u_4")?.rules ?? [])
				old.addRule(
					"trigger_u_4",
					rule.replace(/ (add|update) @tr_u_4k \{[^}]*\}/g, "").replace("!= @tr_u_4k", "!= @tr_u_4"),
				);
			await dp.nft.run(old.deleteSet("tr_u_4k", false));
			await fire("lan1", 7006);
			expect(await inbound("wan1", "tcp", 7106)).toBe("lan1");

			d = await startDaemon(lab, LAB_GLOBALS + trigger("u", 7006, 7106, 60));
			expect(await openings(d)).toMatchObject([{ trigger: "u", host: ADDR.lan1.v4 }]);
			expect((await stats(d)).adopted).toBe(1);
			const keys = await lab.exec("router", ["nft", "list", "set", "inet", "portrig", "tr_u_4k"]);
			expect(keys.stdout).toMatch(/elements = \{ ipv4 timeout 1m expires /);
			await fire("lan2", 7006);
			const daemon = d;
			await waitFor("lan2's trigger to be refused", async () => (await stats(daemon)).refused > 0);
			expect(await inbound("wan1", "tcp", 7106)).toBe("lan1");
			expect((await openings(d)).map((o) => o.host)).toEqual([ADDR.lan1.v4]);
		} finally {
			await d?.stop();
			await lab.exec("router", ["nft", "delete", "table", "inet", "portrig"], { check: false });
		}
	});

	test("after `nft flush ruleset` and fw4 reloading, the table comes back with the live openings in it", async () => {
		const d = await startDaemon(lab, LAB_GLOBALS + trigger("f", 7003, 7103, 60));
		try {
			await fire("lan1", 7003);
			expect(await inbound("wan1", "tcp", 7103)).toBe("lan1");
			await lab.exec("router", ["nft", "flush", "ruleset"]);
			try {
				await waitFor("the daemon to wait for fw4", async () =>
					JSON.stringify((await d.call("status")).reply).includes('"waiting_for_fw4"'),
				);
			} finally {
				await lab.reloadFw4();
			}
			await waitFor("the table and the opening to come back", async () => {
				const map = await lab.exec("router", ["nft", "list", "map", "inet", "portrig", "tr_f_4"], {
					check: false,
				});
				return map.stdout.includes(ADDR.lan1.v4);
			});
			expect(await inbound("wan1", "tcp", 7103)).toBe("lan1");
			expect((await openings(d)).map((o) => o.host)).toEqual([ADDR.lan1.v4]);
		} finally {
			await d.stop();
		}
	});

	test("floods: other connections never reach the daemon; an overrun of trigger connections is counted and resynced, no trigger lost", async () => {
		const d = await startDaemon(
			lab,
			`${LAB_GLOBALS + trigger("o", 7004, 7104, 60) + trigger("p", 7005, 7105, 60)}
config trigger 'busy'
	option name 'busy'
	option proto 'udp'
	option trigger_port '10000-59999'
	list open_port '7190'
`,
		);
		try {
			// 50,000 new flows to ports no trigger uses, while the daemon reads nothing (SIGSTOP):
			// the kernel's filter on the daemon's socket drops their events, nothing overruns.
			d.signal("SIGSTOP");
			await flood("lan1", 50_000, 60_000, 64_999);
			d.signal("SIGCONT");
			await Bun.sleep(500);
			expect((await stats(d)).conntrack).toMatchObject({ overruns: 0, events: 0 });
			// 50,000 new connections to trigger ports ('busy'), then lan1's trigger of 'o', all while
			// the daemon is stopped: the kernel must drop events.
			d.signal("SIGSTOP");
			await flood("lan1", 50_000, 10_000, 59_999);
			await fire("lan1", 7004);
			d.signal("SIGCONT");
			await waitFor("an overrun and a resync", async () => {
				const s = (await stats(d)).conntrack;
				return s.overruns >= 1 && s.resyncs >= 1;
			});
			// The opening whose NEW event may have been dropped is known all the same …
			await waitFor("the opening to be listed", async () =>
				(await openings(d)).some((o) => o.trigger === "o" && o.host === ADDR.lan1.v4),
			);
			expect(await inbound("wan1", "tcp", 7104)).toBe("lan1");
			// … and events flow again: a new trigger is reported at once.
			await fire("lan2", 7005);
			await waitFor("the new opening to be listed", async () =>
				(await openings(d)).some((o) => o.trigger === "p" && o.host === ADDR.lan2.v4),
			);
			expect(await inbound("wan1", "tcp", 7105)).toBe("lan2");
		} finally {
			d.signal("SIGCONT");
			await d.stop();
		}
	});
});

/**
 * `count` UDP datagrams from a LAN host to wan1's ports `from`…`to`, a new flow each: another
 * source socket (port) for each round over the port range.
 */
async function flood(host: LabNode, count: number, from: number, to: number): Promise<void> {
	const code = `const dgram = require("node:dgram");
		const span = ${to - from + 1};
		const sockets = Array.from({ length: Math.ceil(${count} / span) }, () => dgram.createSocket("udp4").on("error", () => {}));
		let i = 0;
		const next = () => {
			if (i >= ${count}) return sockets.forEach((s) => s.close());
			const s = sockets[Math.floor(i / span)];
			s.send("x", ${from} + (i++ % span), "${WAN1}", next);
		};
		next();`;
	await lab.exec(host, [process.execPath, "-e", code]);
}
