// The C library for bun:ffi. glibc names it libc.so.6; on musl (OpenWrt) the C library is the
// dynamic loader itself (/lib/libc.so, linked as ld-musl-<arch>.so.1). Every FFI user in portrig
// opens libc through this helper.
//
// It must be the C library this process runs on, not one that merely exists: a glibc machine
// with Debian's musl package has /lib/ld-musl-x86_64.so.1 too, and calling into a second C
// library crashes the process. So the answer comes from the process's own mappings.
import { existsSync, readFileSync } from "node:fs";

const MUSL_LIBC = ["/lib/libc.so", "/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"];

/** A mapped file that is a C library: glibc's libc.so.6, or musl's libc.so / ld-musl-*.so.1. */
const C_LIBRARY = /\/(?:libc\.so\.6|libc\.so|ld-musl-[^/]+\.so\.1|libc\.musl-[^/]+\.so\.1)$/;

let found: string | undefined;

export function libcPath(): string {
	found ??= mappedLibc(readMaps()) ?? MUSL_LIBC.find((path) => existsSync(path)) ?? "libc.so.6";
	return found;
}

/** The C library among the files of a /proc/PID/maps text, if one is there. */
export function mappedLibc(maps: string): string | undefined {
	for (const line of maps.split("\n")) {
		const path = line.slice(line.indexOf("/"));
		if (line.includes("/") && C_LIBRARY.test(path)) return path;
	}
	return undefined;
}

function readMaps(): string {
	try {
		return readFileSync("/proc/self/maps", "utf8");
	} catch {
		return ""; // no /proc: the file checks decide
	}
}
