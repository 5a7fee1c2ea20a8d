// The compiled binary (Makefile's COMPILE flags): a Bun executable reads `.env` and
// `bunfig.toml` (whose `preload` runs code) from its working directory unless told not to.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, PORTRIG } from "../../../test-vm/lib/daemon";

let dir: string;
beforeAll(() => {
	ensureBuilt();
	dir = mkdtempSync(join(tmpdir(), "portrig-cwd-"));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("portrig ignores a .env and a bunfig.toml in its working directory", async () => {
	writeFileSync(join(dir, ".env"), `PORTRIG_CONTROL_SOCKET=${join(dir, "from-dotenv.sock")}\n`);
	writeFileSync(join(dir, "preload.ts"), 'console.log("preloaded");\n');
	writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
	// `call` reads PORTRIG_CONTROL_SOCKET: from the .env it would name that socket in its error
	const proc = Bun.spawn([PORTRIG, "call", "status"], {
		cwd: dir,
		env: { PATH: process.env.PATH ?? "" },
		stdout: "pipe",
		stderr: "pipe",
	});
	const [stdout, stderr] = await Promise.all([
		new Response(proc.stdout).text(),
		new Response(proc.stderr).text(),
		proc.exited,
	]);
	expect(stdout + stderr).toContain("portrig");
	expect(stdout).not.toContain("preloaded");
	expect(stderr).not.toContain("from-dotenv.sock");
});
