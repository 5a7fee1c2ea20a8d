// Every config change builds a new parsed document and ruleset while the old ones are still
// referenced: at 10,000 forwards that is MBs of garbage per change, and JavaScriptCore lets the
// heap grow to several times its live size before it collects fully. On a 256 MB router the
// resident size matters more than the few tens of ms of a full collection, so the daemon
// collects fully itself:
//  - during a burst of changes, whenever its resident size has grown GROWTH_BYTES since the
//    last full collection (bounds the peak), after the change's reply is on its way; started
//    there, not waited for (Bun.gc(false): marking beside the program), as the next request
//    may already be waiting (a synchronous one at 10,000 forwards: p99 of add 34 ms, not 27);
//  - once QUIET_MS after the last change of a burst (the idle size), when nobody waits:
//    synchronous, which frees more (idle at 10,000 forwards: 84–89 MB, not 95);
//  - once IDLE_MS after the last change (and after the start), it also releases its compiled
//    code: JavaScriptCore keeps the bytecode and machine code of every function that ever ran,
//    most of it the start's and the last burst's, which an idle daemon never runs again
//    (Bun.shrink: the engine's deleteAllCode, a full collection, and the allocator's free
//    pages back to the kernel). Measured on the build machine: idle with 1 forward 2 MB
//    less, with 10,000 forwards 4–9 MB less; the first change after it takes ~20 ms more
//    (its functions are compiled again), so it waits until a burst is surely over. What
//    whenIdle() registered goes first: libnftables' context (its cache of the kernel's
//    ruleset, 1.2 MB of C heap; idle with 1 forward 36.8 -> 35.5 MB).
import { trimCHeap } from "../sys/malloc-trim";

/** Growth of the resident size that is worth a collection's pause during a burst. */
const GROWTH_BYTES = 24 << 20;
/** Quiet time after a change before the idle collection. */
const QUIET_MS = 1000;
/** Growth below which the idle collection is skipped (it would cost more than it frees). */
const QUIET_GROWTH_BYTES = 16 << 20;
/** Quiet time after a change before the compiled code is released. */
export const IDLE_MS = 10_000;

/** The resident size after the last full collection (at first: when the program started). */
let rssAfterLast = process.memoryUsage.rss();
let checking = false;
/** A collection was started and not waited for: rssAfterLast is not what it left. */
let unfinished = false;
let quiet: ReturnType<typeof setTimeout> | undefined;
let idle: ReturnType<typeof setTimeout> | undefined;
/** How often the compiled code was released (the daemon's `status`). */
let codeReleases = 0;
/** What else an idle daemon gives back with its code (whenIdle). */
const idleReleases: (() => void)[] = [];

/** Runs `release` each time the daemon goes idle, before its compiled code is released. */
export function whenIdle(release: () => void): void {
	idleReleases.push(release);
}

/** After a change: collects soon if the process has grown enough, and again once changes stop. */
export function collectGarbageSoon(): void {
	if (quiet) quiet.refresh();
	else {
		quiet = setTimeout(() => {
			quiet = undefined;
			if (unfinished || grown() >= QUIET_GROWTH_BYTES) collect(true);
		}, QUIET_MS);
		quiet.unref();
	}
	if (idle) idle.refresh();
	else {
		idle = setTimeout(() => {
			idle = undefined;
			releaseCompiledCode();
		}, IDLE_MS);
		idle.unref();
	}
	if (checking) return;
	checking = true;
	// setImmediate: after the reply of the change that called, which is written first.
	setImmediate(() => {
		checking = false;
		if (grown() >= GROWTH_BYTES) collect(false);
	});
}

const grown = () => process.memoryUsage.rss() - rssAfterLast;

/**
 * `wait`: the whole collection now; else one started, finishing beside the program. The C heap
 * (libnftables' listings and parses) is trimmed with it: the growth that triggered the
 * collection may be there and not in JavaScript's heap.
 */
function collect(wait: boolean): void {
	Bun.gc(wait);
	trimCHeap();
	unfinished = !wait;
	rssAfterLast = process.memoryUsage.rss();
}

function releaseCompiledCode(): void {
	for (const release of idleReleases) release();
	// Runs once the current task has returned, when no JavaScript is on the stack.
	Bun.shrink();
	codeReleases++;
	// Growth is counted from what the release left.
	setImmediate(() => {
		rssAfterLast = process.memoryUsage.rss();
	});
}

/** Times the daemon has released its compiled code while idle. */
export const codeReleaseCount = (): number => codeReleases;
