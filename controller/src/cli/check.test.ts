// `portrig check` through the compiled binary: exit codes and the lines it prints.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, PORTRIG } from "../../../test-vm/lib/daemon";

let dir: string;
beforeAll(() => {
	ensureBuilt();
	dir = mkdtempSync(join(tmpdir(), "portrig-check-"));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
	const proc = Bun.spawn([PORTRIG, "check", ...args], { stdout: "pipe", stderr: "pipe" });
	const [stdout, stderr, code] = await Promise.all([
		new Response(proc.stdout).text(),
		new Response(proc.stderr).text(),
		proc.exited,
	]);
	return { code, stdout, stderr };
}

function file(name: string, text: string): string {
	const path = join(dir, name);
	writeFileSync(path, text);
	return path;
}

describe("portrig check", () => {
	test("a valid file: exit 0 and no output", async () => {
		const path = file(
			"valid",
			"config forward 'web'\n\toption src_dport '80'\n\toption dest_ip '192.168.1.10'\n",
		);
		expect(await check(path)).toEqual({ code: 0, stdout: "", stderr: "" });
	});

	test("warnings alone are printed but keep exit 0", async () => {
		const path = join(dir, "portrig.uci");
		copyFileSync(join(import.meta.dir, "../config/fixtures/portrig.uci"), path);
		expect(await check(path)).toEqual({
			code: 0,
			stdout: "",
			stderr: `${path}:34: section '@forward[2]' option 'installed_by': warning: unknown option for a forward section, ignored\n`,
		});
	});

	test("an invalid file: exit 1 and one line per problem", async () => {
		const path = file(
			"invalid",
			"config forward 'a'\n\toption src_dport '70000'\n\toption dest_ip '192.168.1.10'\n\nconfig frobnicate\n",
		);
		expect(await check(path)).toEqual({
			code: 1,
			stdout: "",
			stderr: [
				`${path}:2: section 'a' option 'src_dport': port 70000 is out of range (1-65535)`,
				`${path}:5: section '@frobnicate[0]': unknown section type 'frobnicate' (expected globals, forward, trigger or dmz)`,
				"",
			].join("\n"),
		});
	});

	test("a syntax error: exit 1 with its line", async () => {
		const path = file("syntax", "config forward 'a'\n\toption name 'unterminated\n");
		expect(await check(path)).toEqual({
			code: 1,
			stdout: "",
			stderr: `${path}:2: unterminated ' quote: the value opened on line 2 runs to the end of the file\n`,
		});
	});

	test("an unreadable file or bad arguments: exit 2 with why", async () => {
		expect(await check(join(dir, "missing"))).toEqual({
			code: 2,
			stdout: "",
			stderr: `portrig: cannot read ${join(dir, "missing")}: no such file\n`,
		});
		expect(await check(dir)).toMatchObject({
			code: 2,
			stderr: `portrig: cannot read ${dir}: is a directory\n`,
		});
		expect(await check("a", "b")).toEqual({ code: 2, stdout: "", stderr: "usage: portrig check [FILE]\n" });
	});
});
