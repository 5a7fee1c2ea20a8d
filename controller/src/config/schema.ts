// The config model: one zod schema per UCI section type, the single source of truth for
// /etc/config/portrig, for the ubus/control-socket API arguments and for the LuCI views.
//
// Each option is a zod codec: `decode` turns what UCI (or a JSON caller) holds into a typed
// value, `encode` turns it back into the UCI text form. API replies use the encoded form, so
// field names and values are exactly what `uci show portrig` prints (lists as arrays).
import { z } from "../zod";
import { isLanReachableIPv6, isPrivateIPv4 } from "./address";

export const PROTOCOLS = ["tcp", "udp"] as const;
export const Protocol = z.enum(PROTOCOLS);
export type Protocol = z.infer<typeof Protocol>;

/** Longest part of a value quoted back in a message: replies never echo a whole large input. */
const QUOTE_MAX = 40;

/** `value` in quotes for a message, cut to its first QUOTE_MAX characters. */
export function quoted(value: unknown): string {
	const text = String(value);
	return text.length > QUOTE_MAX ? `'${text.slice(0, QUOTE_MAX)}…' (${text.length} characters)` : `'${text}'`;
}

/**
 * Why a UCI file cannot hold `text`, if it cannot: libuci cuts a value at NUL, and a line break
 * would make the writer split the value over lines (tab is fine, as in libuci's own files).
 */
export function uciTextProblem(text: string): string | undefined {
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if ((c < 0x20 && c !== 0x09) || c === 0x7f)
			return `contains the control character U+${c.toString(16).toUpperCase().padStart(4, "0")}, which a UCI file cannot hold`;
	}
	return undefined;
}

const UciText = z.string().check(
	z.superRefine((text, ctx) => {
		const why = uciTextProblem(text);
		if (why) ctx.addIssue({ code: "custom", message: why });
	}),
);

/** What UCI holds for one option: text, or a JSON scalar from an API caller. */
const Scalar = z.union([UciText, z.number(), z.boolean()], {
	error: (issue) =>
		issue.input === undefined
			? "is required"
			: Array.isArray(issue.input)
				? "takes one value, not a list"
				: "must be text, a number or a boolean",
});

export type PortRange = { from: number; to: number };

export function formatPortRange(r: PortRange): string {
	return r.from === r.to ? String(r.from) : `${r.from}-${r.to}`;
}

export function portCount(r: PortRange): number {
	return r.to - r.from + 1;
}

/** "80" or "6660-6669" (also 80 as a JSON number) → {from, to}. */
export const PortRangeOption = z.codec(Scalar, z.custom<PortRange>(), {
	decode: (value, ctx) => {
		const text = String(value).trim();
		const m = /^(\d{1,5})(?:\s*[-:]\s*(\d{1,5}))?$/.exec(text);
		if (!m) {
			ctx.issues.push({
				code: "custom",
				input: value,
				message: `${quoted(text)} is not a port or port range (e.g. 80 or 6660-6669)`,
			});
			return z.NEVER;
		}
		const from = Number(m[1]);
		const to = Number(m[2] ?? m[1]);
		for (const port of [from, to]) {
			if (port < 1 || port > 65535) {
				ctx.issues.push({ code: "custom", input: value, message: `port ${port} is out of range (1-65535)` });
				return z.NEVER;
			}
		}
		if (from > to) {
			ctx.issues.push({ code: "custom", input: value, message: `range ${from}-${to} is reversed` });
			return z.NEVER;
		}
		return { from, to };
	},
	encode: formatPortRange,
});

/** UCI booleans as libuci/fw4 read them: 1/0, yes/no, on/off, true/false, enabled/disabled. */
export const FlagOption = z.codec(Scalar, z.boolean(), {
	decode: (value, ctx) => {
		if (typeof value === "boolean") return value;
		const text = String(value).trim().toLowerCase();
		if (["1", "yes", "on", "true", "enabled"].includes(text)) return true;
		if (["0", "no", "off", "false", "disabled"].includes(text)) return false;
		ctx.issues.push({
			code: "custom",
			input: value,
			message: `${quoted(value)} is not a boolean (use 1 or 0)`,
		});
		return z.NEVER;
	},
	encode: (b) => (b ? "1" : "0"),
});

/** "tcp", "udp", "tcp udp" / "tcpudp" / "all", or ["tcp","udp"] → a sorted set of protocols. */
export const ProtocolsOption = z.codec(z.union([Scalar, z.array(z.string())]), z.array(Protocol), {
	decode: (value, ctx) => {
		const words = (Array.isArray(value) ? value.join(" ") : String(value)).toLowerCase().split(/[\s,]+/);
		const set = new Set<Protocol>();
		for (const word of words.filter(Boolean)) {
			if (word === "tcpudp" || word === "all") {
				set.add("tcp").add("udp");
			} else if (word === "tcp" || word === "udp") {
				set.add(word);
			} else {
				ctx.issues.push({
					code: "custom",
					input: value,
					message: `unknown protocol ${quoted(word)} (use tcp, udp or 'tcp udp')`,
				});
				return z.NEVER;
			}
		}
		if (set.size === 0) {
			ctx.issues.push({
				code: "custom",
				input: value,
				message: "no protocol given (use tcp, udp or 'tcp udp')",
			});
			return z.NEVER;
		}
		return PROTOCOLS.filter((p) => set.has(p));
	},
	encode: (protocols) => protocols.join(" "),
});

/** Whole seconds, 1 s to 7 days (nft map timeouts are finite). */
export const SecondsOption = z.codec(Scalar, z.int(), {
	decode: (value, ctx) => {
		const text = String(value).trim();
		if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 604800) {
			ctx.issues.push({
				code: "custom",
				input: value,
				message: `${quoted(text)} is not a number of seconds from 1 to 604800`,
			});
			return z.NEVER;
		}
		return Number(text);
	},
	encode: (n) => String(n),
});

function textOption(check: (text: string) => string | undefined) {
	return z.codec(Scalar, z.string(), {
		decode: (value, ctx) => {
			const text = String(value).trim();
			const why = check(text);
			if (why) {
				ctx.issues.push({ code: "custom", input: value, message: why });
				return z.NEVER;
			}
			return text;
		},
		encode: (s) => s,
	});
}

// Built once: making a zod schema costs far more than running it (a config has 10,000 addresses).
const IPv4 = z.ipv4();
const IPv6 = z.ipv6();
const CIDRv4 = z.cidrv4();
const CIDRv6 = z.cidrv6();
const isIPv4 = (s: string) => IPv4.safeParse(s).success;
const isIPv6 = (s: string) => IPv6.safeParse(s).success;

/** A LAN host: RFC 1918 IPv4, or a global/ULA IPv6 (which makes the entry an IPv6 pinhole). */
export const LanHostOption = textOption((s) => {
	if (isIPv4(s))
		return isPrivateIPv4(s)
			? undefined
			: `${s} is not a LAN address (expected 10/8, 172.16/12 or 192.168/16)`;
	if (isIPv6(s))
		return isLanReachableIPv6(s) ? undefined : `${s} is not a global or unique-local IPv6 address`;
	return `${quoted(s)} is not an IPv4 or IPv6 address`;
});

/** A LAN host that must be IPv4 (DMZ is a NAT concept). */
export const LanIPv4Option = textOption((s) => {
	if (!isIPv4(s)) return `${quoted(s)} is not an IPv4 address`;
	return isPrivateIPv4(s) ? undefined : `${s} is not a LAN address (expected 10/8, 172.16/12 or 192.168/16)`;
});

/** A remote source: an address or a prefix, IPv4 or IPv6. */
export const SourceOption = textOption((s) =>
	isIPv4(s) || isIPv6(s) || CIDRv4.safeParse(s).success || CIDRv6.safeParse(s).success
		? undefined
		: `${quoted(s)} is not an address or prefix (e.g. 198.51.100.0/24)`,
);

/** fw4 zone or device name: what `config zone` / netdev names allow. */
export const NameListItem = textOption((s) =>
	/^[A-Za-z0-9_.@-]{1,15}$/.test(s) ? undefined : `${quoted(s)} is not a zone or device name`,
);

/** A display name; triggers' names must also be unique (checked across sections). */
export const DisplayNameOption = textOption((s) =>
	s.length === 0 ? "must not be empty" : s.length > 64 ? "is longer than 64 characters" : undefined,
);

export type ExcludedPort = { proto: Protocol[]; port: PortRange };

/** DMZ exclusion: "tcp 22", "udp 5000-5010", "tcp udp 8443" or just "22" (both protocols). */
export const ExcludedPortItem = z.codec(Scalar, z.custom<ExcludedPort>(), {
	decode: (value, ctx) => {
		const words = String(value).trim().split(/\s+/);
		const portText = words.pop() ?? "";
		const proto = words.length
			? z.safeDecode(ProtocolsOption, words.join(" "))
			: { success: true as const, data: [...PROTOCOLS] };
		const port = z.safeDecode(PortRangeOption, portText);
		if (!proto.success || !port.success) {
			ctx.issues.push({
				code: "custom",
				input: value,
				message: `${quoted(value)} is not '[tcp|udp] PORT[-PORT]'`,
			});
			return z.NEVER;
		}
		return { proto: proto.data, port: port.data };
	},
	encode: (e) =>
		e.proto.length === PROTOCOLS.length
			? formatPortRange(e.port)
			: `${e.proto.join(" ")} ${formatPortRange(e.port)}`,
});

const ListInput = z.union([Scalar, z.array(Scalar)], { error: "must be a value or a list of values" });

/**
 * A UCI list: one value or several; a JSON caller may give a single value or an array. Each
 * item is decoded by `item`; an item's problem is reported with its index in the path.
 */
function list<Out>(item: z.core.$ZodType<Out, z.core.output<typeof Scalar>>) {
	return z._default(
		z.codec(ListInput, z.array(z.custom<Out>()), {
			decode: (value, ctx) => {
				const items = Array.isArray(value) ? value : [value];
				const out: Out[] = [];
				items.forEach((raw, index) => {
					const r = z.safeDecode(item, raw);
					if (r.success) out.push(r.data);
					else
						for (const issue of r.error.issues)
							ctx.issues.push({ code: "custom", input: raw, message: issue.message, path: [index] });
				});
				return out;
			},
			encode: (items) => items.map((i) => z.encode(item, i) as z.core.output<typeof Scalar>).map(String),
		}),
		[],
	);
}

// ---- sections -------------------------------------------------------------------------------

export const GlobalsSection = z.object({
	enabled: z._default(FlagOption, true),
	wan_zone: z._default(list(NameListItem), ["wan"]),
	lan_zone: z._default(list(NameListItem), ["lan"]),
	wan_device: list(NameListItem),
	lan_device: list(NameListItem),
	trigger_timeout: z._default(SecondsOption, 600),
	/** NAT loopback of forwards that do not set their own `reflection`. */
	reflection: z._default(FlagOption, true),
});
export type Globals = z.infer<typeof GlobalsSection>;

export const ForwardSection = z.object({
	name: z.optional(DisplayNameOption),
	enabled: z._default(FlagOption, true),
	proto: z._default(ProtocolsOption, ["tcp", "udp"]),
	src_dport: PortRangeOption,
	dest_ip: LanHostOption,
	dest_port: z.optional(PortRangeOption),
	src_ip: list(SourceOption),
	/** The default stands for "absent": load.ts then takes globals.reflection. */
	reflection: z._default(FlagOption, true),
});
/** A forward; a section without its own `reflection` takes globals.reflection (load.ts). */
export type Forward = z.infer<typeof ForwardSection>;

export const TriggerSection = z.object({
	name: DisplayNameOption,
	enabled: z._default(FlagOption, true),
	proto: z._default(ProtocolsOption, ["tcp"]),
	trigger_port: PortRangeOption,
	open_proto: z._default(ProtocolsOption, ["tcp"]),
	open_port: list(PortRangeOption).check(
		z.refine((l) => l.length > 0, "needs at least one port or range to open"),
	),
	/** Idle seconds; absent → globals.trigger_timeout. */
	timeout: z.optional(SecondsOption),
	src_ip: list(LanHostOption),
	remote_only: z._default(FlagOption, false),
});
export type Trigger = z.infer<typeof TriggerSection>;

export const DmzSection = z.object({
	enabled: z._default(FlagOption, false),
	dest_ip: z.optional(LanIPv4Option),
	exclude_port: list(ExcludedPortItem),
});
export type Dmz = z.infer<typeof DmzSection>;

/** Section type → schema. A type not in this table is a config error. */
export const SECTION_SCHEMAS = {
	globals: GlobalsSection,
	forward: ForwardSection,
	trigger: TriggerSection,
	dmz: DmzSection,
} as const;
export type SectionType = keyof typeof SECTION_SCHEMAS;

/** The whole typed config: what the ruleset, the triggers and the API work on. */
export type Config = {
	globals: Globals;
	forwards: Array<Forward & { id: string }>;
	triggers: Array<Trigger & { id: string }>;
	dmz: Dmz;
};

export type ForwardEntry = Config["forwards"][number];
export type TriggerEntry = Config["triggers"][number];
