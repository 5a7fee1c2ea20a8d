// Text that comes from the daemon or the network (entry names, DHCP host names, error messages)
// must reach the page as text. LuCI's E(tag, attrs, child) and dom.content(node, child) parse a
// lone string child as HTML, so a lone child may only be markup the app wrote itself: a literal,
// an untouched translation _('…'), or an element; anything else goes in as an array item, which
// LuCI adds as a text node.
import { expect, test } from "bun:test";
import { relative } from "node:path";
import ts from "typescript";
import { appSources, parseSource } from "../tools/extract-pot";

/** A child LuCI may parse as HTML without risk: written here, not received. */
function ownMarkup(node: ts.Expression): boolean {
	if (
		ts.isStringLiteral(node) ||
		ts.isNoSubstitutionTemplateLiteral(node) ||
		ts.isArrayLiteralExpression(node)
	)
		return true;
	if (node.kind === ts.SyntaxKind.NullKeyword) return true;
	if (ts.isConditionalExpression(node)) return ownMarkup(node.whenTrue) && ownMarkup(node.whenFalse);
	if (ts.isCallExpression(node)) {
		const callee = node.expression.getText();
		// E(…) and the helpers make elements, .map(…) an array; _('…') is a translation
		// (.format(…) on it would mix in outside text)
		return callee === "E" || callee === "_" || /^(widgets|this)\.\w+$/.test(callee) || /\.map$/.test(callee);
	}
	return false;
}

function risks(source: ts.SourceFile): string[] {
	const file = source.fileName;
	const found: string[] = [];
	const visit = (node: ts.Node) => {
		if (ts.isCallExpression(node)) {
			const callee = node.expression.getText();
			const args = node.arguments;
			let child: ts.Expression | undefined;
			if (callee === "E" && args.length >= 2) child = args[args.length - 1];
			if (callee === "dom.content" || callee === "dom.append") child = args[1];
			if (
				child &&
				!(callee === "E" && args.length === 2 && ts.isObjectLiteralExpression(child)) &&
				!ownMarkup(child)
			)
				found.push(
					`${relative(process.cwd(), file)}:${source.getLineAndCharacterOfPosition(child.getStart()).line + 1}: ${child.getText()}`,
				);
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
	return found;
}

test.each(appSources().map((f) => [relative(process.cwd(), f), f]))(
	"%s never hands text from outside to E() or dom.content() as markup",
	(_name, file) => {
		expect(risks(parseSource(file))).toEqual([]);
	},
);

test("the check flags outside text given as a lone child, and passes the safe forms", () => {
	const probe = ts.createSourceFile(
		"probe.js",
		[
			"E('p', {}, question);",
			"E('p', {}, _('Delete %s?').format(name));",
			"dom.content(note, error.message);",
			"E('p', {}, [question]);",
			"E('p', {}, _('Fine'));",
			"E('div', {}, E('p'));",
			"E('br');",
		].join("\n"),
		ts.ScriptTarget.Latest,
		true,
		ts.ScriptKind.JS,
	);
	expect(risks(probe).map((r) => r.replace(/^.*:(\d+): .*$/, "$1"))).toEqual(["1", "2", "3"]);
});
