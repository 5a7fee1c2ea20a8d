// A netlink socket through bun:ffi (libc's socket/bind/setsockopt/send/close). Reading goes
// through Bun's own event loop: `Bun.file(fd).stream()` polls the non-blocking descriptor with
// epoll, one datagram per read, so nothing ever blocks the daemon. A read that fails (ENOBUFS
// when the kernel dropped messages for a full receive buffer) errors the stream; the owner then
// closes the socket and opens a new one.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { libcPath } from "../sys/libc";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
// Same values on x86_64 and aarch64 (the asm-generic ABI), the two targets Bun builds for.
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SO_ATTACH_FILTER = 26;

export const NETLINK_NETFILTER = 12;

const ERRNO_NAMES: Record<number, string> = {
	1: "EPERM",
	9: "EBADF",
	11: "EAGAIN",
	13: "EACCES",
	22: "EINVAL",
	93: "EPROTONOSUPPORT",
	105: "ENOBUFS",
	111: "ECONNREFUSED",
};

let libc: ReturnType<typeof openLibc> | undefined;

function openLibc() {
	return dlopen(libcPath(), {
		socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
		bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
		setsockopt: {
			args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32],
			returns: FFIType.i32,
		},
		getsockopt: {
			args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr],
			returns: FFIType.i32,
		},
		send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
		close: { args: [FFIType.i32], returns: FFIType.i32 },
		__errno_location: { args: [], returns: FFIType.ptr },
	}).symbols;
}

function sys() {
	libc ??= openLibc();
	return libc;
}

/** A failed system call, with the errno name ("ENOBUFS") as `code` like Node's errors. */
export class SyscallError extends Error {
	override name = "SyscallError";
	constructor(
		readonly syscall: string,
		readonly errno: number,
	) {
		super(`${syscall}: ${ERRNO_NAMES[errno] ?? `errno ${errno}`}`);
	}
	get code(): string {
		return ERRNO_NAMES[this.errno] ?? `E${this.errno}`;
	}
}

function check(syscall: string, result: number | bigint): number {
	if (Number(result) >= 0) return Number(result);
	const where = sys().__errno_location();
	throw new SyscallError(syscall, where === null ? 0 : read.i32(where));
}

export type NetlinkSocketOptions = {
	/** Multicast groups to join (numbers as in the kernel headers, 1 … 32). */
	groups?: number[];
	/** Receive buffer in bytes; SO_RCVBUFFORCE (root) goes past net.core.rmem_max. */
	receiveBuffer?: number;
};

export class NetlinkSocket {
	private closed = false;
	private reader: { cancel(): Promise<void> } | undefined;

	private constructor(
		readonly fd: number,
		/** The receive buffer the kernel granted (it reports twice what was asked, for overhead). */
		readonly receiveBuffer: number,
	) {}

	static open(protocol: number, options: NetlinkSocketOptions = {}): NetlinkSocket {
		const s = sys();
		const fd = check("socket", s.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
		try {
			if (options.receiveBuffer) setReceiveBuffer(fd, options.receiveBuffer);
			// struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; }
			const address = new Uint8Array(12);
			const dv = new DataView(address.buffer);
			dv.setUint16(0, AF_NETLINK, true);
			dv.setUint32(8, (options.groups ?? []).reduce((bits, g) => bits | (1 << (g - 1)), 0) >>> 0, true);
			check("bind", s.bind(fd, ptr(address), address.byteLength));
			return new NetlinkSocket(fd, getReceiveBuffer(fd));
		} catch (e) {
			s.close(fd);
			throw e;
		}
	}

	/**
	 * Installs a classic BPF program (a sock_filter array, see filter.ts) that the kernel runs
	 * on every message before queuing it; replaces the previous one atomically.
	 */
	attachFilter(program: Uint8Array): void {
		// struct sock_fprog { unsigned short len; struct sock_filter *filter; } (64-bit layout)
		const fprog = new Uint8Array(16);
		const dv = new DataView(fprog.buffer);
		dv.setUint16(0, program.byteLength / 8, true);
		dv.setBigUint64(8, BigInt(ptr(program)), true);
		check(
			"setsockopt(SO_ATTACH_FILTER)",
			sys().setsockopt(this.fd, SOL_SOCKET, SO_ATTACH_FILTER, ptr(fprog), 16),
		);
	}

	/** Sends one request to the kernel (never blocks: the kernel handles it in the call). */
	send(bytes: Uint8Array): void {
		check("send", sys().send(this.fd, ptr(bytes), bytes.byteLength, 0));
	}

	/** The datagrams that arrive, read through Bun's event loop (see the file comment). */
	readable(): ReadableStream<Uint8Array> {
		return Bun.file(this.fd).stream();
	}

	/**
	 * Hands each datagram to `take` until the stream ends (resolves true) or `take` returns
	 * false (resolves false); a failed read (ENOBUFS) throws. cancel() ends it.
	 */
	async readEach(take: (bytes: Uint8Array) => boolean): Promise<boolean> {
		const reader = this.readable().getReader();
		this.reader = reader;
		try {
			for (;;) {
				const r = await reader.read();
				if (r.done) return true;
				if (!take(r.value)) return false;
			}
		} finally {
			this.reader = undefined;
			reader.releaseLock();
		}
	}

	/** Ends a readEach() in progress (it resolves true). */
	async cancel(): Promise<void> {
		await this.reader?.cancel().catch(() => undefined);
	}

	/** Closes the descriptor once; call after the readable stream has ended or been cancelled. */
	close(): void {
		if (this.closed) return;
		this.closed = true;
		sys().close(this.fd);
	}
}

function setReceiveBuffer(fd: number, bytes: number): void {
	const value = new Int32Array([bytes]);
	try {
		check("setsockopt(SO_RCVBUFFORCE)", sys().setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, ptr(value), 4));
	} catch (e) {
		// Without CAP_NET_ADMIN the kernel caps the buffer at net.core.rmem_max.
		if (!(e instanceof SyscallError && e.code === "EPERM")) throw e;
		check("setsockopt(SO_RCVBUF)", sys().setsockopt(fd, SOL_SOCKET, SO_RCVBUF, ptr(value), 4));
	}
}

function getReceiveBuffer(fd: number): number {
	const value = new Int32Array(1);
	const length = new Uint32Array([4]);
	check("getsockopt(SO_RCVBUF)", sys().getsockopt(fd, SOL_SOCKET, SO_RCVBUF, ptr(value), ptr(length)));
	return value[0] ?? 0;
}
