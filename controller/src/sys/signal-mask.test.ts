import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { withSignalsHeld } from "./signal-mask";

/** The signals this thread holds back, by number (proc(5): SigBlk of /proc/thread-self/status). */
function held(): number[] {
	const hex = /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/thread-self/status", "utf8"))?.[1] ?? "0";
	const bits = BigInt(`0x${hex}`);
	return Array.from({ length: 64 }, (_, i) => i + 1).filter((n) => (bits >> BigInt(n - 1)) & 1n);
}

const SIGHUP = 1;
const SIGUSR1 = 10;
const SIGSEGV = 11;
const SIGTERM = 15;
const SIGCHLD = 17;

test("during the call the thread holds back SIGHUP, SIGTERM, SIGUSR1 and SIGCHLD, never SIGSEGV", () => {
	const during = withSignalsHeld(held);
	expect(during).toEqual(expect.arrayContaining([SIGHUP, SIGUSR1, SIGTERM, SIGCHLD]));
	expect(during).not.toContain(SIGSEGV);
});

test("after the call, returned or thrown, the thread holds what it held before", () => {
	const before = held();
	expect(withSignalsHeld(() => 42)).toBe(42);
	expect(held()).toEqual(before);
	expect(() =>
		withSignalsHeld(() => {
			throw new Error("nft crashed");
		}),
	).toThrow("nft crashed");
	expect(held()).toEqual(before);
});
