// The client state machine against a stand-in ubusd that replays captured ubusd frames over a
// real unix socket: what our client sends must be byte-identical to what the real libubus
// clients sent in the same exchange.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_RETRY_MS, type Logger, retryDelay, UbusClient } from "./client";
import { decodeMessage } from "./message";
import type { PlainTable } from "./plain";
import { UbusStatus, UbusStatusError } from "./status";
import { FakeUbusd } from "./testing/fake-ubusd";
import { type CapturedFrame, capturedFrames } from "./testing/fixtures";
import { type Exchange, ReplayUbusd, type Step } from "./testing/replay-ubusd";

const captured = capturedFrames();
const at = (index: number): CapturedFrame => {
	const frame = captured[index];
	if (!frame) throw new Error(`no captured frame #${index}`);
	return frame;
};
const send = (...indexes: number[]): Step[] => indexes.map((i) => ({ send: at(i) }));
const expectFrame = (index: number): Step => ({ expect: at(index) });

const cleanups: (() => void)[] = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function setup(scripts: Step[][]) {
	const dir = mkdtempSync(join(tmpdir(), "portrig-ubus-"));
	const path = join(dir, "ubus.sock");
	const ubusd = new ReplayUbusd(path, scripts);
	ubusd.start();
	const lines: string[] = [];
	const log: Logger = (level, message) => lines.push(`${level}: ${message}`);
	const client = new UbusClient({ socket: path, log, timeoutMs: 3000, retryMs: { first: 20, max: 200 } });
	cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
	cleanups.push(() => ubusd.stop());
	cleanups.push(() => client.stop());
	return { client, ubusd, lines, path, dir };
}

function upOnce(client: UbusClient): Promise<void> {
	return new Promise((resolve) => {
		const off = client.on("up", () => {
			off();
			resolve();
		});
	});
}

/** Every frame the client sent equals, byte for byte, the one the real client sent. */
function expectSameBytes(exchanges: Exchange[]): void {
	for (const { expected, actual } of exchanges) {
		if (expected === "any") continue;
		expect({ frame: expected.index, hex: Buffer.from(actual).toString("hex") }).toEqual({
			frame: expected.index,
			hex: expected.hex,
		});
	}
}

/** The example server's object `test`, answering as it did in the capture. */
const testObject = {
	hello: {
		args: { id: "int32", msg: "string" } as const,
		handler: (args: PlainTable) => ({ data: { message: `test received a message: ${String(args.msg)}` } }),
	},
	watch: { args: { id: "int32", counter: "int32" } as const, handler: () => ({}) },
	count: { args: { to: "int32", string: "string" } as const, handler: () => ({ data: { rc: 49 } }) },
};

describe("ubus client against replayed ubusd traffic", () => {
	test("registers an object with its signature and answers invokes as libubus does: replies, all types, unknown method → status 3", async () => {
		const { client, ubusd } = setup([
			[
				...send(0),
				expectFrame(1), // ADD_OBJECT test + signature
				...send(2, 3),
				...send(20), // INVOKE hello {id:1,msg:"hi"}
				expectFrame(21),
				expectFrame(22),
				...send(29), // INVOKE hello with every blobmsg type
				expectFrame(31),
				expectFrame(32),
				...send(40), // INVOKE nosuch
				expectFrame(41),
				...send(53), // INVOKE count
				expectFrame(51),
				expectFrame(52),
			],
		]);
		const object = client.publish("test", testObject);
		const up = upOnce(client);
		client.start();
		await up;
		expect(object.id).toBe(951045830);
		expectSameBytes(await ubusd.exchanges(0));
	});

	test("a malformed INVOKE fails only that request (status 2) and the object keeps answering", async () => {
		// frame #20 with its first argument's length damaged (16 → 18 bytes: padding past the table)
		const hex = at(20).hex;
		const element = "8500001000026964";
		expect(hex).toContain(element);
		const damaged = Uint8Array.from(Buffer.from(hex.replace(element, "8500001200026964"), "hex"));
		const { client, ubusd, lines } = setup([
			[
				...send(0),
				expectFrame(1),
				...send(2, 3),
				{ inject: damaged },
				{ expect: "any" },
				...send(20),
				expectFrame(21),
				expectFrame(22),
			],
		]);
		client.publish("test", testObject);
		client.start();
		const [, refused] = await ubusd.exchanges(0);
		const answer = decodeMessage(refused?.actual ?? new Uint8Array());
		expect(answer.ok && answer.message).toEqual({
			type: "STATUS",
			seq: at(20).decoded.seq,
			peer: at(20).decoded.peer,
			attrs: { status: UbusStatus.INVALID_ARGUMENT, objid: 951045830 },
		});
		expectSameBytes(await ubusd.exchanges(0));
		expect(client.connected).toBe(true);
		expect(lines.some((l) => l.includes("refused a frame"))).toBe(true);
	});

	test("calls a method: LOOKUP then INVOKE, resolving to the reply", async () => {
		const { client, ubusd } = setup([
			[...send(15), expectFrame(16), ...send(17, 18), expectFrame(19), ...send(23, 24)],
		]);
		const up = upOnce(client);
		client.start();
		await up;
		expect(await client.call("test", "hello", { id: 1, msg: "hi" })).toEqual({
			message: "test received a message: hi",
		});
		expectSameBytes(await ubusd.exchanges(0));
	});

	test("sends call arguments of every JSON type as ubus's JSON converter does (int8, int32, int64, double, nesting, UTF-8)", async () => {
		const { client, ubusd } = setup([
			[...send(25), expectFrame(26), ...send(27, 28), expectFrame(30), ...send(33, 34)],
		]);
		const up = upOnce(client);
		client.start();
		await up;
		const args = {
			id: 42,
			msg: "ünïcødé ✓",
			b: true,
			f: false,
			neg: -7,
			big: 5000000000,
			dbl: 3.25,
			arr: [1, "two", { three: 3 }],
			tbl: { x: { y: [] } },
			empty: {},
			s: "",
		};
		expect(await client.call("test", "hello", args)).toEqual({
			message: "test received a message: ünïcødé ✓",
		});
		expectSameBytes(await ubusd.exchanges(0));
	});

	test("a call of an unknown method rejects with status 3, of an unknown object with status 4", async () => {
		const { client, ubusd } = setup([
			[...send(35), expectFrame(36), ...send(37, 38), expectFrame(39), ...send(42), { close: true }],
			[...send(43), expectFrame(44), ...send(45)],
		]);
		let up = upOnce(client);
		client.start();
		await up;
		const method = await client.call("test", "nosuch", {}).catch((e) => e);
		expect(method).toBeInstanceOf(UbusStatusError);
		expect((method as UbusStatusError).status).toBe(UbusStatus.METHOD_NOT_FOUND);
		expectSameBytes(await ubusd.exchanges(0));
		up = upOnce(client);
		await up;
		const object = await client.call("nosuch", "x", {}).catch((e) => e);
		expect((object as UbusStatusError).status).toBe(UbusStatus.NOT_FOUND);
		expectSameBytes(await ubusd.exchanges(1));
	});

	test("lists objects with their signatures (ubus list, ubus -v list test)", async () => {
		const { client, ubusd } = setup([
			[...send(7), expectFrame(8), ...send(9, 10), { close: true }],
			[...send(11), expectFrame(12), ...send(13, 14)],
		]);
		let up = upOnce(client);
		client.start();
		await up;
		const all = await client.lookup();
		expect(all.map((o) => o.path)).toEqual(["test"]);
		expectSameBytes(await ubusd.exchanges(0));
		up = upOnce(client);
		await up;
		const [test] = await client.lookup("test");
		expect(test).toEqual({
			path: "test",
			id: 951045830,
			typeId: 1155645798,
			signature: {
				hello: { id: "int32", msg: "string" },
				watch: { id: "int32", counter: "int32" },
				count: { to: "int32", string: "string" },
			},
		});
		expectSameBytes(await ubusd.exchanges(1));
	});

	test("listens for events: registers a listener object and pattern, gets each event and acknowledges it", async () => {
		const { client, ubusd } = setup([
			[...send(56), expectFrame(57), ...send(58, 59), expectFrame(60), ...send(61, 65), expectFrame(66)],
		]);
		const events: [string, PlainTable][] = [];
		client.listen("portrig.*", (event, data) => events.push([event, data]));
		client.start();
		expectSameBytes(await ubusd.exchanges(0));
		expect(events).toEqual([["portrig.trigger", { name: "irc", host: "192.168.1.10", open: true }]]);
	});

	test("sends an event through ubusd's event object", async () => {
		const { client, ubusd } = setup([[...send(62), expectFrame(63), ...send(64)]]);
		const up = upOnce(client);
		client.start();
		await up;
		await client.sendEvent("portrig.trigger", { name: "irc", host: "192.168.1.10", open: true });
		expectSameBytes(await ubusd.exchanges(0));
	});

	test("when ubusd goes away and comes back it reconnects and registers its object again", async () => {
		const { client, ubusd, lines } = setup([
			[...send(0), expectFrame(1), ...send(2, 3), { close: true }],
			[...send(0), expectFrame(1), ...send(2, 3, 20), expectFrame(21), expectFrame(22)],
		]);
		const object = client.publish("test", testObject);
		const downs: boolean[] = [];
		client.on("down", () => downs.push(client.connected));
		let up = upOnce(client);
		client.start();
		await up;
		up = upOnce(client);
		expectSameBytes(await ubusd.exchanges(0));
		await up;
		// the second session starts over at seq 1 and answers invokes again
		expectSameBytes(await ubusd.exchanges(1));
		expect(object.id).toBe(951045830);
		expect(downs).toEqual([false]);
		expect(lines.filter((l) => l.includes("lost ubusd")).length).toBe(1);
		expect(ubusd.connections).toBe(2);
	});

	test("when ubusd comes back it registers its event listener again and events arrive", async () => {
		const listener: Step[] = [...send(56), expectFrame(57), ...send(58, 59), expectFrame(60), ...send(61)];
		const { client, ubusd } = setup([
			[...listener, { close: true }],
			[...listener, ...send(65), expectFrame(66)],
		]);
		const events: string[] = [];
		client.listen("portrig.*", (event) => events.push(event));
		client.start();
		expectSameBytes(await ubusd.exchanges(0));
		expect(events).toEqual([]);
		expectSameBytes(await ubusd.exchanges(1));
		expect(events).toEqual(["portrig.trigger"]);
	});

	test("without ubusd it logs one line, keeps trying, and connects when ubusd appears", async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-ubus-"));
		cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
		const path = join(dir, "ubus.sock");
		const lines: string[] = [];
		const client = new UbusClient({
			socket: path,
			log: (l, m) => lines.push(`${l}: ${m}`),
			retryMs: { first: 20, max: 100 },
		});
		cleanups.push(() => client.stop());
		client.publish("test", testObject);
		client.start();
		await Bun.sleep(400); // several attempts at the 100 ms ceiling
		expect(client.connected).toBe(false);
		expect(lines.filter((l) => l.includes("no ubusd")).length).toBe(1);
		await expect(client.call("test", "hello", {})).rejects.toThrow("Connection failed");
		const ubusd = new ReplayUbusd(path, [[...send(0), expectFrame(1), ...send(2, 3)]]);
		cleanups.push(() => ubusd.stop());
		const up = upOnce(client);
		ubusd.start();
		await up;
		expect(client.connected).toBe(true);
		expectSameBytes(await ubusd.exchanges(0));
		expect(lines.filter((l) => l.includes("no ubusd")).length).toBe(1);
	});

	test("removing a listener removes its object from ubusd, and its events stop", async () => {
		const dir = mkdtempSync(join(tmpdir(), "portrig-ubus-"));
		cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
		const ubusd = new FakeUbusd(join(dir, "ubus.sock"));
		ubusd.start();
		cleanups.push(() => ubusd.stop());
		const client = new UbusClient({ socket: join(dir, "ubus.sock"), log: () => {} });
		cleanups.push(() => client.stop());
		const events: string[] = [];
		const stop = client.listen("portrig.*", (event) => events.push(event));
		const up = upOnce(client);
		client.start();
		await up;
		ubusd.event("portrig.one", {});
		const deadline = Date.now() + 5000;
		while (events.length === 0 && Date.now() < deadline) await Bun.sleep(10);
		await stop();
		ubusd.event("portrig.two", {});
		await Bun.sleep(50);
		expect(events).toEqual(["portrig.one"]);
		expect(ubusd.received.map((m) => m.type)).toEqual(["ADD_OBJECT", "INVOKE", "STATUS", "REMOVE_OBJECT"]);
	});
});

test("without ubusd the client tries again after 200, 400 and 800 ms, then once a second, as libubus does", () => {
	expect([0, 1, 2, 3, 4, 10].map((attempt) => retryDelay(attempt, DEFAULT_RETRY_MS))).toEqual([
		200, 400, 800, 1000, 1000, 1000,
	]);
});
