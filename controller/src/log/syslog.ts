// syslog(3) through libc: the C library already speaks /dev/log the way logd/rsyslog expect.
import { dlopen, FFIType } from "bun:ffi";
import { libcPath } from "../sys/libc";

const LOG_PID = 0x01;
const LOG_DAEMON = 3 << 3;

export function dlopenSyslog(ident: string): (priority: number, line: string) => void {
	const libc = dlopen(libcPath(), {
		openlog: { args: [FFIType.cstring, FFIType.i32, FFIType.i32], returns: FFIType.void },
		syslog: { args: [FFIType.i32, FFIType.cstring, FFIType.cstring], returns: FFIType.void },
	});
	// openlog keeps the pointer: the buffer must live as long as the process.
	const identBuffer = Buffer.from(`${ident}\0`);
	const format = Buffer.from("%s\0");
	retained.push(identBuffer, format);
	libc.symbols.openlog(identBuffer, LOG_PID, LOG_DAEMON);
	return (priority, line) => libc.symbols.syslog(priority, format, Buffer.from(`${line}\0`));
}

const retained: Buffer[] = [];
