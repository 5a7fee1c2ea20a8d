// The UCI file syntax, read the way libuci reads it (openwrt/uci file.c), so that portrig sees
// exactly the values `uci get` sees. libuci decodes each input line in place in a mutable
// buffer: a token's terminating NUL is written where its decoded text ends, which can swallow
// the character that stopped it (`config a;option x 1` silently drops everything after `a`).
// Reproducing that quirk needs the same buffer model, so this lexer keeps one: `buf` holds the
// characters of the physical line(s) being read, `src` the text offset each one came from (for
// spans and line numbers), and "\0" marks an end like C's NUL.
//
// What it returns keeps every byte: the text is cut into chunks (one per physical line, or
// several lines when a quoted value or a backslash continues onto the next), each with the
// statements it holds and, for each argument, its raw span in the text.

export class UciParseError extends Error {
	constructor(
		readonly line: number,
		readonly reason: string,
	) {
		super(`line ${line}: ${reason}`);
		this.name = "UciParseError";
	}
}

/** One argument: its decoded value and the raw text span it was read from ([start, end)). */
export type Arg = { value: string; start: number; end: number };

export type Keyword = "package" | "config" | "option" | "list";

/**
 * `package NAME`, `config TYPE [NAME]`, `option NAME [VALUE]` or `list NAME [VALUE]`.
 * `args` holds NAME / TYPE, NAME / NAME, VALUE in that order; an absent one has value "" and
 * an empty span.
 */
export type Statement = { keyword: Keyword; args: Arg[]; start: number; line: number };

/** A run of whole lines [start, end) of the text and the statements read from it. */
export type Chunk = { start: number; end: number; statements: Statement[] };

const NUL = "\0";
const KEYWORDS: Record<string, Keyword> = {
	p: "package",
	package: "package",
	c: "config",
	config: "config",
	o: "option",
	option: "option",
	l: "list",
	list: "list",
};

/** C's isspace() in the "C" locale. */
const isSpace = (c: string) =>
	c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
/** libuci's name check: option and section names are [A-Za-z0-9_]; package names also allow '-'. */
export function isUciName(s: string, allowDash = false): boolean {
	return (allowDash ? /^[A-Za-z0-9_-]+$/ : /^[A-Za-z0-9_]+$/).test(s);
}

/** libuci's type check: any printable ASCII except space. */
export function isUciType(s: string): boolean {
	return /^[\x21-\x7e]+$/.test(s);
}

/** The line numbers of a text: 1-based line of any offset. */
export class LineIndex {
	private readonly starts: number[] = [0];
	constructor(text: string) {
		for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
	}
	lineOf(offset: number): number {
		let lo = 0;
		let hi = this.starts.length - 1;
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if ((this.starts[mid] ?? 0) <= offset) lo = mid;
			else hi = mid - 1;
		}
		return lo + 1;
	}
}

class LineReader {
	buf: string[] = [];
	src: number[] = [];
	pos = 0;
	/** Text offset where the next physical line starts. */
	next: number;
	constructor(
		readonly text: string,
		start: number,
		readonly lines: LineIndex,
	) {
		this.next = start;
	}

	char(i: number): string {
		return this.buf[i] ?? NUL;
	}
	get cur(): string {
		return this.char(this.pos);
	}
	set cur(c: string) {
		this.buf[this.pos] = c;
	}
	/** Text offset of a buffer position; the end of what was read for positions past the buffer. */
	offset(i: number): number {
		return this.src[i] ?? this.next;
	}
	lineHere(): number {
		return this.lines.lineOf(Math.min(this.offset(this.pos), Math.max(0, this.text.length - 1)));
	}
	fail(reason: string, line = this.lineHere()): never {
		throw new UciParseError(line, reason);
	}

	/** Reads the next physical line into the buffer at `at`, dropping what was there (uci_getln). */
	getln(at: number): void {
		this.buf.length = at;
		this.src.length = at;
		if (this.next >= this.text.length) return;
		const nl = this.text.indexOf("\n", this.next);
		const end = nl === -1 ? this.text.length : nl + 1;
		for (let i = this.next; i < end; i++) {
			this.buf.push(this.text[i] as string);
			this.src.push(i);
		}
		this.next = end;
	}

	/** The C string starting at `i`. */
	stringAt(i: number): string {
		const end = this.buf.indexOf(NUL, i);
		return this.buf.slice(i, end === -1 ? undefined : end).join("");
	}

	skipWhitespace(): void {
		while (this.cur !== NUL && isSpace(this.cur)) this.pos++;
	}

	/** After a backslash: true when the next character is to be taken literally (parse_backslash). */
	backslash(): boolean {
		this.pos++;
		const c = this.cur;
		if (
			c === NUL ||
			c === "\n" ||
			(c === "\r" && this.char(this.pos + 1) === "\n" && this.char(this.pos + 2) === NUL)
		) {
			this.getln(this.pos);
			return false;
		}
		return true;
	}

	quoted(target: { at: number }, quote: string): void {
		const opened = this.lineHere();
		this.pos++;
		for (;;) {
			const c = this.cur;
			if (c === quote) {
				this.pos++;
				return;
			}
			if (c === NUL) {
				this.getln(this.pos);
				if (this.cur === NUL)
					this.fail(
						`unterminated ${quote} quote: the value opened on line ${opened} runs to the end of the file`,
						opened,
					);
				continue;
			}
			if (c === "\\" && quote === '"' && !this.backslash()) continue;
			this.buf[target.at++] = this.cur;
			this.pos++;
		}
	}

	/** One argument, unquoted and quoted parts run together (parse_str); returns where it ends. */
	str(target: { at: number }): number {
		let next = true;
		do {
			const c = this.cur;
			if (c === "'" || c === '"') {
				this.quoted(target, c);
				continue;
			}
			if (c === "#") {
				this.cur = NUL;
				break;
			}
			if (c === NUL) break;
			if (c === ";") {
				next = false;
				break;
			}
			if (c === "\\" && !this.backslash()) continue;
			this.buf[target.at++] = this.cur;
			this.pos++;
		} while (this.cur !== NUL && !isSpace(this.cur));
		const end = this.offset(this.pos);
		if (this.cur !== NUL && next) this.pos++;
		this.buf[target.at] = NUL;
		return end;
	}

	/** The next argument (next_arg); "" when there is none. */
	arg(required: string | undefined): Arg {
		this.skipWhitespace();
		const val = this.pos;
		const start = this.offset(val);
		let end = start;
		if (this.cur === ";") {
			this.cur = NUL;
			this.pos++;
		} else end = this.str({ at: val });
		const value = this.stringAt(val);
		if (!value && required) this.fail(required);
		return { value, start, end: value || end > start ? end : start };
	}

	/** libuci's strict end-of-statement check (assert_eol). */
	endOfStatement(): void {
		this.skipWhitespace();
		const extra = this.arg(undefined);
		if (extra.value)
			this.fail(`unexpected '${extra.value}' after the value (quote a value that contains spaces)`);
	}

	/** Skips the keyword strtok() found; false when nothing follows it on the line. */
	skipKeyword(word: { end: number }): boolean {
		const add = this.stringAt(this.pos).length + 1;
		if (this.pos + add > this.buf.length) return false;
		this.pos = word.end + 1;
		return true;
	}
}

/** Splits a text into chunks of statements; throws UciParseError where libuci would refuse it. */
export function lexUci(text: string): Chunk[] {
	const lines = new LineIndex(text);
	const chunks: Chunk[] = [];
	let offset = 0;
	let inSection = false;
	while (offset < text.length) {
		const r = new LineReader(text, offset, lines);
		r.getln(0);
		const statements = r.buf.length ? readLine(r, () => inSection) : [];
		for (const s of statements) if (s.keyword === "config") inSection = true;
		chunks.push({ start: offset, end: r.next, statements });
		offset = r.next;
	}
	return chunks;
}

/** The statements of one input line (uci_parse_line), `;`-separated ones included. */
function readLine(r: LineReader, inSection: () => boolean): Statement[] {
	const statements: Statement[] = [];
	r.skipWhitespace();
	for (;;) {
		// strtok(" \t"): the keyword runs to the next space or tab, newline included.
		let i = r.pos;
		while (r.char(i) === " " || r.char(i) === "\t") i++;
		if (r.char(i) === NUL) return statements;
		const wordStart = i;
		while (r.char(i) !== NUL && r.char(i) !== " " && r.char(i) !== "\t") i++;
		const word = r.buf.slice(wordStart, i).join("");
		if (word.startsWith("#")) return statements;
		if (r.char(i) !== NUL) r.buf[i] = NUL;
		const keyword = KEYWORDS[word];
		const start = r.offset(wordStart);
		const line = r.lines.lineOf(start);
		if (!keyword) {
			// "config\n": strtok() keeps the newline in the word, so libuci sees an unknown command.
			const bare = KEYWORDS[word.trim()];
			if (bare) r.fail(`'${bare}' without ${bare === "config" ? "a type" : "a name"}`, line);
			r.fail(`unknown keyword '${word.trim()}' (expected config, option, list or package)`, line);
		}
		if (keyword !== "config" && keyword !== "package" && !inSection() && !statements.some(isConfig))
			r.fail(`'${keyword}' before the first 'config' line`, line);
		if (!r.skipKeyword({ end: i }))
			r.fail(`'${keyword}' without ${keyword === "config" ? "a type" : "a name"}`, line);
		statements.push({ keyword, args: readArgs(r, keyword), start, line });
	}
}

const isConfig = (s: Statement) => s.keyword === "config";

function readArgs(r: LineReader, keyword: Keyword): Arg[] {
	switch (keyword) {
		case "package": {
			const name = r.arg("'package' without a name");
			if (!isUciName(name.value, true)) r.fail(`invalid package name '${name.value}'`);
			r.endOfStatement();
			return [name];
		}
		case "config": {
			const type = r.arg("'config' without a type");
			if (!isUciType(type.value)) r.fail(`invalid section type '${type.value}'`);
			const name = r.arg(undefined);
			if (name.value && !isUciName(name.value))
				r.fail(`invalid section name '${name.value}' (letters, digits and _ only)`);
			r.endOfStatement();
			return [type, name];
		}
		default: {
			const name = r.arg(`'${keyword}' without a name`);
			if (!isUciName(name.value)) r.fail(`invalid option name '${name.value}' (letters, digits and _ only)`);
			const value = r.arg(undefined);
			r.endOfStatement();
			return [name, value];
		}
	}
}
