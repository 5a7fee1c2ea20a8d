import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { expect, test } from "bun:test";
import { libcPath } from "./libc";
import { trimCHeap } from "./malloc-trim";

const { symbols: c } = dlopen(libcPath(), {
	malloc: { args: [FFIType.u64], returns: FFIType.ptr },
	free: { args: [FFIType.ptr], returns: FFIType.void },
});

const MB = 1 << 20;

test("the C heap's freed pages below a live allocation go back to the kernel", () => {
	// 48 MB in 1 KiB blocks (each block's header touches its page), then all freed but one block
	// allocated after them: it pins the heap's top, so glibc keeps the freed 48 MB, as it kept
	// libnftables' after a large apply.
	const blocks: Pointer[] = [];
	for (let i = 0; i < 48 * 1024; i++) blocks.push(c.malloc(1024) as Pointer);
	const pin = c.malloc(1024) as Pointer;
	for (const block of blocks) c.free(block);
	const before = process.memoryUsage.rss();

	trimCHeap();

	expect(before - process.memoryUsage.rss()).toBeGreaterThan(32 * MB);
	c.free(pin);
});
