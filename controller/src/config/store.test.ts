import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeProblem, loadConfig } from "./load";
import type { Config } from "./schema";
import { ConfigConflictError, ConfigStore, type MutationResult } from "./store";

const FIXTURE = readFileSync(join(import.meta.dir, "fixtures/portrig.uci"), "utf8");

let dir: string;
let file: string;
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), "portrig-store-"));
	file = join(dir, "portrig");
	writeFileSync(file, FIXTURE);
	chmodSync(file, 0o640);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const onDisk = () => readFileSync(file, "utf8");
/** Lines of `after` that are not in `before`, and the other way round (small files, no repeats). */
const added = (before: string, after: string) =>
	after.split("\n").filter((l) => !before.split("\n").includes(l));
const removed = (before: string, after: string) => added(after, before);

describe("ConfigStore", () => {
	test("a change names the forward it made, the config's own entry (none once deleted)", async () => {
		const store = await ConfigStore.open(file);
		const added = store.addSection("forward", { src_dport: 8080, dest_ip: "192.168.1.40" });
		if (!added.ok) throw new Error(JSON.stringify(added.problems));
		expect(added.change).toEqual({ type: "forward", id: added.id, entry: added.config.forwards.at(-1) });
		const updated = store.updateSection("forward", "minecraft", { dest_port: 25566 });
		if (!updated.ok) throw new Error(JSON.stringify(updated.problems));
		const entry = updated.config.forwards.find((f) => f.id === "minecraft");
		expect(updated.change).toEqual({ type: "forward", id: "minecraft", entry });
		expect(entry?.dest_port).toEqual({ from: 25566, to: 25566 });
		expect(store.deleteSection("forward", "minecraft")).toMatchObject({
			ok: true,
			change: { type: "forward", id: "minecraft", entry: undefined },
		});
		expect(store.setDmz({ enabled: false })).toMatchObject({ ok: true, change: { type: "dmz" } });
	});

	test("opens the file into its config; a missing file is an empty config", async () => {
		const store = await ConfigStore.open(file);
		expect(store.config?.forwards.map((f) => f.id)).toEqual(["minecraft", "cfg03465a", "cfg04465a"]);
		expect(store.text).toBe(FIXTURE);
		const empty = await ConfigStore.open(join(dir, "absent"));
		expect(empty.config?.forwards).toEqual([]);
		expect(empty.text).toBe("");
	});

	test("adding a forward names it from its name, writes canonical values, and only on commit", async () => {
		const store = await ConfigStore.open(file);
		const r = store.addSection("forward", {
			name: "Web server",
			proto: "tcpudp",
			src_dport: 8080,
			dest_ip: "192.168.1.40",
			reflection: false,
			src_ip: "198.51.100.9",
		});
		expect(r).toMatchObject({ ok: true, id: "fwd_web_server" });
		if (!r.ok) return;
		expect(r.config.forwards.at(-1)).toMatchObject({
			id: "fwd_web_server",
			proto: ["tcp", "udp"],
			reflection: false,
		});
		expect(onDisk()).toBe(FIXTURE);
		expect(store.pending).toBe(true);
		await store.commit();
		expect(store.pending).toBe(false);
		expect(onDisk()).toBe(
			`${FIXTURE}\nconfig forward 'fwd_web_server'\n\toption name 'Web server'\n\toption proto 'tcp udp'\n\toption src_dport '8080'\n\toption dest_ip '192.168.1.40'\n\toption reflection '0'\n\tlist src_ip '198.51.100.9'\n`,
		);
		const again = store.addSection("forward", {
			name: "Web server",
			src_dport: "8081",
			dest_ip: "192.168.1.41",
		});
		expect(again).toMatchObject({ ok: true, id: "fwd_web_server_2" });
		expect(store.addSection("trigger", { name: "!!", trigger_port: 1, open_port: [2] })).toMatchObject({
			ok: true,
			id: "trg",
		});
	});

	test("an update changes only the given options: null removes one, absent ones stay", async () => {
		const store = await ConfigStore.open(file);
		const r = store.updateSection("forward", "cfg03465a", {
			src_dport: "9443",
			reflection: null,
			src_ip: ["198.51.100.0/24", "192.0.2.1"],
		});
		expect(r).toMatchObject({ ok: true, id: "cfg03465a" });
		await store.commit();
		expect(removed(FIXTURE, onDisk())).toEqual([
			"\toption src_dport 8443",
			'\tlist src_ip\t"203.0.113.7"',
			"\toption reflection '0'",
		]);
		expect(added(FIXTURE, onDisk())).toEqual(["\toption src_dport 9443", "\tlist src_ip '192.0.2.1'"]);
		expect(store.config?.forwards[1]).toMatchObject({ name: 'Bob\'s "NAS" web UI', reflection: true });
	});

	test("an invalid change is refused with the problem first and changes nothing", async () => {
		const store = await ConfigStore.open(file);
		const r = store.updateSection("forward", "minecraft", { dest_ip: "8.8.8.8" });
		expect(r.ok).toBe(false);
		if (r.ok) return;
		expect(r.reason).toBe("invalid");
		expect(r.problems.map(describeProblem)).toEqual([
			"section 'minecraft' option 'dest_ip': 8.8.8.8 is not a LAN address (expected 10/8, 172.16/12 or 192.168/16)",
		]);
		expect(r.problems[0]).toMatchObject({ id: "minecraft", option: "dest_ip" });
		const clash = store.addSection("forward", { src_dport: "25000-26000", dest_ip: "192.168.1.9" });
		expect(clash.ok ? [] : clash.problems.map(describeProblem)).toEqual([
			"section 'fwd' option 'src_dport': tcp/udp port 25565 is already forwarded by section 'minecraft'",
		]);
		const removing = store.updateSection("forward", "minecraft", { src_dport: null });
		expect(removing.ok ? [] : removing.problems.map(describeProblem)).toEqual([
			"section 'minecraft' option 'src_dport': is required",
		]);
		expect(store.updateSection("forward", "minecraft", { colour: "red", dest_ip: {} })).toMatchObject({
			ok: false,
			problems: [
				{ option: "colour", message: "unknown option for a forward section" },
				{ option: "dest_ip", message: "must be text, a number, a boolean or a list of them" },
			],
		});
		expect(store.text).toBe(FIXTURE);
		expect(store.pending).toBe(false);
		await store.commit();
		expect(onDisk()).toBe(FIXTURE);
	});

	test("unknown ids and ids of another type are not found", async () => {
		const store = await ConfigStore.open(file);
		for (const r of [
			store.updateSection("forward", "nope", { name: "x" }),
			store.deleteSection("forward", "irc"),
			store.updateSection("trigger", "minecraft", {}),
		])
			expect(r).toMatchObject({ ok: false, reason: "not_found" });
		expect(store.deleteSection("trigger", "dmz")).toMatchObject({
			ok: false,
			problems: [{ message: "no trigger with id 'dmz'" }],
		});
	});

	test("deleting a section removes its lines and keeps everything else", async () => {
		const store = await ConfigStore.open(file);
		expect(store.deleteSection("trigger", "irc")).toMatchObject({ ok: true });
		await store.commit();
		expect(added(FIXTURE, onDisk())).toEqual([]);
		expect(removed(FIXTURE, onDisk())).toContain("config trigger 'irc'");
		expect(store.config?.triggers.map((t) => t.id)).toEqual(["cfg058819"]);
	});

	test("setDmz updates the dmz section, or creates `config dmz 'dmz'`", async () => {
		const store = await ConfigStore.open(file);
		expect(store.setDmz({ enabled: true })).toMatchObject({ ok: true, id: "dmz" });
		expect(
			store.text.replace("\toption enabled '1'\n\toption dest_ip", "\toption enabled '0'\n\toption dest_ip"),
		).toBe(FIXTURE);
		expect(store.setDmz({ dest_ip: null })).toMatchObject({
			ok: false,
			problems: [{ option: "dest_ip", message: "is required when the DMZ is enabled" }],
		});
		const bare = await ConfigStore.open(join(dir, "new"));
		expect(bare.setDmz({ enabled: 1, dest_ip: "192.168.1.50" })).toMatchObject({ ok: true, id: "dmz" });
		await bare.commit();
		expect(readFileSync(join(dir, "new"), "utf8")).toBe(
			"config dmz 'dmz'\n\toption enabled '1'\n\toption dest_ip '192.168.1.50'\n",
		);
	});

	test("setGlobals changes only the given options, or creates `config globals 'globals'`", async () => {
		const store = await ConfigStore.open(file);
		const r = store.setGlobals({ reflection: false, wan_device: ["eth1", "eth2"] });
		expect(r).toMatchObject({ ok: true, id: "globals" });
		if (!r.ok) return;
		expect(r.config.globals).toMatchObject({ reflection: false, wan_device: ["eth1", "eth2"] });
		expect(r.config.forwards.find((f) => f.id === "minecraft")?.reflection).toBe(false);
		expect(store.text).toContain(
			"\toption trigger_timeout '600'\n\toption reflection '0'\n\tlist wan_device 'eth1'\n\tlist wan_device 'eth2'\n",
		);
		expect(removed(FIXTURE, store.text)).toEqual([]);
		expect(store.setGlobals({ lan_device: ["eth1"] })).toMatchObject({
			ok: false,
			problems: [{ option: "lan_device", message: expect.stringContaining("also listed as WAN") }],
		});
		expect(store.setGlobals({ trigger_timeout: "forever" })).toMatchObject({
			ok: false,
			problems: [{ option: "trigger_timeout" }],
		});
		const bare = await ConfigStore.open(join(dir, "new"));
		expect(bare.setGlobals({ wan_device: "eth1" })).toMatchObject({ ok: true, id: "globals" });
		await bare.commit();
		expect(readFileSync(join(dir, "new"), "utf8")).toBe(
			"config globals 'globals'\n\tlist wan_device 'eth1'\n",
		);
	});

	test("forwards without their own reflection follow a changed default; other settings leave the forwards as they are", async () => {
		const store = await ConfigStore.open(file);
		const before = store.config as Config;
		const timeout = store.setGlobals({ trigger_timeout: 300 });
		expect(timeout.ok && timeout.config.forwards).toBe(before.forwards);
		const off = store.setGlobals({ reflection: false });
		if (!off.ok) throw new Error("refused");
		expect(off.config.forwards.map((f) => [f.id, f.reflection])).toEqual([
			["minecraft", false],
			["cfg03465a", false],
			["cfg04465a", false],
		]);
		const on = store.setGlobals({ reflection: true });
		if (!on.ok) throw new Error("refused");
		// cfg03465a sets its own reflection '0'.
		expect(on.config.forwards.map((f) => [f.id, f.reflection])).toEqual([
			["minecraft", true],
			["cfg03465a", false],
			["cfg04465a", true],
		]);
		expect(on.config).toEqual(loadConfig(store.text, file).config as Config);
	});

	test("a new section's name takes the number after the last one given while that section exists, else the first free one", async () => {
		const store = await ConfigStore.open(file);
		const add = (port: number) => {
			const r = store.addSection("forward", { src_dport: port, dest_ip: "192.168.1.40" });
			return r.ok ? r.id : r.problems[0]?.message;
		};
		expect([add(9001), add(9002), add(9003)]).toEqual(["fwd", "fwd_2", "fwd_3"]);
		store.deleteSection("forward", "fwd_2");
		expect(add(9004)).toBe("fwd_4");
		store.deleteSection("forward", "fwd_4");
		expect(add(9005)).toBe("fwd_2");
	});

	test("a reload keeps the entries of sections whose text did not change, as the same objects", async () => {
		const store = await ConfigStore.open(file);
		const before = store.config as Config;
		const text = `${FIXTURE.replace("option src_dport '25565'", "option src_dport '25566'")}
config forward 'web'
	option src_dport '80'
	option dest_ip '192.168.1.40'
`;
		writeFileSync(file, text);
		const result = await store.reload();
		expect(result).toEqual(loadConfig(text, file));
		const after = store.config as Config;
		expect(after.forwards.map((f) => f.id)).toEqual(["minecraft", "cfg03465a", "cfg04465a", "web"]);
		expect(after.forwards[0]).not.toBe(before.forwards[0] as never);
		// cfg04465a has an unknown option: it is read again, for its warning.
		expect(after.forwards[1]).toBe(before.forwards[1] as never);
		expect(after.triggers[0]).toBe(before.triggers[0] as never);
		expect(after.triggers[1]).toBe(before.triggers[1] as never);
		expect(after.globals).toBe(before.globals);
		// The blank line before the new section is the dmz's last line: its text changed.
		expect(after.dmz).toEqual(before.dmz);
		// A changed default reaches the kept forwards that follow it.
		writeFileSync(
			file,
			text.replace("option trigger_timeout '600'", "option trigger_timeout '600'\n\toption reflection '0'"),
		);
		const off = await store.reload();
		expect(off.config?.forwards.map((f) => f.reflection)).toEqual([false, false, false, false]);
		expect(off).toEqual(loadConfig(onDisk(), file));
	});

	test("text UCI cannot hold is refused naming the option, and the file stays", async () => {
		const store = await ConfigStore.open(file);
		for (const name of ["a\u0000b", "a\nconfig forward 'x'", "a\rb"]) {
			const r = store.addSection("forward", { name, src_dport: "9999", dest_ip: "192.168.1.40" });
			expect(r).toMatchObject({
				ok: false,
				reason: "invalid",
				problems: [{ option: "name", message: expect.stringContaining("control character") }],
			});
		}
		expect(store.pending).toBe(false);
		expect(store.text).toBe(FIXTURE);
	});

	test("a change to one entry is checked against the config in memory with the result a whole check gives", async () => {
		const store = await ConfigStore.open(file);
		const whole = () => loadConfig(store.text, file);
		const steps: Array<[string, () => MutationResult, boolean]> = [
			[
				"add",
				() =>
					store.addSection(
						"forward",
						{ src_dport: "2222", dest_ip: "192.168.1.20", src_ip: ["198.51.100.0/24"] },
						"a",
					),
				true,
			],
			[
				"catch-all beside a restricted",
				() => store.addSection("forward", { src_dport: "2222", dest_ip: "192.168.1.21" }, "b"),
				true,
			],
			[
				"second catch-all",
				() => store.addSection("forward", { src_dport: "2200-2300", dest_ip: "192.168.1.22" }, "c"),
				false,
			],
			[
				"overlapping sources",
				() =>
					store.addSection(
						"forward",
						{ src_dport: "2222", dest_ip: "192.168.1.22", src_ip: "198.51.100.7" },
						"c",
					),
				false,
			],
			[
				"disjoint sources",
				() =>
					store.addSection(
						"forward",
						{ src_dport: "2222", dest_ip: "192.168.1.22", src_ip: "203.0.113.0/24" },
						"c",
					),
				true,
			],
			[
				"moving onto a forwarded port",
				() => store.updateSection("forward", "b", { src_dport: "25565" }),
				false,
			],
			[
				"disabled may overlap",
				() => store.updateSection("forward", "b", { src_dport: "25565", enabled: false }),
				true,
			],
			[
				"trigger opening a forwarded port",
				() => store.addSection("trigger", { name: "T", trigger_port: "7000", open_port: ["2222"] }, "t"),
				false,
			],
			[
				"trigger",
				() => store.addSection("trigger", { name: "T", trigger_port: "7000", open_port: ["7100-7110"] }, "t"),
				true,
			],
			[
				"trigger with a taken name",
				() => store.addSection("trigger", { name: "T", trigger_port: "7001", open_port: ["7200"] }, "u"),
				false,
			],
			[
				"trigger opening another's port",
				() => store.addSection("trigger", { name: "U", trigger_port: "7001", open_port: ["7105"] }, "u"),
				false,
			],
			[
				"forward onto an opened port",
				() => store.updateSection("forward", "a", { src_dport: "7105" }),
				false,
			],
			["delete", () => store.deleteSection("forward", "b"), true],
			[
				"port freed by the delete",
				() => store.addSection("forward", { src_dport: "25565", dest_ip: "192.168.1.23" }, "d"),
				false,
			],
		];
		for (const [what, step, accepted] of steps) {
			const before = store.config;
			const r = step();
			expect({ what, ok: r.ok }).toEqual({ what, ok: accepted });
			if (!r.ok) {
				expect(store.config).toBe(before as Config);
				continue;
			}
			expect({ what, config: r.config }).toEqual({ what, config: whole().config as Config });
			// Entries an add or update did not touch are the same objects (a deletion in a file with
			// anonymous sections renames those after it, so it re-checks the whole file).
			const touched = r.id;
			if (what !== "delete")
				for (const f of r.config.forwards)
					if (f.id !== touched) expect(f).toBe(before?.forwards.find((o) => o.id === f.id) as never);
		}
	});

	test("commit replaces the file atomically, keeping its mode and leaving no temporary file", async () => {
		const store = await ConfigStore.open(file);
		const before = statSync(file).ino;
		store.setDmz({ dest_ip: "192.168.1.51" });
		await store.commit();
		expect(statSync(file).mode & 0o777).toBe(0o640);
		expect(statSync(file).ino).not.toBe(before);
		expect(readdirSync(dir)).toEqual(["portrig"]);
	});

	test("a commit writes every byte of a file larger than its write buffer, multi-byte characters and long lines included", async () => {
		const comment = `# ${"ü€𝄞".repeat(30_000)}\n`;
		const forwards = Array.from(
			{ length: 4000 },
			(_, k) =>
				`config forward 'f${k}'\n\toption name '${"€".repeat(20 + (k % 40))}'\n\toption src_dport '${10_000 + k}'\n\toption dest_ip '192.168.1.10'\n\n`,
		);
		writeFileSync(file, `${comment}${FIXTURE}\n${forwards.join("")}${comment}`);
		const store = await ConfigStore.open(file);
		expect(
			store.addSection("forward", { name: "Größe", src_dport: "9999", dest_ip: "192.168.1.11" }).ok,
		).toBe(true);
		await store.commit();
		expect(onDisk()).toBe(store.text);
		expect(onDisk()).toContain("option name 'Größe'");
		expect(onDisk().startsWith(comment)).toBe(true);
	});

	test("restore puts back the previous bytes on disk and in memory", async () => {
		const store = await ConfigStore.open(file);
		const previous = store.snapshot();
		store.deleteSection("forward", "minecraft");
		await store.commit();
		expect(store.config?.forwards).toHaveLength(2);
		const result = await store.restore(previous);
		expect(onDisk()).toBe(FIXTURE);
		expect(result.config?.forwards).toHaveLength(3);
		expect(store.config?.forwards).toHaveLength(3);
		expect(store.pending).toBe(false);
	});

	test("a commit does not overwrite a change made on disk since the file was read", async () => {
		const store = await ConfigStore.open(file);
		store.setDmz({ enabled: true });
		const edited = FIXTURE.replace("option trigger_timeout '600'", "option trigger_timeout '900'");
		writeFileSync(file, edited);
		await expect(store.commit()).rejects.toThrow(ConfigConflictError);
		expect(onDisk()).toBe(edited);
		expect(store.config?.globals.trigger_timeout).toBe(900);
		expect(store.pending).toBe(false);
	});

	test("after its own write, a commit still sees a change on disk; the same bytes written again are none", async () => {
		const store = await ConfigStore.open(file);
		store.setDmz({ enabled: true });
		await store.commit();
		writeFileSync(file, store.text);
		store.setDmz({ dest_ip: "192.168.1.52" });
		await store.commit();
		const edited = onDisk().replace("option trigger_timeout '600'", "option trigger_timeout '900'");
		writeFileSync(file, edited);
		store.setDmz({ enabled: false });
		await expect(store.commit()).rejects.toThrow(ConfigConflictError);
		expect(onDisk()).toBe(edited);
	});

	test("a broken file on reload keeps the last valid config and refuses changes until fixed", async () => {
		const store = await ConfigStore.open(file);
		writeFileSync(file, `${FIXTURE}config forward 'bad'\n\toption src_dport 0\n`);
		const result = await store.reload();
		expect(result.config).toBeUndefined();
		expect(result.problems.map(describeProblem)).toContain(
			"section 'bad' option 'src_dport': port 0 is out of range (1-65535)",
		);
		expect(store.config?.forwards).toHaveLength(3);
		expect(store.setDmz({ enabled: false })).toMatchObject({ ok: false, reason: "invalid" });
		writeFileSync(file, "config forward 'x'\n\toption name 'unterminated\n");
		await store.reload();
		expect(store.addSection("forward", { src_dport: 1, dest_ip: "192.168.1.2" })).toMatchObject({
			ok: false,
			problems: [
				{ line: 2, message: "unterminated ' quote: the value opened on line 2 runs to the end of the file" },
			],
		});
		writeFileSync(file, FIXTURE);
		expect((await store.reload()).config).toBeDefined();
		expect(store.setDmz({ enabled: false })).toMatchObject({ ok: true });
	});
});
