// The ubus transport serves the method table exactly as the control socket does: the same
// replies, and errors as the same table with the error's status as the ubus status. ubusd is
// the replaying stand-in (captured HELLO and ADD_OBJECT answers); the INVOKEs are made with the
// codec, which the captured frames prove byte-exact.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/load";
import type { Config } from "../config/schema";
import { decodeMessage, encodeMessage, HEADER_SIZE, UBUS_MAX_MSGLEN } from "../ubus/message";
import { tableFromPlain, tableToPlain } from "../ubus/plain";
import { decodeSignature } from "../ubus/signature";
import { UbusStatus } from "../ubus/status";
import { capturedFrames } from "../ubus/testing/fixtures";
import { ReplayUbusd, type Step } from "../ubus/testing/replay-ubusd";
import { ControlSocketServer, callControlSocket } from "./control-socket";
import { ApiError } from "./errors";
import {
	type Changed,
	type ConfigChange,
	type Core,
	invoke,
	methodSignatures,
	type OpeningReply,
} from "./methods";
import { UbusTransport } from "./ubus-transport";

const CONFIG = `
config globals 'globals'
	list wan_device 'eth1'
	list lan_device 'br-lan'

config forward 'web'
	option name 'Web'
	option proto 'tcp'
	option src_dport '8080'
	option dest_ip '192.168.1.10'
	option dest_port '80'

config trigger 'irc'
	option name 'IRC'
	option trigger_port '6667'
	list open_port '113'
`;

/** A Core over a fixed config: enough to drive every read method and every argument error. */
class FixedCore implements Core {
	private readonly current: Config;
	constructor() {
		const { config, problems } = loadConfig(CONFIG, "portrig");
		if (!config) throw new Error(JSON.stringify(problems));
		this.current = config;
	}
	async status() {
		return { forwards: this.current.forwards.length };
	}
	config() {
		return this.current;
	}
	async change(_change: ConfigChange): Promise<Changed> {
		throw new ApiError(8, "read-only test core");
	}
	async reload() {}
	openings(): OpeningReply[] {
		return [
			{
				trigger: "irc",
				name: "IRC",
				host: "192.168.1.10",
				proto: "tcp",
				ports: ["113"],
				expires: 600,
				since: 5,
			},
		];
	}
	async closeOpening() {
		return 0;
	}
}

/** [method, args] pairs: successes, argument errors, not-found errors, an unknown method. */
const CALLS: [string, Record<string, unknown>][] = [
	["status", {}],
	["list", { ubus_rpc_session: "00000000000000000000000000000000" }],
	["openings", {}],
	["openings", { trigger: "irc" }],
	["openings", { trigger: "nosuch" }],
	["delete_forward", { id: "nosuch" }],
	["delete_forward", {}],
	["add_forward", { src_dport: "99999", dest_ip: "192.168.1.10" }],
	["add_forward", { src_dport: "80", dest_ip: "8.8.8.8" }],
	["add_forward", { src_dport: "80", dest_ip: "192.168.1.10", bogus: true }],
	["update_trigger", { id: "irc", open_port: [] }],
	["close_opening", { trigger: "irc", host: "192.168.1.99" }],
	["set_dmz", { enabled: true, dest_ip: 42 }],
];

const OBJECT_ID = 951045830; // what ubusd answered in the captured ADD_OBJECT (#2)
const CALLER = 0x4f3e2d1c;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the ubus object portrig", () => {
	test("registers every method of the table with its argument types, and answers each call as the control socket does", async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-ubus-api-"));
		cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
		const core = new FixedCore();
		const control = new ControlSocketServer(join(dir, "control.sock"), (m, a) => invoke(core, m, a));
		await control.start();
		cleanups.push(() => control.stop());

		const captured = capturedFrames();
		const invokes: Step[] = CALLS.flatMap(([method, args], i) => [
			{
				inject: encodeMessage({
					type: "INVOKE",
					seq: 100 + i,
					peer: CALLER,
					attrs: { objid: OBJECT_ID, method, user: "root", group: "root", data: tableFromPlain(args) },
				}),
			},
			{ expect: "any" }, // DATA
			{ expect: "any" }, // STATUS
		]);
		const ubusd = new ReplayUbusd(join(dir, "ubus.sock"), [
			[
				{ send: captured[0] as never },
				{ expect: "any" },
				{ send: captured[2] as never },
				{ send: captured[3] as never },
				...invokes,
			],
		]);
		ubusd.start();
		cleanups.push(() => ubusd.stop());
		const transport = new UbusTransport(core, { socket: join(dir, "ubus.sock"), log: () => {} });
		transport.start();
		cleanups.push(() => transport.stop());

		const [registration, ...replies] = await ubusd.exchanges(0);
		const added = decodeMessage(registration?.actual ?? new Uint8Array());
		if (!added.ok) throw added.error;
		expect(added.message.type).toBe("ADD_OBJECT");
		expect(added.message.attrs.objpath).toBe("portrig");
		const signature = decodeSignature(added.message.attrs.signature ?? []);
		const expected: Record<string, Record<string, string>> = Object.fromEntries(
			Object.entries(methodSignatures()).map(([m, args]) => [
				m,
				Object.fromEntries(Object.entries(args).map(([a, t]) => [a, t === "bool" ? "int8" : t])),
			]),
		);
		expect(signature as Record<string, Record<string, string>>).toEqual(expected);
		expect(Object.keys(signature)).toContain("add_forward");
		expect(Object.keys(signature).length).toBe(14);
		expect(transport.status()).toEqual({
			socket: join(dir, "ubus.sock"),
			connected: true,
			object_id: OBJECT_ID,
		});

		for (const [i, [method, args]] of CALLS.entries()) {
			const [data, status] = [replies[2 * i], replies[2 * i + 1]].map((r) => {
				const d = decodeMessage(r?.actual ?? new Uint8Array());
				if (!d.ok) throw d.error;
				return d.message;
			});
			const overControl = await callControlSocket(join(dir, "control.sock"), method, args);
			const ubusStatus = status?.attrs.status;
			const ubusReply = tableToPlain(data?.attrs.data ?? []);
			expect({ method, seq: status?.seq, peer: status?.peer, objid: status?.attrs.objid }).toEqual({
				method,
				seq: 100 + i,
				peer: CALLER,
				objid: OBJECT_ID,
			});
			if (overControl.ok) {
				expect({ method, status: ubusStatus, reply: ubusReply as unknown }).toEqual({
					method,
					status: 0,
					reply: overControl.result,
				});
			} else {
				expect({ method, status: ubusStatus, reply: ubusReply as unknown }).toEqual({
					method,
					status: overControl.error.status,
					reply: overControl.error,
				});
				expect(overControl.error.status).toBeGreaterThan(0);
			}
		}
	});

	test("the request limit is ubusd's, exactly: a 1 MiB message is answered, a larger one dropped and the next answered", async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-ubus-api-"));
		cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
		const captured = capturedFrames();
		const call = (seq: number, pad: number) =>
			encodeMessage({
				type: "INVOKE",
				seq,
				peer: CALLER,
				attrs: { objid: OBJECT_ID, method: "status", data: tableFromPlain({ pad: "x".repeat(pad) }) },
			});
		// The padding that makes the message's blob exactly UBUS_MAX_MSGLEN bytes.
		const pad = UBUS_MAX_MSGLEN - (call(1, 0).length - HEADER_SIZE);
		const fits = call(1, pad);
		expect(fits.length - HEADER_SIZE).toBe(UBUS_MAX_MSGLEN);
		// Four bytes more (blobs grow in 4-byte steps): the blob length in the header says so.
		const over = new Uint8Array(fits.length + 4);
		over.set(fits);
		const view = new DataView(over.buffer);
		view.setUint16(2, 2); // its own seq
		view.setUint32(HEADER_SIZE, view.getUint32(HEADER_SIZE) + 4);
		const ubusd = new ReplayUbusd(join(dir, "ubus.sock"), [
			[
				{ send: captured[0] as never },
				{ expect: "any" },
				{ send: captured[2] as never },
				{ send: captured[3] as never },
				{ inject: fits },
				{ expect: "any" }, // DATA
				{ expect: "any" }, // STATUS
				{ inject: over },
				{ inject: call(3, 0) },
				{ expect: "any" },
				{ expect: "any" },
			],
		]);
		ubusd.start();
		cleanups.push(() => ubusd.stop());
		const transport = new UbusTransport(new FixedCore(), { socket: join(dir, "ubus.sock"), log: () => {} });
		transport.start();
		cleanups.push(() => transport.stop());
		const [, ...answers] = await ubusd.exchanges(0);
		const decoded = answers.map((a) => {
			const d = decodeMessage(a?.actual ?? new Uint8Array());
			if (!d.ok) throw d.error;
			return [
				d.message.type,
				d.message.seq,
				d.message.type === "STATUS" ? d.message.attrs.status : undefined,
			];
		});
		// Both answered calls are read whole and refused for their unknown field `pad`.
		expect(decoded).toEqual([
			["DATA", 1, undefined],
			["STATUS", 1, UbusStatus.INVALID_ARGUMENT],
			["DATA", 3, undefined],
			["STATUS", 3, UbusStatus.INVALID_ARGUMENT],
		]);
	});

	test("an unknown method gets ubus's own answer: status 3 (method not found), as for any ubus object", async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-ubus-api-"));
		cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
		const captured = capturedFrames();
		const bogus = encodeMessage({
			type: "INVOKE",
			seq: 9,
			peer: CALLER,
			attrs: { objid: OBJECT_ID, method: "no_such_method", data: [] },
		});
		const ubusd = new ReplayUbusd(join(dir, "ubus.sock"), [
			[
				{ send: captured[0] as never },
				{ expect: "any" },
				{ send: captured[2] as never },
				{ send: captured[3] as never },
				{ inject: bogus },
				{ expect: "any" },
			],
		]);
		ubusd.start();
		cleanups.push(() => ubusd.stop());
		const transport = new UbusTransport(new FixedCore(), { socket: join(dir, "ubus.sock"), log: () => {} });
		transport.start();
		cleanups.push(() => transport.stop());
		const [, answer] = await ubusd.exchanges(0);
		const status = decodeMessage(answer?.actual ?? new Uint8Array());
		expect(status.ok && status.message).toEqual({
			type: "STATUS",
			seq: 9,
			peer: CALLER,
			attrs: { status: 3, objid: OBJECT_ID },
		});
	});
});
