// Every API method over the control socket (`portrig call`, the compiled binary) against a
// daemon running in the lab router: success proven by the file, the nft table and real
// connections; each validation error naming its field; not found; and a mutation whose nft
// apply fails leaving the file's bytes and the ruleset as they were.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callControlSocket } from "../controller/src/api/control-socket";
import pkg from "../package.json" with { type: "json" };
import { ensureBuilt, LAB_GLOBALS, type RunningDaemon, startDaemon } from "./lib/daemon";
import { ADDR, Lab, type Proc } from "./lib/lab";
import { waitFor } from "./lib/wait";

const CONFIG = `# portrig test config: comments, order and unknown options survive API changes
${LAB_GLOBALS}
config forward 'web'
	option name 'Web'
	option proto 'tcp'
	option src_dport '8080'
	option dest_ip '192.168.1.10'
	option dest_port '80'
	option colour 'blue'	# not a portrig option: kept

config trigger 'irc'
	option name 'IRC'
	option proto 'tcp'
	option trigger_port '6667'
	option open_proto 'tcp'
	list open_port '7000'
	option timeout '60'

config dmz 'dmz'
	option enabled '0'
`;

const WAN = ADDR.router.v4;
const INVALID = 2;
const NOT_FOUND = 4;
const UNKNOWN_ERROR = 9;

let lab: Lab;
let daemon: RunningDaemon;
const servers: Proc[] = [];

beforeAll(async () => {
	ensureBuilt();
	lab = await Lab.up();
	servers.push(
		await lab.serve("lan1", "tcp", [80, 7000, 5555]),
		await lab.serve("lan2", "tcp", [81]),
		await lab.serve("wan1", "tcp", [6667]),
	);
	daemon = await startDaemon(lab, CONFIG);
}, 120_000);

afterAll(async () => {
	await daemon?.stop();
	for (const s of servers) await s.stop();
	await lab?.down();
});

const fileText = () => readFileSync(daemon.configFile, "utf8");
async function table(): Promise<string> {
	return (await lab.exec("router", ["nft", "list", "table", "inet", "portrig"])).stdout;
}

async function ok(method: string, args?: Record<string, unknown>) {
	const r = await daemon.call(method, args);
	if (r.code !== 0) throw new Error(`${method} failed: ${JSON.stringify(r.reply)}`);
	return r.reply as Record<string, unknown>;
}

/** A call that must fail and change nothing: neither the file's bytes nor the nft table. */
async function refused(method: string, args: Record<string, unknown>) {
	const before = { file: fileText(), table: await table() };
	const r = await daemon.call(method, args);
	expect(r.code).not.toBe(0);
	expect(fileText()).toBe(before.file);
	expect(await table()).toBe(before.table);
	return r.reply as { status: number; error: string; field?: string };
}

describe("read methods", () => {
	test("status reports version, config file, counts, table, ubus state and per-entry counters", async () => {
		expect(await ok("status")).toMatchObject({
			version: pkg.version,
			config: daemon.configFile,
			config_valid: true,
			enabled: true,
			forwards: 1,
			triggers: 1,
			dmz: false,
			openings: 0,
			table: true,
			devices: { wan: ["eth1"], lan: ["br-lan"] },
			trigger_stats: { openings: 0, conntrack: { running: true, overruns: 0 } },
			ubus: { connected: false },
			counters: { forwards: { web: 0 }, triggers: { irc: { connections: 0, openings: 0 } } },
		});
	});

	test("list gives every section in UCI form with its id", async () => {
		expect(await ok("list")).toMatchObject({
			globals: { enabled: "1", wan_device: ["eth1"], lan_device: ["br-lan"] },
			forwards: [
				{ id: "web", name: "Web", proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.10", dest_port: "80" },
			],
			triggers: [{ id: "irc", name: "IRC", trigger_port: "6667", open_port: ["7000"], timeout: "60" }],
			dmz: { enabled: "0", exclude_port: [] },
		});
	});

	test("a LuCI call's ubus_rpc_session is accepted and ignored", async () => {
		expect(await ok("list", { ubus_rpc_session: "00000000000000000000000000000000" })).toHaveProperty(
			"forwards",
		);
	});

	test("a malformed request line gets an error reply; the same connection then serves a good one", () => {
		const r = Bun.spawnSync(["socat", "-t", "5", "-", `UNIX-CONNECT:${daemon.controlSocket}`], {
			stdin: new TextEncoder().encode(
				'this is not json\n{"method":"status","args":"x"}\n{"method":"status"}\n',
			),
			stdout: "pipe",
		});
		const lines = r.stdout
			.toString()
			.trim()
			.split("\n")
			.map((l) => JSON.parse(l));
		expect(lines).toHaveLength(3);
		expect(lines[0]).toMatchObject({ status: 12 });
		expect(lines[1]).toMatchObject({ status: INVALID, field: "args" });
		expect(lines[2]).toMatchObject({ result: { version: pkg.version } });
	});

	test("an unknown method is refused with status 3", async () => {
		const r = await daemon.call("frobnicate");
		expect(r.code).toBe(1);
		expect(r.reply).toMatchObject({ status: 3, error: "unknown method 'frobnicate'" });
	});
});

describe("forwards", () => {
	let added = "";

	test("add_forward: written to the file, applied, and real connections get through", async () => {
		expect(await lab.probe("wan1", "tcp", WAN, 9090)).toBeNull();
		const reply = await ok("add_forward", {
			name: "Game server",
			proto: "tcp",
			src_dport: 9090,
			dest_ip: "192.168.1.11",
			dest_port: "81",
		});
		expect(reply).toMatchObject({ name: "Game server", src_dport: "9090", dest_port: "81", enabled: "1" });
		added = String(reply.id);
		expect(added).toMatch(/^[A-Za-z0-9_]+$/);
		const text = fileText();
		expect(text).toContain(`config forward '${added}'`);
		expect(text).toContain("\toption src_dport '9090'");
		expect(text).toStartWith(
			"# portrig test config: comments, order and unknown options survive API changes\n",
		);
		expect(text).toContain("\toption colour 'blue'\t# not a portrig option: kept\n");
		expect(await lab.probe("wan1", "tcp", WAN, 9090)).toMatchObject({ node: "lan2", port: 81 });
	});

	const invalid: Array<[string, Record<string, unknown>, string, RegExp]> = [
		["a missing src_dport", { dest_ip: "192.168.1.10" }, "src_dport", /src_dport: is required/],
		["a port out of range", { src_dport: "70000", dest_ip: "192.168.1.10" }, "src_dport", /out of range/],
		["a reversed range", { src_dport: "90-80", dest_ip: "192.168.1.10" }, "src_dport", /reversed/],
		["a public dest_ip", { src_dport: "9091", dest_ip: "203.0.113.9" }, "dest_ip", /not a LAN address/],
		[
			"an unknown proto",
			{ src_dport: "9091", dest_ip: "192.168.1.10", proto: "icmp" },
			"proto",
			/unknown protocol/,
		],
		[
			"a remapped range of another length",
			{ src_dport: "9100-9110", dest_ip: "192.168.1.10", dest_port: "100-102" },
			"dest_port",
			/./,
		],
		[
			"a bad src_ip item",
			{ src_dport: "9091", dest_ip: "192.168.1.10", src_ip: ["198.51.100.0/24", "nowhere"] },
			"src_ip",
			/src_ip\[1\]/,
		],
		["a wrong type", { src_dport: { port: 1 }, dest_ip: "192.168.1.10" }, "src_dport", /must be/],
		[
			"an unknown field",
			{ src_dport: "9091", dest_ip: "192.168.1.10", colour: "red" },
			"colour",
			/unknown field/,
		],
		[
			"a WAN port another forward claims (whole-config rule)",
			{ proto: "tcp", src_dport: "8080", dest_ip: "192.168.1.11" },
			"src_dport",
			/./,
		],
	];
	for (const [what, args, field, message] of invalid) {
		test(`add_forward refuses ${what}, naming '${field}', changing nothing`, async () => {
			const error = await refused("add_forward", args);
			expect(error.status).toBe(INVALID);
			expect(error.field).toBe(field);
			expect(error.error).toMatch(message);
		});
	}

	test("add_forward refuses a WAN port a trigger opens, naming the section and option in conflict", async () => {
		const error = await refused("add_forward", { proto: "tcp", src_dport: "7000", dest_ip: "192.168.1.11" });
		expect(error.status).toBe(INVALID);
		// The rule is reported where it is broken: on the trigger's open_port (or on the new src_dport).
		expect(["open_port", "src_dport"]).toContain(error.field ?? "");
		expect(error.error).toMatch(/section 'irc'.*7000|7000.*section 'irc'/);
	});

	test("update_forward changes only the given fields; traffic follows", async () => {
		const reply = await ok("update_forward", { id: "web", src_dport: "8081" });
		expect(reply).toMatchObject({ id: "web", name: "Web", src_dport: "8081", dest_port: "80" });
		expect(fileText()).toContain("\toption src_dport '8081'");
		expect(await lab.probe("wan1", "tcp", WAN, 8081)).toMatchObject({ node: "lan1", port: 80 });
		expect(await lab.probe("wan1", "tcp", WAN, 8080)).toBeNull();
	});

	test("update_forward: null removes an optional option, back to its default", async () => {
		expect(await ok("update_forward", { id: added, dest_port: null, enabled: false })).toMatchObject({
			id: added,
			enabled: "0",
		});
		expect(
			((await ok("list")).forwards as Array<Record<string, unknown>>).find((f) => f.id === added),
		).not.toHaveProperty("dest_port");
		expect(await lab.probe("wan1", "tcp", WAN, 9090)).toBeNull();
	});

	test("update_forward refuses bad values naming the field, and unknown ids as not found", async () => {
		expect(await refused("update_forward", { id: "web", dest_ip: "8.8.8.8" })).toMatchObject({
			status: INVALID,
			field: "dest_ip",
		});
		expect(await refused("update_forward", { id: "web", src_dport: null })).toMatchObject({
			status: INVALID,
			field: "src_dport",
		});
		expect(await refused("update_forward", { src_dport: "1" })).toMatchObject({
			status: INVALID,
			field: "id",
		});
		expect(await refused("update_forward", { id: "nope", src_dport: "1" })).toMatchObject({
			status: NOT_FOUND,
			error: "no forward with id 'nope'",
			field: "id",
		});
		expect(await refused("update_forward", { id: "irc" })).toMatchObject({ status: NOT_FOUND, field: "id" });
	});

	test("delete_forward removes the section and its traffic; a second delete is not found", async () => {
		expect(await ok("update_forward", { id: added, enabled: true, dest_port: 81 })).toMatchObject({
			enabled: "1",
		});
		expect(await lab.probe("wan1", "tcp", WAN, 9090)).toMatchObject({ node: "lan2" });
		expect(await ok("delete_forward", { id: added })).toEqual({ id: added });
		expect(fileText()).not.toContain(`'${added}'`);
		expect(await lab.probe("wan1", "tcp", WAN, 9090)).toBeNull();
		expect(await refused("delete_forward", { id: added })).toMatchObject({ status: NOT_FOUND, field: "id" });
		expect(await refused("delete_forward", {})).toMatchObject({ status: INVALID, field: "id" });
	});
});

describe("concurrent changes", () => {
	test("parallel mutations run one at a time: none is lost, each gets its own id", async () => {
		const ports = [9301, 9302, 9303, 9304, 9305];
		const replies = await Promise.all(
			ports.map((port) =>
				ok("add_forward", {
					name: `Parallel ${port}`,
					proto: "udp",
					src_dport: port,
					dest_ip: "192.168.1.11",
				}),
			),
		);
		const ids = replies.map((r) => String(r.id));
		expect(new Set(ids).size).toBe(ports.length);
		const listed = ((await ok("list")).forwards as Array<{ id: string }>).map((f) => f.id);
		for (const id of ids) {
			expect(listed).toContain(id);
			expect(fileText()).toContain(`config forward '${id}'`);
		}
		await Promise.all(ids.map((id) => ok("delete_forward", { id })));
		expect(((await ok("list")).forwards as unknown[]).length).toBe(1);
		for (const id of ids) expect(fileText()).not.toContain(`'${id}'`);
	});
});

describe("triggers", () => {
	let added = "";

	test("add_trigger writes and lists the trigger", async () => {
		const reply = await ok("add_trigger", {
			name: "Game lobby",
			proto: "udp",
			trigger_port: "27000-27010",
			open_proto: "tcp udp",
			open_port: ["27015", "27020-27030"],
			src_ip: ["192.168.1.11"],
			remote_only: true,
		});
		expect(reply).toMatchObject({
			name: "Game lobby",
			proto: "udp",
			open_proto: "tcp udp",
			open_port: ["27015", "27020-27030"],
			src_ip: ["192.168.1.11"],
			remote_only: "1",
		});
		added = String(reply.id);
		expect(fileText()).toContain(`config trigger '${added}'`);
		expect(fileText()).toContain("\tlist open_port '27020-27030'");
		expect(await ok("status")).toMatchObject({ triggers: 2 });
	});

	const invalid: Array<[string, Record<string, unknown>, string, RegExp]> = [
		["no name", { trigger_port: "1", open_port: ["2"] }, "name", /name: is required/],
		["a duplicate name", { name: "IRC", trigger_port: "1", open_port: ["2"] }, "name", /./],
		["no open_port", { name: "x", trigger_port: "1" }, "open_port", /open_port: is required/],
		[
			"a bad open_port item",
			{ name: "x", trigger_port: "1", open_port: ["2", "0"] },
			"open_port",
			/open_port\[1\]/,
		],
		["a zero timeout", { name: "x", trigger_port: "1", open_port: ["2"], timeout: 0 }, "timeout", /seconds/],
		[
			"a WAN src_ip",
			{ name: "x", trigger_port: "1", open_port: ["2"], src_ip: "203.0.113.2" },
			"src_ip",
			/LAN/,
		],
		["open ports over a forward", { name: "x", trigger_port: "1", open_port: ["8081"] }, "open_port", /./],
	];
	for (const [what, args, field, message] of invalid) {
		test(`add_trigger refuses ${what}, naming '${field}', changing nothing`, async () => {
			const error = await refused("add_trigger", args);
			expect(error.status).toBe(INVALID);
			expect(error.field).toBe(field);
			expect(error.error).toMatch(message);
		});
	}

	test("update_trigger changes the given fields; refuses bad ones; unknown id is not found", async () => {
		expect(await ok("update_trigger", { id: added, timeout: 30, remote_only: false })).toMatchObject({
			id: added,
			timeout: "30",
			remote_only: "0",
			name: "Game lobby",
		});
		expect(await refused("update_trigger", { id: added, trigger_port: "1-" })).toMatchObject({
			status: INVALID,
			field: "trigger_port",
		});
		expect(await refused("update_trigger", { id: "web", timeout: 5 })).toMatchObject({
			status: NOT_FOUND,
			field: "id",
		});
	});

	test("delete_trigger removes it; a second delete is not found", async () => {
		expect(await ok("delete_trigger", { id: added })).toEqual({ id: added });
		expect(fileText()).not.toContain(`'${added}'`);
		expect(await refused("delete_trigger", { id: added })).toMatchObject({ status: NOT_FOUND, field: "id" });
	});
});

describe("dmz", () => {
	test("set_dmz sends unclaimed ports to the DMZ host; a forward still wins", async () => {
		expect(await lab.probe("wan1", "tcp", WAN, 5555)).toBeNull();
		expect(await ok("set_dmz", { enabled: true, dest_ip: "192.168.1.10", exclude_port: ["tcp 22"] })).toEqual(
			{
				enabled: "1",
				dest_ip: "192.168.1.10",
				exclude_port: ["tcp 22"],
			},
		);
		expect(fileText()).toContain("\toption dest_ip '192.168.1.10'");
		expect(await lab.probe("wan1", "tcp", WAN, 5555)).toMatchObject({ node: "lan1", port: 5555 });
		expect(await lab.probe("wan1", "tcp", WAN, 8081)).toMatchObject({ node: "lan1", port: 80 });
	});

	test("set_dmz refuses bad values naming the field", async () => {
		expect(await refused("set_dmz", { dest_ip: "2001:db8:1::10" })).toMatchObject({
			status: INVALID,
			field: "dest_ip",
		});
		expect(await refused("set_dmz", { exclude_port: ["tcp 22", "sctp 9"] })).toMatchObject({
			status: INVALID,
			field: "exclude_port",
		});
		expect(await refused("set_dmz", { enabled: "sometimes" })).toMatchObject({
			status: INVALID,
			field: "enabled",
		});
	});

	test("set_dmz enabled=0 closes it again", async () => {
		expect(await ok("set_dmz", { enabled: false })).toMatchObject({ enabled: "0", dest_ip: "192.168.1.10" });
		expect(await lab.probe("wan1", "tcp", WAN, 5555)).toBeNull();
	});
});

describe("openings", () => {
	test("a LAN host's trigger connection opens ports; openings lists it; close_opening closes it", async () => {
		expect(await ok("openings")).toEqual({ openings: [] });
		// lan1 talks to the IRC server on wan1: that opens tcp 7000 towards lan1.
		expect(await lab.probe("lan1", "tcp", ADDR.wan1.v4, 6667)).toMatchObject({ node: "wan1" });
		const deadline = Date.now() + 5000;
		let openings: Array<Record<string, unknown>> = [];
		while (Date.now() < deadline && openings.length === 0) {
			openings = (await ok("openings")).openings as Array<Record<string, unknown>>;
			if (!openings.length) await Bun.sleep(100);
		}
		expect(openings).toEqual([
			expect.objectContaining({
				trigger: "irc",
				name: "IRC",
				host: "192.168.1.10",
				proto: "tcp",
				ports: ["7000"],
			}),
		]);
		expect(await ok("openings", { trigger: "irc" })).toMatchObject({ openings: [{ trigger: "irc" }] });
		expect(await lab.probe("wan1", "tcp", WAN, 7000)).toMatchObject({ node: "lan1", port: 7000 });

		expect(await ok("close_opening", { trigger: "irc", host: "192.168.1.10" })).toEqual({ closed: 1 });
		expect(await ok("openings")).toEqual({ openings: [] });
		expect(await lab.probe("wan1", "tcp", WAN, 7000)).toBeNull();
	});

	test("close_opening and openings: not found and validation errors name the field", async () => {
		expect(await refused("close_opening", { trigger: "irc" })).toMatchObject({
			status: NOT_FOUND,
			field: "trigger",
		});
		expect(await refused("close_opening", { trigger: "nope" })).toMatchObject({
			status: NOT_FOUND,
			field: "id",
		});
		expect(await refused("close_opening", { trigger: "irc", host: "203.0.113.2" })).toMatchObject({
			status: INVALID,
			field: "host",
		});
		expect(await refused("close_opening", {})).toMatchObject({ status: INVALID, field: "trigger" });
		expect((await daemon.call("openings", { trigger: "nope" })).reply).toMatchObject({ status: NOT_FOUND });
		expect((await daemon.call("openings", { trigger: 7 })).reply).toMatchObject({
			status: INVALID,
			field: "trigger",
		});
	});
});

describe("reload", () => {
	test("reload applies an edited file", async () => {
		writeFileSync(
			daemon.configFile,
			fileText().replace("option src_dport '8081'", "option src_dport '8082'"),
		);
		expect(await ok("reload")).toEqual({ reloaded: true, forwards: 1, triggers: 1 });
		expect(await lab.probe("wan1", "tcp", WAN, 8082)).toMatchObject({ node: "lan1", port: 80 });
	});

	test("reload refuses a broken file with check's messages; config and ruleset stay; mutations wait for a fix", async () => {
		const good = fileText();
		const ruleset = await table();
		const listed = await ok("list");
		writeFileSync(daemon.configFile, good.replace("option dest_ip '192.168.1.10'", "option dest_ip 'lan1'"));
		const r = await daemon.call("reload");
		expect(r.code).toBe(1);
		expect(r.reply).toMatchObject({ status: INVALID, field: "dest_ip" });
		expect((r.reply as { error: string }).error).toMatch(
			new RegExp(
				`${daemon.configFile}:\\d+: section 'web' option 'dest_ip': 'lan1' is not an IPv4 or IPv6 address`,
			),
		);
		expect(await ok("list")).toEqual(listed);
		expect(await table()).toBe(ruleset);
		expect(await ok("status")).toMatchObject({ config_valid: false });
		expect(await lab.probe("wan1", "tcp", WAN, 8082)).toMatchObject({ node: "lan1" });
		// A mutation would overwrite what someone is editing: refused until the file is fixed.
		const blocked = (await daemon.call("set_dmz", { enabled: false })).reply as {
			status: number;
			error: string;
		};
		expect(blocked.status).toBe(INVALID);
		expect(blocked.error).toContain("fix it and reload before changing it through the API");

		writeFileSync(daemon.configFile, good);
		expect(await ok("reload")).toMatchObject({ reloaded: true });
		expect(await ok("status")).toMatchObject({ config_valid: true });
	});
});

describe("a failing apply", () => {
	// A `nft` first in the daemon's PATH that refuses transactions while a flag file exists
	// (as nft does when the kernel rejects a batch) and runs the real nft otherwise.
	const dir = mkdtempSync(join(tmpdir(), "portrig-nft-"));
	const flag = join(dir, "fail");
	let failing: RunningDaemon;

	beforeAll(async () => {
		const realNft = Bun.which("nft");
		if (!realNft) throw new Error("nft is not installed");
		writeFileSync(
			join(dir, "nft"),
			`#!/bin/sh
for arg in "$@"; do
	if [ "$arg" = "-f" ] && [ -e '${flag}' ]; then
		echo "Error: Could not process rule: No space left on device" >&2
		exit 1
	fi
done
exec '${realNft}' "$@"
`,
		);
		chmodSync(join(dir, "nft"), 0o755);
		await daemon.stop();
		// PORTRIG_NFT=command: the daemon runs the nft command (this one) instead of libnftables.
		failing = await startDaemon(lab, CONFIG, {
			env: { PATH: `${dir}:${process.env.PATH}`, PORTRIG_NFT: "command" },
		});
		daemon = failing;
	}, 60_000);

	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	test("add_forward whose nft transaction fails: nft's message, file bytes and ruleset untouched", async () => {
		writeFileSync(flag, "");
		const error = await refused("add_forward", {
			proto: "tcp",
			src_dport: "9191",
			dest_ip: "192.168.1.11",
			dest_port: "81",
		});
		expect(error).toMatchObject({ status: UNKNOWN_ERROR });
		expect(error.error).toContain("Could not process rule: No space left on device");
		expect((await ok("list")).forwards).toHaveLength(1);
		expect(await lab.probe("wan1", "tcp", WAN, 9191)).toBeNull();
		expect(await lab.probe("wan1", "tcp", WAN, 8080)).toMatchObject({ node: "lan1" });

		unlinkSync(flag);
		expect(
			await ok("add_forward", { proto: "tcp", src_dport: "9191", dest_ip: "192.168.1.11", dest_port: "81" }),
		).toMatchObject({
			src_dport: "9191",
		});
		expect(await lab.probe("wan1", "tcp", WAN, 9191)).toMatchObject({ node: "lan2", port: 81 });
	});
});

describe("a failing write", () => {
	// The config file on a small tmpfs that a filler file makes full: the write fails with
	// ENOSPC, while the apply of the same change (which runs during the write) has succeeded.
	const dir = mkdtempSync(join(tmpdir(), "portrig-full-"));
	const filler = join(dir, "filler");
	let full: RunningDaemon;

	beforeAll(async () => {
		const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir]);
		if (mounted.exitCode !== 0) throw new Error(`mount: ${mounted.stderr.toString()}`);
		await daemon.stop();
		full = await startDaemon(lab, CONFIG, { dir });
		daemon = full;
	}, 60_000);

	afterAll(async () => {
		await full?.stop();
		Bun.spawnSync(["umount", dir]);
		rmSync(dir, { recursive: true, force: true });
	});

	test("add_forward whose file write fails: the error names the file, file bytes and ruleset untouched", async () => {
		// Fill every block: writeFileSync stops at ENOSPC with what fitted.
		try {
			writeFileSync(filler, Buffer.alloc(1 << 20));
		} catch {}
		const error = await refused("add_forward", {
			proto: "tcp",
			src_dport: "9292",
			dest_ip: "192.168.1.11",
			dest_port: "81",
		});
		expect(error).toMatchObject({ status: UNKNOWN_ERROR });
		expect(error.error).toContain(`writing ${full.configFile}`);
		expect(error.error).toContain("ENOSPC");
		expect(await lab.probe("wan1", "tcp", WAN, 9292)).toBeNull();
		expect(await lab.probe("wan1", "tcp", WAN, 8080)).toMatchObject({ node: "lan1" });

		unlinkSync(filler);
		await ok("add_forward", { proto: "tcp", src_dport: "9292", dest_ip: "192.168.1.11", dest_port: "81" });
		expect(await lab.probe("wan1", "tcp", WAN, 9292)).toMatchObject({ node: "lan2", port: 81 });
	});

	test("a change waits for a uci commit's lock before anything reaches the kernel", async () => {
		// libuci's lock: flock on the config file itself, held here until the holder is stopped.
		const holder = lab.spawn("router", ["flock", "-x", full.configFile, "cat"]);
		try {
			const locked = async () =>
				(await lab.exec("router", ["flock", "-n", full.configFile, "true"], { check: false })).code !== 0;
			await waitFor("the holder to take the lock", locked);
			let settled = false;
			// Over the control socket from here: the request is with the daemon before the probe starts.
			const call = callControlSocket(full.controlSocket, "add_forward", {
				proto: "tcp",
				src_dport: "9393",
				dest_ip: "192.168.1.11",
				dest_port: "81",
			}).finally(() => {
				settled = true;
			});
			expect(await lab.probe("wan1", "tcp", WAN, 9393, 1000)).toBeNull();
			expect(settled).toBe(false);
			await holder.stop();
			expect((await call).ok).toBe(true);
			expect(await lab.probe("wan1", "tcp", WAN, 9393)).toMatchObject({ node: "lan2", port: 81 });
		} finally {
			await holder.stop();
		}
	});
});
