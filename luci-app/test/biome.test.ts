// The LuCI JavaScript meets the project's Biome rules and formatting, checked the way
// luci-app/tools/biome-luci.ts runs Biome on it (as the function bodies LuCI makes of the files).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { luciJsFiles, runBiome, unwrap, wrap } from "../tools/biome-luci";

test("the app's LuCI JavaScript passes Biome's lint and format check", () => {
	const result = runBiome(false);
	if (!result.ok) console.error(result.output);
	expect(result.ok).toBe(true);
	expect(result.changed).toEqual([]);
});

test("wrapping a file for Biome and unwrapping Biome's output gives the file back unchanged", () => {
	const files = luciJsFiles();
	expect(files.length).toBeGreaterThan(5);
	for (const file of files) {
		const source = readFileSync(file, "utf8");
		expect(unwrap(wrap(source), file)).toBe(source);
	}
});

test("a line Biome left outside the wrapper's indentation is refused, not silently changed", () => {
	expect(() => unwrap("(view) => {\n\tok;\nnot indented;\n};\n", "sample.js")).toThrow("cannot unwrap");
});
