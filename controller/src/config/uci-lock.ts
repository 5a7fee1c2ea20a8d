// The lock `uci commit` takes, so that it and an API change never interleave. libuci (file.c,
// uci_file_commit) opens the config file itself, takes flock(LOCK_EX) on it, re-reads it, writes
// `.<name>.uci-XXXXXX` beside it, releases the lock and only then renames that file over the
// config. So a writer holding the lock must also wait while such a file is fresh: a commit is
// between its unlock and its rename.
import { close, fstatSync, openSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { tryLock } from "../sys/flock";

/** How often a waiting writer tries again. */
const RETRY_MS = 10;
/** A libuci temporary file older than this is left over from a crash, not a commit under way. */
const STALE_TEMP_MS = 5000;

export class ConfigLockedError extends Error {
	constructor(file: string, ms: number) {
		super(`${file} stayed locked by another writer (uci commit?) for ${ms} ms; try again`);
		this.name = "ConfigLockedError";
	}
}

/**
 * Runs `fn` holding libuci's exclusive lock on `file` (created empty if missing, as libuci
 * does). Waits without blocking the event loop; throws ConfigLockedError after `timeoutMs`.
 */
export async function withUciLock<T>(file: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const fd = openSync(file, "a+", 0o644);
		try {
			if (tryLock(fd, "exclusive") && isCurrent(fd, file) && !commitUnderWay(file)) return await fn();
		} finally {
			// Releases the lock. Not waited for: after a write renamed a new file over this one, the
			// close frees the old file's blocks (about 1 ms per MB), which nobody needs to wait for.
			close(fd, () => {});
		}
		if (Date.now() >= deadline) throw new ConfigLockedError(file, timeoutMs);
		await Bun.sleep(RETRY_MS);
	}
}

/** Whether `fd` is still the file at `file` (another writer may have renamed a new one over it). */
function isCurrent(fd: number, file: string): boolean {
	try {
		return fstatSync(fd).ino === statSync(file).ino;
	} catch {
		return false;
	}
}

/** A fresh `.<name>.uci-XXXXXX` beside `file`: libuci has released the lock but not yet renamed. */
function commitUnderWay(file: string): boolean {
	const prefix = `.${basename(file)}.uci-`;
	const dir = dirname(file);
	return readdirSync(dir).some((name) => {
		if (!name.startsWith(prefix)) return false;
		try {
			return Date.now() - statSync(join(dir, name)).mtimeMs < STALE_TEMP_MS;
		} catch {
			return false;
		}
	});
}
