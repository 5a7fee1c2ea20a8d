// File locks with flock(2), the lock `flock -x` takes in fw4's shell script: the daemon's own
// lock (one daemon per table, its PID in the file) and a shared hold of fw4's lock while it
// decides what a vanished table means (fw4 deletes tables one by one under its lock).

import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { tryLock } from "../sys/flock";

/** Another process holds the lock; `pid` is what it wrote into the file (if anything). */
export class LockHeldError extends Error {
	override name = "LockHeldError";
	constructor(
		readonly path: string,
		readonly pid: number | undefined,
	) {
		super(`${path} is locked by ${pid ? `PID ${pid}` : "another process"}`);
	}
}

/** An exclusive lock held for the life of the process (the descriptor closes with it, even on kill -9). */
export class PidLock {
	private constructor(
		readonly path: string,
		private fd: number | undefined,
	) {}

	/** Takes the lock now or throws LockHeldError naming the holder's PID. */
	static acquire(path: string): PidLock {
		const fd = openSync(path, "a+", 0o644);
		try {
			if (!tryLock(fd, "exclusive")) {
				const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
				throw new LockHeldError(path, Number.isInteger(pid) && pid > 0 ? pid : undefined);
			}
			ftruncateSync(fd, 0);
			writeSync(fd, `${process.pid}\n`);
			return new PidLock(path, fd);
		} catch (e) {
			closeSync(fd);
			throw e;
		}
	}

	/** Closing the descriptor releases the lock; the file stays (removing it would race a new holder). */
	release(): void {
		if (this.fd === undefined) return;
		closeSync(this.fd);
		this.fd = undefined;
	}
}

/**
 * Runs `body` under a shared hold of `path` (fw4 then waits), once the exclusive holder is
 * done; polls every `pollMs`. Without the file (fw4 never ran) `body` runs at once. After
 * `maxWaitMs` it runs anyway: a hung fw4 must not stop portrig following its table.
 */
export async function underSharedLock<T>(
	path: string,
	body: () => Promise<T>,
	{ pollMs = 20, maxWaitMs = 30_000 } = {},
): Promise<T> {
	let fd: number;
	try {
		fd = openSync(path, "r");
	} catch {
		return body();
	}
	try {
		const start = Date.now();
		while (!tryLock(fd, "shared") && Date.now() - start < maxWaitMs) await Bun.sleep(pollMs);
		return await body();
	} finally {
		closeSync(fd);
	}
}
