// Runs a command to its end for the package tests, its output as text.
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

export function run(
	cmd: string[],
	env: Record<string, string> = {},
): { code: number; out: string; err: string } {
	const r = Bun.spawnSync(cmd, {
		cwd: ROOT,
		env: { ...process.env, ...env },
		stdout: "pipe",
		stderr: "pipe",
	});
	return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}
