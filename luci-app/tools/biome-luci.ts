// Biome for the LuCI JavaScript of this app. Biome cannot parse these files as they are: LuCI's
// class loader wraps each file in a function, so every file ends in a top-level `return`, and the
// project's biome.json leaves them out for that reason. This tool lints and format-checks each
// file wrapped in a function, with the project's Biome settings (plus single quotes, as LuCI
// writes), and maps the findings back to the real file and line.
//
//   bun run luci-app/tools/biome-luci.ts           check; exit status 1 on any finding
//   bun run luci-app/tools/biome-luci.ts --write   apply Biome's safe fixes and formatting
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { LUCI_PAGE_GLOBALS, requiresOf } from "./luci-requires";

const APP = join(import.meta.dir, "..");
const ROOT = join(APP, "..");
const HTDOCS = join(APP, "htdocs");
const BIOME = join(ROOT, "node_modules/.bin/biome");
const ARROW = ") => {\n";
const TAIL = "};\n";

type BiomeConfig = Record<string, unknown> & {
	javascript?: { formatter?: Record<string, unknown>; globals?: string[] };
	overrides?: { includes?: string[]; javascript?: { formatter?: Record<string, unknown> } }[];
};

/** The project's Biome settings for plain files, with what it sets for luci-app/htdocs JavaScript. */
function wrappedConfig(): BiomeConfig {
	const project = JSON.parse(readFileSync(join(ROOT, "biome.json"), "utf8")) as BiomeConfig;
	const htdocs = project.overrides?.find((o) => o.includes?.some((i) => i.startsWith("luci-app/htdocs")));
	const { overrides: _overrides, vcs: _vcs, files: _files, linter, ...rest } = project;
	return {
		...rest,
		vcs: { enabled: false },
		files: { includes: ["**/*.cjs"] },
		// Names that exist nowhere are caught too: a typo in a view fails only in the browser.
		linter: {
			...(linter as object),
			rules: { preset: "recommended", correctness: { noUndeclaredVariables: "error" } },
		},
		javascript: {
			...project.javascript,
			globals: LUCI_PAGE_GLOBALS,
			formatter: { ...project.javascript?.formatter, ...htdocs?.javascript?.formatter, quoteStyle: "single" },
		},
	};
}

/**
 * The file as the function LuCI makes of it: its requires are the parameters (so an unused one
 * is reported), the body indented as Biome would indent it there.
 */
export function wrap(source: string): string {
	const params = requiresOf(source).map((r) => r.as);
	const body = source.replace(/^(?=.)/gm, "\t");
	return `(${params.join(", ")}) => {\n${body}${body.endsWith("\n") ? "" : "\n"}${TAIL}`;
}

/** The inverse of wrap(), for what Biome wrote. */
export function unwrap(wrapped: string, file: string): string {
	const head = wrapped.indexOf(ARROW);
	if (!wrapped.startsWith("(") || head < 0 || !wrapped.endsWith(TAIL))
		throw new Error(`${file}: Biome changed the wrapper`);
	const body = wrapped.slice(head + ARROW.length, wrapped.length - TAIL.length);
	return body
		.split("\n")
		.map((line) => {
			if (line === "") return line;
			if (!line.startsWith("\t")) throw new Error(`${file}: cannot unwrap line '${line}'`);
			return line.slice(1);
		})
		.join("\n");
}

export function luciJsFiles(): string[] {
	return [...new Bun.Glob("**/*.js").scanSync(HTDOCS)].sort().map((f) => join(HTDOCS, f));
}

export type BiomeResult = { ok: boolean; output: string; changed: string[] };

/** Runs Biome on every LuCI JavaScript file of the app; with `write`, puts fixes back into the files. */
export function runBiome(write: boolean): BiomeResult {
	const tmp = mkdtempSync(join(tmpdir(), "portrig-luci-biome-"));
	try {
		writeFileSync(join(tmp, "biome.json"), JSON.stringify(wrappedConfig(), null, "\t"));
		const files = luciJsFiles();
		const wrappedPath = (file: string) => join(tmp, relative(HTDOCS, file).replace(/\.js$/, ".cjs"));
		for (const file of files) {
			mkdirSync(dirname(wrappedPath(file)), { recursive: true });
			writeFileSync(wrappedPath(file), wrap(readFileSync(file, "utf8")));
		}
		const targets = files.map((f) => relative(tmp, wrappedPath(f)));
		const args = [
			"check",
			"--colors=off",
			"--max-diagnostics=none",
			...(write ? ["--write"] : []),
			...targets,
		];
		const run = Bun.spawnSync([BIOME, ...args], { cwd: tmp, stdout: "pipe", stderr: "pipe" });
		const output = (run.stdout.toString() + run.stderr.toString()).replace(
			/([\w./-]+)\.cjs(?::(\d+):(\d+))?/g,
			(_m, path: string, line?: string, col?: string) =>
				`${relative(ROOT, join(HTDOCS, `${path}.js`))}${line ? `:${Number(line) - 1}:${Math.max(1, Number(col) - 1)}` : ""}`,
		);
		const changed: string[] = [];
		if (write)
			for (const file of files) {
				const fixed = unwrap(readFileSync(wrappedPath(file), "utf8"), file);
				if (fixed !== readFileSync(file, "utf8")) {
					writeFileSync(file, fixed);
					changed.push(relative(ROOT, file));
				}
			}
		return { ok: run.exitCode === 0, output, changed };
	} finally {
		rmSync(tmp, { recursive: true, force: true });
	}
}

if (import.meta.main) {
	const write = process.argv.includes("--write");
	const result = runBiome(write);
	if (!result.ok || write) process.stdout.write(result.output);
	for (const file of result.changed) console.log(`formatted ${file}`);
	process.exit(result.ok || write ? 0 : 1);
}
