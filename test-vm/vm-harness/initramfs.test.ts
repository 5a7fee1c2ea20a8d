import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../lib/lab";
import { FW4_INCLUDE, sharedLibraries, withPortrigInclude } from "./initramfs";

describe("initramfs parts", () => {
	test("portrig's include goes just before the final jump of fw4's forward chain, nowhere else", () => {
		const stock = readFileSync(join(REPO, "test-vm", "fw4", "default.nft"), "utf8");
		const lines = withPortrigInclude(stock).split("\n");
		const at = lines.indexOf(`\t\tinclude "${FW4_INCLUDE}"`);
		expect(lines[at + 1]).toBe("\t\tjump handle_reject");
		expect(lines.slice(0, at).lastIndexOf("\tchain forward {")).toBeGreaterThan(lines.lastIndexOf("\t}", at));
		expect(lines.filter((l) => l.includes(FW4_INCLUDE)).length).toBe(1);
	});

	test("a ruleset without fw4's forward chain is refused", () => {
		expect(() => withPortrigInclude("table inet fw4 {\n}\n")).toThrow("jump handle_reject");
	});

	test("the libraries of ldd's output are its absolute paths, the loader included", () => {
		const ldd = `	linux-vdso.so.1 (0x00007ffd)
	libnftables.so.1 => /lib/x86_64-linux-gnu/libnftables.so.1 (0x00007f7a)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f7b)
	/lib64/ld-linux-x86-64.so.2 (0x00007f7c)
`;
		expect(sharedLibraries(ldd)).toEqual([
			"/lib/x86_64-linux-gnu/libnftables.so.1",
			"/lib/x86_64-linux-gnu/libc.so.6",
			"/lib64/ld-linux-x86-64.so.2",
		]);
	});
});
