// Deterministic tar and gzip, as OpenWrt's ipkg-build makes them: GNU tar format, members sorted
// by name, owner and group root (numeric), one fixed mtime; gzip without a name or time stamp.
// The same inputs give the same bytes.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A tar of `members` (paths relative to `dir`; "." for the whole tree), uncompressed. */
export function tar(dir: string, members: string[], mtime: number): Uint8Array<ArrayBuffer> {
	const scratch = mkdtempSync(join(tmpdir(), "portrig-tar-"));
	try {
		const out = join(scratch, "out.tar");
		const run = Bun.spawnSync(
			[
				"tar",
				"--format=gnu",
				"--numeric-owner",
				"--owner=0",
				"--group=0",
				"--sort=name",
				`--mtime=@${mtime}`,
				"-C",
				dir,
				"-cf",
				out,
				"--",
				...members,
			],
			{ stdout: "ignore", stderr: "pipe" },
		);
		if (run.exitCode !== 0) throw new Error(`tar in ${dir} failed: ${run.stderr.toString().trim()}`);
		return new Uint8Array(readFileSync(out));
	} finally {
		rmSync(scratch, { recursive: true, force: true });
	}
}

/** gzip with a zero time stamp and no file name (like `gzip -n`). */
export function gzip(data: Uint8Array<ArrayBuffer>): Uint8Array {
	return Bun.gzipSync(data);
}
