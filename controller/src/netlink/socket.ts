// A netlink socket through bun:ffi (libc's socket/bind/setsockopt/send/close). Reading goes
// through Bun's own event loop: `Bun.connect({ fd })` hands the non-blocking descriptor to the
// socket layer the control socket and the ubus client already use (epoll, one datagram per
// read), so nothing ever blocks the daemon and no stream machinery is loaded for it. A read that
// fails (ENOBUFS when the kernel dropped messages for a full receive buffer) ends the reading
// with that error; the owner then closes the socket and opens a new one.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import type { Socket } from "bun";
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

// bun-types declares the options but not the overload of Bun.connect that takes them (it is how
// Bun's node:net wraps a descriptor).
const connectFd = Bun.connect as unknown as (options: Bun.FdSocketOptions) => Promise<Socket>;

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
	/** Bun's socket on the descriptor once reading started: from then on it owns (and closes) it. */
	private wrapped: Promise<Socket | undefined> | undefined;
	private stopReading: (() => void) | undefined;

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

	/**
	 * Hands each datagram, in the kernel's order, to `take` until `take` returns false
	 * (resolves false) or cancel() (resolves true); a failed read (ENOBUFS) or a throwing `take`
	 * rejects. Once per socket: close() it afterwards.
	 */
	readEach(take: (bytes: Uint8Array) => boolean): Promise<boolean> {
		if (this.wrapped || this.closed) throw new Error("netlink socket: already read or closed");
		return new Promise((resolve, reject) => {
			let done = false;
			const settle = (finish: () => void) => {
				if (done) return;
				done = true;
				this.stopReading = undefined;
				finish();
			};
			this.stopReading = () => settle(() => resolve(true));
			this.wrapped = connectFd({
				fd: this.fd,
				socket: {
					binaryType: "uint8array",
					data: (_socket, bytes) => {
						if (done) return;
						try {
							if (!take(bytes)) settle(() => resolve(false));
						} catch (e) {
							settle(() => reject(e));
						}
					},
					error: (_socket, e) => settle(() => reject(e)),
					close: (_socket, e) => settle(() => (e ? reject(e) : resolve(true))),
					end: () => settle(() => resolve(true)),
				},
			}).then(
				(socket) => socket,
				(e) => {
					settle(() => reject(e));
					return undefined;
				},
			);
		});
	}

	/** Ends a readEach() in progress (it resolves true). */
	cancel(): void {
		this.stopReading?.();
	}

	/** Closes the descriptor once (through Bun's socket when reading had started). */
	close(): void {
		if (this.closed) return;
		this.closed = true;
		this.cancel();
		const fd = this.fd;
		if (!this.wrapped) sys().close(fd);
		// Bun closes a descriptor it took; one it refused to take is still ours to close.
		else void this.wrapped.then((socket) => (socket ? socket.terminate() : sys().close(fd)));
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
