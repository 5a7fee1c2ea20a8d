import { describe, expect, test } from "bun:test";
import { type Config, DmzSection, ForwardSection, GlobalsSection, TriggerSection } from "../config/schema";
import { UbusStatus } from "../ubus/status";
import { notFound } from "./errors";
import { type Changed, type ConfigChange, type Core, invoke, METHODS, methodSignatures } from "./methods";

const forward = { ...ForwardSection.parse({ src_dport: "80", dest_ip: "192.168.1.10" }), id: "web" };
const trigger = {
	...TriggerSection.parse({ name: "IRC", trigger_port: "6667", open_port: ["113"] }),
	id: "irc",
};

/** The methods' view of a daemon: the config held in memory, every change recorded. */
function fakeCore() {
	const config: Config = {
		globals: GlobalsSection.parse({}),
		forwards: [forward],
		triggers: [trigger],
		dmz: DmzSection.parse({}),
	};
	const changes: ConfigChange[] = [];
	const core: Core = {
		status: async () => ({ version: "test" }),
		config: () => config,
		change: async (change) => {
			changes.push(change);
			if (change.op === "set") return { id: change.type };
			const entries: Changed["entry"][] = change.type === "forward" ? config.forwards : config.triggers;
			// an added section gets the id of the one already there, which the reply then shows
			const id = change.op === "add" ? (change.type === "forward" ? "web" : "irc") : change.id;
			const entry = entries.find((e) => e?.id === id);
			// as the daemon's config store answers an id it does not hold
			if (!entry) throw notFound(`no ${change.type} with id '${id}'`, "id");
			return change.op === "delete" ? { id } : { id, entry };
		},
		reload: async () => {},
		openings: () => [
			{
				trigger: "irc",
				name: "IRC",
				host: "192.168.1.10",
				proto: "tcp",
				ports: ["113"],
				expires: 60,
				since: 1,
			},
		],
		closeOpening: async (_trigger, host) => (host === undefined || host === "192.168.1.10" ? 1 : 0),
	};
	return { core, changes };
}

async function fails(method: string, args: unknown) {
	const reply = await invoke(fakeCore().core, method, args);
	if (reply.ok) throw new Error(`${method} ${JSON.stringify(args)} succeeded`);
	return reply.error;
}

const validArgs: Record<string, Record<string, unknown>> = {
	status: {},
	list: {},
	add_forward: { src_dport: "80", dest_ip: "192.168.1.10" },
	update_forward: { id: "web" },
	delete_forward: { id: "web" },
	add_trigger: { name: "x", trigger_port: "1", open_port: ["2"] },
	update_trigger: { id: "irc" },
	delete_trigger: { id: "irc" },
	set_dmz: {},
	get_settings: {},
	set_settings: {},
	openings: {},
	close_opening: { trigger: "irc" },
	reload: {},
};

describe("every method", () => {
	test("the table has exactly the methods of the API", () => {
		expect(Object.keys(METHODS).sort()).toEqual(Object.keys(validArgs).sort());
	});

	for (const [method, args] of Object.entries(validArgs)) {
		test(`${method} accepts and ignores ubus_rpc_session`, async () => {
			const reply = await invoke(fakeCore().core, method, { ...args, ubus_rpc_session: "0123abcd" });
			expect(reply.ok).toBe(true);
		});
		test(`${method} refuses an unknown field, naming it`, async () => {
			expect(await fails(method, { ...args, colour: "blue" })).toEqual({
				status: UbusStatus.INVALID_ARGUMENT,
				error: "unknown field 'colour'",
				field: "colour",
			});
		});
	}

	test("an unknown method is METHOD_NOT_FOUND", async () => {
		expect(await fails("frobnicate", {})).toMatchObject({ status: UbusStatus.METHOD_NOT_FOUND });
	});
});

describe("argument validation names the field", () => {
	// A table where a scalar or list belongs is the wrong type for every field.
	for (const [method, signature] of Object.entries(methodSignatures())) {
		for (const field of Object.keys(signature)) {
			test(`${method}: a wrong type for '${field}'`, async () => {
				const error = await fails(method, { ...validArgs[method], [field]: { nested: true } });
				expect(error.status).toBe(UbusStatus.INVALID_ARGUMENT);
				expect(error.field).toBe(field);
				expect(error.error).toMatch(new RegExp(`^${field}: (has the wrong type|must be)`));
			});
		}
	}

	const cases: Array<[string, Record<string, unknown>, string, string]> = [
		["add_forward", { dest_ip: "192.168.1.10" }, "src_dport", "src_dport: is required"],
		["add_forward", { src_dport: "0", dest_ip: "192.168.1.10" }, "src_dport", "port 0 is out of range"],
		["add_forward", { src_dport: "90-80", dest_ip: "192.168.1.10" }, "src_dport", "range 90-80 is reversed"],
		["add_forward", { src_dport: "80", dest_ip: "8.8.8.8" }, "dest_ip", "8.8.8.8 is not a LAN address"],
		[
			"add_forward",
			{ src_dport: "80", dest_ip: "192.168.1.10", proto: "icmp" },
			"proto",
			"unknown protocol 'icmp'",
		],
		[
			"add_forward",
			{ src_dport: "80", dest_ip: "192.168.1.10", enabled: "maybe" },
			"enabled",
			"'maybe' is not a boolean",
		],
		[
			"add_forward",
			{ src_dport: "80", dest_ip: "192.168.1.10", src_ip: ["198.51.100.0/24", "nowhere"] },
			"src_ip",
			"src_ip[1]: 'nowhere' is not an address or prefix",
		],
		["add_trigger", { name: "x", trigger_port: "1" }, "open_port", "open_port: is required"],
		["add_trigger", { name: "x", trigger_port: "1", open_port: [] }, "open_port", "needs at least one port"],
		[
			"add_trigger",
			{ name: "x", trigger_port: "1", open_port: ["2"], timeout: "0" },
			"timeout",
			"from 1 to 604800",
		],
		["add_trigger", { name: "", trigger_port: "1", open_port: ["2"] }, "name", "name: must not be empty"],
		["update_forward", {}, "id", "id: is required"],
		["update_forward", { id: "no such" }, "id", "is not a section name"],
		[
			"update_forward",
			{ id: "web", src_dport: null },
			"src_dport",
			"src_dport: is required and cannot be removed",
		],
		["update_trigger", { id: "irc", open_port: ["70000"] }, "open_port", "port 70000 is out of range"],
		["set_dmz", { dest_ip: "2001:db8:1::10" }, "dest_ip", "is not an IPv4 address"],
		["set_dmz", { exclude_port: ["tcp 22", "sctp 9"] }, "exclude_port", "exclude_port[1]: 'sctp 9'"],
		["close_opening", {}, "trigger", "trigger: is required"],
		["close_opening", { trigger: "irc", host: "203.0.113.2" }, "host", "203.0.113.2 is not a LAN address"],
	];
	for (const [method, args, field, message] of cases) {
		test(`${method} ${JSON.stringify(args)} → '${field}': ${message}`, async () => {
			const error = await fails(method, args);
			expect(error.status).toBe(UbusStatus.INVALID_ARGUMENT);
			expect(error.field).toBe(field);
			expect(error.error).toContain(message);
		});
	}
});

describe("text a UCI file cannot hold", () => {
	const texts: Array<[string, string, Record<string, unknown>]> = [
		["a NUL in name", "name", { name: "web\u0000x" }],
		["a newline in name", "name", { name: "web\nconfig forward 'evil'" }],
		["a carriage return in dest_ip", "dest_ip", { dest_ip: "192.168.1.10\r" }],
		["a newline in a src_ip item", "src_ip", { src_ip: ["198.51.100.0/24\n"] }],
	];
	for (const [what, field, args] of texts)
		test(`${what} is INVALID_ARGUMENT naming '${field}'`, async () => {
			const error = await fails("add_forward", { src_dport: "80", dest_ip: "192.168.1.10", ...args });
			expect(error).toMatchObject({ status: UbusStatus.INVALID_ARGUMENT, field });
			expect(error.error).toContain("control character");
		});

	test("a tab is text UCI holds", async () => {
		const reply = await invoke(fakeCore().core, "add_forward", {
			src_dport: "80",
			dest_ip: "192.168.1.10",
			name: "a\tb",
		});
		expect(reply.ok).toBe(true);
	});
});

describe("error replies quote only a short prefix of the input", () => {
	const long = "x".repeat(100_000);
	const cases: Array<[string, Record<string, unknown>, string]> = [
		["add_forward", { src_dport: long, dest_ip: "192.168.1.10" }, "src_dport"],
		["add_forward", { src_dport: "80", dest_ip: long }, "dest_ip"],
		["add_forward", { src_dport: "80", dest_ip: "192.168.1.10", enabled: long }, "enabled"],
		["set_settings", { wan_zone: [long] }, "wan_zone"],
		["add_forward", { src_dport: "80", dest_ip: "192.168.1.10", [long]: 1 }, long.slice(0, 64)],
	];
	for (const [method, args, field] of cases)
		test(`${method}: a 100,000-character ${field.slice(0, 10)} is named, not echoed`, async () => {
			const error = await fails(method, args);
			expect(error.field).toBe(field);
			expect(error.error.length).toBeLessThan(200);
			expect(error.error).toContain("(100000 characters)");
		});

	test("an unknown method's name is cut too", async () => {
		const error = await fails(long, {});
		expect(error.status).toBe(UbusStatus.METHOD_NOT_FOUND);
		expect(error.error.length).toBeLessThan(200);
	});
});

describe("not found", () => {
	const cases: Array<[string, Record<string, unknown>, string]> = [
		["update_forward", { id: "nope" }, "id"],
		["delete_forward", { id: "nope" }, "id"],
		["update_trigger", { id: "nope" }, "id"],
		["delete_trigger", { id: "nope" }, "id"],
		// a forward's id is not a trigger's
		["delete_trigger", { id: "web" }, "id"],
		["openings", { trigger: "nope" }, "id"],
		["close_opening", { trigger: "nope" }, "id"],
		["close_opening", { trigger: "irc", host: "192.168.1.11" }, "host"],
	];
	for (const [method, args, field] of cases) {
		test(`${method} ${JSON.stringify(args)} is NOT_FOUND naming '${field}'`, async () => {
			const error = await fails(method, args);
			expect(error).toMatchObject({ status: UbusStatus.NOT_FOUND, field });
		});
	}
});

describe("what mutations ask of the core", () => {
	async function changeOf(method: string, args: Record<string, unknown>) {
		const { core, changes } = fakeCore();
		const reply = await invoke(core, method, args);
		expect(reply.ok).toBe(true);
		return changes;
	}

	test("add_forward passes only the fields given, as given (the store writes their UCI form)", async () => {
		expect(
			await changeOf("add_forward", {
				src_dport: 8080,
				dest_ip: "192.168.1.10",
				proto: "tcpudp",
				enabled: true,
			}),
		).toEqual([
			{
				op: "add",
				type: "forward",
				options: { src_dport: 8080, dest_ip: "192.168.1.10", proto: "tcpudp", enabled: true },
			},
		]);
	});

	test("update_trigger passes the given fields; null (remove the option) passes too", async () => {
		expect(
			await changeOf("update_trigger", { id: "irc", timeout: null, open_port: "113", ubus_rpc_session: "x" }),
		).toEqual([{ op: "update", type: "trigger", id: "irc", options: { timeout: null, open_port: "113" } }]);
	});

	test("delete_forward and set_dmz", async () => {
		expect(await changeOf("delete_forward", { id: "web" })).toEqual([
			{ op: "delete", type: "forward", id: "web" },
		]);
		expect(await changeOf("set_dmz", { enabled: 1, dest_ip: "192.168.1.50" })).toEqual([
			{ op: "set", type: "dmz", options: { enabled: 1, dest_ip: "192.168.1.50" } },
		]);
	});

	test("add_forward: null for an optional field means unset, as leaving it out", async () => {
		expect(
			await changeOf("add_forward", {
				src_dport: "80",
				dest_ip: "192.168.1.10",
				name: null,
				dest_port: null,
			}),
		).toEqual([
			{
				op: "add",
				type: "forward",
				options: { src_dport: "80", dest_ip: "192.168.1.10", name: null, dest_port: null },
			},
		]);
		expect(await fails("add_forward", { src_dport: null, dest_ip: "192.168.1.10" })).toMatchObject({
			status: UbusStatus.INVALID_ARGUMENT,
			field: "src_dport",
		});
	});

	test("set_settings passes the given globals; null removes an optional one", async () => {
		expect(
			await changeOf("set_settings", { wan_device: ["eth1"], lan_device: null, reflection: false }),
		).toEqual([
			{ op: "set", type: "globals", options: { wan_device: ["eth1"], lan_device: null, reflection: false } },
		]);
	});

	test("get_settings and set_settings reply with the globals as JSON values, device lists only when set", async () => {
		const { core, changes } = fakeCore();
		const settings = {
			enabled: true,
			wan_zone: ["wan"],
			lan_zone: ["lan"],
			trigger_timeout: 600,
			reflection: true,
		};
		expect(await invoke(core, "get_settings", {})).toEqual({ ok: true, result: settings });
		expect(changes).toEqual([]);
		core.config().globals.wan_device = ["eth1"];
		expect(await invoke(core, "set_settings", { wan_device: ["eth1"] })).toEqual({
			ok: true,
			result: { ...settings, wan_device: ["eth1"] },
		});
	});

	test("set_settings checks each field with the globals' schema, naming it", async () => {
		expect(await fails("set_settings", { trigger_timeout: 0 })).toMatchObject({
			status: UbusStatus.INVALID_ARGUMENT,
			field: "trigger_timeout",
		});
		expect(await fails("set_settings", { wan_device: ["eth 1"] })).toMatchObject({
			status: UbusStatus.INVALID_ARGUMENT,
			field: "wan_device",
		});
		expect(await fails("set_settings", { reflection: "sometimes" })).toMatchObject({
			status: UbusStatus.INVALID_ARGUMENT,
			field: "reflection",
		});
	});

	test("read methods change nothing; list replies in UCI form with ids", async () => {
		const { core, changes } = fakeCore();
		const reply = await invoke(core, "list", {});
		expect(changes).toEqual([]);
		expect(reply).toMatchObject({
			ok: true,
			result: {
				forwards: [{ id: "web", src_dport: "80", dest_ip: "192.168.1.10", proto: "tcp udp", enabled: "1" }],
				triggers: [{ id: "irc", name: "IRC", open_port: ["113"] }],
				dmz: { enabled: "0", exclude_port: [] },
			},
		});
	});

	test("every method declares read or write access; only mutations and reload write", () => {
		const writers = Object.entries(METHODS)
			.filter(([, m]) => m.access === "write")
			.map(([name]) => name)
			.sort();
		expect(writers).toEqual([
			"add_forward",
			"add_trigger",
			"close_opening",
			"delete_forward",
			"delete_trigger",
			"reload",
			"set_dmz",
			"set_settings",
			"update_forward",
			"update_trigger",
		]);
	});
});

describe("ubus signatures", () => {
	test("argument types follow the schemas; ubus_rpc_session is not advertised", () => {
		const sig = methodSignatures();
		expect(sig.add_forward).toEqual({
			name: "string",
			enabled: "bool",
			proto: "string",
			src_dport: "string",
			dest_ip: "string",
			dest_port: "string",
			src_ip: "array",
			reflection: "bool",
		});
		expect(sig.update_trigger).toMatchObject({ id: "string", timeout: "int32", open_port: "array" });
		expect(sig.set_dmz).toEqual({ enabled: "bool", dest_ip: "string", exclude_port: "array" });
		expect(sig.close_opening).toEqual({ trigger: "string", host: "string" });
		expect(sig.status).toEqual({});
	});
});
