// The C library for bun:ffi. glibc names it libc.so.6; on musl (OpenWrt) the C library is the
// dynamic loader itself, /lib/libc.so. Every FFI user in portrig opens libc through this helper.
import { existsSync } from "node:fs";

const MUSL_LIBC = ["/lib/libc.so", "/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"];

export function libcPath(): string {
	return MUSL_LIBC.find((path) => existsSync(path)) ?? "libc.so.6";
}
