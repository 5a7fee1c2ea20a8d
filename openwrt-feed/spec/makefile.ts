// Reads the package metadata out of the feed's OpenWrt Makefiles, so that `make package` and the
// SDK build the same packages from one description. Only the subset those Makefiles use:
// `NAME:=value` / `NAME?=value` / `NAME=value` assignments (with `\` continuations) and
// `define NAME … endef` blocks. Nothing is evaluated: `$(…)` references come back as written.

export type Makefile = {
	/** Assignments outside define blocks. */
	vars: Map<string, string>;
	/** define blocks, body as written (make's `$$` still doubled). */
	defines: Map<string, string>;
};

const ASSIGNMENT = /^\s*([A-Za-z_][A-Za-z0-9_./-]*)\s*(?::=|\?=|=)\s*(.*)$/;

/** Joins `\`-continued lines the way make does: the backslash, the newline and the blanks around them become one space. */
function logicalLines(text: string): string[] {
	return text.replace(/[ \t]*\\\n\s*/g, " ").split("\n");
}

export function parseMakefile(text: string): Makefile {
	const vars = new Map<string, string>();
	const defines = new Map<string, string>();
	const lines = text.split("\n");
	const outside: string[] = [];
	for (let i = 0; i < lines.length; i++) {
		const start = /^define\s+(\S+)\s*$/.exec(lines[i] ?? "");
		if (!start?.[1]) {
			outside.push(lines[i] ?? "");
			continue;
		}
		const body: string[] = [];
		for (i++; i < lines.length && !/^\s*endef\s*$/.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
		if (i >= lines.length) throw new Error(`Makefile: 'define ${start[1]}' has no 'endef'`);
		defines.set(start[1], body.join("\n"));
	}
	for (const line of logicalLines(outside.join("\n"))) {
		const m = ASSIGNMENT.exec(line);
		// A tab starts a recipe line, never an assignment.
		if (m?.[1] && !line.startsWith("\t")) vars.set(m[1], (m[2] ?? "").trim());
	}
	return { vars, defines };
}

/** Assignments inside a define body, such as `define Package/NAME` (SECTION, DEPENDS, …). */
export function defineAssignments(body: string): Map<string, string> {
	const out = new Map<string, string>();
	for (const line of logicalLines(body)) {
		const m = ASSIGNMENT.exec(line);
		if (m?.[1]) out.set(m[1], (m[2] ?? "").trim());
	}
	return out;
}

/** A define body used as a shell script: make turns `$$` into `$` when it writes it out. */
export function shellText(body: string): string {
	return `${body.replaceAll("$$", "$")}\n`;
}

export function requireVar(makefile: Makefile, name: string, file: string): string {
	const value = makefile.vars.get(name);
	if (value === undefined || value === "") throw new Error(`${file}: ${name} is not set`);
	return value;
}

export function requireDefine(makefile: Makefile, name: string, file: string): string {
	const body = makefile.defines.get(name);
	if (body === undefined) throw new Error(`${file}: 'define ${name}' is missing`);
	return body;
}
