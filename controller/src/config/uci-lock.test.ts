import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "./load";
import { ConfigConflictError, ConfigStore } from "./store";
import { ConfigLockedError } from "./uci-lock";

const BUN = process.execPath;
const WRITER = join(import.meta.dir, "fixtures", "libuci-commit.ts");
const START = "config globals 'globals'\n\toption enabled '1'\n";

let dir: string;
let file: string;
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), "portrig-lock-"));
	file = join(dir, "portrig");
	writeFileSync(file, START);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once the process has printed `line` on stdout. */
async function untilPrinted(proc: { stdout: ReadableStream<Uint8Array> }, line: string): Promise<void> {
	const decoder = new TextDecoder();
	let out = "";
	for await (const chunk of proc.stdout) {
		out += decoder.decode(chunk);
		if (out.split("\n").includes(line)) return;
	}
	throw new Error(`the process ended without printing '${line}' (printed: ${out})`);
}

describe("the lock libuci takes on the config file", () => {
	test("while flock(1) holds the file's lock a commit waits, gives up naming the file, and writes nothing", async () => {
		const holder = Bun.spawn(["flock", "-x", file, "-c", "echo locked; read line"], {
			stdin: "pipe",
			stdout: "pipe",
		});
		try {
			await untilPrinted(holder, "locked");
			const store = await ConfigStore.open(file, { lockTimeoutMs: 200 });
			expect(store.addSection("forward", { src_dport: "80", dest_ip: "192.168.1.2" }).ok).toBe(true);
			const refused = await store.commit().catch((e) => e);
			expect(refused).toBeInstanceOf(ConfigLockedError);
			expect(String(refused.message)).toContain(file);
			expect(readFileSync(file, "utf8")).toBe(START);
			holder.stdin.write("\n");
			holder.stdin.end();
			expect(await holder.exited).toBe(0);
			await store.commit();
			expect(readFileSync(file, "utf8")).toContain("config forward 'fwd'");
		} finally {
			holder.kill();
		}
	});

	test("a writer with libuci's lock and commit order and API commits contending on one file lose no change", async () => {
		const COUNT = 40;
		const writer = Bun.spawn([BUN, WRITER, file, "uci", String(COUNT)], { stdout: "pipe" });
		try {
			const store = await ConfigStore.open(file);
			for (let n = 0; n < COUNT; n++) {
				for (;;) {
					const r = store.addSection(
						"forward",
						{ src_dport: String(30000 + n), dest_ip: "192.168.1.3" },
						`api_${n}`,
					);
					expect(r.ok).toBe(true);
					const error = await store.commit().then(
						() => undefined,
						(e) => e,
					);
					if (error === undefined) break;
					// The other writer changed the file: the store has re-read it; do the change again.
					expect(error).toBeInstanceOf(ConfigConflictError);
				}
			}
			await untilPrinted(writer, "done");
			expect(await writer.exited).toBe(0);
		} finally {
			writer.kill();
		}
		const { config, problems } = loadConfig(readFileSync(file, "utf8"), file);
		expect(problems).toEqual([]);
		const ids = new Set(config?.forwards.map((f) => f.id));
		for (let n = 0; n < COUNT; n++) {
			expect(ids.has(`api_${n}`)).toBe(true);
			expect(ids.has(`uci_${n}`)).toBe(true);
		}
	});
});
