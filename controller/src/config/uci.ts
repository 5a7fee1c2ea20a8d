// A UCI file as a document: the sections and values libuci would see, plus every original byte.
// `toString()` of an unchanged document is the input, byte for byte. Edits return a new
// document; they rewrite only the lines they touch and keep comments, blank lines, unknown
// options, quoting and section order everywhere else.
import {
	type Arg,
	type Chunk,
	isUciName,
	isUciType,
	LineIndex,
	lexUci,
	type Same,
	type Statement,
	UciParseError,
} from "./uci-lexer";

export { UciParseError };

/** One value as written: its text, the line it starts on and the line it ends on. */
export type UciItem = { value: string; line: number; endLine: number };

/** An option's effective value: one string (`option`) or the items of a `list`. */
export type UciEntry = { kind: "option" | "list"; name: string; items: UciItem[] };

export type UciSection = {
	type: string;
	/** The name written in the file; undefined for an anonymous section. */
	name?: string;
	/** The name, or for an anonymous section the one libuci gives it (see autoSectionName). */
	id: string;
	/** Position among the sections of its type: `@type[index]` in uci's syntax. */
	index: number;
	/** Line of its (first) `config` line. */
	line: number;
	/** Lines of further `config` lines reopening the same name (libuci merges them). */
	reopenedAt: number[];
	/** Options in file order, with libuci's semantics (see readEntries). */
	entries: Map<string, UciEntry>;
};

/** The `@type[index]` or name by which uci and portrig's messages refer to a section. */
export function sectionLabel(s: Pick<UciSection, "type" | "name" | "index">): string {
	return s.name ?? `@${s.type}[${s.index}]`;
}

/**
 * libuci's name for the n-th (1-based) section of a package when that section is anonymous:
 * `cfg` + n as two or more hex digits + the low 16 bits of the djb2 hash of the section type
 * (uci_fixup_section in list.c). libuci names a section when it reads its `config` line, before
 * any option, so only the type enters the hash: `uci show -X` prints the same ids for an
 * unchanged file, and an anonymous section's id changes only when sections before it are added
 * or removed. `n` counts named sections too.
 */
export function autoSectionName(ordinal: number, type: string): string {
	let hash = 5381;
	for (const byte of new TextEncoder().encode(type)) hash = (Math.imul(hash, 33) + byte) >>> 0;
	return `cfg${ordinal.toString(16).padStart(2, "0")}${(hash & 0xffff).toString(16).padStart(4, "0")}`;
}

/**
 * A value as UCI text. Follows the style of `like` (the raw text of the value it replaces) when
 * given: double quotes stay double, a bare word stays bare if the new value needs no quoting;
 * otherwise libuci's export style, single quotes with ' written as '\''.
 */
export function quoteUci(value: string, like = "'"): string {
	if (like.startsWith('"')) return `"${value.replace(/[\\"]/g, "\\$&")}"`;
	if (!like.startsWith("'") && /^[^\s'"\\#;]+$/.test(value)) return value;
	return `'${value.replaceAll("'", "'\\''")}'`;
}

type Block = { header: Statement; options: Statement[] };
type SectionState = UciSection & { blocks: Block[] };

/**
 * The sections of `before` a new document can share: those wholly inside the leading chunks the
 * lexer kept (the same objects), up to the last section that starts there, which later lines
 * may extend; parsing resumes at that section's `config` line. Nothing is shared when `before`
 * has a reopened section (a later block could belong to a shared one).
 */
function keptSections(
	before: UciDocument,
	chunks: readonly Chunk[],
): { sections: SectionState[]; fromChunk: number } {
	const all = before.sections as readonly SectionState[];
	const none = { sections: [], fromChunk: 0 };
	if (all.some((s) => s.reopenedAt.length)) return none;
	let same = 0;
	while (same < chunks.length && chunks[same] === before.chunks[same]) same++;
	// The sections whose `config` line is in the kept chunks (in file order: binary search); the
	// last of them may go on.
	let open = 0;
	let hi = all.length;
	while (open < hi) {
		const mid = (open + hi) >> 1;
		if (before.chunkOf((all[mid] as SectionState).blocks[0]?.header as Statement) < same) open = mid + 1;
		else hi = mid;
	}
	if (open === 0) return none;
	const last = all[open - 1] as SectionState;
	return { sections: all.slice(0, open - 1), fromChunk: before.chunkOf(last.blocks[0]?.header as Statement) };
}

export class UciDocument {
	readonly sections: readonly UciSection[];
	/** `package NAME` when the file has one. */
	readonly package: string | undefined;
	private readonly byId: Map<string, SectionState> = new Map();
	private readonly eol: string;

	private constructor(
		readonly text: string,
		/** The text's lines with their statements (lexUci). */
		readonly chunks: readonly Chunk[],
		before?: UciDocument,
	) {
		this.eol = /\r?\n/.exec(text)?.[0] ?? "\n";
		const kept = before ? keptSections(before, chunks) : { sections: [], fromChunk: 0 };
		const sections: SectionState[] = kept.sections.slice();
		const perType = new Map<string, number>();
		for (const section of sections) perType.set(section.type, section.index + 1);
		if (before && sections.length) {
			// The earlier index less the sections not kept: a copy costs less than 10,000 insertions.
			this.byId = new Map(before.byId);
			for (const s of before.sections.slice(sections.length))
				if (this.byId.get(s.id) === s) this.byId.delete(s.id);
		}
		const fresh: SectionState[] = [];
		let current: SectionState | undefined;
		// `package` can only precede the first section: before fromChunk, unchanged.
		let pkg: string | undefined = kept.fromChunk > 0 ? before?.package : undefined;
		for (let i = kept.fromChunk; i < chunks.length; i++)
			for (const st of (chunks[i] as Chunk).statements) {
				if (st.keyword === "package") {
					if (sections.length) throw new UciParseError(st.line, "'package' after the first 'config' line");
					pkg = arg(st, 0).value;
				} else if (st.keyword === "config") {
					current = this.open(st, sections, perType, fresh);
				} else {
					current?.blocks.at(-1)?.options.push(st);
				}
			}
		// Needed only for values spanning lines (see readEntries): built when one shows up.
		let lines: LineIndex | undefined;
		const lineOf = (offset: number) => {
			lines ??= new LineIndex(text);
			return lines.lineOf(offset);
		};
		for (const s of fresh) s.entries = readEntries(s.blocks, text, lineOf);
		this.sections = sections;
		this.package = pkg;
	}

	/**
	 * Parses a text; given the document it was edited from (and, when known, the lengths of the
	 * start and end the two texts share), lexes only the lines that differ and keeps the
	 * sections that lie wholly before the first of them.
	 */
	static parse(text: string, before?: UciDocument, same?: Same): UciDocument {
		return new UciDocument(text, lexUci(text, before, same), before);
	}

	/** A `config` line: a new section, or libuci's reopening of a named one (same type only). */
	/** `fresh` collects the sections whose entries are still to be read. */
	private open(
		st: Statement,
		sections: SectionState[],
		perType: Map<string, number>,
		fresh: SectionState[],
	): SectionState {
		const type = arg(st, 0).value;
		const name = arg(st, 1).value || undefined;
		const existing = name === undefined ? undefined : this.byId.get(name);
		// libuci looks the name up among all sections, anonymous ones under their generated names.
		if (existing) {
			if (existing.type !== type)
				throw new UciParseError(
					st.line,
					`section '${name}' (type '${existing.type}', line ${existing.line}) is reopened with type '${type}'`,
				);
			// A copy: the section may be shared with the document this one was edited from.
			const reopened: SectionState = {
				...existing,
				reopenedAt: [...existing.reopenedAt, st.line],
				blocks: [...existing.blocks, { header: st, options: [] }],
			};
			sections[sections.indexOf(existing)] = reopened;
			this.byId.set(reopened.id, reopened);
			fresh.push(reopened);
			return reopened;
		}
		const index = perType.get(type) ?? 0;
		perType.set(type, index + 1);
		const section: SectionState = {
			type,
			name,
			id: name ?? autoSectionName(sections.length + 1, type),
			index,
			line: st.line,
			reopenedAt: [],
			entries: new Map(),
			blocks: [{ header: st, options: [] }],
		};
		sections.push(section);
		fresh.push(section);
		if (!this.byId.has(section.id)) this.byId.set(section.id, section);
		return section;
	}

	toString(): string {
		return this.text;
	}

	section(id: string): UciSection | undefined {
		return this.byId.get(id);
	}

	// ---- edits -------------------------------------------------------------------------------

	/** Sets a single-value option; null or "" removes it (libuci ignores empty options). */
	setOption(id: string, name: string, value: string | null): UciDocument {
		checkName(name);
		const doc = this.isolated(id);
		const s = doc.state(id);
		const statements = doc.statementsNamed(s, name);
		const edit = new Splice(doc);
		if (value === null || value === "") {
			for (const st of statements) edit.remove(doc.chunkIndex(st));
			return edit.build();
		}
		const entry = s.entries.get(name);
		if (entry?.kind === "option" && entry.items[0]?.value === value) return doc;
		const [first, ...rest] = statements;
		if (!first) {
			edit.insertAfter(doc.lastChunk(s), `${doc.indent(s)}option ${name} ${quoteUci(value)}`);
		} else {
			const line = first.keyword === "option" ? doc.withValue(first, value, true) : undefined;
			edit.replace(
				doc.chunkIndex(first),
				line ?? `${doc.indentOfChunk(first)}option ${name} ${quoteUci(value)}`,
			);
			for (const st of rest) edit.remove(doc.chunkIndex(st));
		}
		return edit.build();
	}

	/** Sets a list; items that stay keep their lines, and new ones copy a sibling's layout. */
	setList(id: string, name: string, values: readonly string[]): UciDocument {
		checkName(name);
		const doc = this.isolated(id);
		const s = doc.state(id);
		const statements = doc.statementsNamed(s, name);
		const edit = new Splice(doc);
		if (values.length === 0) {
			for (const st of statements) edit.remove(doc.chunkIndex(st));
			return edit.build();
		}
		const onlyLists = statements.every((st) => st.keyword === "list");
		const sibling = statements.find((st) => st.keyword === "list");
		const render = (value: string) =>
			(sibling && doc.withValue(sibling, value, false)) ?? `${doc.indent(s)}list ${name} ${quoteUci(value)}`;
		if (!onlyLists || statements.length === 0) {
			const text = values.map(render).join(doc.eol);
			const [first, ...rest] = statements;
			if (first) edit.replace(doc.chunkIndex(first), text);
			else edit.insertAfter(doc.lastChunk(s), text);
			for (const st of rest) edit.remove(doc.chunkIndex(st));
			return edit.build();
		}
		// Keep the longest common subsequence of old and new items; insert the others in place.
		const old = statements.map((st) => arg(st, 1).value);
		let anchor = doc.chunkIndex(statements[0] as Statement) - 1;
		for (const op of diff(old, values)) {
			if (op.kind === "insert") edit.insertAfter(anchor, render(op.value));
			else {
				anchor = doc.chunkIndex(statements[op.index] as Statement);
				if (op.kind === "delete") edit.remove(anchor);
			}
		}
		return edit.build();
	}

	addListItem(id: string, name: string, value: string): UciDocument {
		const current =
			this.state(id)
				.entries.get(name)
				?.items.map((i) => i.value) ?? [];
		return this.setList(id, name, [...current, value]);
	}

	/** Removes every item equal to `value` (as `uci del_list` does). */
	removeListItem(id: string, name: string, value: string): UciDocument {
		const current =
			this.state(id)
				.entries.get(name)
				?.items.map((i) => i.value) ?? [];
		return this.setList(
			id,
			name,
			current.filter((v) => v !== value),
		);
	}

	/** Appends a section at the end of the file; returns the new document and the section's id. */
	addSection(
		type: string,
		name: string | undefined,
		values: Record<string, string | readonly string[]>,
	): { document: UciDocument; id: string } {
		if (!isUciType(type)) throw new Error(`invalid section type '${type}'`);
		if (name !== undefined) {
			checkName(name);
			if (this.byId.has(name)) throw new Error(`section '${name}' exists already`);
		}
		const indent = this.anyIndent();
		const lines = [`config ${type}${name === undefined ? "" : ` '${name}'`}`];
		for (const [option, value] of Object.entries(values)) {
			checkName(option);
			if (typeof value === "string") {
				if (value !== "") lines.push(`${indent}option ${option} ${quoteUci(value)}`);
			} else for (const item of value) lines.push(`${indent}list ${option} ${quoteUci(item)}`);
		}
		const last = this.chunks.at(-1);
		const separate = last !== undefined && (last.statements.length > 0 || this.chunkText(last).trim() !== "");
		const edit = new Splice(this);
		edit.insertAfter(this.chunks.length - 1, [...(separate ? [""] : []), ...lines].join(this.eol));
		const document = edit.build();
		return { document, id: document.sections.at(-1)?.id ?? "" };
	}

	/**
	 * Removes a section: its `config` line, options, the comment lines right above it and right
	 * after its last option, and the blank lines that separated it from the next section.
	 */
	deleteSection(id: string): UciDocument {
		const doc = this.isolated(id);
		const s = doc.state(id);
		const edit = new Splice(doc);
		for (const block of s.blocks) {
			const [from, to] = doc.blockRange(block);
			for (let i = from; i < to; i++) edit.remove(i);
			if (to === doc.chunks.length) for (let i = from - 1; i >= 0 && doc.isBlank(i); i--) edit.remove(i);
		}
		return edit.build();
	}

	/** Gives a section a (new) name; an anonymous section becomes a named one. */
	renameSection(id: string, name: string): UciDocument {
		checkName(name);
		if (this.byId.has(name)) throw new Error(`section '${name}' exists already`);
		const doc = this.isolated(id);
		const s = doc.state(id);
		const edit = new Splice(doc);
		for (const { header } of s.blocks) {
			const i = doc.chunkIndex(header);
			const chunk = doc.chunks[i] as Chunk;
			const at = arg(header, 1);
			const [from, to] = at.end > at.start ? [at.start, at.end] : [arg(header, 0).end, arg(header, 0).end];
			const quoted = at.end > at.start ? `'${name}'` : ` '${name}'`;
			edit.replace(i, doc.text.slice(chunk.start, from) + quoted + doc.text.slice(to, chunk.end), true);
		}
		return edit.build();
	}

	// ---- helpers -----------------------------------------------------------------------------

	private state(id: string): SectionState {
		const s = this.byId.get(id);
		if (!s) throw new Error(`no section '${id}'`);
		return s;
	}

	/** Index of the chunk a statement of this document was read from. */
	chunkOf(st: Statement): number {
		return this.chunkIndex(st);
	}

	private chunkIndex(st: Statement): number {
		let lo = 0;
		let hi = this.chunks.length - 1;
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if ((this.chunks[mid] as Chunk).start <= st.start) lo = mid;
			else hi = mid - 1;
		}
		return lo;
	}

	private chunkText(chunk: Chunk): string {
		return this.text.slice(chunk.start, chunk.end);
	}

	private isBlank(i: number): boolean {
		const chunk = this.chunks[i];
		return chunk !== undefined && chunk.statements.length === 0 && this.chunkText(chunk).trim() === "";
	}

	private isComment(i: number): boolean {
		const chunk = this.chunks[i];
		return chunk !== undefined && chunk.statements.length === 0 && this.chunkText(chunk).trim() !== "";
	}

	private statementsNamed(s: SectionState, name: string): Statement[] {
		return s.blocks.flatMap((b) => b.options).filter((st) => arg(st, 0).value === name);
	}

	/** Chunk after which a new option of the section goes: its last statement's. */
	private lastChunk(s: SectionState): number {
		const block = s.blocks.at(-1) as Block;
		return this.chunkIndex(block.options.at(-1) ?? block.header);
	}

	private indentOfChunk(st: Statement): string {
		const chunk = this.chunks[this.chunkIndex(st)] as Chunk;
		return /^[ \t]*/.exec(this.chunkText(chunk))?.[0] ?? "";
	}

	/** Indentation of the section's options, else of any option in the file, else a tab. */
	private indent(s: SectionState): string {
		const first = s.blocks.flatMap((b) => b.options)[0];
		return first ? this.indentOfChunk(first) : this.anyIndent();
	}

	private anyIndent(): string {
		for (const chunk of this.chunks)
			for (const st of chunk.statements) if (st.keyword !== "config") return this.indentOfChunk(st);
		return "\t";
	}

	/**
	 * The statement's line with its value replaced (and with what follows the value, such as a
	 * comment, when `keepTail`), or undefined if it has no value text.
	 */
	private withValue(st: Statement, value: string, keepTail: boolean): string | undefined {
		const chunk = this.chunks[this.chunkIndex(st)] as Chunk;
		const at = arg(st, 1);
		if (at.end <= at.start) return undefined;
		const raw = this.text.slice(at.start, at.end);
		const tail = keepTail ? this.text.slice(at.end, chunk.end).replace(/\r?\n$/, "") : "";
		return this.text.slice(chunk.start, at.start) + quoteUci(value, raw) + tail;
	}

	/**
	 * The document with every chunk that holds a statement of this section alone on its line
	 * (`config a; option x 1` becomes two lines), so that edits can work line by line.
	 */
	private isolated(id: string): UciDocument {
		const s = this.state(id);
		const mine = s.blocks.flatMap((b) => [b.header, ...b.options]).map((st) => this.chunkIndex(st));
		const shared = [...new Set(mine)].filter((i) => (this.chunks[i]?.statements.length ?? 0) > 1);
		if (shared.length === 0) return this;
		const edit = new Splice(this);
		for (const i of shared) {
			const chunk = this.chunks[i] as Chunk;
			const indent = /^[ \t]*/.exec(this.chunkText(chunk))?.[0] || "\t";
			edit.replace(i, chunk.statements.map((st) => canonical(st, indent)).join(this.eol));
		}
		return edit.build();
	}

	/** [first, end) chunks of one `config` block, as deleteSection removes them. */
	private blockRange(block: Block): [number, number] {
		const headerChunk = this.chunkIndex(block.header);
		const last = this.chunkIndex(block.options.at(-1) ?? block.header);
		// From the block on, not from the top: this runs on every deletion of a big file.
		let next = -1;
		for (let i = last + 1; i < this.chunks.length && next === -1; i++)
			if ((this.chunks[i] as Chunk).statements.some((st) => st.keyword === "config")) next = i;
		const nextLead = next === -1 ? this.chunks.length : this.leadStart(next);
		let end = last + 1;
		while (end < nextLead && this.isComment(end)) end++;
		while (end < nextLead && this.isBlank(end)) end++;
		return [this.leadStart(headerChunk), end];
	}

	/** The comment lines directly above a `config` line belong to it, unless they open the file. */
	private leadStart(headerChunk: number): number {
		let i = headerChunk;
		while (i > 0 && this.isComment(i - 1)) i--;
		return i === 0 ? headerChunk : i;
	}
}

function arg(st: Statement, i: number): Arg {
	return st.args[i] ?? { value: "", start: st.start, end: st.start };
}

function checkName(name: string): void {
	if (!isUciName(name)) throw new Error(`invalid UCI name '${name}' (letters, digits and _ only)`);
}

function canonical(st: Statement, indent: string): string {
	const a = (i: number) => arg(st, i).value;
	switch (st.keyword) {
		case "package":
			return `package ${a(0)}`;
		case "config":
			return `config ${quoteUci(a(0), "")}${a(1) ? ` '${a(1)}'` : ""}`;
		default:
			return `${indent}${st.keyword} ${a(0)} ${quoteUci(a(1))}`;
	}
}

/**
 * Effective options of a section as libuci builds them: `option` with an empty value is
 * ignored; a later `option` replaces an earlier option or list (keeping its place); `list`
 * appends, turning an earlier single `option` into the list's first item.
 */
function readEntries(
	blocks: Block[],
	text: string,
	lineOf: (offset: number) => number,
): Map<string, UciEntry> {
	const entries = new Map<string, UciEntry>();
	for (const block of blocks)
		for (const st of block.options) {
			const name = arg(st, 0).value;
			const value = arg(st, 1);
			const last = Math.max(value.start, value.end - 1);
			const item: UciItem = {
				value: value.value,
				line: st.line,
				// Most values end on their statement's line: then no need to look the line up.
				endLine: last >= st.start && !hasLineBreak(text, st.start, last) ? st.line : lineOf(last),
			};
			const existing = entries.get(name);
			if (st.keyword === "option") {
				if (value.value !== "") entries.set(name, { kind: "option", name, items: [item] });
			} else if (!existing) entries.set(name, { kind: "list", name, items: [item] });
			else entries.set(name, { kind: "list", name, items: [...existing.items, item] });
		}
	return entries;
}

function hasLineBreak(text: string, from: number, to: number): boolean {
	for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) return true;
	return false;
}

type DiffOp = { kind: "keep" | "delete"; index: number } | { kind: "insert"; value: string };

/** Edit script from `a` to `b` keeping a longest common subsequence (lists are short). */
function diff(a: readonly string[], b: readonly string[]): DiffOp[] {
	const lcs = a.map(() => new Array<number>(b.length + 1).fill(0));
	lcs.push(new Array<number>(b.length + 1).fill(0));
	const at = (i: number, j: number) => lcs[i]?.[j] ?? 0;
	for (let i = a.length - 1; i >= 0; i--)
		for (let j = b.length - 1; j >= 0; j--)
			(lcs[i] as number[])[j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
	const ops: DiffOp[] = [];
	let i = 0;
	let j = 0;
	while (i < a.length || j < b.length) {
		if (i < a.length && j < b.length && a[i] === b[j]) {
			ops.push({ kind: "keep", index: i++ });
			j++;
		} else if (j < b.length && (i === a.length || at(i, j + 1) >= at(i + 1, j)))
			ops.push({ kind: "insert", value: b[j++] as string });
		else ops.push({ kind: "delete", index: i++ });
	}
	return ops;
}

/** Line-level changes to a document's chunks, applied at once by build(). */
class Splice {
	/** New text of the chunks changed so far ("" when removed); the others stay as they are. */
	private readonly pieces = new Map<number, string>();
	private readonly inserted = new Map<number, string[]>();
	constructor(private readonly base: UciDocument) {}

	private piece(i: number): string {
		const chunk = this.base.chunks[i];
		return this.pieces.get(i) ?? (chunk ? this.base.text.slice(chunk.start, chunk.end) : "");
	}

	/** Replaces a chunk by `text` (lines without their final newline unless `raw`). */
	replace(i: number, text: string, raw = false): void {
		const eol = /\r?\n$/.exec(this.piece(i))?.[0] ?? "";
		this.pieces.set(i, raw ? text : text + eol);
	}

	remove(i: number): void {
		this.pieces.set(i, "");
	}

	/** Adds lines after chunk i (-1: at the top), after any added there before. */
	insertAfter(i: number, text: string): void {
		const list = this.inserted.get(i) ?? [];
		list.push(text);
		this.inserted.set(i, list);
	}

	build(): UciDocument {
		const { text, chunks } = this.base;
		const eol = /\r?\n/.exec(text)?.[0] ?? "\n";
		let out = "";
		const add = (lines: string[] | undefined) => {
			for (const line of lines ?? []) {
				if (out !== "" && !out.endsWith("\n")) out += eol;
				out += line + eol;
			}
		};
		add(this.inserted.get(-1));
		// Chunks are contiguous: the unchanged ones between two changes go as one slice of the text.
		const changed = [...new Set([...this.pieces.keys(), ...this.inserted.keys()])]
			.filter((i) => i >= 0 && i < chunks.length)
			.sort((a, b) => a - b);
		// The chunks before the first change and after the last one are the same in both texts.
		const first = this.inserted.has(-1) ? 0 : (chunks[changed[0] ?? chunks.length]?.start ?? text.length);
		const after = chunks[(changed.at(-1) ?? chunks.length) + 1];
		let next = 0;
		for (const i of changed) {
			if (i > next) out += text.slice((chunks[next] as Chunk).start, (chunks[i] as Chunk).start);
			out += this.piece(i);
			add(this.inserted.get(i));
			next = i + 1;
		}
		if (next < chunks.length) out += text.slice((chunks[next] as Chunk).start);
		const same = { start: first, end: after ? text.length - after.start : 0 };
		return UciDocument.parse(out, this.base, same);
	}
}
