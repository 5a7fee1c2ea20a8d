// Method signatures of a published object (what `ubus -v list` prints): in ADD_OBJECT's
// SIGNATURE attribute, one blobmsg table per method, named after it, holding one int32 per
// argument whose value is the argument's blobmsg type id (ubus's "Integer", "String", …).
import { BLOBMSG_TYPES, type BlobmsgType, type Field } from "./blobmsg";

/** An argument type: a blobmsg type, or "bool" (libubox's name for int8). */
export type ArgType = BlobmsgType | "bool";
export type MethodSignatures = Record<string, Record<string, ArgType>>;

const typeId = (type: ArgType) => BLOBMSG_TYPES.indexOf(type === "bool" ? "int8" : type);

export function encodeSignature(methods: MethodSignatures): Field[] {
	return Object.entries(methods).map(([method, args]) => ({
		name: method,
		type: "table",
		value: Object.entries(args).map(([arg, type]) => ({ name: arg, type: "int32", value: typeId(type) })),
	}));
}

/** A SIGNATURE from LOOKUP → method → argument → type name; unknown ids read "unspec". */
export function decodeSignature(fields: readonly Field[]): MethodSignatures {
	const methods: MethodSignatures = {};
	for (const method of fields) {
		if (method.type !== "table") continue;
		const args: Record<string, ArgType> = {};
		for (const arg of method.value)
			if (arg.type === "int32") args[arg.name] = BLOBMSG_TYPES[arg.value] ?? "unspec";
		methods[method.name] = args;
	}
	return methods;
}
