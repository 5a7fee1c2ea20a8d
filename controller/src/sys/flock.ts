// flock(2) through bun:ffi: the advisory lock libuci takes on a config file while it commits,
// and fw4's shell script (util-linux's flock(1)) on /var/run/fw4.lock. Non-blocking only: the daemon must never block its
// event loop, so callers retry. Closing the descriptor releases the lock.
import { dlopen, FFIType, read } from "bun:ffi";
import { libcPath } from "./libc";

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const ENOSYS = 38;

let libc: ReturnType<typeof openLibc> | undefined;

function openLibc() {
	return dlopen(libcPath(), {
		flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
		__errno_location: { args: [], returns: FFIType.ptr },
	}).symbols;
}

function errno(): number {
	const where = (libc ?? openLibc()).__errno_location();
	return where === null ? 0 : read.i32(where);
}

/**
 * Tries to lock the open file `fd` (exclusive or shared) without waiting. True when locked, or
 * when the file system has no flock (ENOSYS: libuci goes on without a lock then, and so do we);
 * false when another process holds a conflicting lock.
 */
export function tryLock(fd: number, mode: "exclusive" | "shared"): boolean {
	libc ??= openLibc();
	if (libc.flock(fd, (mode === "exclusive" ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
	const code = errno();
	if (code === EWOULDBLOCK) return false;
	if (code === ENOSYS) return true;
	throw new Error(`flock: errno ${code}`);
}
