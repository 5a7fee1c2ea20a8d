// What goes wrong with bytes from the socket. Decoding reports these as values (never throws
// them out of the connection): a bad frame fails its own request and nothing else.
export type DecodeErrorCode =
	/** the bytes end before the lengths in them say */
	| "truncated"
	/** a length smaller than its own header, or one that does not fill its container exactly */
	| "bad-length"
	/** padding that runs past the end of the container */
	| "misaligned"
	/** a payload whose size or content does not fit its type (an int32 of 2 bytes, a string without NUL) */
	| "wrong-type"
	/** a blobmsg name header that is missing, too long or not NUL-terminated */
	| "bad-name"
	/** a message header ubusd would not send: unknown version, unknown message type */
	| "bad-header"
	/** a frame larger than ubusd's limit (UBUS_MAX_MSGLEN) */
	| "oversize"
	/** the same message attribute twice */
	| "duplicate"
	/** containers nested deeper than any ubus peer needs (a stack-exhaustion attempt) */
	| "too-deep";

export class UbusDecodeError extends Error {
	constructor(
		readonly code: DecodeErrorCode,
		message: string,
		/** byte offset in the frame (or container) where the problem is */
		readonly offset: number,
	) {
		super(`${message} (at byte ${offset})`);
		this.name = "UbusDecodeError";
	}
}

/** A value that cannot be put on the wire (a string with NUL, a number out of its type's range). */
export class UbusEncodeError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "UbusEncodeError";
	}
}
