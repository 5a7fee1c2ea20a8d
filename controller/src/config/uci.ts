// A UCI file as a document: the sections and values libuci would see, plus every original byte.
// `toString()` of an unchanged document is the input, byte for byte. The document is its
// sections' excerpts in file order (uci-excerpt.ts); edits return a new document that shares
// every excerpt but the one or two they rewrite, so an edit costs what that section's lines
// cost, whatever the size of the file. Comments, blank lines, unknown options, quoting and
// section order are kept everywhere else.
import {
	type Block,
	blocksOf,
	type Excerpt,
	type Header,
	quoteUci,
	readEntries,
	Snippet,
	splitExcerpts,
	type UciEntry,
	type UciItem,
} from "./uci-excerpt";
import { UciParseError } from "./uci-lexer";

export { quoteUci, type UciEntry, type UciItem, UciParseError };

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

/** Where a section's (first) `config` line is: its header, which knows its excerpt. */
type Place = Header;

/** Changes of the id index from one document to one edited from it: [id, before, after]. */
type Diff = Array<[id: string, before: Place | undefined, after: Place | undefined]>;

/**
 * Section id → place, shared by a document and those edited from it and moved between them
 * (the last one asking has it; a step back or forth applies one edit's diff): an edit adds
 * or removes an id or two instead of copying 10,000. Irregular files (a section reopened, two
 * sections with one id) are looked up by reading all sections instead.
 */
class IdIndex {
	constructor(
		readonly map: Map<string, Place>,
		public owner: UciDocument,
		readonly irregular: boolean,
	) {}
}

let versions = 0;

/** What a streaming parse passes on for each section as it reads it. */
export type SectionVisitor = (section: UciSection, excerpt: Excerpt) => void;

export class UciDocument {
	private readonly version = ++versions;

	private constructor(
		/** The excerpts in file order: the file is their concatenation. */
		private readonly parts: readonly Excerpt[],
		/** `package NAME` when the file has one. */
		private readonly pkg: string | undefined,
		/** Sections (`config` lines less those reopening a name): the ordinal of the next one. */
		private readonly count: number,
		/** Anonymous sections: their ids move when a section before them comes or goes. */
		private readonly unnamed: number,
		private box: IdIndex | undefined,
		/** The document this one was edited from, and how their ids differ. */
		private readonly from: { version: number; diff: Diff } | undefined,
	) {}

	/**
	 * Parses a text, excerpt by excerpt. `visit` sees each section as it is read (all of its
	 * options): a reader that needs every section once holds no more than one at a time. A
	 * section reopened later is passed with its first block only: `irregular` then says so.
	 */
	static parse(text: string, visit?: SectionVisitor): UciDocument {
		const map = new Map<string, Place>();
		const parts: Excerpt[] = [];
		const perType = new Map<string, number>();
		let line = 1;
		let count = 0;
		let anonymous = 0;
		let irregular = false;
		const { pkg } = splitExcerpts(text, true, (excerpt, chunks) => {
			let blocks: Block[] | undefined;
			excerpt.headers.forEach((h, block) => {
				const at = line + h.line - 1;
				// libuci looks a name up among all sections, anonymous ones under their generated names.
				const existing = h.name === undefined ? undefined : map.get(h.name);
				if (existing) {
					if (existing.type !== h.type) {
						const first = startLine(parts, existing.excerpt) + existing.line - 1;
						throw new UciParseError(
							at,
							`section '${h.name}' (type '${existing.type}', line ${first}) is reopened with type '${h.type}'`,
						);
					}
					irregular = true;
					return;
				}
				count++;
				if (h.name === undefined) anonymous++;
				const id = h.name ?? autoSectionName(count, h.type);
				if (map.has(id)) irregular = true;
				else map.set(id, h);
				const index = perType.get(h.type) ?? 0;
				perType.set(h.type, index + 1);
				if (!visit) return;
				// The chunks are the whole text's: lines are the file's already.
				blocks ??= blocksOf(chunks);
				const entries = readEntries([{ blocks: [blocks[block] as Block], text, firstLine: 1 }]);
				visit({ type: h.type, name: h.name, id, index, line: at, reopenedAt: [], entries }, excerpt);
			});
			parts.push(excerpt);
			line += excerpt.breaks;
		});
		const doc = new UciDocument(parts, pkg, count, anonymous, undefined, undefined);
		doc.box = new IdIndex(map, doc, irregular);
		return doc;
	}

	/** The excerpts in file order. */
	get excerpts(): readonly Excerpt[] {
		return this.parts;
	}

	/** The package name, when the file has a `package` line. */
	get package(): string | undefined {
		return this.pkg;
	}

	/** True when a section is reopened or two share an id: a streaming parse saw only part of them. */
	get irregular(): boolean {
		return this.index().irregular;
	}

	toString(): string {
		let out = "";
		for (const e of this.parts) out += e.text;
		return out;
	}

	/** Every section, in file order (read again from the excerpts: costs what a parse costs). */
	get sections(): UciSection[] {
		type Gathered = UciSection & { parts: Array<{ blocks: Block[]; text: string; firstLine: number }> };
		const byId = new Map<string, Gathered>();
		const out: Gathered[] = [];
		const perType = new Map<string, number>();
		let line = 1;
		let ordinal = 0;
		for (const excerpt of this.parts) {
			const blocks = excerpt.headers.length ? excerpt.read().blocks : [];
			excerpt.headers.forEach((h, block) => {
				const part = { blocks: [blocks[block] as Block], text: excerpt.text, firstLine: line };
				const reopened = h.name === undefined ? undefined : byId.get(h.name);
				if (reopened) {
					reopened.reopenedAt.push(line + h.line - 1);
					reopened.parts.push(part);
					return;
				}
				ordinal++;
				const index = perType.get(h.type) ?? 0;
				perType.set(h.type, index + 1);
				const s: Gathered = {
					type: h.type,
					name: h.name,
					id: h.name ?? autoSectionName(ordinal, h.type),
					index,
					line: line + h.line - 1,
					reopenedAt: [],
					entries: new Map(),
					parts: [part],
				};
				if (!byId.has(s.id)) byId.set(s.id, s);
				out.push(s);
			});
			line += excerpt.breaks;
		}
		return out.map(({ parts, ...s }) => ({ ...s, entries: readEntries(parts) }));
	}

	/** One section by id: what `sections` holds for it, reading only its own excerpt. */
	section(id: string): UciSection | undefined {
		const index = this.index();
		if (index.irregular) return this.sections.find((s) => s.id === id);
		const h = index.map.get(id);
		if (!h) return undefined;
		const { excerpt, block } = h;
		const first = this.lineOf(excerpt);
		const blocks = excerpt.read().blocks;
		const parts = this.parts;
		return {
			type: h.type,
			name: h.name,
			id,
			// Only messages about anonymous sections need it: counted when asked for.
			get index() {
				return typeIndex(parts, h);
			},
			line: first + h.line - 1,
			reopenedAt: [],
			entries: readEntries([{ blocks: [blocks[block] as Block], text: excerpt.text, firstLine: first }]),
		};
	}

	/** True when the document has an anonymous section (whose id moves when one before it comes or goes). */
	get anonymous(): boolean {
		return this.unnamed > 0;
	}

	/** The excerpt of the section with this id (of its first block). */
	excerptOf(id: string): Excerpt | undefined {
		return this.index().map.get(id)?.excerpt;
	}

	/** True when the document has a section with this id. */
	has(id: string): boolean {
		const index = this.index();
		return index.map.has(id);
	}

	/** The type of the section with this id, if there is one. */
	typeOf(id: string): string | undefined {
		const place = this.index().map.get(id);
		return place?.type;
	}

	// ---- edits -------------------------------------------------------------------------------

	/** Sets a single-value option; null or "" removes it (libuci ignores empty options). */
	setOption(id: string, name: string, value: string | null): UciDocument {
		return this.edit(id, (snippet, block) => snippet.setOption(block, name, value));
	}

	/** Sets a list; items that stay keep their lines, and new ones copy a sibling's layout. */
	setList(id: string, name: string, values: readonly string[]): UciDocument {
		return this.edit(id, (snippet, block) => snippet.setList(block, name, values));
	}

	addListItem(id: string, name: string, value: string): UciDocument {
		return this.setList(id, name, [...this.values(id, name), value]);
	}

	/** Removes every item equal to `value` (as `uci del_list` does). */
	removeListItem(id: string, name: string, value: string): UciDocument {
		return this.setList(
			id,
			name,
			this.values(id, name).filter((v) => v !== value),
		);
	}

	/** Appends a section at the end of the file; returns the new document and the section's id. */
	addSection(
		type: string,
		name: string | undefined,
		values: Record<string, string | readonly string[]>,
	): { document: UciDocument; id: string } {
		if (name !== undefined && this.has(name)) throw new Error(`section '${name}' exists already`);
		const last = this.parts.length - 1;
		const snippet = this.snippet(Math.max(0, last), this.parts.length);
		const document = this.replaced(
			Math.max(0, last),
			this.parts.length,
			snippet.addSection(type, name, values),
		);
		return { document, id: name ?? autoSectionName(this.count + 1, type) };
	}

	/**
	 * Removes a section: its `config` line, options, the comment lines right above it and right
	 * after its last option, and the blank lines that separated it from the next section.
	 */
	deleteSection(id: string): UciDocument {
		// The excerpt before is edited too: what is left of the section's own (a comment after a
		// blank line) or, at the end of the file, the blank lines above it belong to that one.
		return this.edit(id, (snippet, block) => snippet.deleteSection(block), 1);
	}

	/** Gives a section a (new) name; an anonymous section becomes a named one. */
	renameSection(id: string, name: string): UciDocument {
		if (this.has(name)) throw new Error(`section '${name}' exists already`);
		return this.edit(id, (snippet, block) => snippet.renameSection(block, name));
	}

	// ---- helpers -----------------------------------------------------------------------------

	private values(id: string, name: string): string[] {
		const section = this.section(id);
		if (!section) throw new Error(`no section '${id}'`);
		return section.entries.get(name)?.items.map((i) => i.value) ?? [];
	}

	/** The id index, taken over from the document that has it (or built). */
	private index(): IdIndex {
		const box = this.box;
		if (box && box.owner !== this) {
			const owner = box.owner;
			if (owner.from?.version === this.version) {
				for (const [id, before] of [...owner.from.diff].reverse()) put(box.map, id, before);
				box.owner = this;
			} else if (this.from?.version === owner.version) {
				for (const [id, , after] of this.from.diff) put(box.map, id, after);
				box.owner = this;
			} else this.box = undefined;
		}
		this.box ??= this.build();
		return this.box;
	}

	private build(): IdIndex {
		const map = new Map<string, Place>();
		let irregular = false;
		let ordinal = 0;
		for (const excerpt of this.parts)
			for (const h of excerpt.headers) {
				if (h.name !== undefined && map.has(h.name)) {
					irregular = true;
					continue;
				}
				ordinal++;
				const id = h.name ?? autoSectionName(ordinal, h.type);
				if (map.has(id)) irregular = true;
				else map.set(id, h);
			}
		return new IdIndex(map, this, irregular);
	}

	private lineOf(excerpt: Excerpt): number {
		return startLine(this.parts, excerpt);
	}

	/** A snippet of excerpts [from, to). */
	private snippet(from: number, to: number): Snippet {
		let text = "";
		for (let i = from; i < to; i++) text += (this.parts[i] as Excerpt).text;
		return new Snippet(text, { fileStart: from === 0, fileEnd: to === this.parts.length }, () =>
			this.anyIndent(),
		);
	}

	/** Indentation of the file's first option, else a tab. */
	private anyIndent(): string {
		for (const excerpt of this.parts) {
			const { chunks } = excerpt.read();
			for (const chunk of chunks)
				for (const st of chunk.statements)
					if (st.keyword !== "config" && st.keyword !== "package")
						return /^[ \t]*/.exec(excerpt.text.slice(chunk.start, chunk.end))?.[0] ?? "";
		}
		return "\t";
	}

	/**
	 * Edits section `id` in a snippet of its excerpt (and of the `before` excerpts before it).
	 * A section reopened elsewhere is edited in a snippet of everything from its first block to
	 * its last.
	 */
	private edit(id: string, change: (snippet: Snippet, block: number) => string, before = 0): UciDocument {
		const index = this.index();
		const place = index.map.get(id);
		if (!place) throw new Error(`no section '${id}'`);
		let at = this.parts.indexOf(place.excerpt);
		let to = at + 1;
		if (index.irregular) {
			// Every block of its name: those reopening it come later in the file.
			const name = place.name;
			if (name !== undefined)
				this.parts.forEach((e, i) => {
					if (e.headers.some((h) => h.name === name)) to = i + 1;
				});
		}
		const from = Math.max(0, at - before);
		let block = place.block;
		for (let i = from; i < at; i++) block += (this.parts[i] as Excerpt).headers.length;
		at = from;
		const snippet = this.snippet(at, to);
		const text = change(snippet, block);
		return text === snippet.text ? this : this.replaced(at, to, text);
	}

	/** The document with excerpts [from, to) replaced by those of `text`. */
	private replaced(from: number, to: number, text: string): UciDocument {
		const { excerpts } = splitExcerpts(text, from === 0);
		// Not a spread: spreading 10,000 excerpts costs more than the rest of an edit.
		const parts = this.parts.toSpliced(from, to - from, ...excerpts);
		const removed = this.parts.slice(from, to);
		const index = this.index();
		const headersBefore = (list: readonly Excerpt[]) => list.reduce((n, e) => n + e.headers.length, 0);
		const oldCount = headersBefore(removed);
		const newCount = headersBefore(excerpts);
		const anonymous = this.unnamed + anonymousIn(excerpts) - anonymousIn(removed);
		// Ids move when the sections before an anonymous one change in number: the index of the
		// new document is then built again (a file edited through the API has named sections).
		const moved = oldCount !== newCount && (this.unnamed > 0 || anonymous > 0);
		if (index.irregular || moved)
			return new UciDocument(
				parts,
				this.pkg,
				this.count + newCount - oldCount,
				anonymous,
				undefined,
				undefined,
			);
		// Ordinals of the window's sections: only anonymous ones need them.
		const base = this.unnamed ? headersBefore(this.parts.slice(0, from)) : 0;
		const diff: Diff = [];
		const headers = (list: readonly Excerpt[]) => list.flatMap((excerpt) => excerpt.headers);
		headers(removed).forEach((h, k) => {
			const id = h.name ?? autoSectionName(base + k + 1, h.type);
			diff.push([id, index.map.get(id), undefined]);
		});
		headers(excerpts).forEach((h, k) => {
			const id = h.name ?? autoSectionName(base + k + 1, h.type);
			const previous = diff.find(([old]) => old === id);
			if (previous) previous[2] = h;
			else diff.push([id, index.map.get(id), h]);
		});
		return new UciDocument(parts, this.pkg, this.count + newCount - oldCount, anonymous, this.box, {
			version: this.version,
			diff,
		});
	}
}

function put(map: Map<string, Place>, id: string, place: Place | undefined): void {
	if (place) map.set(id, place);
	else map.delete(id);
}

function anonymousIn(list: readonly Excerpt[]): number {
	let n = 0;
	for (const e of list) for (const h of e.headers) if (h.name === undefined) n++;
	return n;
}

/** File line of an excerpt's first line: a sum over the excerpts before it (no allocation). */
function startLine(parts: readonly Excerpt[], excerpt: Excerpt): number {
	let line = 1;
	for (let i = 0; i < parts.length && parts[i] !== excerpt; i++) line += (parts[i] as Excerpt).breaks;
	return line;
}

/** Position of a section among those of its type. */
function typeIndex(parts: readonly Excerpt[], place: Place): number {
	let index = 0;
	for (const e of parts)
		for (const h of e.headers) {
			if (h === place) return index;
			if (h.type === place.type) index++;
		}
	return index;
}
