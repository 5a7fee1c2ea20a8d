// The app's JavaScript modules as the tests load them (through the LuCI loader stand-in), with
// TypeScript shapes for what the tests call.
import { loadModule, makeBaseclass } from "./luci-loader";

export type Validator = (value: unknown) => true | string;
export type Entry = { id?: string } & Record<string, string | string[] | undefined>;
export type Others = { forwards?: Entry[]; triggers?: Entry[] };
export type Problem = { field: string; item?: number; message: string };
export type ApiErrorView = { status: number | null; message: string; field: string | null };

/** portrig.common, the shared logic of the views. */
export interface Common {
	PROTOCOLS: string[];
	FORWARD_FIELDS: string[];
	TRIGGER_FIELDS: string[];
	DMZ_FIELDS: string[];
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
	sectionArgs(fields: string[], values: Record<string, unknown>, forUpdate: boolean): Record<string, unknown>;
	argList(params: string[], args: Record<string, unknown>): unknown[];
	settled<A extends unknown[]>(call: (...args: A) => Promise<unknown>): (...args: A) => Promise<unknown>;
	apiError(reply: unknown): ApiErrorView | null;
	fieldMessage(error: { message: string; field: string | null }): string;
	statusText(status: number): string;
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
