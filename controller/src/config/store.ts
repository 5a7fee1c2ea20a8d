// The config file as the API changes it: each mutation edits the UCI document (touching only
// its own section's excerpt), validates the result as loadDocument would (schemas + rules) and
// is refused with those problems if anything is wrong. A change is checked against the config
// in memory (load.ts): a forward or trigger as that section decoded and the rules over the
// entries it could collide with (found in the ForwardPorts index), globals and dmz as that
// section and the rules that involve it. So a change costs about the same among 10,000
// entries as among one; only writing the file grows with it. A valid mutation is held in
// memory until commit() writes it atomically; restore() puts back earlier bytes when applying
// the new config to the data plane fails.
//
// Values come in the API's encoded form (UCI option names, values as `uci show` prints them,
// lists as arrays; JSON numbers and booleans are accepted). Each is decoded with its option's
// codec and written back encoded, so the file always holds the canonical form ("tcp udp",
// "1", "8000-8010"). A value that does not decode is written as given, for loadDocument to
// report with the same message the file would get.
//
// Writes take the lock `uci commit` takes on the file (uci-lock.ts), so the two never interleave.
// Not thread-safe across awaits: callers run one mutation + commit/restore at a time.
import {
	closeSync,
	fchmodSync,
	fchownSync,
	fsync,
	fsyncSync,
	openSync,
	realpathSync,
	renameSync,
	type Stats,
	statSync,
	unlinkSync,
	writeSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "../zod";
import {
	checkChange,
	checkDocument,
	checkSingle,
	type DocumentResult,
	isError,
	type LoadResult,
	loadDocument,
	type Problem,
	type ValidResult,
} from "./load";
import {
	type Config,
	type ForwardEntry,
	SECTION_SCHEMAS,
	type SectionType,
	type TriggerEntry,
	uciTextProblem,
} from "./schema";
import type { UciDocument } from "./uci";
import { isUciName } from "./uci-lexer";
import { withUciLock } from "./uci-lock";

/** Option name → value in the encoded (UCI/API) form; null (or "" or []) removes the option. */
export type SectionValues = Record<string, unknown>;

/**
 * Which entry a mutation changed, for the data plane to render only that one: a forward or
 * trigger by id with the entry it now is (undefined: deleted), or the dmz or the globals section.
 */
export type ChangeHint =
	| { type: "forward"; id: string; entry: ForwardEntry | undefined }
	| { type: "trigger"; id: string; entry: TriggerEntry | undefined }
	| { type: SingleSectionType };

export type MutationResult =
	| { ok: true; id: string; config: Config; change: ChangeHint }
	| { ok: false; reason: "invalid" | "not_found"; problems: Problem[] };

/** Section types the API adds and removes. */
export type ListSectionType = "forward" | "trigger";
/** Section types the file holds once: the API changes their options. */
export type SingleSectionType = "globals" | "dmz";

/** Prefixes of the names given to sections the API creates. */
const NAME_PREFIX: Record<ListSectionType, string> = { forward: "fwd", trigger: "trg" };

/** How long a write waits for a `uci commit` of the same file to finish. */
const LOCK_TIMEOUT_MS = 5000;

/** The file changed on disk since it was read: commit() refuses to overwrite that change. */
export class ConfigConflictError extends Error {
	constructor(file: string) {
		super(`${file} changed on disk since it was read; reload and try again`);
		this.name = "ConfigConflictError";
	}
}

/** A load or an accepted change; `text` holds the bytes of a file that does not parse. */
type State = DocumentResult & { text?: string };

/** The bytes of the file at one moment, for restore(): its document, or the text that did not parse. */
export type StoreSnapshot = Pick<State, "document" | "text">;

export class ConfigStore {
	private state: State;
	/** Last valid config: what the daemon runs with, even while the file on disk is broken. */
	private valid: Config | undefined;
	/**
	 * What the file held when last read (a hash of its bytes) or written (the document, which
	 * makes them again): the bytes themselves are not kept.
	 */
	private disk: bigint | UciDocument;
	/** True while a mutation is waiting for commit(). */
	private dirty = false;
	/** The file's identity and times then: while they are the same, so are its bytes. */
	private stamp: Stamp;
	/** The number last given to a new section's name, by prefix (see freeName). */
	private readonly given = new Map<string, number>();

	private constructor(
		readonly file: string,
		{ text, stamp }: Read,
		/** How long a write waits for libuci's lock on the file (uci-lock.ts). */
		private readonly lockTimeoutMs: number,
	) {
		this.disk = hash(text);
		this.stamp = stamp;
		this.state = read(text, file);
		this.valid = this.state.config;
	}

	/** Reads the file (a missing file is an empty config); throws when it cannot be read. */
	static async open(file: string, options: { lockTimeoutMs?: number } = {}): Promise<ConfigStore> {
		return new ConfigStore(file, await readText(file), options.lockTimeoutMs ?? LOCK_TIMEOUT_MS);
	}

	/** Current bytes: the file's, or those of a mutation not yet committed (made on each call). */
	get text(): string {
		return textOf(this.state);
	}

	/** What restore() needs to put the current bytes back (no copy of them). */
	snapshot(): StoreSnapshot {
		const { document, text } = this.state;
		return { document, text };
	}

	/** The last valid config (kept when the file is reloaded broken). */
	get config(): Config | undefined {
		return this.valid;
	}

	/** Problems of the current bytes (warnings only, unless the file on disk is broken). */
	get problems(): Problem[] {
		return this.state.problems;
	}

	/** True when a mutation is waiting for commit(). */
	get pending(): boolean {
		return this.dirty;
	}

	/**
	 * Re-reads the file. When it is valid its config becomes `config`; when not, `config` keeps
	 * the previous one and mutations are refused until the file is fixed (never overwriting
	 * what someone is editing). Drops uncommitted mutations. Sections whose text is unchanged
	 * keep their entries (the same objects).
	 */
	async reload(): Promise<LoadResult> {
		const { text, stamp } = await readText(this.file);
		this.disk = hash(text);
		this.stamp = stamp;
		this.dirty = false;
		this.state = read(text, this.file, this.state);
		if (this.state.config) this.valid = this.state.config;
		return this.result();
	}

	addSection(type: ListSectionType, values: SectionValues, name?: string): MutationResult {
		const base = this.state.document;
		if (!base) return this.refuse();
		const encoded = encodeValues(this.file, type, values);
		if (!encoded.ok) return encoded;
		const id = name ?? this.freeName(base, NAME_PREFIX[type], slug(values));
		const problem = (message: string): MutationResult => ({
			ok: false,
			reason: "invalid",
			problems: [{ file: this.file, id, message, severity: "error" }],
		});
		if (!isUciName(id)) return problem(`'${id}' is not a section name (letters, digits and _ only)`);
		if (base.has(id)) return problem(`section '${id}' exists already`);
		const present = Object.fromEntries(
			Object.entries(encoded.values).filter((e): e is [string, string | string[]] => e[1] !== null),
		);
		return this.accept(base.addSection(type, id, present).document, type, id);
	}

	/** Changes the given options only: absent ones stay, null (or "" or []) removes one. */
	updateSection(type: ListSectionType, id: string, values: SectionValues): MutationResult {
		const base = this.state.document;
		if (!base) return this.refuse();
		if (base.typeOf(id) !== type) return notFound(this.file, type, id);
		const encoded = encodeValues(this.file, type, values, id);
		if (!encoded.ok) return encoded;
		return this.accept(applyValues(base, id, encoded.values), type, id);
	}

	deleteSection(type: ListSectionType, id: string): MutationResult {
		const base = this.state.document;
		if (!base) return this.refuse();
		if (base.typeOf(id) !== type) return notFound(this.file, type, id);
		return this.accept(base.deleteSection(id), type, id);
	}

	/** Updates the dmz section like updateSection, creating `config dmz 'dmz'` if there is none. */
	setDmz(values: SectionValues): MutationResult {
		return this.setSingle("dmz", values);
	}

	/** Updates the globals section like updateSection, creating `config globals 'globals'` if there is none. */
	setGlobals(values: SectionValues): MutationResult {
		return this.setSingle("globals", values);
	}

	/**
	 * Writes the current bytes if a mutation is pending: a temporary file in the same directory
	 * (same mode and owner), fsync, rename over the file, fsync of the directory. Refuses with
	 * ConfigConflictError, and reloads, when the file changed on disk since it was read.
	 * `alongside` (which must not reject: its outcome is the caller's) runs while the bytes are
	 * written and synced, once the lock is held and the file found unchanged, so it never runs
	 * for a change that a held lock or a conflict refuses; without a pending mutation it just runs.
	 */
	async commit(alongside?: () => Promise<void>): Promise<void> {
		if (!this.dirty) return alongside?.();
		const { document } = this.state;
		// Only a parsed document can be changed, so there is one.
		if (!document) throw new Error(`${this.file}: no document to write`);
		await withUciLock(this.file, this.lockTimeoutMs, async () => {
			// Reading back a big file costs more than the write: only when its stamp moved.
			if (!sameStamp(stampOf(this.file), this.stamp) && !this.holds((await readText(this.file)).text)) {
				await this.reload();
				throw new ConfigConflictError(this.file);
			}
			const [written] = await Promise.allSettled([
				writeAtomically(
					this.file,
					document.excerpts.map((e) => e.text),
				),
				alongside?.(),
			]);
			if (written.status === "rejected") throw written.reason;
			this.stamp = written.value;
		});
		this.disk = document;
		this.dirty = false;
	}

	/** Puts back the bytes of an earlier snapshot() on disk and in memory. */
	async restore(previous: StoreSnapshot): Promise<LoadResult> {
		const text = textOf(previous);
		this.stamp = await withUciLock(this.file, this.lockTimeoutMs, () => writeAtomically(this.file, [text]));
		this.disk = hash(text);
		this.dirty = false;
		this.state = read(text, this.file, this.state);
		if (this.state.config) this.valid = this.state.config;
		return this.result();
	}

	/** True when `text` is what the file held when last read or written. */
	private holds(text: string): boolean {
		const disk = this.disk;
		return typeof disk === "bigint" ? hash(text) === disk : text === disk.toString();
	}

	private setSingle(type: SingleSectionType, values: SectionValues): MutationResult {
		const base = this.state.document;
		if (!base) return this.refuse();
		const encoded = encodeValues(this.file, type, values);
		if (!encoded.ok) return encoded;
		const existing = type === "globals" ? this.state.globalsId : this.state.dmzId;
		if (existing) return this.accept(applyValues(base, existing, encoded.values), type, existing);
		const id = this.freeName(base, type, "");
		const added = base.addSection(type, id, {});
		return this.accept(applyValues(added.document, id, encoded.values), type, id);
	}

	/**
	 * `prefix_slug`, `prefix_slug_2`, … (or `prefix`, `prefix_2`, … without a slug): the number
	 * after the last one given for it while that section exists (no search through thousands
	 * named alike), else the first free one.
	 */
	private freeName(document: UciDocument, prefix: string, part: string): string {
		const base = part ? `${prefix}_${part}` : prefix;
		const name = (n: number) => (n === 1 ? base : `${base}_${n}`);
		const last = this.given.get(base);
		let n = last !== undefined && document.has(name(last)) ? last + 1 : 1;
		while (document.has(name(n))) n++;
		this.given.set(base, n);
		return name(n);
	}

	private result(): LoadResult {
		const { config, problems } = this.state;
		return config ? { config, problems } : { problems };
	}

	/** The file itself is broken: no mutation until it is fixed. */
	private refuse(): MutationResult {
		return { ok: false, reason: "invalid", problems: this.state.problems.filter(isError) };
	}

	/** Validates an edited document (section `id` changed); on success it becomes the current (uncommitted) state. */
	private accept(document: UciDocument, type: SectionType, id: string): MutationResult {
		const { config, ports } = this.state;
		const valid = config && ports ? ({ ...this.state, config, ports, document } as ValidResult) : undefined;
		const next: State = !valid
			? checkDocument(document, this.file)
			: type === "forward" || type === "trigger"
				? checkChange(document, this.file, valid, { type, id })
				: checkSingle(document, this.file, valid, type, id);
		if (!next.config) {
			// Problems of the section being changed first: they are the likely answer to the caller.
			const problems = next.problems
				.filter(isError)
				.sort((a, b) => Number(b.id === id) - Number(a.id === id));
			return { ok: false, reason: "invalid", problems };
		}
		next.take?.();
		// An edit that changes nothing returns the same document: nothing to write then.
		this.dirty ||= document !== this.state.document;
		const { take: _, text: __, entry, ...state } = next;
		this.state = state;
		this.valid = next.config;
		return { ok: true, id, config: next.config, change: changeHint(type, id, entry) };
	}
}

/** The hint for a change of section `id`; `entry`: the forward or trigger it now is (none: deleted). */
function changeHint(
	type: SectionType,
	id: string,
	entry: ForwardEntry | TriggerEntry | undefined,
): ChangeHint {
	if (type === "forward") return { type, id, entry: entry as ForwardEntry | undefined };
	if (type === "trigger") return { type, id, entry: entry as TriggerEntry | undefined };
	return { type };
}

/** The bytes of a state or snapshot: a parsed file's are made again from its document. */
const textOf = (state: StoreSnapshot): string => state.text ?? state.document?.toString() ?? "";

function read(text: string, file: string, previous?: State): State {
	const state: State = loadDocument(text, file, previous);
	// A file that does not parse has no document to make its bytes again.
	return state.document ? state : { ...state, text };
}

const hash = (text: string): bigint => BigInt(Bun.hash(text));

/** A file's device, inode, size and change times (ns); undefined when it does not exist. */
type Stamp = bigint[] | undefined;
type Read = { text: string; stamp: Stamp };

function statOrUndefined(file: string): Stats | undefined {
	try {
		return statSync(file);
	} catch {
		return undefined;
	}
}

function stampOf(file: string): Stamp {
	try {
		const st = statSync(file, { bigint: true });
		return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs];
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
		throw e;
	}
}

const sameStamp = (a: Stamp, b: Stamp) =>
	a === undefined || b === undefined ? a === b : a.every((v, i) => v === b[i]);

/** The file's text (a missing file is empty) and its stamp, taken before the read: a write after it moves the stamp. */
async function readText(file: string): Promise<Read> {
	const stamp = stampOf(file);
	try {
		return { text: await readFile(file, "utf8"), stamp };
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code === "ENOENT") return { text: "", stamp: undefined };
		throw e;
	}
}

function notFound(file: string, type: string, id: string): MutationResult {
	return {
		ok: false,
		reason: "not_found",
		problems: [{ file, id, message: `no ${type} with id '${id}'`, severity: "error" }],
	};
}

type Encoded =
	| { ok: true; values: Record<string, string | string[] | null> }
	| (MutationResult & { ok: false });

/** API values → UCI text per option (null: remove), through each option's codec. */
function encodeValues(file: string, type: SectionType, values: SectionValues, id?: string): Encoded {
	const shape: Record<string, z.core.$ZodType> = SECTION_SCHEMAS[type].shape;
	const out: Record<string, string | string[] | null> = {};
	const problems: Problem[] = [];
	for (const [option, value] of Object.entries(values)) {
		const codec = Object.hasOwn(shape, option) ? shape[option] : undefined;
		const problem = (message: string) =>
			problems.push({ file, ...(id === undefined ? {} : { id }), option, message, severity: "error" });
		if (!codec) problem(`unknown option for a ${type} section`);
		else if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length))
			out[option] = null;
		else if (!isScalar(value) && !(Array.isArray(value) && value.every(isScalar)))
			problem("must be text, a number, a boolean or a list of them");
		else if (unstorable(value)) problem(unstorable(value) as string);
		else {
			const decoded = z.safeDecode(codec, value);
			const text = decoded.success ? z.encode(codec, decoded.data) : value;
			out[option] = Array.isArray(text) ? text.map(String) : String(text);
		}
	}
	return problems.length ? { ok: false, reason: "invalid", problems } : { ok: true, values: out };
}

/** Why the file could not hold a value (or one of a list's items); checked before any edit. */
const unstorable = (value: unknown): string | undefined =>
	(Array.isArray(value) ? value : [value]).map((v) => uciTextProblem(String(v))).find(Boolean);

const isScalar = (v: unknown) => typeof v === "string" || typeof v === "number" || typeof v === "boolean";

function applyValues(
	document: UciDocument,
	id: string,
	values: Record<string, string | string[] | null>,
): UciDocument {
	let doc = document;
	for (const [option, value] of Object.entries(values))
		doc = Array.isArray(value) ? doc.setList(id, option, value) : doc.setOption(id, option, value);
	return doc;
}

/** `name` made into a UCI name part: lower case ASCII letters, digits and _, at most 24. */
function slug(values: SectionValues): string {
	const name = typeof values.name === "string" ? values.name : "";
	return name
		.normalize("NFKD")
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, "_")
		.replace(/^_+|_+$/g, "")
		.slice(0, 24)
		.replace(/_+$/, "");
}

/** Reused by every write: a new MB-sized string or buffer per write costs a page fault per page. */
const CHUNK = Buffer.allocUnsafe(64 << 10);

/** Writes `pieces` to `fd` in order, through CHUNK. */
function writePieces(fd: number, pieces: readonly string[]): void {
	let used = 0;
	const put = (bytes: Uint8Array) => {
		for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
	};
	const flush = () => {
		put(CHUNK.subarray(0, used));
		used = 0;
	};
	for (const piece of pieces) {
		// 3 bytes of UTF-8 at most per UTF-16 unit: the piece fits whatever it holds.
		if (piece.length * 3 > CHUNK.length - used) flush();
		if (piece.length * 3 > CHUNK.length) put(Buffer.from(piece));
		else used += CHUNK.write(piece, used);
	}
	flush();
}

/**
 * Writes the file atomically from its pieces in order; returns its new stamp. The calls that
 * only touch metadata are synchronous (microseconds each, a thread-pool round trip costs more);
 * the file's fsync, which can take long on flash, is not.
 */
async function writeAtomically(file: string, pieces: readonly string[]): Promise<Stamp> {
	let target = file;
	try {
		target = realpathSync(file);
	} catch {}
	const dir = dirname(target);
	const old = statOrUndefined(target);
	const tmp = join(
		dir,
		`.${basename(target)}.portrig-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
	);
	const out = openSync(tmp, "wx", 0o600);
	try {
		writePieces(out, pieces);
		fchmodSync(out, old ? old.mode & 0o7777 : 0o644);
		if (old && process.getuid?.() === 0) fchownSync(out, old.uid, old.gid);
		await new Promise<void>((resolve, reject) => fsync(out, (e) => (e ? reject(e) : resolve())));
		closeSync(out);
		renameSync(tmp, target);
	} catch (e) {
		try {
			closeSync(out);
		} catch {}
		try {
			unlinkSync(tmp);
		} catch {}
		throw e;
	}
	const fd = openSync(dir, "r");
	try {
		fsyncSync(fd);
	} finally {
		closeSync(fd);
	}
	return stampOf(target);
}
