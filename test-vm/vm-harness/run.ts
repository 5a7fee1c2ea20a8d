// Runs a host command to its end; throws with its stderr unless it succeeds (or `check` is false).
import type { ExecResult } from "../lib/lab";

export async function run(
	argv: string[],
	opts: { cwd?: string; input?: string | Uint8Array; check?: boolean } = {},
): Promise<ExecResult> {
	const proc = Bun.spawn(argv, {
		cwd: opts.cwd,
		stdin: opts.input === undefined ? "ignore" : new Blob([opts.input]),
		stdout: "pipe",
		stderr: "pipe",
	});
	const [stdout, stderr, code] = await Promise.all([
		new Response(proc.stdout).text(),
		new Response(proc.stderr).text(),
		proc.exited,
	]);
	if (code !== 0 && opts.check !== false)
		throw new Error(`${argv.join(" ")} exited ${code}: ${stderr.trim() || stdout.trim()}`);
	return { code, stdout, stderr };
}
