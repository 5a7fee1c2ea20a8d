// The runtime parts the daemon uses, and nothing of portrig: compiled by bench/size.ts with the
// Makefile's flags, its idle memory is the floor under the daemon's. It parses with zod/mini, reads
// and writes a file (node:fs), calls libc through bun:ffi, listens on a unix socket (Bun.listen,
// as the control socket does) and connects to it (Bun.connect, as the ubus client and `portrig
// call` do), and runs a child process. Then it prints "ready" and idles until it is ended.
//
//   runtime-parts DIR        DIR: where its socket and file go
import { dlopen, FFIType } from "bun:ffi";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod/mini";
import { libcPath } from "../controller/src/sys/libc";

const dir = process.argv[2] ?? ".";

const Forward = z.object({
	name: z.string().check(z.minLength(1)),
	port: z.int().check(z.minimum(1), z.maximum(65535)),
});
Forward.parse({ name: "web", port: 8080 });

writeFileSync(join(dir, "file"), "config forward 'web'\n");
readFileSync(join(dir, "file"), "utf8");

const libc = dlopen(libcPath(), { getpid: { args: [], returns: FFIType.i32 } });
if (libc.symbols.getpid() !== process.pid) throw new Error("getpid through bun:ffi disagrees");

const path = join(dir, "socket");
Bun.listen({
	unix: path,
	socket: {
		open: (c) => {
			c.end();
		},
		data() {},
	},
});
const client = await Bun.connect({ unix: path, socket: { data() {} } });
client.end();

await Bun.spawn(["true"]).exited;

console.log("ready");
setInterval(() => {}, 1 << 30);
