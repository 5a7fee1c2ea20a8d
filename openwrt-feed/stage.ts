// The files of one package laid out as on the router, in a scratch directory, the way the SDK's
// install steps leave them: directories 0755, files 0755 or 0644. Both package formats are
// written from this one tree.
import {
	chmodSync,
	copyFileSync,
	cpSync,
	existsSync,
	lstatSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	readlinkSync,
	statSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { ApkEntry } from "./apk/package";
import type { PackageSpec } from "./spec/packages";

function normaliseModes(path: string): void {
	const st = statSync(path);
	if (st.isDirectory()) {
		chmodSync(path, 0o755);
		for (const entry of readdirSync(path)) normaliseModes(join(path, entry));
	} else chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
}

export function stageData(root: string, spec: PackageSpec, data: string): void {
	for (const { from, to } of spec.contents) {
		const src = join(root, from);
		const dest = join(data, to);
		if (!existsSync(src)) throw new Error(`${spec.package}: ${from} is missing (run 'make dist' first?)`);
		if (statSync(src).isDirectory()) cpSync(src, dest, { recursive: true, dereference: true });
		else {
			mkdirSync(dirname(dest), { recursive: true });
			copyFileSync(src, dest);
		}
	}
	normaliseModes(data);
}

/**
 * Every entry under dir, paths relative to it. Files with the same content and mode (one
 * binary under several labels) come back as the same array, read once.
 */
export function readTree(dir: string, cache = new Map<string, Uint8Array>()): ApkEntry[] {
	const entries: ApkEntry[] = [];
	const visit = (rel: string): void => {
		for (const name of readdirSync(join(dir, rel)).sort()) {
			const path = rel ? `${rel}/${name}` : name;
			const st = lstatSync(join(dir, path));
			const mode = st.mode & 0o7777;
			if (st.isDirectory()) {
				entries.push({ path, type: "dir", mode });
				visit(path);
			} else if (st.isSymbolicLink())
				entries.push({ path, type: "symlink", mode, target: readlinkSync(join(dir, path)) });
			else if (st.isFile()) {
				const bytes = readFileSync(join(dir, path));
				const key = `${bytes.length}:${Bun.hash(bytes)}`;
				const data = cache.get(key) ?? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
				cache.set(key, data);
				entries.push({ path, type: "file", mode, data });
			} else throw new Error(`${join(dir, path)}: not a file, directory or symlink`);
		}
	};
	visit("");
	return entries;
}
