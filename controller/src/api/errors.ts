// API errors: one shape for every transport. `status` is the ubus status code (libubox's
// enum ubus_msg_status, in ubus/status.ts), so the ubus transport returns it as is and the control socket
// carries the same number; `error` says why, `field` names the argument or option at fault.
import { quoted } from "../config/schema";
import { UbusStatus } from "../ubus/status";
import type { z } from "../zod";

type Status = (typeof UbusStatus)[keyof typeof UbusStatus];

/** What a failed call replies, on ubus (as the reply table, with `status` as the ubus status) and on the control socket. */
export type ErrorReply = { status: number; error: string; field?: string };

export class ApiError extends Error {
	constructor(
		readonly status: Status,
		message: string,
		readonly field?: string,
	) {
		super(message);
		this.name = "ApiError";
	}

	toReply(): ErrorReply {
		return this.field === undefined
			? { status: this.status, error: this.message }
			: { status: this.status, error: this.message, field: this.field };
	}
}

export const invalidArgument = (message: string, field?: string) =>
	new ApiError(UbusStatus.INVALID_ARGUMENT, message, field);
export const notFound = (message: string, field?: string) =>
	new ApiError(UbusStatus.NOT_FOUND, message, field);

/**
 * A zod failure → INVALID_ARGUMENT naming the first problem's field. `args` is what the caller
 * sent: a field it did not send is "required"; zod's own wording there ("Invalid input") says
 * nothing useful.
 */
export function fromZodError(error: z.core.$ZodError, args: unknown): ApiError {
	const issue = error.issues[0];
	if (!issue) return invalidArgument("invalid arguments");
	if (issue.code === "unrecognized_keys") {
		const key = issue.keys[0] ?? "";
		return invalidArgument(`unknown field ${quoted(key)}`, key.slice(0, 64));
	}
	const [top, ...rest] = issue.path;
	if (top === undefined) return invalidArgument(`arguments: ${issue.message}`);
	const field = String(top);
	const given = typeof args === "object" && args !== null && field in args;
	const where = field + rest.map((p) => `[${String(p)}]`).join("");
	if (!given) return invalidArgument(`${field}: is required`, field);
	if (rest.length === 0 && (args as Record<string, unknown>)[field] === null)
		return invalidArgument(`${field}: is required and cannot be removed`, field);
	// The schemas' own words where they have them; zod's generic "Invalid input…" made specific.
	const expected = issue.message.startsWith("Invalid input") ? expectedTypes(issue) : [];
	const why = expected.length ? `has the wrong type (expected ${alternatives(expected)})` : issue.message;
	return invalidArgument(`${where}: ${why}`, field);
}

/** The JSON types a type-mismatch issue wanted, also through unions ("string or number or …"). */
function expectedTypes(issue: z.core.$ZodIssue): string[] {
	if (issue.code === "invalid_type") return [issue.expected];
	if (issue.code !== "invalid_union") return [];
	return [...new Set(issue.errors.flat().flatMap(expectedTypes))];
}

/** ["a", "b", "c"] → "a, b or c". */
function alternatives(words: string[]): string {
	return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/** Any thrown value → an ApiError; what is not one already is an UNKNOWN_ERROR with its message. */
export function toApiError(thrown: unknown): ApiError {
	if (thrown instanceof ApiError) return thrown;
	const message = thrown instanceof Error ? thrown.message : String(thrown);
	return new ApiError(UbusStatus.UNKNOWN_ERROR, message);
}
