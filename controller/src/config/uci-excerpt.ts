// A UCI file cut into excerpts, one per section: the lines from the comments right above its
// `config` line up to those above the next section's. A file is the concatenation of its
// excerpts (the lines before the first section make one without a section), so an edit of one
// section rewrites its excerpt and leaves every other one, byte for byte and as the same
// object. An excerpt holds its text and what its `config` lines say; its options are lexed
// again from that text when asked for, which costs little for a few lines and keeps a big
// file's memory to its text.
//
// Editing works on a snippet: the text of one excerpt or of a few neighbouring ones, lexed into
// chunks, changed line by line (only the lines it touches), and split into excerpts again.
import {
	type Arg,
	type Chunk,
	isUciName,
	isUciType,
	LineIndex,
	lexUci,
	own,
	readChunks,
	type Statement,
	UciParseError,
} from "./uci-lexer";

/** What a `config` line says: the section's type, its name if one is written, its line in the excerpt (1-based). */
type HeaderLine = { readonly type: string; readonly name: string | undefined; readonly line: number };

/** A `config` line of an excerpt, which it knows (a document's ids lead to their section's header). */
export type Header = HeaderLine & {
	readonly excerpt: Excerpt;
	/** Its position among the excerpt's headers. */
	readonly block: number;
};

export class Excerpt {
	/** Its `config` lines: one, none (the lines before the first section), or several written on one line. */
	readonly headers: readonly Header[];

	constructor(
		readonly text: string,
		/** Line breaks in the text: the next excerpt starts that many lines further down. */
		readonly breaks: number,
		headers: readonly HeaderLine[],
	) {
		this.headers = headers.map((h, block) => ({ ...h, excerpt: this, block }));
	}

	/** The excerpt's chunks, statements grouped into the blocks its `config` lines open. */
	read(): { chunks: Chunk[]; blocks: Block[] } {
		const chunks = lexUci(this.text);
		return { chunks, blocks: blocksOf(chunks) };
	}
}

/** A `config` statement and the statements after it up to the next one. */
export type Block = { header: Statement; options: Statement[] };

export function blocksOf(chunks: readonly Chunk[]): Block[] {
	const blocks: Block[] = [];
	for (const chunk of chunks)
		for (const st of chunk.statements)
			if (st.keyword === "config") blocks.push({ header: st, options: [] });
			else if (st.keyword !== "package") blocks.at(-1)?.options.push(st);
	return blocks;
}

/** One value as written: its text, the line it starts on and the line it ends on. */
export type UciItem = { value: string; line: number; endLine: number };

/** An option's effective value: one string (`option`) or the items of a `list`. */
export type UciEntry = { kind: "option" | "list"; name: string; items: UciItem[] };

/**
 * Effective options of a section as libuci builds them: `option` with an empty value is
 * ignored; a later `option` replaces an earlier option or list (keeping its place); `list`
 * appends, turning an earlier single `option` into the list's first item. `parts` are the
 * section's blocks with the text they were read from and the file line of that text's start.
 */
export function readEntries(
	parts: ReadonlyArray<{ blocks: readonly Block[]; text: string; firstLine: number }>,
): Map<string, UciEntry> {
	const entries = new Map<string, UciEntry>();
	for (const { blocks, text, firstLine } of parts) {
		// Needed only for values spanning lines: built when one shows up.
		let lines: LineIndex | undefined;
		const shift = firstLine - 1;
		for (const block of blocks)
			for (const st of block.options) {
				const name = arg(st, 0).value;
				const value = arg(st, 1);
				const last = Math.max(value.start, value.end - 1);
				// Most values end on their statement's line: then no need to look the line up.
				let endLine = st.line;
				if (last >= st.start && hasLineBreak(text, st.start, last)) {
					lines ??= new LineIndex(text);
					endLine = lines.lineOf(last);
				}
				const item: UciItem = { value: value.value, line: st.line + shift, endLine: endLine + shift };
				const existing = entries.get(name);
				if (st.keyword === "option") {
					if (value.value !== "") entries.set(name, { kind: "option", name, items: [item] });
				} else if (!existing) entries.set(name, { kind: "list", name, items: [item] });
				else entries.set(name, { kind: "list", name, items: [...existing.items, item] });
			}
	}
	return entries;
}

function hasLineBreak(text: string, from: number, to: number): boolean {
	for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) return true;
	return false;
}

export function arg(st: Statement, i: number): Arg {
	return st.args[i] ?? { value: "", start: st.start, end: st.start };
}

const isBlankChunk = (text: string, c: Chunk) =>
	c.statements.length === 0 && text.slice(c.start, c.end).trim() === "";
const isCommentChunk = (text: string, c: Chunk) =>
	c.statements.length === 0 && text.slice(c.start, c.end).trim() !== "";

/**
 * Cuts a text into excerpts, reading it chunk by chunk. An excerpt starts at a line whose first
 * statement is `config`, or at the comment lines right above it (not when they open the file:
 * `atFileStart` says the text does). `package` may come only before the first section. `each`
 * sees every excerpt with its chunks (offsets and lines of the whole text) as it is cut.
 */
export function splitExcerpts(
	text: string,
	atFileStart: boolean,
	each?: (excerpt: Excerpt, chunks: readonly Chunk[]) => void,
): { excerpts: Excerpt[]; pkg?: string } {
	const excerpts: Excerpt[] = [];
	let pkg: string | undefined;
	let chunks: Chunk[] = [];
	/** Index in `chunks` where the comment lines right above the next `config` line would start. */
	let lead = 0;
	let seenConfig = false;
	const emit = (to: number) => {
		if (to === 0) return;
		const taken = chunks.slice(0, to);
		chunks = chunks.slice(to);
		const excerpt = excerptOf(text, taken);
		excerpts.push(excerpt);
		each?.(excerpt, taken);
	};
	for (const chunk of readChunks(text)) {
		if (chunk.statements[0]?.keyword === "config") {
			const opensFile = atFileStart && lead === 0 && excerpts.length === 0;
			emit(opensFile ? chunks.length : lead);
			lead = 0;
		}
		for (const st of chunk.statements)
			if (st.keyword === "config") seenConfig = true;
			else if (st.keyword === "package") {
				if (seenConfig) throw new UciParseError(st.line, "'package' after the first 'config' line");
				pkg = arg(st, 0).value;
			}
		chunks.push(chunk);
		if (!isCommentChunk(text, chunk)) lead = chunks.length;
	}
	emit(chunks.length);
	return pkg === undefined ? { excerpts } : { excerpts, pkg };
}

/** The excerpt made of `chunks` (a run of the text's chunks). */
function excerptOf(text: string, chunks: readonly Chunk[]): Excerpt {
	const first = chunks[0] as Chunk;
	const lineBase = first.line - 1;
	const headers: HeaderLine[] = [];
	for (const c of chunks)
		for (const st of c.statements)
			if (st.keyword === "config")
				headers.push({
					type: arg(st, 0).value,
					name: arg(st, 1).value || undefined,
					line: st.line - lineBase,
				});
	const excerptText = own(text.slice(first.start, (chunks.at(-1) as Chunk).end));
	return new Excerpt(excerptText, newlines(excerptText), headers);
}

function newlines(text: string): number {
	let n = 0;
	for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
	return n;
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

export function checkName(name: string): void {
	if (!isUciName(name)) throw new Error(`invalid UCI name '${name}' (letters, digits and _ only)`);
}

/**
 * The text of a few neighbouring excerpts, for editing one section in it: its `config` blocks
 * are numbered from 0 in the snippet. Edits return the snippet's new text; they rewrite only
 * the lines they touch. A named section's blocks are all the blocks of that name (libuci merges
 * a section reopened under its name).
 */
export class Snippet {
	private readonly chunks: Chunk[];
	private readonly blocks: Block[];
	private readonly eol: string;

	constructor(
		readonly text: string,
		/** Where the snippet sits in the file: comments that open the file belong to no section, blank lines at its end to none. */
		private readonly at: { fileStart: boolean; fileEnd: boolean },
		/** Indentation for options of a section that has none (that of the file's first option). */
		private readonly fileIndent: () => string,
	) {
		this.chunks = lexUci(text);
		this.blocks = blocksOf(this.chunks);
		this.eol = /\r?\n/.exec(text)?.[0] ?? "\n";
	}

	/** Sets a single-value option; null or "" removes it (libuci ignores empty options). */
	setOption(block: number, name: string, value: string | null): string {
		checkName(name);
		const snippet = this.isolated(block);
		if (snippet !== this) return snippet.setOption(block, name, value);
		const blocks = this.sectionBlocks(block);
		const statements = this.statementsNamed(blocks, name);
		const edit = new Splice(this);
		if (value === null || value === "") {
			for (const st of statements) edit.remove(this.chunkIndex(st));
			return edit.build();
		}
		const entry = readEntries([{ blocks, text: this.text, firstLine: 1 }]).get(name);
		if (entry?.kind === "option" && entry.items[0]?.value === value) return this.text;
		const [first, ...rest] = statements;
		if (!first) {
			edit.insertAfter(this.lastChunk(blocks), `${this.indent(blocks)}option ${name} ${quoteUci(value)}`);
		} else {
			const line = first.keyword === "option" ? this.withValue(first, value, true) : undefined;
			edit.replace(
				this.chunkIndex(first),
				line ?? `${this.indentOfChunk(first)}option ${name} ${quoteUci(value)}`,
			);
			for (const st of rest) edit.remove(this.chunkIndex(st));
		}
		return edit.build();
	}

	/** Sets a list; items that stay keep their lines, and new ones copy a sibling's layout. */
	setList(block: number, name: string, values: readonly string[]): string {
		checkName(name);
		const snippet = this.isolated(block);
		if (snippet !== this) return snippet.setList(block, name, values);
		const blocks = this.sectionBlocks(block);
		const statements = this.statementsNamed(blocks, name);
		const edit = new Splice(this);
		if (values.length === 0) {
			for (const st of statements) edit.remove(this.chunkIndex(st));
			return edit.build();
		}
		const onlyLists = statements.every((st) => st.keyword === "list");
		const sibling = statements.find((st) => st.keyword === "list");
		const render = (value: string) =>
			(sibling && this.withValue(sibling, value, false)) ??
			`${this.indent(blocks)}list ${name} ${quoteUci(value)}`;
		if (!onlyLists || statements.length === 0) {
			const text = values.map(render).join(this.eol);
			const [first, ...rest] = statements;
			if (first) edit.replace(this.chunkIndex(first), text);
			else edit.insertAfter(this.lastChunk(blocks), text);
			for (const st of rest) edit.remove(this.chunkIndex(st));
			return edit.build();
		}
		// Keep the longest common subsequence of old and new items; insert the others in place.
		const old = statements.map((st) => arg(st, 1).value);
		let anchor = this.chunkIndex(statements[0] as Statement) - 1;
		for (const op of diff(old, values)) {
			if (op.kind === "insert") edit.insertAfter(anchor, render(op.value));
			else {
				anchor = this.chunkIndex(statements[op.index] as Statement);
				if (op.kind === "delete") edit.remove(anchor);
			}
		}
		return edit.build();
	}

	/** Appends a section at the end, after a blank line unless the snippet ends with one. */
	addSection(
		type: string,
		name: string | undefined,
		values: Record<string, string | readonly string[]>,
	): string {
		if (!isUciType(type)) throw new Error(`invalid section type '${type}'`);
		if (name !== undefined) checkName(name);
		const indent = this.fileIndent();
		const lines = [`config ${type}${name === undefined ? "" : ` '${name}'`}`];
		for (const [option, value] of Object.entries(values)) {
			checkName(option);
			if (typeof value === "string") {
				if (value !== "") lines.push(`${indent}option ${option} ${quoteUci(value)}`);
			} else for (const item of value) lines.push(`${indent}list ${option} ${quoteUci(item)}`);
		}
		const last = this.chunks.at(-1);
		const separate = last !== undefined && !isBlankChunk(this.text, last);
		const edit = new Splice(this);
		edit.insertAfter(this.chunks.length - 1, [...(separate ? [""] : []), ...lines].join(this.eol));
		return edit.build();
	}

	/**
	 * Removes a section: its `config` line, options, the comment lines right above it and right
	 * after its last option, and the blank lines that separated it from the next section (or,
	 * at the end of the file, from the one before).
	 */
	deleteSection(block: number): string {
		const snippet = this.isolated(block);
		if (snippet !== this) return snippet.deleteSection(block);
		const edit = new Splice(this);
		for (const b of this.sectionBlocks(block)) {
			const [from, to] = this.blockRange(b);
			for (let i = from; i < to; i++) edit.remove(i);
			if (to === this.chunks.length && this.at.fileEnd)
				for (let i = from - 1; i >= 0 && this.isBlank(i); i--) edit.remove(i);
		}
		return edit.build();
	}

	/** Gives a section a (new) name; an anonymous section becomes a named one. */
	renameSection(block: number, name: string): string {
		checkName(name);
		const snippet = this.isolated(block);
		if (snippet !== this) return snippet.renameSection(block, name);
		const edit = new Splice(this);
		for (const { header } of this.sectionBlocks(block)) {
			const i = this.chunkIndex(header);
			const chunk = this.chunks[i] as Chunk;
			const at = arg(header, 1);
			const [from, to] = at.end > at.start ? [at.start, at.end] : [arg(header, 0).end, arg(header, 0).end];
			const quoted = at.end > at.start ? `'${name}'` : ` '${name}'`;
			edit.replace(i, this.text.slice(chunk.start, from) + quoted + this.text.slice(to, chunk.end), true);
		}
		return edit.build();
	}

	// ---- helpers -----------------------------------------------------------------------------

	/** The blocks of the section that block `n` opens: all those of its name when it has one. */
	private sectionBlocks(n: number): Block[] {
		const block = this.blocks[n];
		if (!block) throw new Error(`no block ${n} in the snippet`);
		const name = arg(block.header, 1).value;
		return name ? this.blocks.filter((b) => arg(b.header, 1).value === name) : [block];
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

	chunkText(i: number): string {
		const chunk = this.chunks[i];
		return chunk ? this.text.slice(chunk.start, chunk.end) : "";
	}

	get chunkCount(): number {
		return this.chunks.length;
	}

	private isBlank(i: number): boolean {
		const chunk = this.chunks[i];
		return chunk !== undefined && isBlankChunk(this.text, chunk);
	}

	private isComment(i: number): boolean {
		const chunk = this.chunks[i];
		return chunk !== undefined && isCommentChunk(this.text, chunk);
	}

	private statementsNamed(blocks: Block[], name: string): Statement[] {
		return blocks.flatMap((b) => b.options).filter((st) => arg(st, 0).value === name);
	}

	/** Chunk after which a new option of the section goes: its last statement's. */
	private lastChunk(blocks: Block[]): number {
		const block = blocks.at(-1) as Block;
		return this.chunkIndex(block.options.at(-1) ?? block.header);
	}

	private indentOfChunk(st: Statement): string {
		return /^[ \t]*/.exec(this.chunkText(this.chunkIndex(st)))?.[0] ?? "";
	}

	/** Indentation of the section's options, else of the file's. */
	private indent(blocks: Block[]): string {
		const first = blocks.flatMap((b) => b.options)[0];
		return first ? this.indentOfChunk(first) : this.fileIndent();
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
	 * The snippet with every chunk that holds a statement of this section and others alone on its
	 * line (`config a; option x 1` becomes two lines), so that edits can work line by line.
	 */
	private isolated(block: number): Snippet {
		const mine = this.sectionBlocks(block)
			.flatMap((b) => [b.header, ...b.options])
			.map((st) => this.chunkIndex(st));
		const shared = [...new Set(mine)].filter((i) => (this.chunks[i]?.statements.length ?? 0) > 1);
		if (shared.length === 0) return this;
		const edit = new Splice(this);
		for (const i of shared) {
			const chunk = this.chunks[i] as Chunk;
			const indent = /^[ \t]*/.exec(this.chunkText(i))?.[0] || "\t";
			edit.replace(i, chunk.statements.map((st) => canonical(st, indent)).join(this.eol));
		}
		return new Snippet(edit.build(), this.at, this.fileIndent);
	}

	/** [first, end) chunks of one `config` block, as deleteSection removes them. */
	private blockRange(block: Block): [number, number] {
		const headerChunk = this.chunkIndex(block.header);
		const last = this.chunkIndex(block.options.at(-1) ?? block.header);
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
		return i === 0 && this.at.fileStart ? headerChunk : i;
	}
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

/** Line-level changes to a snippet's chunks, applied at once by build(). */
class Splice {
	/** New text of the chunks changed so far ("" when removed); the others stay as they are. */
	private readonly pieces = new Map<number, string>();
	private readonly inserted = new Map<number, string[]>();
	constructor(private readonly base: Snippet) {}

	private piece(i: number): string {
		return this.pieces.get(i) ?? this.base.chunkText(i);
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

	build(): string {
		const { text } = this.base;
		const eol = /\r?\n/.exec(text)?.[0] ?? "\n";
		let out = "";
		const add = (lines: string[] | undefined) => {
			for (const line of lines ?? []) {
				if (out !== "" && !out.endsWith("\n")) out += eol;
				out += line + eol;
			}
		};
		add(this.inserted.get(-1));
		for (let i = 0; i < this.base.chunkCount; i++) {
			out += this.piece(i);
			add(this.inserted.get(i));
		}
		return out;
	}
}
