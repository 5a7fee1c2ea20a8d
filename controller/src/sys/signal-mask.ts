// Holds the process's asynchronous signals back from this thread while a blocking C call runs.
//
// libnftables sends a transaction and then waits for the kernel's acknowledgements in select(2),
// which any signal handled on this thread interrupts (select is never restarted). nft then
// reports "Could not process rule: Interrupted system call" although the kernel has already
// committed the batch: the kernel runs it inside sendmsg, before the wait. A SIGHUP from procd
// (`reload_service`) during an apply made the daemon roll a change back in its file and keep
// believing the old ruleset while the kernel held the new one. With the signals held, such a
// signal stays pending and is handled once the call returns (or by another thread meanwhile).
import { dlopen, FFIType } from "bun:ffi";
import { libcPath } from "./libc";

const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
/** sigset_t is 1024 bits in glibc and in musl. */
const SIGSET_BYTES = 128;
/**
 * Signals a fault raises on the faulting thread (SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE,
 * SIGSEGV, SIGSYS): never held, or a fault would kill the process instead of reaching its
 * handler. Same numbers on x86_64 and aarch64, the two targets Bun builds for.
 */
const SYNCHRONOUS = [4, 5, 6, 7, 8, 11, 31];

/** Signals 1–31 but the synchronous ones (signal n is bit n−1). SIGKILL and SIGSTOP the kernel never holds. */
const HELD = (() => {
	const set = new Uint8Array(SIGSET_BYTES);
	let bits = 0n;
	for (let n = 1; n <= 31; n++) if (!SYNCHRONOUS.includes(n)) bits |= 1n << BigInt(n - 1);
	new DataView(set.buffer).setBigUint64(0, bits, true);
	return set;
})();

let mask: ((how: number, set: Uint8Array | null, old: Uint8Array | null) => number) | null | undefined;

/** Runs `call` (synchronous) with the asynchronous signals held back from this thread. */
export function withSignalsHeld<T>(call: () => T): T {
	if (mask === undefined) mask = bindSigmask();
	const sigmask = mask;
	const old = new Uint8Array(SIGSET_BYTES);
	if (sigmask === null || sigmask(SIG_BLOCK, HELD, old) !== 0) return call();
	try {
		return call();
	} finally {
		sigmask(SIG_SETMASK, old, null);
	}
}

function bindSigmask() {
	try {
		const { symbols } = dlopen(libcPath(), {
			pthread_sigmask: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
		});
		return (how: number, set: Uint8Array | null, old: Uint8Array | null) =>
			symbols.pthread_sigmask(how, set, old);
	} catch {
		return null; // no pthread_sigmask to bind: calls run unshielded
	}
}
