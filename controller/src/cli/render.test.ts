// `portrig render` through the compiled binary: what it prints is the daemon's ruleset for the
// file, and real nft (in a network namespace of its own) loads it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, LAB_GLOBALS, PORTRIG } from "../../../test-vm/lib/daemon";
import { run } from "../../../test-vm/lib/lab";
import { loadConfig } from "../config/load";
import { renderRuleset } from "../ruleset/render";

const CONFIG = `${LAB_GLOBALS}
config forward 'web'
	option proto 'tcp'
	option src_dport '8080'
	option dest_ip '192.168.1.10'
	option dest_port '80'

config trigger 'irc'
	option name 'IRC DCC'
	option proto 'tcp'
	option trigger_port '6660-6669'
	option open_proto 'tcp'
	list open_port '113'
`;

let dir: string;
beforeAll(() => {
	ensureBuilt();
	dir = mkdtempSync(join(tmpdir(), "portrig-render-"));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
	const path = join(dir, name);
	writeFileSync(path, text);
	return path;
}

describe("portrig render", () => {
	test("prints the daemon's nft script for the file, trigger rules included", async () => {
		const r = await run([PORTRIG, "render", file("valid", CONFIG)]);
		expect(r).toMatchObject({ code: 0, stderr: "" });
		const { config } = loadConfig(CONFIG, "valid");
		if (!config) throw new Error("the test's config is invalid");
		const env = { wanDevices: ["eth1"], lanDevices: ["br-lan"] };
		expect(r.stdout).toBe(renderRuleset(config, env));
		expect(r.stdout).toStartWith("add table inet portrig\n");
		expect(r.stdout).toContain("add rule inet portrig trigger_irc_4 ");
	});

	test("real nft loads the output: the forward and the trigger chain are in the table", async () => {
		const r = await run([PORTRIG, "render", file("valid", CONFIG)]);
		// unshare: a network namespace that ends with the shell, so nothing is left behind
		const nft = await run([
			"unshare",
			"--net",
			"sh",
			"-c",
			'nft -f "$1" && nft list table inet portrig',
			"sh",
			file("ruleset.nft", r.stdout),
		]);
		expect(nft).toMatchObject({ code: 0, stderr: "" });
		expect(nft.stdout).toContain("elements = { tcp . 8080 : 192.168.1.10 }");
		expect(nft.stdout).toContain("elements = { tcp . 8080 : 80 }");
		expect(nft.stdout).toContain('elements = { "eth1" }');
		expect(nft.stdout).toContain("chain trigger_irc_4 {");
	});

	test("an invalid file: exit 1, its problems, no ruleset", async () => {
		const path = file(
			"invalid",
			"config forward 'a'\n\toption src_dport '70000'\n\toption dest_ip '192.168.1.10'\n",
		);
		expect(await run([PORTRIG, "render", path])).toEqual({
			code: 1,
			stdout: "",
			stderr: `${path}:2: section 'a' option 'src_dport': port 70000 is out of range (1-65535)\n`,
		});
	});

	test("bad arguments or an unreadable file: exit 2 with why", async () => {
		expect(await run([PORTRIG, "render", "--x"])).toEqual({
			code: 2,
			stdout: "",
			stderr: "usage: portrig render [FILE]\n",
		});
		expect(await run([PORTRIG, "render", join(dir, "missing")])).toEqual({
			code: 2,
			stdout: "",
			stderr: `portrig: cannot read ${join(dir, "missing")}: no such file\n`,
		});
	});
});
