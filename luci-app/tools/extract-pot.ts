// Builds the translation template po/templates/portrig.pot from the app's sources, the strings
// LuCI translates at run time: every _('text'[, 'context']) and N_(n, 'one', 'many'[, 'context'])
// in the JavaScript, and every menu title (LuCI passes those through _() when it draws the menu).
//
//   bun run luci-app/tools/extract-pot.ts           write po/templates/portrig.pot
//   bun run luci-app/tools/extract-pot.ts --check   exit status 1 if the file is not up to date
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

const APP = join(import.meta.dir, "..");
export const POT_FILE = join(APP, "po/templates/portrig.pot");

type Message = { context?: string; id: string; plural?: string; refs: Set<string> };

export type PotResult = { pot: string; problems: string[] };

/** A string argument as written in the source, or undefined if it is not a plain literal. */
function literal(node: ts.Node | undefined): string | undefined {
	if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) return node.text;
	return undefined;
}

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

function poString(s: string): string {
	return s
		.replace(/\\/g, "\\\\")
		.replace(/"/g, '\\"')
		.replace(/\n/g, "\\n")
		.replace(/\t/g, "\\t")
		.replace(/\r/g, "\\r");
}

/** Every translatable string of the app, and the calls that cannot be extracted. */
export function buildPot(): PotResult {
	const messages = new Map<string, Message>();
	const problems: string[] = [];
	const add = (ref: string, id: string, context?: string, plural?: string) => {
		const key = `${context ?? ""}\u0004${id}`;
		const found = messages.get(key) ?? { context, id, plural, refs: new Set<string>() };
		if (plural !== undefined) found.plural = plural;
		found.refs.add(ref);
		messages.set(key, found);
	};

	for (const file of appSources()) {
		const source = parseSource(file);
		const where = (node: ts.Node) =>
			`${relative(APP, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
		const visit = (node: ts.Node) => {
			if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
				const fn = node.expression.text;
				const args = node.arguments;
				if (fn === "_") {
					const id = literal(args[0]);
					const context = literal(args[1]);
					if (id === undefined || (args[1] && context === undefined))
						problems.push(`${where(node)}: _() needs string literals, not ${node.getText()}`);
					else add(where(node), id, context);
				} else if (fn === "N_") {
					const one = literal(args[1]);
					const many = literal(args[2]);
					const context = literal(args[3]);
					if (one === undefined || many === undefined || (args[3] && context === undefined))
						problems.push(`${where(node)}: N_() needs string literals, not ${node.getText()}`);
					else add(where(node), one, context, many);
				}
			}
			ts.forEachChild(node, visit);
		};
		visit(source);
	}

	for (const file of menuFiles()) {
		const text = readFileSync(file, "utf8");
		const menu = JSON.parse(text) as Record<string, { title?: unknown }>;
		for (const node of Object.values(menu)) {
			if (typeof node.title !== "string") continue;
			const at = text.indexOf(`"title": ${JSON.stringify(node.title)}`);
			const line = text.slice(0, Math.max(0, at)).split("\n").length;
			add(`${relative(APP, file)}:${line}`, node.title);
		}
	}

	const entries = [...messages.values()].sort((a, b) =>
		a.id === b.id ? (a.context ?? "").localeCompare(b.context ?? "") : a.id < b.id ? -1 : 1,
	);
	const blocks = entries.map((m) => {
		const lines = [...m.refs]
			.sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
			.map((r) => `#: ${r}`);
		if (m.context !== undefined) lines.push(`msgctxt "${poString(m.context)}"`);
		lines.push(`msgid "${poString(m.id)}"`);
		if (m.plural !== undefined)
			lines.push(`msgid_plural "${poString(m.plural)}"`, 'msgstr[0] ""', 'msgstr[1] ""');
		else lines.push('msgstr ""');
		return lines.join("\n");
	});
	const header = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8"';
	return { pot: `${[header, ...blocks].join("\n\n")}\n`, problems };
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
