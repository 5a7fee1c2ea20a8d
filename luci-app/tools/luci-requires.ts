// How LuCI's class loader (L.require in luci.js) reads the dependencies of a JavaScript file:
// the quoted strings at the start of the file, each either 'use strict' or
// 'require NAME [as ALIAS]'; the first other string ends the list. Quotes inside comments count
// as strings too, as they do for LuCI. Without an alias, the module is passed to the file as
// NAME with every character outside [A-Za-z0-9_] turned into '_'.

export type Require = { module: string; as: string };

export function requiresOf(source: string): Require[] {
	const found: Require[] = [];
	let quote = "";
	let start = -1;
	let escaped = false;
	for (let i = 0; i < source.length; i++) {
		const ch = source[i];
		if (escaped) {
			escaped = false;
		} else if (ch === "\\") {
			escaped = true;
		} else if (quote !== "" && ch === quote) {
			const literal = source.slice(start, i);
			const m = /^require[ \t]+(\S+)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?$/.exec(literal);
			if (m?.[1]) found.push({ module: m[1], as: m[2] ?? m[1].replace(/[^a-zA-Z0-9_]/g, "_") });
			else if (!/^use[ \t]+strict$/.test(literal)) break;
			quote = "";
		} else if (quote === "" && (ch === '"' || ch === "'")) {
			quote = ch;
			start = i + 1;
		}
	}
	return found;
}

/** What LuCI's pages give every module besides its requires (luci.js and cbi.js globals). */
export const LUCI_PAGE_GLOBALS = ["E", "L", "_", "N_", "cbi_update_table"];
