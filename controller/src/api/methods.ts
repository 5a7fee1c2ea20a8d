// The API: one table of methods that every transport (ubus, control socket) serves with the
// same names, arguments, replies and errors. Arguments are zod schemas built from the config
// section schemas, so a value the API accepts is exactly a value the config file may hold.
// Field names are UCI option names, values their UCI (encoded) form, lists are arrays, and
// `id` is the UCI section name.
import {
	type Config,
	DmzSection,
	type ForwardEntry,
	ForwardSection,
	GlobalsSection,
	LanHostOption,
	quoted,
	type TriggerEntry,
	TriggerSection,
} from "../config/schema";
import type { SectionValues } from "../config/store";
import type { Opening } from "../triggers/manager";
import { UbusStatus } from "../ubus/status";
import { z } from "../zod";
import { ApiError, type ErrorReply, fromZodError, notFound, toApiError } from "./errors";

/**
 * Options as the caller sent them (validated by the method's schema): UCI option names, values
 * in UCI form or as JSON numbers/booleans/arrays; null removes an option. The config store
 * writes each in its canonical UCI form.
 */
type SectionOptions = SectionValues;

/** What a mutating method asks of the config; the core validates, writes and applies it as one step. */
export type ConfigChange =
	| { op: "add"; type: "forward" | "trigger"; options: SectionOptions }
	| { op: "update"; type: "forward" | "trigger"; id: string; options: SectionOptions }
	| { op: "delete"; type: "forward" | "trigger"; id: string }
	| { op: "set"; type: "dmz" | "globals"; options: SectionOptions };

/** What a change touched: the section's id, and the forward or trigger it now is (none: deleted, or dmz/globals). */
export type Changed = { id: string; entry?: ForwardEntry | TriggerEntry };

/** A live trigger opening, as `openings` lists it: the trigger manager's own record. */
export type OpeningReply = Opening;

/** What the methods need from the daemon. Mutations are serialized by the core. */
export interface Core {
	status(): Promise<Record<string, unknown>>;
	/** The config in force. */
	config(): Config;
	/** Validates, writes and applies `change`; resolves to what it touched. */
	change(change: ConfigChange): Promise<Changed>;
	/** Re-reads the config file; rejects with the problems when it is invalid (nothing changes then). */
	reload(): Promise<void>;
	openings(): OpeningReply[];
	/** Closes the live openings of a trigger (of one LAN host if given); resolves to how many. */
	closeOpening(trigger: string, host?: string): Promise<number>;
}

export type Access = "read" | "write";
type Reply = Record<string, unknown>;

type Method<Args extends z.ZodMiniType> = {
	access: Access;
	/** One line on what it does (`portrig call` without a method lists them). */
	summary: string;
	args: Args;
	handler: (core: Core, args: z.output<Args>, raw: Record<string, unknown>) => Promise<Reply>;
};

function method<Args extends z.ZodMiniType>(m: Method<Args>): Method<Args> {
	return m;
}

// ---- argument schemas ------------------------------------------------------------------------

/**
 * uhttpd/rpcd add `ubus_rpc_session` to every call made through LuCI: accepted and ignored.
 * Any other field a method does not know is refused by name (strict objects).
 */
const Session = { ubus_rpc_session: z.optional(z.string()) };

/** libuci's rule for section names (uci_validate_name): letters, digits and '_'. */
const SectionId = z
	.string()
	.check(z.regex(/^[A-Za-z0-9_]{1,64}$/, "is not a section name (letters, digits and _, at most 64)"));

const withSession = <Shape extends z.core.$ZodShape>(shape: Shape) =>
	z.strictObject({ ...shape, ...Session });

type SectionSchema =
	| typeof ForwardSection
	| typeof TriggerSection
	| typeof DmzSection
	| typeof GlobalsSection;

/**
 * A section's fields for an add: the section's own field schemas, and those that may be absent
 * from the config may also be `null` (the same as leaving them out).
 */
function addable<S extends SectionSchema>(section: S) {
	const shape: Record<string, z.ZodMiniType> = section.shape;
	return Object.fromEntries(
		Object.entries(shape).map(([key, field]) => [key, canBeAbsent(field) ? z.nullable(field) : field]),
	) as { [K in keyof S["shape"]]: z.ZodMiniType };
}

/**
 * A section's fields for an update: every field optional, and those that may be absent from the
 * config may also be `null` to remove them. Field schemas are the section's own.
 */
function updatable<S extends SectionSchema>(section: S) {
	return Object.fromEntries(
		Object.entries(addable(section)).map(([key, field]) => [key, z.optional(field)]),
	) as { [K in keyof S["shape"]]: z.ZodMiniOptional<z.ZodMiniType> };
}

const canBeAbsent = (field: z.ZodMiniType) => field.safeParse(undefined).success;

const ListArgs = withSession({});
const ForwardArgs = withSession(addable(ForwardSection));
const TriggerArgs = withSession(addable(TriggerSection));
const UpdateForwardArgs = withSession({ id: SectionId, ...updatable(ForwardSection) });
const UpdateTriggerArgs = withSession({ id: SectionId, ...updatable(TriggerSection) });
const DeleteArgs = withSession({ id: SectionId });
const DmzArgs = withSession(updatable(DmzSection));
const SettingsArgs = withSession(updatable(GlobalsSection));
const OpeningsArgs = withSession({ trigger: z.optional(SectionId) });
const CloseOpeningArgs = withSession({ trigger: SectionId, host: z.optional(LanHostOption) });

// ---- values ----------------------------------------------------------------------------------

/** The section's fields the caller sent (the parsed value would also hold defaults never given). */
function given(section: SectionSchema, raw: Record<string, unknown>): SectionOptions {
	return Object.fromEntries(
		Object.keys(section.shape).flatMap((key) => (raw[key] === undefined ? [] : [[key, raw[key]]])),
	);
}

/** The whole config in API form: encoded sections, with ids. */
export function encodeConfig(config: Config) {
	return {
		globals: z.encode(GlobalsSection, config.globals),
		forwards: config.forwards.map(({ id, ...f }) => ({ id, ...z.encode(ForwardSection, f) })),
		triggers: config.triggers.map(({ id, ...t }) => ({ id, ...z.encode(TriggerSection, t) })),
		dmz: z.encode(DmzSection, config.dmz),
	};
}

/** A forward or trigger as the API replies with it (its id and UCI form): only that one is encoded. */
function encodedEntry(type: "forward" | "trigger", { id, entry }: Changed): Reply {
	if (!entry) throw noSuch(type, id);
	return {
		id,
		...(type === "forward"
			? z.encode(ForwardSection, entry as ForwardEntry)
			: z.encode(TriggerSection, entry as TriggerEntry)),
	};
}

/**
 * The globals as get_settings/set_settings reply: JSON booleans, numbers and arrays (the form
 * LuCI's widgets take), the optional device lists only when set.
 */
export function settingsReply({ globals }: Config): Reply {
	const { wan_device, lan_device, ...rest } = globals;
	return {
		...rest,
		...(wan_device.length ? { wan_device } : {}),
		...(lan_device.length ? { lan_device } : {}),
	};
}

/** NOT_FOUND unless the config in force has trigger `id`. */
function requireTrigger(core: Core, id: string): void {
	if (!core.config().triggers.some((t) => t.id === id)) throw noSuch("trigger", id);
}

const noSuch = (type: "forward" | "trigger", id: string) => notFound(`no ${type} with id '${id}'`, "id");

// ---- the table -------------------------------------------------------------------------------

function sectionMethods(
	type: "forward" | "trigger",
	section: typeof ForwardSection | typeof TriggerSection,
	addArgs: z.ZodMiniType<Record<string, unknown>>,
	updateArgs: z.ZodMiniType<Record<string, unknown> & { id: string }>,
) {
	return {
		add: method({
			access: "write",
			summary: `add a ${type}; replies with it, including its new id`,
			args: addArgs,
			handler: async (core, _args, raw) =>
				encodedEntry(type, await core.change({ op: "add", type, options: given(section, raw) })),
		}),
		update: method({
			access: "write",
			summary: `change the given fields of a ${type} (null removes an optional one); replies with it`,
			args: updateArgs,
			// An unknown id: the core answers NOT_FOUND (its index knows the ids; no search here).
			handler: async (core, args, raw) =>
				encodedEntry(
					type,
					await core.change({ op: "update", type, id: args.id, options: given(section, raw) }),
				),
		}),
		remove: method({
			access: "write",
			summary: `delete a ${type}`,
			args: DeleteArgs,
			handler: async (core, args) => ({ id: (await core.change({ op: "delete", type, id: args.id })).id }),
		}),
	};
}

const forwardMethods = sectionMethods("forward", ForwardSection, ForwardArgs, UpdateForwardArgs);
const triggerMethods = sectionMethods("trigger", TriggerSection, TriggerArgs, UpdateTriggerArgs);

export const METHODS = {
	status: method({
		access: "read",
		summary:
			"daemon state: version, uptime, config file, counts, ubus, nft table, triggers, live connections per entry",
		args: ListArgs,
		handler: (core) => core.status(),
	}),
	list: method({
		access: "read",
		summary: "the config in force: globals, forwards, triggers, dmz (UCI form, with ids)",
		args: ListArgs,
		handler: async (core) => encodeConfig(core.config()),
	}),
	add_forward: forwardMethods.add,
	update_forward: forwardMethods.update,
	delete_forward: forwardMethods.remove,
	add_trigger: triggerMethods.add,
	update_trigger: triggerMethods.update,
	delete_trigger: triggerMethods.remove,
	set_dmz: method({
		access: "write",
		summary: "change the given DMZ fields (null removes an optional one); replies with the DMZ",
		args: DmzArgs,
		handler: async (core, _args, raw) => {
			await core.change({ op: "set", type: "dmz", options: given(DmzSection, raw) });
			// Only the DMZ is encoded: the config may hold thousands of forwards.
			return z.encode(DmzSection, core.config().dmz);
		},
	}),
	get_settings: method({
		access: "read",
		summary: "the globals: enabled, wan_zone, lan_zone, wan_device, lan_device, trigger_timeout, reflection",
		args: ListArgs,
		handler: async (core) => settingsReply(core.config()),
	}),
	set_settings: method({
		access: "write",
		summary: "change the given globals (null removes an optional one); replies with the settings",
		args: SettingsArgs,
		handler: async (core, _args, raw) => {
			await core.change({ op: "set", type: "globals", options: given(GlobalsSection, raw) });
			return settingsReply(core.config());
		},
	}),
	openings: method({
		access: "read",
		summary: "live trigger openings (of one trigger if given)",
		args: OpeningsArgs,
		handler: async (core, args) => {
			if (args.trigger !== undefined) requireTrigger(core, args.trigger);
			const all = core.openings();
			return { openings: args.trigger === undefined ? all : all.filter((o) => o.trigger === args.trigger) };
		},
	}),
	close_opening: method({
		access: "write",
		summary: "close a trigger's live openings now (of one LAN host if given)",
		args: CloseOpeningArgs,
		handler: async (core, args) => {
			requireTrigger(core, args.trigger);
			const closed = await core.closeOpening(args.trigger, args.host);
			if (closed === 0)
				throw notFound(
					args.host === undefined
						? `trigger '${args.trigger}' has no live opening`
						: `trigger '${args.trigger}' has no live opening for ${args.host}`,
					args.host === undefined ? "trigger" : "host",
				);
			return { closed };
		},
	}),
	reload: method({
		access: "write",
		summary: "re-read the config file and apply it; an invalid file is refused and nothing changes",
		args: ListArgs,
		handler: async (core) => {
			await core.reload();
			const config = core.config();
			return { reloaded: true, forwards: config.forwards.length, triggers: config.triggers.length };
		},
	}),
} satisfies Record<string, Method<z.ZodMiniType>>;

export type MethodName = keyof typeof METHODS;

export function isMethodName(name: string): name is MethodName {
	return Object.hasOwn(METHODS, name);
}

export type CallResult = { ok: true; result: Reply } | { ok: false; error: ErrorReply };

/**
 * Runs one call as every transport must: unknown method → METHOD_NOT_FOUND, arguments checked
 * by the method's schema (INVALID_ARGUMENT naming the field), then the handler. Never throws.
 */
export async function invoke(core: Core, name: string, args: unknown): Promise<CallResult> {
	try {
		if (!isMethodName(name))
			throw new ApiError(UbusStatus.METHOD_NOT_FOUND, `unknown method ${quoted(name)}`, "method");
		const m: Method<z.ZodMiniType> = METHODS[name];
		const raw = args ?? {};
		const parsed = m.args.safeParse(raw);
		if (!parsed.success) throw fromZodError(parsed.error, raw);
		const result = await m.handler(core, parsed.data, raw as Record<string, unknown>);
		return { ok: true, result };
	} catch (thrown) {
		return { ok: false, error: toApiError(thrown).toReply() };
	}
}

// ---- ubus signatures -------------------------------------------------------------------------

export type BlobmsgType = "string" | "int32" | "bool" | "array" | "table";

/**
 * The blobmsg type of one argument, as `ubus -v list portrig` shows it, read from the field's
 * schema: decoded booleans → bool, decoded numbers → int32, fields whose UCI form is a list →
 * array, everything else (ports, ranges, addresses, names) → string, their UCI form.
 */
export function blobmsgType(schema: z.ZodMiniType): BlobmsgType {
	const def = schema._zod.def as {
		type: string;
		innerType?: z.ZodMiniType;
		in?: z.ZodMiniType;
		out?: z.ZodMiniType;
	};
	switch (def.type) {
		case "optional":
		case "nullable":
		case "default":
			return def.innerType ? blobmsgType(def.innerType) : "string";
		case "pipe": {
			const out = def.out?._zod.def.type;
			if (out === "boolean") return "bool";
			if (out === "number") return "int32";
			// A decoded array is a UCI list when its encoded form is one (proto's is "tcp udp").
			if (out === "array") return Array.isArray(z.encode(schema, [] as never)) ? "array" : "string";
			return "string";
		}
		case "boolean":
			return "bool";
		case "number":
			return "int32";
		case "array":
			return "array";
		case "object":
			return "table";
		default:
			return "string";
	}
}

/** Method name → argument name → blobmsg type, for registering the ubus object. */
export function methodSignatures(): Record<MethodName, Record<string, BlobmsgType>> {
	const entries = Object.entries(METHODS).map(([name, m]) => {
		const shape = (m.args as unknown as z.ZodMiniObject)._zod.def.shape as Record<string, z.ZodMiniType>;
		const args = Object.entries(shape)
			.filter(([arg]) => !(arg in Session))
			.map(([arg, schema]) => [arg, blobmsgType(schema)]);
		return [name, Object.fromEntries(args)];
	});
	return Object.fromEntries(entries) as Record<MethodName, Record<string, BlobmsgType>>;
}
