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
import { checkRules } from "./rules";
import {
	type Config,
	type Dmz,
	DmzSection,
	type Forward,
	type Globals,
	GlobalsSection,
	type PortRange,
	SECTION_SCHEMAS,
	type SectionType,
	type Trigger,
} from "./schema";
import { sectionLabel, UciDocument, type UciEntry, UciParseError, type UciSection } from "./uci";

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

/**
 * Schema results of a load, by section id, with the type and values they were decoded from.
 * Decoding is a pure function of those, so the next load (the store passes the cache on) reuses
 * a result when a section has the same id, type and values: after a change to one section of
 * 10,000, only that one goes through its schema again.
 */
export type DecodeCache = Map<string, Decoded>;
type Decoded = { type: SectionType; fields: Fields; result: SchemaResult };
/** A section's known options in file order: the value of an option, the items of a list. */
type Fields = Array<[name: string, value: string | string[]]>;
type SchemaResult = ReturnType<(typeof SECTION_SCHEMAS)[SectionType]["safeDecode"]>;

/** What the store keeps of a load: the parsed document and the schema results it used. */
export type DocumentResult = LoadResult & { document?: UciDocument; decoded: DecodeCache };

/**
 * loadConfig, also returning the parsed document (for the store's edits) and its decode cache.
 * Given the result of loading an earlier version of the file, only what changed is read again.
 */
export function loadDocument(text: string, file: string, previous?: DocumentResult): DocumentResult {
	let document: UciDocument;
	try {
		document = UciDocument.parse(text, previous?.document);
	} catch (e) {
		if (!(e instanceof UciParseError)) throw e;
		return { problems: [{ file, line: e.line, message: e.reason, severity: "error" }], decoded: new Map() };
	}
	return checkDocument(document, file, previous?.decoded);
}

/** Validates a parsed document as loadDocument does (the store's edits are parsed already). */
export function checkDocument(document: UciDocument, file: string, previous?: DecodeCache): DocumentResult {
	const cache = { previous, next: new Map() as DecodeCache };
	const problems: Problem[] = [];
	const at = (s: UciSection, option?: string, line = s.line, severity: Severity = "error") => ({
		file,
		line,
		section: sectionLabel(s),
		id: s.id,
		...(option === undefined ? {} : { option }),
		severity,
	});

	const decoded: { [T in SectionType]: Array<{ s: UciSection; value: unknown }> } = {
		globals: [],
		forward: [],
		trigger: [],
		dmz: [],
	};
	const seen = new Map<string, UciSection>();
	for (const s of document.sections) {
		const twin = seen.get(s.id);
		if (twin)
			problems.push({
				...at(s),
				message: `has the same id as the section on line ${twin.line}; give one of them another name`,
			});
		seen.set(s.id, s);
		for (const line of s.reopenedAt)
			problems.push({
				...at(s, undefined, line),
				message: `is defined again (first on line ${s.line}); uci would merge the two, give each its own name`,
			});
		if (!(s.type in SECTION_SCHEMAS)) {
			problems.push({
				...at(s),
				message: `unknown section type '${s.type}' (expected ${Object.keys(SECTION_SCHEMAS)
					.join(", ")
					.replace(/, (?=[^,]*$)/, " or ")})`,
			});
			continue;
		}
		const type = s.type as SectionType;
		const value = decodeSection(s, type, cache, (option, message, line, severity) =>
			problems.push({ ...at(s, option, line, severity), message }),
		);
		if (value !== undefined) decoded[type].push({ s, value });
	}

	for (const type of ["globals", "dmz"] as const)
		for (const { s } of decoded[type].slice(1))
			problems.push({
				...at(s),
				message: `a second ${type} section (the first is on line ${decoded[type][0]?.s.line}); there can be only one`,
			});

	const globals = (decoded.globals[0]?.value as Globals) ?? GlobalsSection.decode({});
	const config: Config = {
		globals,
		forwards: decoded.forward.map(({ s, value }) => resolveForward(value as Forward, s, globals)),
		triggers: decoded.trigger.map(({ s, value }) => ({ ...(value as Trigger), id: s.id })),
		dmz: (decoded.dmz[0]?.value as Dmz) ?? DmzSection.decode({}),
	};
	const findings = checkRules({
		config,
		label: (id) => sectionLabel(document.section(id) as UciSection),
		globalsId: decoded.globals[0]?.s.id,
		dmzId: decoded.dmz[0]?.s.id,
	});
	for (const f of findings) {
		const s = document.section(f.id) as UciSection;
		problems.push({ ...at(s, f.option, lineOf(s, f.option, f.item)), message: f.message });
	}

	problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
	const result = { document, problems, decoded: cache.next };
	return problems.some(isError) ? result : { ...result, config };
}

/**
 * What an API mutation of one forward or trigger (`change`) leaves of a valid config, checked
 * against the config in memory (`previous`) instead of the whole document again: only the
 * changed section is decoded, and the cross-section rules run over it and the entries whose
 * ports or name it could collide with (the others were valid together before). Unchanged
 * entries keep their objects; the entry arrays are copied once. Same result as checkDocument.
 */
export function checkChange(
	document: UciDocument,
	file: string,
	previous: DocumentResult & { config: Config },
	change: { type: "forward" | "trigger"; id: string },
): DocumentResult {
	const { config } = previous;
	const s = document.section(change.id);
	const problems: Problem[] = previous.problems.filter((p) => p.id !== change.id);
	const result = (next?: Config): DocumentResult => {
		problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
		const base = { document, problems, decoded: previous.decoded };
		return next && !problems.some(isError) ? { ...base, config: next } : base;
	};
	if (!s) {
		// libuci names anonymous sections by their position: a deletion renames those after it.
		if (document.sections.some((other) => other.name === undefined))
			return checkDocument(document, file, previous.decoded);
		previous.decoded.delete(change.id);
		const next =
			change.type === "forward"
				? { ...config, forwards: config.forwards.filter((f) => f.id !== change.id) }
				: { ...config, triggers: config.triggers.filter((t) => t.id !== change.id) };
		return result(next);
	}
	const at = (option?: string, line = s.line, severity: Severity = "error") => ({
		file,
		line,
		section: sectionLabel(s),
		id: s.id,
		...(option === undefined ? {} : { option }),
		severity,
	});
	// The cache is updated in place: an entry is a pure function of the fields it keeps.
	const value = decodeSection(
		s,
		change.type,
		{ previous: previous.decoded, next: previous.decoded },
		(option, message, line, severity) => problems.push({ ...at(option, line, severity), message }),
	);
	if (value === undefined) return result();
	const next = withEntry(config, change.type, change.id, value, s);
	const findings = checkRules({
		config: neighbourhood(next, change.type, change.id),
		label: (id) => sectionLabel(document.section(id) as UciSection),
	});
	for (const f of findings) {
		const other = document.section(f.id) as UciSection;
		problems.push({
			file,
			line: lineOf(other, f.option, f.item),
			section: sectionLabel(other),
			id: other.id,
			...(f.option === undefined ? {} : { option: f.option }),
			message: f.message,
			severity: "error",
		});
	}
	return result(next);
}

/** `config` with the forward or trigger `id` replaced by (or, when new, appended as) `value`. */
function withEntry(
	config: Config,
	type: "forward" | "trigger",
	id: string,
	value: unknown,
	s: UciSection,
): Config {
	const put = <T extends { id: string }>(list: readonly T[], entry: T): T[] => {
		const out = list.slice();
		let index = out.length - 1;
		while (index >= 0 && (out[index] as T).id !== id) index--;
		out[index < 0 ? out.length : index] = entry;
		return out;
	};
	return type === "forward"
		? { ...config, forwards: put(config.forwards, resolveForward(value as Forward, s, config.globals)) }
		: { ...config, triggers: put(config.triggers, { ...(value as Trigger), id }) };
}

/**
 * The entries of `config` the rules must see to judge entry `id`: it, and the enabled or
 * disabled entries whose WAN ports overlap its own or that share its name, in file order.
 */
function neighbourhood(config: Config, type: "forward" | "trigger", id: string): Config {
	const entry =
		type === "forward" ? config.forwards.find((f) => f.id === id) : config.triggers.find((t) => t.id === id);
	const ranges: PortRange[] = !entry ? [] : "src_dport" in entry ? [entry.src_dport] : entry.open_port;
	// Plain loops: this runs over every forward on every change.
	const touches = (r: PortRange) => {
		for (const mine of ranges) if (r.from <= mine.to && mine.from <= r.to) return true;
		return false;
	};
	const name = entry && "open_port" in entry ? entry.name : undefined;
	const forwards = [];
	for (const f of config.forwards) if (f.id === id || touches(f.src_dport)) forwards.push(f);
	const triggers = [];
	for (const t of config.triggers)
		if (t.id === id || t.name === name || t.open_port.some(touches)) triggers.push(t);
	return { ...config, forwards, triggers };
}

type Report = (option: string | undefined, message: string, line: number, severity?: Severity) => void;

/** One section through its zod schema; undefined (after reporting why) when it does not decode. */
function decodeSection(
	s: UciSection,
	type: SectionType,
	cache: { previous?: DecodeCache; next: DecodeCache },
	report: Report,
): unknown {
	const schema = SECTION_SCHEMAS[type];
	const fields: Fields = [];
	let valid = true;
	for (const [name, entry] of s.entries) {
		if (!(name in schema.shape)) {
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
		fields.push([
			name,
			entry.kind === "option" ? (entry.items[0]?.value ?? "") : entry.items.map((i) => i.value),
		]);
	}
	const known = cache.previous?.get(s.id);
	const result =
		known && known.type === type && sameFields(known.fields, fields)
			? known.result
			: schema.safeDecode(Object.fromEntries(fields) as never);
	cache.next.set(s.id, { type, fields, result });
	if (result.success) return valid ? result.data : undefined;
	for (const issue of result.error.issues) {
		const [option, item] = issue.path;
		const name = typeof option === "string" ? option : undefined;
		report(name, issue.message, lineOf(s, name, typeof item === "number" ? item : undefined));
	}
	return undefined;
}

/** A decoded forward section as the config holds it: with its id, and the globals' reflection unless it sets its own. */
function resolveForward(value: Forward, s: UciSection, globals: Globals): Config["forwards"][number] {
	return { ...value, ...(s.entries.has("reflection") ? {} : { reflection: globals.reflection }), id: s.id };
}

function sameFields(a: Fields, b: Fields): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) {
		const [name, value] = a[i] as Fields[number];
		const [otherName, other] = b[i] as Fields[number];
		if (name !== otherName) return false;
		if (typeof value === "string" || typeof other === "string") {
			if (value !== other) return false;
		} else if (value.length !== other.length || value.some((item, j) => item !== other[j])) return false;
	}
	return true;
}

/** Line of an option (of one item of a list), or of the section when the option is absent. */
function lineOf(s: UciSection, option?: string, item?: number): number {
	const entry: UciEntry | undefined = option === undefined ? undefined : s.entries.get(option);
	return entry?.items[item ?? 0]?.line ?? entry?.items[0]?.line ?? s.line;
}
