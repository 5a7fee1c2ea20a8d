// /etc/config/portrig text → typed Config, or the problems that stop it, each located at a line
// of the file and naming its section and option: the one validation path shared by
// `portrig check`, the daemon's (re)load and every API change (see store.ts).
//
// Sections are named in messages as uci names them: by name, or `@type[index]` when anonymous
// (what `uci show portrig` prints and `uci set portrig.@forward[0].…` accepts). Problems also
// carry the section's id (its name, or libuci's generated `cfg…` name), the id the API uses.
//
// Unknown options are kept in the file and ignored, with a warning (likely a typo); warnings
// never make a config invalid. Anything else is an error and yields no config.
import { z } from "../zod";
import { ForwardPorts } from "./forward-ports";
import { checkRules, type Finding } from "./rules";
import {
	type Config,
	type Dmz,
	DmzSection,
	type Forward,
	type ForwardEntry,
	type Globals,
	GlobalsSection,
	SECTION_SCHEMAS,
	type SectionType,
	type Trigger,
	type TriggerEntry,
} from "./schema";
import { sectionLabel, UciDocument, type UciEntry, UciParseError, type UciSection } from "./uci";
import type { Excerpt } from "./uci-excerpt";

export type Severity = "error" | "warning";

export type Problem = {
	file: string;
	/** 1-based line in the file; absent when the problem is not on any line. */
	line?: number;
	/** The section as messages name it: its name, or `@type[index]` when anonymous. */
	section?: string;
	/** The section's id, as the API names it (name or libuci's `cfg…` name). */
	id?: string;
	option?: string;
	message: string;
	severity: Severity;
};

export type LoadResult = { config?: Config; problems: Problem[] };

/** `section 'NAME' option 'OPT': why` — a problem without its file and line (API replies). */
export function describeProblem(p: Problem): string {
	const where = [
		p.section === undefined ? "" : `section '${p.section}'`,
		p.option === undefined ? "" : `option '${p.option}'`,
	]
		.filter(Boolean)
		.join(" ");
	const why = p.severity === "warning" ? `warning: ${p.message}` : p.message;
	return where ? `${where}: ${why}` : why;
}

/** `FILE:LINE: section 'NAME' option 'OPT': why`. */
export function formatProblem(p: Problem): string {
	return `${p.file}:${p.line === undefined ? "" : `${p.line}:`} ${describeProblem(p)}`;
}

export const isError = (p: Problem) => p.severity === "error";

export function loadConfig(text: string, file: string): LoadResult {
	const { config, problems } = loadDocument(text, file);
	return config ? { config, problems } : { problems };
}

/** What the store keeps of a load besides its config: the document, and what a change is checked with. */
export type DocumentResult = LoadResult & {
	document?: UciDocument;
	/** Ids of the first globals and dmz sections, when the file has them. */
	globalsId?: string;
	dmzId?: string;
	/** Ids of the forwards that set their own `reflection` (the others follow the globals'); `take` updates it. */
	ownReflection: Set<string>;
	/** The WAN ports in use, with a valid config: a change is checked against its neighbours. */
	ports?: ForwardPorts;
	/** For a checked change: takes it into `ports` and `ownReflection`, once it is accepted. */
	take?: () => void;
	/** For a checked change of a forward or trigger: the entry it now is (none: deleted). */
	entry?: ForwardEntry | TriggerEntry;
};

/** A valid load, as checkChange and checkSingle start from. */
export type ValidResult = DocumentResult & { config: Config; ports: ForwardPorts; document: UciDocument };

/**
 * loadConfig, also returning the parsed document (for the store's edits) and what checks a
 * change. The text is read section by section, each decoded as it is read. Given the result
 * of loading an earlier version of the file (a reload), a section whose text is the same as
 * then keeps its earlier entry, the same object: the old and the new config share it.
 */
export function loadDocument(text: string, file: string, previous?: DocumentResult): DocumentResult {
	const check = new Checker(file, previous);
	let document: UciDocument;
	try {
		document = UciDocument.parse(text, (s, excerpt) => check.section(s, excerpt));
	} catch (e) {
		if (!(e instanceof UciParseError)) throw e;
		return {
			problems: [{ file, line: e.line, message: e.reason, severity: "error" }],
			ownReflection: new Set(),
		};
	}
	// A section reopened later was seen with its first block only: read them all again.
	return document.irregular ? checkDocument(document, file) : check.finish(document);
}

/** Validates a parsed document as loadDocument does, reading every section again. */
export function checkDocument(document: UciDocument, file: string): DocumentResult {
	const check = new Checker(file);
	for (const s of document.sections) check.section(s);
	return check.finish(document);
}

type Entry = { id: string; value: unknown };

/** The checks of a whole file, fed one section at a time. */
class Checker {
	private readonly problems: Problem[] = [];
	private readonly decoded: { [T in SectionType]: Entry[] } = {
		globals: [],
		forward: [],
		trigger: [],
		dmz: [],
	};
	/** Line of the section of each id. */
	private readonly seen = new Map<string, number>();
	private readonly ownReflection = new Set<string>();
	/** The earlier load's entries by id, and the ids it had problems with (built when first needed). */
	private earlier: { entries: Map<string, unknown>; troubled: Set<string> } | undefined;

	constructor(
		private readonly file: string,
		private readonly previous?: DocumentResult,
	) {}

	section(s: UciSection, excerpt?: Excerpt): void {
		const { problems, file } = this;
		const at = (option?: string, line = s.line, severity: Severity = "error") =>
			located(file, s, option, line, severity);
		const twin = this.seen.get(s.id);
		if (twin !== undefined)
			problems.push({
				...at(),
				message: `has the same id as the section on line ${twin}; give one of them another name`,
			});
		this.seen.set(s.id, s.line);
		for (const line of s.reopenedAt)
			problems.push({
				...at(undefined, line),
				message: `is defined again (first on line ${s.line}); uci would merge the two, give each its own name`,
			});
		if (!(s.type in SECTION_SCHEMAS)) {
			problems.push({
				...at(),
				message: `unknown section type '${s.type}' (expected ${Object.keys(SECTION_SCHEMAS)
					.join(", ")
					.replace(/, (?=[^,]*$)/, " or ")})`,
			});
			return;
		}
		const type = s.type as SectionType;
		if (type === "forward" && s.entries.has("reflection")) this.ownReflection.add(s.id);
		const kept = excerpt && this.unchanged(s.id, excerpt);
		if (kept !== undefined) {
			this.decoded[type].push({ id: s.id, value: kept });
			return;
		}
		const value = decodeSection(s, type, (option, message, line, severity) =>
			problems.push({ ...at(option, line, severity), message }),
		);
		if (value === undefined) return;
		this.decoded[type].push({
			id: s.id,
			value: type === "forward" || type === "trigger" ? { ...(value as object), id: s.id } : value,
		});
	}

	/** The earlier load's entry for a section whose text has not changed (and that had no problem). */
	private unchanged(id: string, excerpt: Excerpt): unknown {
		const previous = this.previous;
		if (!previous?.config || previous.document?.excerptOf(id)?.text !== excerpt.text) return undefined;
		if (!this.earlier) {
			const { config, problems } = previous;
			const entries = new Map<string, unknown>(
				[...config.forwards, ...config.triggers].map((e) => [e.id, e]),
			);
			if (previous.globalsId) entries.set(previous.globalsId, config.globals);
			if (previous.dmzId) entries.set(previous.dmzId, config.dmz);
			this.earlier = {
				entries,
				troubled: new Set(problems.flatMap((p) => (p.id === undefined ? [] : [p.id]))),
			};
		}
		return this.earlier.troubled.has(id) ? undefined : this.earlier.entries.get(id);
	}

	finish(document: UciDocument): DocumentResult {
		const { decoded, problems, file } = this;
		for (const type of ["globals", "dmz"] as const)
			for (const { id } of decoded[type].slice(1))
				problems.push({
					...located(file, document.section(id) as UciSection),
					message: `a second ${type} section (the first is on line ${this.seen.get(decoded[type][0]?.id as string)}); there can be only one`,
				});
		const globals = (decoded.globals[0]?.value as Globals) ?? z.decode(GlobalsSection, {});
		const config: Config = {
			globals,
			forwards: decoded.forward.map(({ id, value }) =>
				withReflection(value as ForwardEntry, globals, this.ownReflection.has(id)),
			),
			triggers: decoded.trigger.map(({ value }) => value as TriggerEntry),
			dmz: (decoded.dmz[0]?.value as Dmz) ?? z.decode(DmzSection, {}),
		};
		const globalsId = decoded.globals[0]?.id;
		const dmzId = decoded.dmz[0]?.id;
		locate(document, file, checkRules({ config, label: labelIn(document), globalsId, dmzId }), problems);
		problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
		const result: DocumentResult = {
			document,
			problems,
			ownReflection: this.ownReflection,
			...(globalsId === undefined ? {} : { globalsId }),
			...(dmzId === undefined ? {} : { dmzId }),
		};
		return problems.some(isError) ? result : { ...result, config, ports: ForwardPorts.of(config) };
	}
}

/** A forward as the config holds it: the globals' reflection unless it sets its own. */
function withReflection(f: ForwardEntry, globals: Globals, own: boolean): ForwardEntry {
	return own || f.reflection === globals.reflection ? f : { ...f, reflection: globals.reflection };
}

const labelIn = (document: UciDocument) => (id: string) => sectionLabel(document.section(id) as UciSection);

function located(file: string, s: UciSection, option?: string, line = s.line, severity: Severity = "error") {
	return {
		file,
		line,
		section: sectionLabel(s),
		id: s.id,
		...(option === undefined ? {} : { option }),
		severity,
	};
}

/** Rule findings as problems, at the line of the option they are about. */
function locate(document: UciDocument, file: string, findings: Finding[], into: Problem[]): void {
	for (const f of findings) {
		const s = document.section(f.id) as UciSection;
		into.push({ ...located(file, s, f.option, lineOf(s, f.option, f.item)), message: f.message });
	}
}

/**
 * What an API mutation of one forward or trigger (`change`) leaves of a valid config, checked
 * against the config in memory instead of the whole document again: only the changed section
 * is decoded, and the cross-section rules run over it and the entries whose ports or name it
 * could collide with (ForwardPorts finds them). Unchanged entries keep their objects. Same
 * result as checkDocument.
 */
export function checkChange(
	document: UciDocument,
	file: string,
	previous: ValidResult,
	change: { type: "forward" | "trigger"; id: string },
): DocumentResult {
	const { config, ports } = previous;
	const s = document.section(change.id);
	const problems: Problem[] = previous.problems.filter((p) => p.id !== change.id);
	const ownReflection = change.type === "forward" && s?.entries.has("reflection") === true;
	const result = (next?: Config, entry?: ForwardEntry | TriggerEntry): DocumentResult => {
		problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
		const base = { ...previous, document, problems };
		if (!next || problems.some(isError)) {
			const { config: _, ports: __, take: ___, ...invalid } = base;
			return invalid;
		}
		const take = () => {
			ports.update(change.type, change.id, entry);
			if (ownReflection) previous.ownReflection.add(change.id);
			else previous.ownReflection.delete(change.id);
		};
		return { ...base, config: next, take, ...(entry ? { entry } : {}) };
	};
	if (!s) {
		// libuci names anonymous sections by their position: a deletion renames those after it.
		if (document.anonymous) return checkDocument(document, file);
		return result(
			change.type === "forward"
				? { ...config, forwards: without(config.forwards, ports.forward(change.id)) }
				: { ...config, triggers: without(config.triggers, ports.trigger(change.id)) },
		);
	}
	const value = decodeSection(s, change.type, (option, message, line, severity) =>
		problems.push({ ...located(file, s, option, line, severity), message }),
	);
	if (value === undefined) return result();
	const entry =
		change.type === "forward"
			? withReflection({ ...(value as Forward), id: change.id }, config.globals, ownReflection)
			: { ...(value as Trigger), id: change.id };
	const next =
		change.type === "forward"
			? { ...config, forwards: put(config.forwards, ports.forward(change.id), entry as ForwardEntry) }
			: { ...config, triggers: put(config.triggers, ports.trigger(change.id), entry as TriggerEntry) };
	const findings = checkRules({
		config: ports.neighbourhood(next, change.type, entry),
		label: labelIn(document),
	});
	locate(document, file, findings, problems);
	return result(next, entry);
}

/**
 * What a change of the globals or the dmz section (`id`) leaves of a valid config: that section
 * decoded, and the rules that involve it (they run over it alone: the forwards and triggers
 * were valid before and do not depend on it). Forwards without their own `reflection` follow
 * a changed default.
 */
export function checkSingle(
	document: UciDocument,
	file: string,
	previous: ValidResult,
	type: "globals" | "dmz",
	id: string,
): DocumentResult {
	const { config } = previous;
	const s = document.section(id) as UciSection;
	const problems: Problem[] = previous.problems.filter((p) => p.id !== id);
	const value = decodeSection(s, type, (option, message, line, severity) =>
		problems.push({ ...located(file, s, option, line, severity), message }),
	);
	const ids = {
		globalsId: type === "globals" ? id : previous.globalsId,
		dmzId: type === "dmz" ? id : previous.dmzId,
	};
	const base = { ...previous, ...ids, document, problems };
	const { config: _, ports: __, take: ___, ...invalid } = base;
	if (value === undefined) return invalid;
	const next =
		type === "dmz"
			? { ...config, dmz: value as Dmz }
			: {
					...config,
					globals: value as Globals,
					forwards: followed(config.forwards, value as Globals, previous),
				};
	const findings = checkRules({
		config: { ...next, forwards: [], triggers: [] },
		label: labelIn(document),
		...ids,
	});
	locate(document, file, findings, problems);
	problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
	if (problems.some(isError)) return invalid;
	const ports = next.forwards === config.forwards ? previous.ports : ForwardPorts.of(next);
	return { ...base, config: next, ports };
}

/** The forwards under new globals: those without their own reflection follow a changed default. */
function followed(forwards: ForwardEntry[], globals: Globals, previous: ValidResult): ForwardEntry[] {
	if (globals.reflection === previous.config.globals.reflection) return forwards;
	return forwards.map((f) => withReflection(f, globals, previous.ownReflection.has(f.id)));
}

/** `list` with `old` replaced by `entry`, or with `entry` appended when there is no old one. */
function put<T>(list: readonly T[], old: T | undefined, entry: T): T[] {
	// indexOf compares references: much cheaper than comparing ids through 10,000 entries.
	const index = old === undefined ? -1 : list.indexOf(old);
	return index < 0 ? list.concat([entry]) : list.with(index, entry);
}

/** `list` without `old`. */
function without<T>(list: readonly T[], old: T | undefined): T[] {
	const index = old === undefined ? -1 : list.indexOf(old);
	return index < 0 ? list.slice() : list.toSpliced(index, 1);
}

type Report = (option: string | undefined, message: string, line: number, severity?: Severity) => void;

/** One section through its zod schema; undefined (after reporting why) when it does not decode. */
function decodeSection(s: UciSection, type: SectionType, report: Report): unknown {
	const schema = SECTION_SCHEMAS[type];
	// No prototype: an option named __proto__ is a field like any other (and then unknown).
	const fields: Record<string, string | string[]> = Object.create(null);
	let valid = true;
	for (const [name, entry] of s.entries) {
		// Own keys only: `toString` or `constructor` are unknown options, not Object's methods.
		if (!Object.hasOwn(schema.shape, name)) {
			report(name, `unknown option for a ${type} section, ignored`, lineOf(s, name), "warning");
			continue;
		}
		const spread = entry.items.find((i) => i.endLine > i.line);
		if (spread) {
			report(
				name,
				`value runs from line ${spread.line} to ${spread.endLine}; is a closing quote missing?`,
				spread.line,
			);
			valid = false;
		}
		fields[name] = entry.kind === "option" ? (entry.items[0]?.value ?? "") : entry.items.map((i) => i.value);
	}
	const result = z.safeDecode(schema, fields as never);
	if (result.success) return valid ? result.data : undefined;
	for (const issue of result.error.issues) {
		const [option, item] = issue.path;
		const name = typeof option === "string" ? option : undefined;
		report(name, issue.message, lineOf(s, name, typeof item === "number" ? item : undefined));
	}
	return undefined;
}

/** Line of an option (of one item of a list), or of the section when the option is absent. */
function lineOf(s: UciSection, option?: string, item?: number): number {
	const entry: UciEntry | undefined = option === undefined ? undefined : s.entries.get(option);
	return entry?.items[item ?? 0]?.line ?? entry?.items[0]?.line ?? s.line;
}
