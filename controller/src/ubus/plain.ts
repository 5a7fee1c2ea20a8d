// blobmsg ⇄ JSON-like values, with the rules of libubox's blobmsg_json (what `ubus call`, rpcd and
// uhttpd use): booleans are int8, integers int32 when they fit and int64 otherwise, other numbers
// double, null is unspec. int64 values outside JavaScript's safe integers stay bigints.
import type { Field, Typed } from "./blobmsg";
import { UbusEncodeError } from "./errors";

export type Plain = null | boolean | number | bigint | string | Plain[] | { [key: string]: Plain };
export type PlainTable = { [key: string]: Plain };

export function plainFromTyped(typed: Typed): Plain {
	switch (typed.type) {
		case "table":
			return tableToPlain(typed.value);
		case "array":
			return typed.value.map(plainFromTyped);
		case "int8":
			return typed.value !== 0;
		case "int64": {
			const n = Number(typed.value);
			return Number.isSafeInteger(n) ? n : typed.value;
		}
		case "unspec":
			return null;
		default:
			return typed.value;
	}
}

/** A table's elements as an object; a repeated name keeps its last value, as JSON parsers do. */
export function tableToPlain(fields: readonly Field[]): PlainTable {
	// fromEntries defines own properties, so a "__proto__" name cannot reach the prototype.
	return Object.fromEntries(fields.map((f) => [f.name, plainFromTyped(f)]));
}

export function typedFromPlain(value: unknown, where = "value"): Typed {
	switch (typeof value) {
		case "boolean":
			return { type: "int8", value: value ? 1 : 0 };
		case "string":
			return { type: "string", value };
		case "bigint":
			return { type: "int64", value };
		case "number":
			if (Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff)
				return { type: "int32", value };
			if (Number.isSafeInteger(value)) return { type: "int64", value: BigInt(value) };
			return { type: "double", value };
		case "undefined":
			return { type: "unspec", value: new Uint8Array(0) };
		case "object":
			if (value === null) return { type: "unspec", value: new Uint8Array(0) };
			if (Array.isArray(value))
				return {
					type: "array",
					value: value.map((item, i) => ({ name: "", ...typedFromPlain(item, `${where}[${i}]`) })),
				};
			return { type: "table", value: tableFromPlain(value as Record<string, unknown>, where) };
		default:
			throw new UbusEncodeError(`${where}: a ${typeof value} has no blobmsg form`);
	}
}

/** An object's fields in key order; undefined fields are left out, as JSON.stringify does. */
export function tableFromPlain(object: Record<string, unknown>, where = "value"): Field[] {
	return Object.entries(object)
		.filter(([, v]) => v !== undefined)
		.map(([name, v]) => ({ name, ...typedFromPlain(v, `${where}.${name}`) }));
}
