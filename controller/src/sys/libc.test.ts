import { dlopen, FFIType } from "bun:ffi";
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { libcPath, mappedLibc } from "./libc";

describe("the C library for bun:ffi", () => {
	test("is found among glibc's mappings, whatever else is mapped", () => {
		const maps = [
			"55d0c8a00000-55d0c8a21000 r--p 00000000 fe:01 1835 /usr/bin/portrig",
			"7f3a1c000000-7f3a1c022000 r--p 00000000 fe:01 2901 /usr/lib/x86_64-linux-gnu/libnftables.so.1.1.0",
			"7f3a1c200000-7f3a1c226000 r--p 00000000 fe:01 2044 /usr/lib/x86_64-linux-gnu/libc.so.6",
			"7f3a1c400000-7f3a1c402000 rw-p 00000000 00:00 0 ",
			"7f3a1c600000-7f3a1c62a000 r--p 00000000 fe:01 2040 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		].join("\n");
		expect(mappedLibc(maps)).toBe("/usr/lib/x86_64-linux-gnu/libc.so.6");
	});

	test("is musl's loader on OpenWrt, under either of its names", () => {
		const openwrt = "7f9d4c1e3000-7f9d4c1f4000 r--p 00000000 00:0f 301 /lib/libc.so\n";
		expect(mappedLibc(openwrt)).toBe("/lib/libc.so");
		const alpine = "7f9d4c1e3000-7f9d4c1f4000 r--p 00000000 08:01 88 /lib/ld-musl-aarch64.so.1\n";
		expect(mappedLibc(alpine)).toBe("/lib/ld-musl-aarch64.so.1");
	});

	test("is not found in mappings without one", () => {
		expect(mappedLibc("7f3a1c400000-7f3a1c402000 rw-p 00000000 00:00 0 [heap]\n")).toBeUndefined();
		expect(mappedLibc("")).toBeUndefined();
	});

	test("is the one this process runs on, and answers through bun:ffi", () => {
		const path = libcPath();
		expect(readFileSync("/proc/self/maps", "utf8")).toContain(path);
		const { symbols } = dlopen(path, { getpid: { args: [], returns: FFIType.i32 } });
		expect(symbols.getpid()).toBe(process.pid);
	});
});
