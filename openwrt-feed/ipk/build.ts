// `make package`: installable OpenWrt packages without the SDK, into dist/.
//   dist/portrig_<version>-<release>_x86_64.ipk, …_aarch64_generic.ipk, luci-app-portrig_<version>_all.ipk
//
// The container is what opkg (openwrt/opkg-lede) reads and OpenWrt's scripts/ipkg-build writes:
// a gzipped tar (not an ar archive as on Debian) holding ./debian-binary ("2.0"),
// ./data.tar.gz and ./control.tar.gz. opkg-lede's deb_extract() walks the outer tar through
// `gzip -d` and finds the inner archives by name; it has no ar reader.
//
// An ipk newer than all its inputs is kept (pass --force to rebuild anyway).
import {
	chmodSync,
	copyFileSync,
	cpSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	renameSync,
	rmSync,
	statSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { gzip, tar } from "./archive";
import { controlText, ipkFileName } from "./control";
import { allSpecs, type PackageSpec } from "./packages";

const ROOT = resolve(import.meta.dir, "../..");
const SCRIPTS = join(import.meta.dir, "scripts");

/** Time stamp of every archive member: SOURCE_DATE_EPOCH, else the last commit's time. */
function sourceDateEpoch(root: string): number {
	const env = Number(process.env.SOURCE_DATE_EPOCH);
	if (Number.isInteger(env) && env > 0) return env;
	const git = Bun.spawnSync(["git", "-C", root, "log", "-1", "--format=%ct"], { stderr: "ignore" });
	const commit = Number(git.stdout.toString().trim());
	return git.exitCode === 0 && Number.isInteger(commit) && commit > 0 ? commit : 0;
}

/** Newest modification time under the paths (following symlinks). */
function newestMtime(paths: string[]): number {
	let newest = 0;
	const visit = (path: string): void => {
		if (!existsSync(path)) {
			newest = Number.POSITIVE_INFINITY; // a missing input: build, and fail there with its name
			return;
		}
		const st = statSync(path);
		newest = Math.max(newest, st.mtimeMs);
		if (st.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
	};
	for (const path of paths) visit(path);
	return newest;
}

/** Modes as the SDK's install commands leave them: directories 0755, files 0755 or 0644. */
function normaliseModes(path: string): void {
	const st = statSync(path);
	if (st.isDirectory()) {
		chmodSync(path, 0o755);
		for (const entry of readdirSync(path)) normaliseModes(join(path, entry));
	} else chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
}

function stageData(root: string, spec: PackageSpec, data: string): void {
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

function stageControl(spec: PackageSpec, control: string, installedSize: number, data: string): void {
	mkdirSync(control);
	writeFileSync(join(control, "control"), controlText({ ...spec, installedSize }));
	// ipkg-build keeps only conffiles the package really ships, sorted.
	const conffiles = spec.conffiles.filter((f) => existsSync(join(data, f))).sort();
	if (conffiles.length > 0) writeFileSync(join(control, "conffiles"), `${conffiles.join("\n")}\n`);
	copyFileSync(join(SCRIPTS, "postinst"), join(control, "postinst"));
	copyFileSync(join(SCRIPTS, "prerm"), join(control, "prerm"));
	if (spec.postinstPkg) writeFileSync(join(control, "postinst-pkg"), spec.postinstPkg);
	if (spec.postrm) writeFileSync(join(control, "postrm"), spec.postrm);
	for (const entry of readdirSync(control))
		chmodSync(join(control, entry), /^(control|conffiles)$/.test(entry) ? 0o644 : 0o755);
}

/** Builds one ipk into outDir; returns its path. */
export function buildIpk(root: string, spec: PackageSpec, outDir: string, mtime: number): string {
	const work = mkdtempSync(join(tmpdir(), `portrig-ipk-${spec.package}-`));
	try {
		const data = join(work, "data");
		mkdirSync(data);
		stageData(root, spec, data);
		const dataTar = tar(data, ["."], mtime);
		stageControl(spec, join(work, "control"), dataTar.length, data);

		const outer = join(work, "outer");
		mkdirSync(outer);
		writeFileSync(join(outer, "debian-binary"), "2.0\n");
		writeFileSync(join(outer, "data.tar.gz"), gzip(dataTar));
		writeFileSync(join(outer, "control.tar.gz"), gzip(tar(join(work, "control"), ["."], mtime)));
		for (const entry of readdirSync(outer)) chmodSync(join(outer, entry), 0o644);
		// The member order of ipkg-build.
		const ipk = gzip(tar(outer, ["./debian-binary", "./data.tar.gz", "./control.tar.gz"], mtime));

		mkdirSync(outDir, { recursive: true });
		const path = join(outDir, ipkFileName(spec));
		writeFileSync(`${path}.tmp`, ipk);
		renameSync(`${path}.tmp`, path);
		return path;
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
}

/** Other versions of the same package and architecture left in outDir by earlier builds. */
function removeStale(outDir: string, spec: PackageSpec, keep: string): void {
	if (!existsSync(outDir)) return;
	for (const entry of readdirSync(outDir))
		if (entry.startsWith(`${spec.package}_`) && entry.endsWith(`_${spec.architecture}.ipk`) && entry !== keep)
			rmSync(join(outDir, entry));
}

export function buildPackages(options: { root?: string; outDir?: string; force?: boolean } = {}): string[] {
	const root = options.root ?? ROOT;
	const outDir = options.outDir ?? join(root, "dist");
	const mtime = sourceDateEpoch(root);
	const built: string[] = [];
	for (const spec of allSpecs(root)) {
		const name = ipkFileName(spec);
		const path = join(outDir, name);
		const inputs = spec.inputs.map((p) => join(root, p));
		if (!options.force && existsSync(path) && statSync(path).mtimeMs > newestMtime(inputs)) {
			console.log(`package: ${name} is up to date`);
		} else {
			buildIpk(root, spec, outDir, mtime);
			console.log(`package: ${name} (${statSync(path).size} bytes)`);
		}
		removeStale(outDir, spec, name);
		built.push(path);
	}
	return built;
}

if (import.meta.main) {
	try {
		buildPackages({ force: process.argv.includes("--force") });
	} catch (err) {
		console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
		process.exit(1);
	}
}
