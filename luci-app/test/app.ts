// The app's JavaScript modules as the tests load them (through the LuCI loader stand-in), with
// TypeScript shapes for what the tests call.
import { loadModule, makeBaseclass } from "./luci-loader";

export type Validator = (value: unknown) => true | string;
export type Entry = { id?: string } & Record<string, string | string[] | undefined>;
export type Others = { forwards?: Entry[]; triggers?: Entry[] };
export type Problem = { field: string; item?: number; message: string };
export type ApiError = { status: number | null; message: string; field: string | null };
/** What a portrig.api call resolves to. */
export type Outcome = {
	status: number | null;
	reply: Record<string, unknown> | null;
	error: ApiError | null;
};

/** portrig.common, the shared logic of the views. */
export interface Common {
	PROTOCOLS: string[];
	FORWARD_FIELDS: string[];
	TRIGGER_FIELDS: string[];
	DMZ_FIELDS: string[];
	SETTINGS_FIELDS: string[];
	validatePortRange: Validator;
	validateProtocols: Validator;
	validateSeconds: Validator;
	validateLanHost: Validator;
	validateLanIPv4: Validator;
	validateSource: Validator;
	validateDisplayName: Validator;
	validateExcludedPort: Validator;
	optional(validator: Validator): Validator;
	forwardProblems(values: Entry, others: Others): Problem[];
	triggerProblems(values: Entry, others: Others): Problem[];
	dmzProblems(values: Entry): Problem[];
	problemOf(problems: Problem[], field: string): true | string;
	fieldValidator(
		rule: Validator,
		problemsOf: (sid: string) => Problem[],
		field: string,
	): (sid: string, value: unknown) => true | string;
	sectionArgs(fields: string[], values: Record<string, unknown>, forUpdate: boolean): Record<string, unknown>;
	fieldMessage(error: { message: string; field: string | null }): string;
	settingsForm(settings: unknown): Record<string, unknown>;
	settingsArgs(values: Record<string, unknown>): Record<string, unknown>;
	configFromUci(values: unknown): { globals: Entry; forwards: Entry[]; triggers: Entry[]; dmz: Entry };
	addressFamily(host: unknown): 4 | 6;
	formatProtocols(value: unknown): string;
	forwardTitle(forward: Entry): string;
	formatList(value: unknown): string;
	formatEndpoint(host: unknown, ports: unknown): string;
	formatSeconds(value: unknown): string;
	hostChoices(hints: unknown, withIPv6: boolean): { address: string; label: string }[];
	hostName(hints: unknown, address: unknown): string | null;
	hostLabel(hints: unknown, address: unknown): string;
	entryCounters(
		status: unknown,
		kind: string,
		id: string,
	): { connections: number | null; openings: number | null };
	daemonState(status: unknown): { running: boolean; ubus: boolean | null; table: boolean | null };
}

/** portrig.api, the calls of the pages. */
export interface Api {
	CALLS: Record<string, string[]>;
	call(method: string, args?: Record<string, unknown>): Promise<Outcome>;
	hostHints(): Promise<unknown>;
	daemonDown(outcome: Outcome): boolean;
	entries(): Promise<{ running: boolean; config: Record<string, unknown> | null; error: ApiError | null }>;
	startService(): Promise<boolean>;
}

/** gettext as LuCI's `_` with no translation loaded: the text itself. */
export const untranslated = (text: string) => text;

/** Loads portrig.common as LuCI would, with no translation loaded. */
export function loadCommon(): Common {
	const baseclass = makeBaseclass();
	return loadModule("portrig.common", {
		luci: { baseclass },
		globals: { _: untranslated },
		baseclass,
	}) as Common;
}

/** What a module declared with LuCI's rpc.declare. */
export type Declaration = { object: string; method: string; params?: string[]; expect?: unknown };

/** The JSON-RPC request portrig.api posts, as it goes on the wire. */
export type JsonRpcCall = {
	jsonrpc: string;
	id: unknown;
	method: string;
	params: [string, string, string, Record<string, unknown>];
};
export type Post = { url: string; body: JsonRpcCall; options: Record<string, unknown> };

/** An HTTP answer as LuCI's request API hands it over (LuCI.request.Response). */
export type HttpAnswer = { ok: boolean; status: number; statusText: string; json(): unknown };

/** An HTTP answer with body `text`; json() parses it as LuCI's Response.json() does. */
export function httpAnswer(text: string, status = 200, statusText = "OK"): HttpAnswer {
	return { ok: status >= 200 && status <= 299, status, statusText, json: () => JSON.parse(text) };
}

export const SESSION = "0123456789abcdef0123456789abcdef";
export const RPC_BASE_URL = "/ubus/";

/** Answers to calls declared with rpc.declare, by "object.method": what the call resolves to. */
export type Declared = Record<string, (...args: unknown[]) => Promise<unknown>>;

/**
 * Stand-ins for the LuCI modules and globals portrig.api uses: rpc (base URL, session, and
 * rpc.declare, recorded; a declared call resolves as `declaredAnswers` says, else rejects),
 * request (post, recorded as JSON on the wire and answered by `answer`), L (env.rpctimeout,
 * resolveDefault, hasViewPermission: `writable`).
 */
export function luciStandIns(
	answer: (post: Post) => Promise<unknown> = () => Promise.resolve(httpAnswer("{}")),
	declaredAnswers: Declared = {},
	writable: boolean | null = true,
) {
	const baseclass = makeBaseclass();
	const posts: Post[] = [];
	const declared: Declaration[] = [];
	const rpc = {
		declare(options: Declaration) {
			declared.push(options);
			const key = `${options.object}.${options.method}`;
			return (...args: unknown[]) =>
				declaredAnswers[key]?.(...args) ?? Promise.reject(new Error(`${key} is not answered here`));
		},
		getBaseURL: () => RPC_BASE_URL,
		getSessionID: () => SESSION,
	};
	const request = {
		post(url: string, content: unknown, options: Record<string, unknown>) {
			const post = { url, body: JSON.parse(JSON.stringify(content)) as JsonRpcCall, options };
			posts.push(post);
			return answer(post);
		},
	};
	const L = {
		env: { rpctimeout: 20 },
		resolveDefault: (value: unknown, fallback: unknown) => Promise.resolve(value).catch(() => fallback),
		hasViewPermission: () => writable,
	};
	return { baseclass, rpc, request, L, posts, declared };
}

/** Loads portrig.api as LuCI would, on the stand-ins `luci` (from luciStandIns). */
export function loadApi(luci: ReturnType<typeof luciStandIns>): Api {
	return loadModule("portrig.api", {
		luci: { baseclass: luci.baseclass, rpc: luci.rpc, request: luci.request },
		globals: { _: untranslated, L: luci.L },
		baseclass: luci.baseclass,
	}) as Api;
}
