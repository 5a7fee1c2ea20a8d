// Agents for the trigger benchmark and the 0-ms lab test, run inside lab nodes (root).
//
//   bun triggers-agent.ts back TRIGGER_PORT ADDRESS PORT DELAY_MS
//       On a WAN host: watches incoming TCP packets on a raw socket; the moment a SYN to
//       TRIGGER_PORT arrives, waits DELAY_MS (busy, to the microsecond) and connects to
//       ADDRESS:PORT (the router's open port). One JSON line per SYN seen:
//       {"seen": ns, "sent": ns, "ok": bool, "answer": "lan1 tcp 113 from …"}.
//   bun triggers-agent.ts trigger ADDRESS PORT
//       On a LAN host: for each line on stdin, opens a TCP connection to ADDRESS:PORT (the
//       trigger) and prints {"at": ns} with the time just before connect().
//
// Times are CLOCK_MONOTONIC nanoseconds, one clock for every namespace of the machine. The WAN
// side blocks in recv() on purpose: it does nothing else, and reacting to the SYN must not wait
// for an event loop. Its output goes through writeSync for the same reason.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { writeSync } from "node:fs";
import { libcPath } from "../controller/src/sys/libc";

const libc = dlopen(libcPath(), {
	socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
	connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
	recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
	poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
	getsockopt: {
		args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr],
		returns: FFIType.i32,
	},
	close: { args: [FFIType.i32], returns: FFIType.i32 },
	clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
}).symbols;

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const IPPROTO_TCP = 6;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const CLOCK_MONOTONIC = 1;

const timespec = new BigInt64Array(2);
export function monotonicNs(): bigint {
	libc.clock_gettime(CLOCK_MONOTONIC, ptr(timespec));
	return (timespec[0] as bigint) * 1_000_000_000n + (timespec[1] as bigint);
}

function sockaddrIn(address: string, port: number): Uint8Array {
	const b = new Uint8Array(16);
	const dv = new DataView(b.buffer);
	dv.setUint16(0, AF_INET, true);
	dv.setUint16(2, port, false);
	address.split(".").forEach((octet, i) => {
		b[4 + i] = Number(octet);
	});
	return b;
}

function pollFor(fd: number, events: number, ms: number): boolean {
	const pfd = new Uint8Array(8);
	const dv = new DataView(pfd.buffer);
	dv.setInt32(0, fd, true);
	dv.setInt16(4, events, true);
	return libc.poll(ptr(pfd), 1, ms) > 0 && (dv.getInt16(6, true) & events) !== 0;
}

/** Connects (non-blocking: the SYN leaves inside connect()), then waits for the server's line. */
function connectBack(target: Uint8Array): { ok: boolean; answer?: string } {
	const fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	try {
		libc.connect(fd, ptr(target), target.byteLength);
		if (!pollFor(fd, POLLOUT, 1000)) return { ok: false };
		const err = new Int32Array(1);
		const len = new Uint32Array([4]);
		libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, ptr(err), ptr(len));
		if (err[0] !== 0) return { ok: false };
		const buf = new Uint8Array(256);
		const n = pollFor(fd, POLLIN, 1000) ? Number(libc.recv(fd, ptr(buf), buf.byteLength, 0)) : 0;
		return { ok: true, answer: n > 0 ? new TextDecoder().decode(buf.subarray(0, n)).trim() : "" };
	} finally {
		libc.close(fd);
	}
}

function back(triggerPort: number, address: string, port: number, delayMs: number): never {
	const raw = libc.socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	if (raw < 0) throw new Error("raw socket refused (root needed)");
	const target = sockaddrIn(address, port);
	const buf = new Uint8Array(65536);
	const delayNs = BigInt(Math.round(delayMs * 1e6));
	writeSync(1, `${JSON.stringify({ ready: true })}\n`);
	for (;;) {
		const n = Number(libc.recv(raw, ptr(buf), buf.byteLength, 0));
		if (n < 40) continue;
		const ihl = ((buf[0] as number) & 0x0f) * 4;
		const dport = ((buf[ihl + 2] as number) << 8) | (buf[ihl + 3] as number);
		const flags = buf[ihl + 13] as number;
		// A SYN without ACK: the first packet of a connection to the trigger port.
		if (dport !== triggerPort || (flags & 0x12) !== 0x02) continue;
		const seen = monotonicNs();
		while (monotonicNs() - seen < delayNs) {}
		const sent = monotonicNs();
		const result = connectBack(target);
		writeSync(1, `${JSON.stringify({ seen: String(seen), sent: String(sent), ...result })}\n`);
	}
}

async function trigger(address: string, port: number): Promise<void> {
	let buffer = "";
	for await (const chunk of Bun.stdin.stream()) {
		buffer += new TextDecoder().decode(chunk);
		while (buffer.includes("\n")) {
			buffer = buffer.slice(buffer.indexOf("\n") + 1);
			const at = monotonicNs();
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, 2000);
				Bun.connect({
					hostname: address,
					port,
					socket: {
						data: (s) => {
							s.end();
						},
						close: () => {
							clearTimeout(timer);
							resolve();
						},
						error: () => resolve(),
						connectError: () => resolve(),
					},
				}).catch(() => resolve());
			});
			writeSync(1, `${JSON.stringify({ at: String(at) })}\n`);
		}
	}
}

if (import.meta.main) {
	const [mode, ...args] = process.argv.slice(2);
	if (mode === "back" && args.length === 4)
		back(Number(args[0]), args[1] as string, Number(args[2]), Number(args[3]));
	else if (mode === "trigger" && args.length === 2) await trigger(args[0] as string, Number(args[1]));
	else {
		console.error("usage: triggers-agent.ts back TRIGGER_PORT ADDRESS PORT DELAY_MS | trigger ADDRESS PORT");
		process.exit(2);
	}
}
