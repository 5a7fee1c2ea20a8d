// Every text a user reads goes through LuCI's _() and is in the committed translation template.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import ts from "typescript";
import { aclFiles, appSources, buildPot, menuFiles, POT_FILE, parseSource } from "../tools/extract-pot";

const built = buildPot();

describe("po/templates/portrig.pot", () => {
	test("is what the extraction script (LuCI's i18n-scan.pl rules, GNU gettext's tools) makes of the current sources", () => {
		expect(readFileSync(POT_FILE, "utf8")).toBe(built.pot);
	});

	test("every _() and N_() call has literal strings, so it can be extracted", () => {
		expect(built.problems).toEqual([]);
	});

	test("holds every menu title and ACL group description, as LuCI's tooling extracts them", () => {
		const texts = [...menuFiles(), ...aclFiles()].flatMap((file) =>
			Object.values(
				JSON.parse(readFileSync(file, "utf8")) as Record<string, { title?: string; description?: string }>,
			)
				.flatMap((node) => [node.title, node.description])
				.filter((t): t is string => t !== undefined),
		);
		expect(texts).toContain("Settings");
		expect(texts).toContain("Grant access to port forwarding, port triggering and DMZ (portrig)");
		for (const text of texts) expect(built.pot).toContain(`msgid ${JSON.stringify(text)}`);
	});
});

/** Literal text with a word in it (a letter): what a person would read, so it needs _(). */
function untranslatedText(node: ts.Node): boolean {
	if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return /[A-Za-z]/.test(node.text);
	if (ts.isTemplateExpression(node))
		return [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].some((t) => /[A-Za-z]/.test(t));
	if (ts.isArrayLiteralExpression(node)) return node.elements.some(untranslatedText);
	if (ts.isConditionalExpression(node))
		return untranslatedText(node.whenTrue) || untranslatedText(node.whenFalse);
	if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
		return untranslatedText(node.right);
	return false;
}

/** Which arguments of which calls are text on screen (by the callee as written). */
const DISPLAY_ARGUMENTS: [RegExp, (args: ts.NodeArray<ts.Expression>) => ts.Node[]][] = [
	// E(tag, [attributes,] children…)
	[/^E$/, (args) => args.slice(1).filter((a) => !ts.isObjectLiteralExpression(a))],
	// section.option(Class, 'option', title, description)
	[/\.(option|taboption)$/, (args) => args.slice(2)],
	// option.value(key, label)
	[/\.value$/, (args) => args.slice(1)],
	[/^new form\.JSONMap$/, (args) => args.slice(1)],
	// ui.showModal(title, children, …classes), ui.addNotification(title, children, …classes)
	[/^ui\.(showModal|addNotification)$/, (args) => args.slice(0, 2)],
	[/^widgets\.confirm$/, (args) => args.slice(0, 3)],
	[/^widgets\.(notifyError|rowButton|table)$/, (args) => args.slice(0, 1)],
];

function displayProblems(file: string): string[] {
	const source = parseSource(file);
	const problems: string[] = [];
	const report = (node: ts.Node) =>
		problems.push(
			`${relative(process.cwd(), file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText()}`,
		);
	const visit = (node: ts.Node) => {
		if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
			const callee = `${ts.isNewExpression(node) ? "new " : ""}${node.expression.getText()}`;
			for (const [pattern, pick] of DISPLAY_ARGUMENTS)
				if (pattern.test(callee))
					for (const arg of pick(node.arguments ?? ts.factory.createNodeArray()))
						if (untranslatedText(arg)) report(arg);
		}
		// title="…" attributes are tooltips
		if (
			ts.isPropertyAssignment(node) &&
			node.name.getText() === "title" &&
			untranslatedText(node.initializer)
		)
			report(node.initializer);
		ts.forEachChild(node, visit);
	};
	visit(source);
	return problems;
}

test.each(appSources().map((f) => [relative(process.cwd(), f), f]))(
	"%s shows no literal text without _()",
	(_name, file) => {
		expect(displayProblems(file)).toEqual([]);
	},
);

test("the check finds literal text where the page would show it", () => {
	const sample = `${appSources()[0]}.sample.js`;
	const probe = ts.createSourceFile(
		sample,
		"E('p', {}, 'Hello'); s.option(form.Value, 'x', 'Title'); o.value('a', 'Label'); E('p', {}, _('Fine'));",
		ts.ScriptTarget.Latest,
		true,
		ts.ScriptKind.JS,
	);
	let found = 0;
	const visit = (node: ts.Node) => {
		if (ts.isCallExpression(node)) {
			const callee = node.expression.getText();
			for (const [pattern, pick] of DISPLAY_ARGUMENTS)
				if (pattern.test(callee)) found += pick(node.arguments).filter(untranslatedText).length;
		}
		ts.forEachChild(node, visit);
	};
	visit(probe);
	expect(found).toBe(3);
});
