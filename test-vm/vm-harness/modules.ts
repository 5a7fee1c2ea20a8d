// Which kernel modules the stand-in guest needs, from the kernel's modules.dep.

/** modules.dep ("kernel/a.ko.xz: kernel/b.ko kernel/c.ko") → module path → its dependencies. */
export function parseModulesDep(text: string): Map<string, string[]> {
	const deps = new Map<string, string[]>();
	for (const line of text.split("\n")) {
		const colon = line.indexOf(":");
		if (colon < 0) continue;
		deps.set(
			line.slice(0, colon),
			line
				.slice(colon + 1)
				.split(/\s+/)
				.filter(Boolean),
		);
	}
	return deps;
}

/** "kernel/net/netfilter/nf_tables.ko.xz" → "nf_tables" (modprobe treats - and _ alike). */
export function moduleName(path: string): string {
	const base = path.slice(path.lastIndexOf("/") + 1);
	return base.replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");
}

/**
 * The module paths to ship: every module whose path starts with one of `dirs` or whose name is
 * in `names`, plus everything they depend on. A named module built into the kernel (`builtin`:
 * the lines of modules.builtin) needs nothing; one that is neither throws, so a kernel without
 * a module we rely on fails loudly here rather than in the guest.
 */
export function moduleClosure(
	deps: Map<string, string[]>,
	builtin: string,
	wanted: { dirs: readonly string[]; names: readonly string[] },
): string[] {
	const byName = new Map([...deps.keys()].map((path) => [moduleName(path), path]));
	const builtinNames = new Set(builtin.split("\n").filter(Boolean).map(moduleName));
	const roots = [...deps.keys()].filter((path) => wanted.dirs.some((dir) => path.startsWith(dir)));
	for (const name of wanted.names.map((n) => n.replaceAll("-", "_"))) {
		const path = byName.get(name);
		if (path) roots.push(path);
		else if (!builtinNames.has(name)) throw new Error(`the kernel has no module ${name}`);
	}
	const chosen = new Set<string>();
	const visit = (path: string) => {
		if (chosen.has(path)) return;
		chosen.add(path);
		for (const dep of deps.get(path) ?? []) visit(dep);
	};
	for (const path of roots) visit(path);
	return [...chosen].sort();
}
