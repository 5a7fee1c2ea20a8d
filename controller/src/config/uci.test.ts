import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { autoSectionName, quoteUci, UciDocument, UciParseError, type UciSection } from "./uci";

const FIXTURES = join(import.meta.dir, "fixtures");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const FIREWALL = join(import.meta.dir, "../../test/fixtures/fw4/firewall.uci");

/** The document as `uci show -X PACKAGE` prints it. */
function show(doc: UciDocument, pkg: string): string {
	const q = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
	const lines: string[] = [];
	for (const s of doc.sections) {
		lines.push(`${pkg}.${s.id}=${s.type}`);
		for (const e of s.entries.values())
			lines.push(
				`${pkg}.${s.id}.${e.name}=${e.kind === "option" ? q(e.items[0]?.value ?? "") : e.items.map((i) => q(i.value)).join(" ")}`,
			);
	}
	return `${lines.join("\n")}\n`;
}

/** Lines removed from and added to `before` to make `after` (a line diff, order kept). */
function changes(before: string, after: string): { removed: string[]; added: string[] } {
	const a = before.split("\n");
	const b = after.split("\n");
	const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
	for (let i = a.length - 1; i >= 0; i--)
		for (let j = b.length - 1; j >= 0; j--)
			(lcs[i] as number[])[j] =
				a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
	const removed: string[] = [];
	const added: string[] = [];
	let i = 0;
	let j = 0;
	while (i < a.length || j < b.length) {
		if (i < a.length && j < b.length && a[i] === b[j]) {
			i++;
			j++;
		} else if (j < b.length && (i === a.length || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0)))
			added.push(b[j++] as string);
		else removed.push(a[i++] as string);
	}
	return { removed, added };
}

function parseError(text: string): UciParseError {
	try {
		UciDocument.parse(text);
	} catch (e) {
		if (e instanceof UciParseError) return e;
		throw e;
	}
	throw new Error("parsed without error");
}

describe("reading", () => {
	const cases: Array<[string, string, string]> = [
		["portrig.uci", "portrig.show", "portrig"],
		["network.uci", "network.show", "network"],
		["syntax-edge.uci", "syntax-edge.show", "syntax-edge"],
		["crlf.uci", "crlf.show", "crlf"],
		[FIREWALL, "firewall.show", "firewall"],
	];
	for (const [file, expected, pkg] of cases) {
		const path = file.startsWith("/") ? file : join(FIXTURES, file);
		const name = file.split("/").at(-1);
		test(`${name} reads to the sections, ids and values libuci shows for it`, () => {
			expect(show(UciDocument.parse(readFileSync(path, "utf8")), pkg)).toBe(fixture(expected));
		});
		test(`${name} writes back byte-identical`, () => {
			const bytes = readFileSync(path, "utf8");
			expect(UciDocument.parse(bytes).toString()).toBe(bytes);
		});
	}

	test("anonymous sections get libuci's names: counter of all sections, then the type's hash", () => {
		expect(autoSectionName(1, "defaults")).toBe("cfg01e63d");
		expect(autoSectionName(8, "rule")).toBe("cfg0892bd");
		expect(autoSectionName(1, "forward")).toBe("cfg01465a");
		expect(autoSectionName(0x123, "rule")).toBe("cfg12392bd");
		const doc = UciDocument.parse(
			"config globals 'globals'\nconfig forward\nconfig forward 'web'\nconfig forward\n",
		);
		expect(doc.sections.map((s) => s.id)).toEqual(["globals", "cfg02465a", "web", "cfg04465a"]);
		expect(doc.sections.map((s) => s.index)).toEqual([0, 0, 1, 2]);
	});

	test("every value remembers the line it starts and ends on", () => {
		const doc = UciDocument.parse(fixture("syntax-edge.uci"));
		const s = doc.sections[0];
		expect(s?.line).toBe(4);
		expect(s?.entries.get("bare")?.items).toEqual([{ value: "word", line: 5, endLine: 5 }]);
		expect(s?.entries.get("multi")?.items).toEqual([
			{ value: "first line\nsecond line", line: 11, endLine: 12 },
		]);
		expect(s?.entries.get("grown")?.items.map((i) => i.line)).toEqual([18, 19]);
		expect(doc.section("named")?.reopenedAt).toEqual([23]);
	});

	test("an unterminated quote is an error at the line where the value opens", () => {
		const e = parseError("config forward\n\toption name 'Bob\n\toption src_dport 80\n");
		expect(e.line).toBe(2);
		expect(e.reason).toBe("unterminated ' quote: the value opened on line 2 runs to the end of the file");
		expect(parseError('config a\n\n\toption x "abc\\"\n').line).toBe(3);
	});

	test("what libuci refuses is refused with the line and why", () => {
		const cases: Array<[string, number, string]> = [
			["config a\n\topt x 1\n", 2, "unknown keyword 'opt' (expected config, option, list or package)"],
			[
				"config a\n\ttoString x 1\n",
				2,
				"unknown keyword 'toString' (expected config, option, list or package)",
			],
			["# header\n\toption x 1\n", 2, "'option' before the first 'config' line"],
			["config a 'b-c'\n", 1, "invalid section name 'b-c' (letters, digits and _ only)"],
			["config a\n\toption 'x.y' 1\n", 2, "invalid option name 'x.y' (letters, digits and _ only)"],
			[
				"config a\n\toption name Bob Smith\n",
				2,
				"unexpected 'Smith' after the value (quote a value that contains spaces)",
			],
			["config a\nconfig\n", 2, "'config' without a type"],
			["config a\n\toption\n", 2, "'option' without a name"],
			["config a 'x'\nconfig b 'x'\n", 2, "section 'x' (type 'a', line 1) is reopened with type 'b'"],
			["config a\npackage p\n", 2, "'package' after the first 'config' line"],
		];
		for (const [text, line, reason] of cases) {
			const e = parseError(text);
			expect({ line: e.line, reason: e.reason }).toEqual({ line, reason });
		}
	});
});

describe("quoting", () => {
	test("new values are written in libuci's export style; replaced ones keep their quote style", () => {
		expect(quoteUci("it's")).toBe("'it'\\''s'");
		expect(quoteUci('a "b" \\c', '"x"')).toBe('"a \\"b\\" \\\\c"');
		expect(quoteUci("8080", "80")).toBe("8080");
		expect(quoteUci("two words", "80")).toBe("'two words'");
		for (const value of ["it's", 'a "b" \\c', "#x;y", "two words", ""]) {
			for (const like of ["'", '"', "bare"]) {
				const doc = UciDocument.parse(`config a\n\toption x ${quoteUci(value, like)}\n`);
				expect(doc.sections[0]?.entries.get("x")?.items[0]?.value ?? "").toBe(value);
			}
		}
	});
});

describe("editing touches only its own lines", () => {
	const base = fixture("portrig.uci");
	const doc = UciDocument.parse(base);
	const anon = doc.sections[2]?.id as string;

	test("changing a value rewrites that line only, keeping its layout and quote style", () => {
		const after = doc.setOption("minecraft", "src_dport", "25566").toString();
		expect(changes(base, after)).toEqual({
			removed: ["\toption src_dport '25565'"],
			added: ["\toption src_dport '25566'"],
		});
		const bare = doc.setOption(anon, "src_dport", "9443").toString();
		expect(changes(base, bare)).toEqual({
			removed: ["\toption src_dport 8443"],
			added: ["\toption src_dport 9443"],
		});
		const comment = doc.setOption(doc.sections[3]?.id as string, "installed_by", "me").toString();
		expect(changes(base, comment)).toEqual({
			removed: ["\toption installed_by 'someone else'\t# unknown option: kept, ignored"],
			added: ["\toption installed_by 'me'\t# unknown option: kept, ignored"],
		});
	});

	test("setting a value it already has changes nothing", () => {
		expect(doc.setOption("minecraft", "proto", "tcp udp").toString()).toBe(base);
		expect(doc.setList("dmz", "exclude_port", ["tcp 22", "udp 5000-5010"]).toString()).toBe(base);
	});

	test("a new option goes after the section's last option with the section's indentation", () => {
		const after = doc.setOption("minecraft", "dest_port", "25565").toString();
		expect(changes(base, after)).toEqual({ removed: [], added: ["\toption dest_port '25565'"] });
		expect(after).toContain(
			"\toption dest_ip '192.168.1.10'\n\toption dest_port '25565'\n\nconfig forward\n",
		);
	});

	test("removing an option deletes its line only; null and empty both remove", () => {
		for (const value of [null, ""]) {
			const after = doc.setOption(anon, "reflection", value).toString();
			expect(changes(base, after)).toEqual({ removed: ["\toption reflection '0'"], added: [] });
		}
	});

	test("list items that stay keep their lines; added ones copy a sibling's layout", () => {
		const added = doc.addListItem(anon, "src_ip", "192.0.2.0/24").toString();
		expect(changes(base, added)).toEqual({ removed: [], added: ["\tlist src_ip '192.0.2.0/24'"] });
		expect(added).toContain("\tlist src_ip\t\"203.0.113.7\"\n\tlist src_ip '192.0.2.0/24'\n");
		const removed = doc.removeListItem("irc", "open_port", "113").toString();
		expect(changes(base, removed)).toEqual({ removed: ["\tlist open_port '113'"], added: [] });
		const replaced = doc.setList("irc", "open_port", ["113", "60000", "59000-59010"]).toString();
		expect(changes(base, replaced)).toEqual({ removed: [], added: ["\tlist open_port '60000'"] });
		expect(replaced).toContain("'113'\n\tlist open_port '60000'\n\tlist open_port '59000-59010'\n");
		const first = doc.setList("irc", "open_port", ["1", "113", "59000-59010"]).toString();
		expect(first).toContain("\tlist open_port '1'\n\tlist open_port '113'\n");
	});

	test("a single option becomes a list in place when it gets several values", () => {
		const one = UciDocument.parse("config a 'x'\n\toption src_ip '10.0.0.1'\n\toption other 1\n");
		expect(one.setList("x", "src_ip", ["10.0.0.1", "10.0.0.2"]).toString()).toBe(
			"config a 'x'\n\tlist src_ip '10.0.0.1'\n\tlist src_ip '10.0.0.2'\n\toption other 1\n",
		);
	});

	test("a new section is appended after a blank line, in libuci's export style", () => {
		const { document, id } = doc.addSection("forward", "fwd_web", {
			name: "It's web",
			src_dport: "80",
			src_ip: ["198.51.100.1", "198.51.100.2"],
			empty: "",
		});
		expect(id).toBe("fwd_web");
		expect(document.toString()).toBe(
			`${base}\nconfig forward 'fwd_web'\n\toption name 'It'\\''s web'\n\toption src_dport '80'\n\tlist src_ip '198.51.100.1'\n\tlist src_ip '198.51.100.2'\n`,
		);
		const anonymous = UciDocument.parse("config a\n").addSection("a", undefined, {});
		expect(anonymous.id).toBe("cfg02b606");
		expect(UciDocument.parse("").addSection("a", "n", { x: "1" }).document.toString()).toBe(
			"config a 'n'\n\toption x '1'\n",
		);
	});

	test("deleting a section removes its lines, the comments on it and one separating blank line", () => {
		const after = doc.deleteSection("minecraft").toString();
		expect(changes(base, after).added).toEqual([]);
		expect(changes(base, after).removed).toEqual([
			"# Game server for the kids' PC",
			"config forward 'minecraft'",
			"\toption name 'Minecraft'",
			"\toption enabled '1'",
			"\toption proto 'tcp udp'",
			"\toption src_dport '25565'",
			"\toption dest_ip '192.168.1.10'",
			"",
		]);
		expect(after).toContain("\toption trigger_timeout '600'\n\nconfig forward\n\toption name \"Bob's");
		const commentedOut = doc.deleteSection(anon).toString();
		expect(changes(base, commentedOut).removed).toContain("\t# option enabled '0'");
		const last = doc.deleteSection("dmz").toString();
		expect(last.endsWith("\tlist open_port '27016-27030'\n")).toBe(true);
		expect(changes(base, last).added).toEqual([]);
	});

	test("renaming writes the name on the config line only; an anonymous section becomes named", () => {
		const after = doc.renameSection(anon, "nas").toString();
		expect(changes(base, after)).toEqual({ removed: ["config forward"], added: ["config forward 'nas'"] });
		expect(UciDocument.parse(after).section("nas")?.entries.get("dest_port")?.items[0]?.value).toBe("443");
		expect(changes(base, doc.renameSection("irc", "dcc").toString())).toEqual({
			removed: ["config trigger 'irc'"],
			added: ["config trigger 'dcc'"],
		});
	});

	test("a statement sharing its line with others is split onto lines of its own before an edit", () => {
		const text = "config a 'x'; option p 1 ; option q 2\nconfig b 'y'\n\toption r 3\n";
		const after = UciDocument.parse(text).setOption("x", "q", "5").toString();
		expect(after).toBe("config a 'x'\n\toption p '1'\n\toption q '5'\nconfig b 'y'\n\toption r 3\n");
	});

	test("line ends and a missing final newline are kept", () => {
		const crlf = fixture("crlf.uci");
		const id = UciDocument.parse(crlf).sections[1]?.id as string;
		const after = UciDocument.parse(crlf).setOption(id, "name", "web").toString();
		expect(after).toBe(`${crlf}\toption name 'web'\r\n`);
		const noNewline = "config a 'x'\n\toption p 1";
		expect(UciDocument.parse(noNewline).setOption("x", "q", "2").toString()).toBe(
			"config a 'x'\n\toption p 1\n\toption q '2'\n",
		);
	});
});

describe("a document is its sections' excerpts", () => {
	/** Everything a document says about its sections, lines included. */
	const view = (doc: UciDocument) => ({
		package: doc.package,
		text: doc.toString(),
		sections: doc.sections.map((s) => ({ ...s, entries: [...s.entries.values()] })),
	});
	const files = ["portrig.uci", "network.uci", "syntax-edge.uci", "crlf.uci"];

	// Edits rewrite one excerpt and its neighbour at most: chained edits at the top, in the
	// middle and at the end must read as a fresh parse of their text does, cut the same way.
	for (const name of files)
		test(`${name}: chained document edits read as a fresh parse of their text does`, () => {
			let doc = UciDocument.parse(fixture(name));
			const ids = () => {
				const all = doc.sections.map((s) => s.id);
				return [all[0], all[Math.floor(all.length / 2)], all.at(-1)].filter((id) => id !== undefined);
			};
			const steps: Array<[string, (id: string) => UciDocument]> = [
				["set a new option", (id) => doc.setOption(id, "extra", "x y")],
				["set a list", (id) => doc.setList(id, "extra_list", ["a", "b"])],
				["shorten the list", (id) => doc.setList(id, "extra_list", ["b"])],
				["remove the option", (id) => doc.setOption(id, "extra", null)],
				["add a section", () => doc.addSection("forward", undefined, { src_dport: "1" }).document],
				["rename the section", (id) => doc.renameSection(id, `renamed_${id}`)],
				["delete the section", (id) => doc.deleteSection(id)],
			];
			for (const [what, step] of steps)
				for (const id of ids()) {
					if (!doc.section(id)) continue;
					const before = doc;
					doc = step(id);
					const fresh = UciDocument.parse(doc.toString());
					expect(view(doc), `${what} (${id})`).toEqual(view(fresh));
					expect(
						doc.excerpts.map((e) => e.text),
						`${what} (${id})`,
					).toEqual(fresh.excerpts.map((e) => e.text));
					for (const s of doc.sections) expect(doc.section(s.id), `${what} (${id})`).toEqual(s);
					// The document edited from still reads as it did.
					expect(UciDocument.parse(before.toString()).sections).toEqual(before.sections);
				}
		});

	test("an edit keeps every other section's excerpt as the same object", () => {
		const before = UciDocument.parse(fixture("portrig.uci"));
		const changed = before.setOption("irc", "timeout", "900");
		const kept = changed.excerpts.filter((e) => before.excerpts.includes(e));
		expect(kept.length).toBe(before.excerpts.length - 1);
		const added = before.addSection("forward", "added", { src_dport: "1" }).document;
		expect(added.excerpts.slice(0, -2)).toEqual(before.excerpts.slice(0, -1));
		added.excerpts.slice(0, -2).forEach((e, i) => {
			expect(e).toBe(before.excerpts[i] as never);
		});
		expect(view(added)).toEqual(view(UciDocument.parse(added.toString())));
	});

	test("a document and those edited from it answer for their own sections, whichever was asked last", () => {
		const base = UciDocument.parse("config a 'x'\n\toption p 1\n\nconfig a 'y'\n");
		const added = base.addSection("a", "z", { p: "2" }).document;
		const deleted = added.deleteSection("x");
		const renamed = deleted.renameSection("y", "w");
		for (let round = 0; round < 2; round++) {
			expect(base.section("z")).toBeUndefined();
			expect(renamed.section("w")?.entries.size).toBe(0);
			expect(renamed.section("y")).toBeUndefined();
			expect(added.section("z")?.entries.get("p")?.items[0]?.value).toBe("2");
			expect(deleted.section("x")).toBeUndefined();
			expect(base.section("x")?.line).toBe(1);
			expect(deleted.section("z")?.line).toBe(3);
		}
	});

	test("a streaming parse passes each section once, with what `sections` holds for it", () => {
		for (const name of ["portrig.uci", "network.uci", "crlf.uci"]) {
			const seen: UciSection[] = [];
			const doc = UciDocument.parse(fixture(name), (s) => seen.push(s));
			expect(seen).toEqual(doc.sections);
		}
	});
});
