import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LockHeldError, PidLock, underSharedLock } from "./lock";

const dir = mkdtempSync(join(tmpdir(), "portrig-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a second holder is refused with the first holder's PID; after release it gets the lock", () => {
	const path = join(dir, "daemon.lock");
	const first = PidLock.acquire(path);
	expect(readFileSync(path, "utf8")).toBe(`${process.pid}\n`);
	let refusal: unknown;
	try {
		PidLock.acquire(path);
	} catch (e) {
		refusal = e;
	}
	expect(refusal).toBeInstanceOf(LockHeldError);
	expect((refusal as LockHeldError).pid).toBe(process.pid);
	expect((refusal as Error).message).toBe(`${path} is locked by PID ${process.pid}`);
	first.release();
	PidLock.acquire(path).release();
});

test("a lock held by another process (flock -x, as fw4 takes it) is refused too", async () => {
	const path = join(dir, "other.lock");
	const holder = Bun.spawn(["flock", "-x", path, "cat"], { stdin: "pipe" });
	try {
		let held = false;
		for (let i = 0; i < 500 && !held; i++) {
			try {
				PidLock.acquire(path).release();
				await Bun.sleep(10);
			} catch (e) {
				held = e instanceof LockHeldError;
			}
		}
		expect(held).toBe(true);
	} finally {
		(holder.stdin as import("bun").FileSink).end();
		await holder.exited;
	}
});

test("underSharedLock runs its body only once fw4's exclusive holder is done, and at once without a file", async () => {
	const path = join(dir, "fw4.lock");
	const holder = Bun.spawn(["flock", "-x", path, "cat"], { stdin: "pipe" });
	// Wait until the holder has the lock: an exclusive attempt of ours is then refused.
	for (;;) {
		try {
			PidLock.acquire(path).release();
			await Bun.sleep(10);
		} catch {
			break;
		}
	}
	let holderDoneWhenRun: boolean | undefined;
	const running = underSharedLock(path, async () => {
		holderDoneWhenRun = holder.exitCode !== null;
	});
	(holder.stdin as import("bun").FileSink).end();
	await running;
	expect(holderDoneWhenRun).toBe(true);
	expect(await underSharedLock(join(dir, "missing.lock"), async () => "ran")).toBe("ran");
});
