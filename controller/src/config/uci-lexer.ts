// The UCI file syntax, read the way libuci reads it (openwrt/uci file.c), so that portrig sees
// exactly the values `uci get` sees. libuci decodes each input line in place in a mutable
// buffer: a token's terminating NUL is written where its decoded text ends, which can swallow
// the character that stopped it (`config a;option x 1` silently drops everything after `a`).
// Reproducing that quirk needs the same buffer model, so this lexer keeps one: `buf` holds the
// UTF-16 code units of the physical line(s) being read, `src` the text offset each one came
// from (for spans and line numbers), and 0 marks an end like C's NUL. Typed arrays reused from
// line to line keep this cheap: a config with 10,000 sections is 50,000 lines.
//
// What it returns keeps every byte: the text is cut into chunks (one per physical line, or
// several lines when a quoted value or a backslash continues onto the next), each with the
// statements it holds and, for each argument, its raw span in the text. Chunks are read one at
// a time (readChunks), so a caller can keep what it needs of each and drop the rest.

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

/** A run of whole lines [start, end) of the text, the line it starts on, the statements read from it. */
export type Chunk = { start: number; end: number; line: number; statements: Statement[] };

/** Character codes the lexer looks at; NUL (0) also stands for "past the end of the buffer". */
const NUL = 0;
const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const DQUOTE = 34;
const HASH = 35;
const SQUOTE = 39;
const SEMICOLON = 59;
const BACKSLASH = 92;

// A Map, not an object literal: a word like "toString" must not find a keyword.
const KEYWORDS = new Map<string, Keyword>([
	["p", "package"],
	["package", "package"],
	["c", "config"],
	["config", "config"],
	["o", "option"],
	["option", "option"],
	["l", "list"],
	["list", "list"],
]);

/**
 * A string of its own: a slice of a file's text keeps all of that text alive through every
 * later edit and reload (the engine's substrings point into it). JSON.parse builds a new
 * string; tricks such as s.repeat(1) return s itself once optimised.
 */
export const own = (s: string): string => JSON.parse(JSON.stringify(s));

/** C's isspace() in the "C" locale: space, \t, \n, \v, \f, \r. */
const isSpace = (c: number) => c === SPACE || (c >= TAB && c <= CR);
/** libuci's name check: option and section names are [A-Za-z0-9_]; package names also allow '-'. */
export function isUciName(s: string, allowDash = false): boolean {
	return (allowDash ? /^[A-Za-z0-9_-]+$/ : /^[A-Za-z0-9_]+$/).test(s);
}

/** libuci's type check: any printable ASCII except space. */
export function isUciType(s: string): boolean {
	return /^[\x21-\x7e]+$/.test(s);
}

/**
 * The line numbers of a text: 1-based line of any offset. Line starts are found as far as asked
 * only: a reader that stops early never scans the rest.
 */
export class LineIndex {
	private readonly starts: number[] = [0];
	constructor(private readonly text: string) {}
	lineOf(offset: number): number {
		const { starts, text } = this;
		for (let last = starts[starts.length - 1] as number; last <= offset; ) {
			const nl = text.indexOf("\n", last);
			if (nl === -1) break;
			last = nl + 1;
			starts.push(last);
		}
		let lo = 0;
		let hi = starts.length - 1;
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if ((starts[mid] ?? 0) <= offset) lo = mid;
			else hi = mid - 1;
		}
		return lo + 1;
	}
}

class LineReader {
	/** Code units of the line(s) being read; the first `size` are in use (like a JS array's length). */
	private buf = new Uint16Array(1024);
	/** Text offset of each of the first `read` code units; -1 where getln left a gap. */
	private src = new Int32Array(1024);
	private size = 0;
	private read = 0;
	pos = 0;
	/** Text offset where the next physical line starts. */
	next = 0;
	/**
	 * One string per distinct value read, a string of its own (see own()): the 10,000 'tcp' of
	 * a big file become one, and no value keeps the file's text alive.
	 */
	private readonly strings = new Map<string, string>();
	constructor(
		readonly text: string,
		readonly lines: LineIndex,
	) {}

	/** Starts a new chunk at text offset `offset`, reading its first line (an empty buffer first). */
	startAt(offset: number): void {
		this.pos = 0;
		this.next = offset;
		this.getln(0);
	}

	/** True when the buffer holds anything. */
	get filled(): boolean {
		return this.size > 0;
	}

	char(i: number): number {
		return i < this.size ? (this.buf[i] as number) : NUL;
	}
	get cur(): number {
		return this.char(this.pos);
	}
	set cur(c: number) {
		this.put(this.pos, c);
	}
	/** Writes a code unit; writing at the end grows the buffer by one, as C's buffer has room. */
	put(i: number, c: number): void {
		if (i >= this.size) {
			this.reserve(i + 1);
			this.buf.fill(NUL, this.size, i);
			this.size = i + 1;
		}
		this.buf[i] = c;
	}
	private reserve(n: number): void {
		if (n <= this.buf.length) return;
		const length = Math.max(n, this.buf.length * 2);
		const buf = new Uint16Array(length);
		buf.set(this.buf.subarray(0, this.size));
		this.buf = buf;
		const src = new Int32Array(length);
		src.set(this.src.subarray(0, this.read));
		this.src = src;
	}
	/** Text offset of a buffer position; the end of what was read for positions past the buffer. */
	offset(i: number): number {
		const at = i < this.read ? (this.src[i] as number) : -1;
		return at === -1 ? this.next : at;
	}
	lineHere(): number {
		return this.lines.lineOf(Math.min(this.offset(this.pos), Math.max(0, this.text.length - 1)));
	}
	fail(reason: string, line = this.lineHere()): never {
		throw new UciParseError(line, reason);
	}

	/** Reads the next physical line into the buffer at `at`, dropping what was there (uci_getln). */
	getln(at: number): void {
		this.reserve(at);
		if (at > this.size) this.buf.fill(NUL, this.size, at);
		if (at > this.read) this.src.fill(-1, this.read, at);
		this.size = at;
		this.read = at;
		if (this.next >= this.text.length) return;
		const nl = this.text.indexOf("\n", this.next);
		const end = nl === -1 ? this.text.length : nl + 1;
		this.reserve(at + end - this.next);
		const { buf, src, text } = this;
		let j = at;
		for (let i = this.next; i < end; i++, j++) {
			buf[j] = text.charCodeAt(i);
			src[j] = i;
		}
		this.size = j;
		this.read = j;
		this.next = end;
	}

	/**
	 * The text of buffer positions [from, to). Usually it is still a run of the input (read as
	 * is, or the inside of quotes): then it is taken as a slice of the text once every code unit
	 * is checked to be the same, which is much cheaper than building it.
	 */
	slice(from: number, to: number): string {
		const { buf, text } = this;
		const length = to - from;
		if (length <= 0) return "";
		let base = this.offset(from);
		// A value that opened with a quote starts one further in the text.
		if (text.charCodeAt(base) !== buf[from]) base++;
		let i = 0;
		while (i < length && buf[from + i] === text.charCodeAt(base + i)) i++;
		if (i === length) return this.intern(text.slice(base, base + length));
		let out = "";
		for (let j = from; j < to; j += 4096)
			out += String.fromCharCode.apply(null, buf.subarray(j, Math.min(to, j + 4096)) as unknown as number[]);
		return this.intern(out);
	}

	private intern(value: string): string {
		const known = this.strings.get(value);
		if (known !== undefined) return known;
		const copy = own(value);
		this.strings.set(copy, copy);
		return copy;
	}

	/** Where the C string starting at `i` ends: its NUL, or the end of the buffer. */
	stringEnd(i: number): number {
		let end = i;
		while (end < this.size && this.buf[end] !== NUL) end++;
		return end;
	}

	/** The C string starting at `i`. */
	stringAt(i: number): string {
		return this.slice(i, this.stringEnd(i));
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
			c === LF ||
			(c === CR && this.char(this.pos + 1) === LF && this.char(this.pos + 2) === NUL)
		) {
			this.getln(this.pos);
			return false;
		}
		return true;
	}

	quoted(target: { at: number }, quote: number): void {
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
						`unterminated ${String.fromCharCode(quote)} quote: the value opened on line ${opened} runs to the end of the file`,
						opened,
					);
				continue;
			}
			if (c === BACKSLASH && quote === DQUOTE && !this.backslash()) continue;
			this.put(target.at++, this.cur);
			this.pos++;
		}
	}

	/** One argument, unquoted and quoted parts run together (parse_str); returns where it ends. */
	str(target: { at: number }): number {
		let next = true;
		do {
			const c = this.cur;
			if (c === SQUOTE || c === DQUOTE) {
				this.quoted(target, c);
				continue;
			}
			if (c === HASH) {
				this.cur = NUL;
				break;
			}
			if (c === NUL) break;
			if (c === SEMICOLON) {
				next = false;
				break;
			}
			if (c === BACKSLASH && !this.backslash()) continue;
			this.put(target.at++, this.cur);
			this.pos++;
		} while (this.cur !== NUL && !isSpace(this.cur));
		const end = this.offset(this.pos);
		if (this.cur !== NUL && next) this.pos++;
		this.put(target.at, NUL);
		return end;
	}

	/** The next argument (next_arg); "" when there is none. */
	arg(required: string | undefined): Arg {
		this.skipWhitespace();
		const val = this.pos;
		const start = this.offset(val);
		let end = start;
		if (this.cur === SEMICOLON) {
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
		if (this.stringEnd(this.pos) + 1 > this.size) return false;
		this.pos = word.end + 1;
		return true;
	}
}

const isConfig = (s: Statement) => s.keyword === "config";

/**
 * Reads a text chunk by chunk, throwing UciParseError where libuci would refuse it. A caller
 * that stops early never lexes the rest: a big file is read section by section without a
 * token list for the whole of it.
 */
export function* readChunks(text: string): Generator<Chunk> {
	const lines = new LineIndex(text);
	const r = new LineReader(text, lines);
	let inSection = false;
	for (let offset = 0; offset < text.length; ) {
		r.startAt(offset);
		const statements = r.filled ? readLine(r, () => inSection) : [];
		inSection ||= statements.some(isConfig);
		yield { start: offset, end: r.next, line: lines.lineOf(offset), statements };
		offset = r.next;
	}
}

/** All the chunks of a text (a section's excerpt, or a small file). */
export function lexUci(text: string): Chunk[] {
	return [...readChunks(text)];
}

/** The statements of one input line (uci_parse_line), `;`-separated ones included. */
function readLine(r: LineReader, inSection: () => boolean): Statement[] {
	const statements: Statement[] = [];
	r.skipWhitespace();
	for (;;) {
		// strtok(" \t"): the keyword runs to the next space or tab, newline included.
		let i = r.pos;
		while (r.char(i) === SPACE || r.char(i) === TAB) i++;
		if (r.char(i) === NUL) return statements;
		const wordStart = i;
		while (r.char(i) !== NUL && r.char(i) !== SPACE && r.char(i) !== TAB) i++;
		const word = r.slice(wordStart, i);
		if (word.startsWith("#")) return statements;
		if (r.char(i) !== NUL) r.put(i, NUL);
		const keyword = KEYWORDS.get(word);
		const start = r.offset(wordStart);
		const line = r.lines.lineOf(start);
		if (!keyword) {
			// "config\n": strtok() keeps the newline in the word, so libuci sees an unknown command.
			const bare = KEYWORDS.get(word.trim());
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
