import { describe, expect, test } from "bun:test";
import { UbusStatus } from "../ubus/status";
import { z } from "../zod";
import { ApiError, fromZodError, notFound, toApiError } from "./errors";

const Args = z.strictObject({
	port: z.number().check(z.maximum(10, "too big")),
	hosts: z.optional(z.array(z.string())),
});

function mapped(args: unknown) {
	const r = Args.safeParse(args);
	if (r.success) throw new Error("expected a failure");
	return fromZodError(r.error, args).toReply();
}

describe("zod issues → ApiError", () => {
	test("the first issue's top-level field is named, with zod's message", () => {
		expect(mapped({ port: 11 })).toEqual({
			status: UbusStatus.INVALID_ARGUMENT,
			error: "port: too big",
			field: "port",
		});
	});
	test("a missing field is 'required'", () => {
		expect(mapped({})).toEqual({ status: 2, error: "port: is required", field: "port" });
	});
	test("a list item's index is in the message, the field is the list", () => {
		expect(mapped({ port: 1, hosts: ["a", 7] })).toEqual({
			status: 2,
			error: "hosts[1]: has the wrong type (expected string)",
			field: "hosts",
		});
	});
	test("an unknown field is named", () => {
		expect(mapped({ port: 1, extra: 2 })).toEqual({
			status: 2,
			error: "unknown field 'extra'",
			field: "extra",
		});
	});
	test("a non-object is refused without a field", () => {
		expect(mapped("port=1")).toMatchObject({ status: 2 });
		expect(mapped("port=1").field).toBeUndefined();
	});
	test("union type mismatches list what was expected", () => {
		const r = z.object({ v: z.union([z.string(), z.number()]) }).safeParse({ v: [] });
		expect(r.success).toBe(false);
		if (!r.success)
			expect(fromZodError(r.error, { v: [] }).message).toBe(
				"v: has the wrong type (expected string or number)",
			);
	});
});

describe("thrown values → ApiError", () => {
	test("an ApiError stays as it is", () => {
		const e = notFound("no forward with id 'x'", "id");
		expect(toApiError(e)).toBe(e);
		expect(e.toReply()).toEqual({
			status: UbusStatus.NOT_FOUND,
			error: "no forward with id 'x'",
			field: "id",
		});
	});
	test("anything else is UNKNOWN_ERROR with its message", () => {
		expect(toApiError(new Error("Error: Could not process rule")).toReply()).toEqual({
			status: UbusStatus.UNKNOWN_ERROR,
			error: "Error: Could not process rule",
		});
		expect(toApiError("plain")).toBeInstanceOf(ApiError);
	});
});
