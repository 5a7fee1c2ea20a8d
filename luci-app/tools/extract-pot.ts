// Builds the translation template po/templates/portrig.pot the way LuCI's own tooling does
// (build/i18n-scan.pl in openwrt/luci, run from this repository's root as
// `build/i18n-scan.pl luci-app`), so translators and LuCI's i18n scripts get the same file:
//
// - sources: every *.js file, and the menu.d and acl.d JSON files, whose "title" and
//   "description" values count as _("…");
// - each file through GNU xgettext (JavaScript, keywords _:1, _:1,2c, N_:2,3, N_:2,3,4c; no
//   wrapping), its locations rewritten to `luci-app/PATH:LINE`, msgids with \n and \t turned
//   into spaces, runs of spaces collapsed and ends trimmed, empty msgids and xgettext's flags
//   dropped;
// - all of it merged and sorted by msguniq -s (which wraps long strings as gettext does), each
//   entry's locations sorted by file, then line.
//
// It also reports _() and N_() calls whose strings are not literals (xgettext skips those).
//
//   bun run luci-app/tools/extract-pot.ts           write po/templates/portrig.pot
//   bun run luci-app/tools/extract-pot.ts --check   exit status 1 if the file is not up to date
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";

const APP = join(import.meta.dir, "..");
export const POT_FILE = join(APP, "po/templates/portrig.pot");

export type PotResult = { pot: string; problems: string[] };

export function appSources(): string[] {
	return [...new Bun.Glob("htdocs/**/*.js").scanSync(APP)].sort().map((f) => join(APP, f));
}

export function menuFiles(): string[] {
	return [...new Bun.Glob("root/usr/share/luci/menu.d/*.json").scanSync(APP)].sort().map((f) => join(APP, f));
}

/** Parses a LuCI JavaScript file (a function body, so a top-level return is fine). */
export function parseSource(file: string): ts.SourceFile {
	return ts.createSourceFile(
		file,
		readFileSync(file, "utf8"),
		ts.ScriptTarget.Latest,
		true,
		ts.ScriptKind.JS,
	);
}

/** What i18n-scan.pl passes to xgettext for JavaScript (and the JSON files it turns into it). */
const XGETTEXT = [
	"xgettext",
	"--from-code=UTF-8",
	"--no-wrap",
	"--language=JavaScript",
	...["_:1", "_:1,2c", "N_:2,3", "N_:2,3,4c"].map((k) => `--keyword=${k}`),
	"-o",
	"-",
	"-",
];

/** Runs a gettext tool in the C locale with `input` on stdin; its stdout. */
function gettext(argv: string[], input: string): string {
	const r = Bun.spawnSync(argv, {
		stdin: new TextEncoder().encode(input),
		env: { ...process.env, LC_ALL: "C" },
	});
	if (r.exitCode !== 0) throw new Error(`${argv[0]} failed: ${r.stderr.toString().trim()}`);
	return r.stdout.toString();
}

/** Every file i18n-scan.pl reads, by its path as `find luci-app` names it. */
function scannedFiles(): string[] {
	return [...appSources(), ...menuFiles(), ...aclFiles()];
}

export function aclFiles(): string[] {
	return [...new Bun.Glob("root/usr/share/rpcd/acl.d/*.json").scanSync(APP)].sort().map((f) => join(APP, f));
}

/** A menu.d or acl.d file as i18n-scan.pl hands it to xgettext: titles and descriptions as _("…"). */
function jsonAsJavaScript(source: string): string {
	return source.replace(/("(?:title|description)")\s*:\s*("(?:[^"\\]|\\.)*")/gs, "$1: _($2)");
}

/** \n and \t as spaces, other escapes kept, runs of spaces as one, no space at either end. */
function collapseWhitespace(s: string): string {
	return s
		.replace(/\\(.)/g, (m, c: string) => (c === "n" || c === "t" ? " " : m))
		.replace(/ {2,}/g, " ")
		.replace(/^ /, "")
		.replace(/ $/, "");
}

/** One file's xgettext output as i18n-scan.pl passes it on (postprocess_pot). */
function postprocess(path: string, pot: string): string {
	const located = pot.replace(
		/^#: (.+?)\n/gm,
		(_m, refs: string) => `${[...refs.matchAll(/:(\d+)/g)].map((m) => `#: ${path}:${m[1]}`).join("\n")}\n`,
	);
	const lines = located.split("\n");
	while (lines.length && !lines[0]?.startsWith("#: ")) lines.shift();
	const out: string[] = [];
	while (lines.length) {
		const line = lines.shift() as string;
		const keyword = /^(msg\w+) "(.*)"$/.exec(line);
		if (keyword) {
			let value = keyword[2] as string;
			while (lines.length && /^"(.*)"$/.test(lines[0] as string))
				value += ` ${(lines.shift() as string).slice(1, -1)}`;
			value = collapseWhitespace(value);
			if (keyword[1] !== "msgstr" && value === "") {
				// an empty msgid: drop its entry
				while (out.length && out.at(-1) !== "") out.pop();
				while (lines.length && /^(?:msg\w+ )?"(.*)"$/.test(lines[0] as string)) lines.shift();
				continue;
			}
			out.push(`${keyword[1]} "${value}"`);
		} else if (!line.startsWith("#, ")) out.push(line);
	}
	return out.length ? ["", ...out, ""].join("\n") : "";
}

/** Sorts each run of location lines by file, then line number (as i18n-scan.pl's last step). */
function sortLocations(pot: string): string {
	const lines = pot.split(/(?<=\n)/);
	const out: string[] = [];
	while (lines.length) {
		const line = lines.shift() as string;
		if (!line.startsWith("#: ")) {
			out.push(line);
			continue;
		}
		const run = [line];
		while (lines[0]?.startsWith("#: ")) run.push(lines.shift() as string);
		const key = (l: string) => /^(.+):(\d+)$/.exec(l.trimEnd()) ?? ["", l, "0"];
		run.sort((a, b) => {
			const [, fa = "", la = "0"] = key(a);
			const [, fb = "", lb = "0"] = key(b);
			return fa < fb ? -1 : fa > fb ? 1 : Number(la) - Number(lb);
		});
		out.push(...run.map((l) => `${l.trimEnd()}\n`));
	}
	return out.join("");
}

/** _() and N_() calls xgettext cannot extract: their strings are not literals. */
function unextractable(file: string): string[] {
	const source = parseSource(file);
	const problems: string[] = [];
	const where = (node: ts.Node) =>
		`${relative(APP, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
	/** A string as written in the source, which xgettext can read. */
	const literal = (node: ts.Node | undefined) =>
		node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node));
	const visit = (node: ts.Node) => {
		if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
			const args = node.arguments;
			const strings =
				node.expression.text === "_"
					? [args[0], ...(args[1] ? [args[1]] : [])]
					: node.expression.text === "N_"
						? [args[1], args[2], ...(args[3] ? [args[3]] : [])]
						: [];
			if (strings.some((a) => !literal(a)))
				problems.push(
					`${where(node)}: ${node.expression.text}() needs string literals, not ${node.getText()}`,
				);
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
	return problems;
}

/** The template as LuCI's i18n-scan.pl makes it, and the calls that cannot be extracted. */
export function buildPot(): PotResult {
	const root = dirname(APP);
	let merged = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8"\n';
	for (const file of scannedFiles()) {
		const text = readFileSync(file, "utf8");
		const source = file.endsWith(".json") ? jsonAsJavaScript(text) : text;
		merged += postprocess(relative(root, file), gettext(XGETTEXT, source));
	}
	const pot = sortLocations(gettext(["msguniq", "-s"], merged));
	return { pot, problems: appSources().flatMap(unextractable) };
}

if (import.meta.main) {
	const { pot, problems } = buildPot();
	for (const p of problems) console.error(p);
	if (process.argv.includes("--check")) {
		const current = readFileSync(POT_FILE, "utf8");
		if (current !== pot)
			console.error(
				`${relative(process.cwd(), POT_FILE)} is out of date: run ${relative(process.cwd(), import.meta.path)}`,
			);
		process.exit(current === pot && problems.length === 0 ? 0 : 1);
	}
	writeFileSync(POT_FILE, pot);
	console.log(`wrote ${relative(process.cwd(), POT_FILE)}`);
	process.exit(problems.length === 0 ? 0 : 1);
}
