// Debian's kernels for the stand-in guest: the package is fetched with apt-get into the repo's
// ignored .vm-cache/ and unpacked there, never installed on the host.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../lib/lab";
import { run } from "./run";

export const CACHE = join(REPO, ".vm-cache");

/** The kernels the stand-in boots: name → Debian package that provides a kernel of that series. */
export const KERNELS = {
	"6.1": "linux-image-amd64",
	"6.12": "linux-image-6.12-amd64",
} as const;
export type KernelSeries = keyof typeof KERNELS;

export type Kernel = {
	/** "6.1.0-57-amd64": the directory name under lib/modules. */
	release: string;
	vmlinuz: string;
	/** Holds lib/modules/RELEASE with modules.dep. */
	root: string;
};

/** The versioned package a meta-package depends on (linux-image-amd64 → linux-image-6.1.0-57-amd64). */
async function concretePackage(meta: string): Promise<string> {
	const r = await run(["apt-cache", "depends", meta]);
	const m = /Depends: (linux-image-\S+)/.exec(r.stdout);
	if (!m?.[1]) throw new Error(`apt-cache knows no kernel behind ${meta} (run apt-get update?)`);
	return m[1];
}

/** Fetches and unpacks a kernel series once; later runs reuse .vm-cache/<package>/. */
export async function ensureKernel(series: KernelSeries, say: (line: string) => void): Promise<Kernel> {
	const pkg = await concretePackage(KERNELS[series]);
	const root = join(CACHE, pkg);
	if (!existsSync(join(root, ".complete"))) {
		say(`fetching ${pkg} with apt-get download (once, into .vm-cache/)`);
		const work = join(CACHE, `${pkg}.partial`);
		rmSync(work, { recursive: true, force: true });
		mkdirSync(work, { recursive: true });
		await run(["apt-get", "download", pkg], { cwd: work });
		const deb = readdirSync(work).find((f) => f.endsWith(".deb"));
		if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
		await run(["dpkg-deb", "-x", join(work, deb), join(work, "root")]);
		rmSync(root, { recursive: true, force: true });
		renameSync(join(work, "root"), root);
		rmSync(work, { recursive: true, force: true });
		const release = readdirSync(join(root, "lib", "modules"))[0] ?? "";
		await run(["depmod", "-b", root, release]);
		Bun.write(join(root, ".complete"), `${pkg}\n`);
	}
	const release = readdirSync(join(root, "lib", "modules"))[0];
	if (!release) throw new Error(`${root} holds no modules`);
	const vmlinuz = join(root, "boot", `vmlinuz-${release}`);
	if (!existsSync(vmlinuz)) throw new Error(`${pkg} has no ${vmlinuz}`);
	return { release, vmlinuz, root };
}

export function modulesDir(kernel: Kernel): string {
	return join(kernel.root, "lib", "modules", kernel.release);
}

/** One of the kernel's module lists: "modules.dep", "modules.builtin". */
export function readModuleList(kernel: Kernel, name: "modules.dep" | "modules.builtin"): string {
	return readFileSync(join(modulesDir(kernel), name), "utf8");
}
