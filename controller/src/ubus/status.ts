// ubus status codes (libubus's enum ubus_msg_status) and their texts as `ubus` prints them.
export const UbusStatus = {
	OK: 0,
	INVALID_COMMAND: 1,
	INVALID_ARGUMENT: 2,
	METHOD_NOT_FOUND: 3,
	NOT_FOUND: 4,
	NO_DATA: 5,
	PERMISSION_DENIED: 6,
	TIMEOUT: 7,
	NOT_SUPPORTED: 8,
	UNKNOWN_ERROR: 9,
	CONNECTION_FAILED: 10,
	NO_MEMORY: 11,
	PARSE_ERROR: 12,
	SYSTEM_ERROR: 13,
} as const;

const TEXTS = [
	"Success",
	"Invalid command",
	"Invalid argument",
	"Method not found",
	"Not found",
	"No response",
	"Permission denied",
	"Request timed out",
	"Operation not supported",
	"Unknown error",
	"Connection failed",
	"Out of memory",
	"Parsing message data failed",
	"System error",
];

export function statusText(status: number): string {
	return TEXTS[status] ?? `Unknown error: ${status}`;
}

/** A request that ubusd or the remote object answered with a status other than OK. */
export class UbusStatusError extends Error {
	constructor(
		readonly status: number,
		readonly what: string,
		/** what the object replied along with the status, if anything (an error description) */
		readonly reply?: unknown,
	) {
		super(`${what}: ${statusText(status)} (ubus status ${status})`);
		this.name = "UbusStatusError";
	}
}
